// Package gateway is the front door of a local Agora: one HTTP listener
// that routes every /v1/... request to the service owning the path, the way
// API Gateway routes to each service's integration in AWS. Routes are
// derived from the services' OpenAPI documents (the first two segments of
// every path, e.g. /v1/orders), so the gateway never needs a hand-kept
// table. Requests are proxied unchanged (Authorization included; each
// service verifies its own tokens); a path no service owns answers 404 and
// an unreachable service 502, both as application/problem+json.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/agoracommerce/agora/internal/platform/problem"
)

// Route sends every request whose path is Prefix or below it to Upstream.
type Route struct {
	Prefix   string
	Service  string
	Upstream *url.URL
}

// Config configures a Gateway.
type Config struct {
	// Routes are matched by longest prefix, on whole path segments.
	Routes []Route
	// Mounts are handlers of the gateway itself (docs, JWKS, the schema
	// registry), matched by prefix before Routes.
	Mounts map[string]http.Handler
	// Logger defaults to zap.NewNop.
	Logger *zap.Logger
	// UpstreamTimeout bounds one proxied request (default 30s).
	UpstreamTimeout time.Duration
}

// Gateway is an http.Handler. Safe for concurrent use.
type Gateway struct {
	routes []Route
	mounts []mount
	proxy  *httputil.ReverseProxy
	log    *zap.Logger
}

type mount struct {
	prefix  string
	handler http.Handler
}

type routeKey struct{}

// New validates cfg and returns the Gateway.
func New(cfg Config) (*Gateway, error) {
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.UpstreamTimeout <= 0 {
		cfg.UpstreamTimeout = 30 * time.Second
	}
	g := &Gateway{log: cfg.Logger}
	seen := map[string]string{}
	for _, r := range cfg.Routes {
		if !strings.HasPrefix(r.Prefix, "/") || strings.HasSuffix(r.Prefix, "/") {
			return nil, fmt.Errorf("gateway: route prefix %q must start and not end with /", r.Prefix)
		}
		if r.Upstream == nil || r.Upstream.Host == "" {
			return nil, fmt.Errorf("gateway: route %s has no upstream", r.Prefix)
		}
		if other, dup := seen[r.Prefix]; dup && other != r.Service {
			return nil, fmt.Errorf("gateway: %s is claimed by both %s and %s", r.Prefix, other, r.Service)
		}
		seen[r.Prefix] = r.Service
		g.routes = append(g.routes, r)
	}
	sort.Slice(g.routes, func(i, j int) bool { return len(g.routes[i].Prefix) > len(g.routes[j].Prefix) })
	for prefix, h := range cfg.Mounts {
		g.mounts = append(g.mounts, mount{prefix: prefix, handler: h})
	}
	sort.Slice(g.mounts, func(i, j int) bool { return len(g.mounts[i].prefix) > len(g.mounts[j].prefix) })

	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          512,
		MaxIdleConnsPerHost:   128,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: cfg.UpstreamTimeout,
	}
	g.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			route := pr.In.Context().Value(routeKey{}).(Route)
			pr.SetURL(route.Upstream)
			pr.SetXForwarded()
		},
		Transport: transport,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			route, _ := r.Context().Value(routeKey{}).(Route)
			if errors.Is(err, context.Canceled) {
				return // the client went away
			}
			g.log.Warn("upstream failed", zap.String("service", route.Service), zap.String("path", r.URL.Path), zap.Error(err))
			writeProblem(w, r, http.StatusBadGateway, "Bad Gateway", fmt.Sprintf("The %s service did not answer.", route.Service))
		},
	}
	return g, nil
}

// Routes returns the routing table, longest prefix first.
func (g *Gateway) Routes() []Route { return append([]Route(nil), g.routes...) }

// ServeHTTP routes one request.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	for _, m := range g.mounts {
		if under(r.URL.Path, m.prefix) {
			m.handler.ServeHTTP(w, r)
			return
		}
	}
	for _, route := range g.routes {
		if under(r.URL.Path, route.Prefix) {
			g.proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), routeKey{}, route)))
			return
		}
	}
	writeProblem(w, r, http.StatusNotFound, "Not Found", "No service serves "+r.URL.Path+".")
}

// under reports whether path is prefix or a path below it.
func under(path, prefix string) bool {
	if prefix == "/" {
		return true
	}
	if strings.HasSuffix(prefix, "/") {
		return strings.HasPrefix(path, prefix) || path == strings.TrimSuffix(prefix, "/")
	}
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

func writeProblem(w http.ResponseWriter, r *http.Request, status int, title, detail string) {
	_ = problem.Write(w, r, problem.Details{Type: "about:blank", Title: title, Status: status, Detail: detail})
}

// Ready asks every distinct upstream's /readyz and reports the first that
// is not ready.
func (g *Gateway) Ready(ctx context.Context) error {
	seen := map[string]Route{}
	for _, r := range g.routes {
		seen[r.Upstream.String()] = r
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for base, route := range seen {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := probe(ctx, base+"/readyz"); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w", route.Service, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	return errors.Join(errs...)
}

func probe(ctx context.Context, u string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("readyz answered %d", res.StatusCode)
	}
	return nil
}

// RoutesFromPaths derives a service's route prefixes from the paths of its
// OpenAPI document: the first two segments of each (/v1/orders/{id} gives
// /v1/orders).
func RoutesFromPaths(service string, upstream *url.URL, paths []string) []Route {
	seen := map[string]bool{}
	var routes []Route
	for _, p := range paths {
		segs := strings.SplitN(strings.TrimPrefix(p, "/"), "/", 3)
		if len(segs) < 2 || strings.HasPrefix(segs[1], "{") {
			continue
		}
		prefix := "/" + segs[0] + "/" + segs[1]
		if !seen[prefix] {
			seen[prefix] = true
			routes = append(routes, Route{Prefix: prefix, Service: service, Upstream: upstream})
		}
	}
	sort.Slice(routes, func(i, j int) bool { return routes[i].Prefix < routes[j].Prefix })
	return routes
}
