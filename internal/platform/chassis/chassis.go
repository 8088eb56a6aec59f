// Package chassis assembles the platform's pieces into the HTTP edge of one
// Agora service, so that every service gets the same edge from one call:
//
//	srv, err := chassis.NewHTTP(cfg, chassis.Deps{
//		Logger: log, Telemetry: tel, Verifier: verifier, Idempotency: store,
//		Readiness: []chassis.Check{{Name: "database", Check: db.PingContext}},
//	})
//	// mount the generated handlers on srv.Router(), then run srv
//
// NewHTTP builds an httpserver.Server over the service's OpenAPI document
// and wires into it, for every request (outermost first, after the
// server's own panic recovery and correlation ID):
//
//   - the metrics endpoint (Config.MetricsPath, telemetry's Prometheus
//     handler), answered before tracing and access logging so that scrapes
//     leave no spans or log lines;
//   - telemetry.HTTPMiddleware: the server span, in the context from here
//     on, and the RED metrics;
//   - logging.AccessLog: one line per request, written after the handler, so
//     it carries the correlation ID and the trace and span IDs;
//   - the response headers of authentication failures (BearerAuth.Middleware);
//
// and, for every operation of the spec:
//
//   - BearerAuth, the httpserver.Authenticator that checks the operation's
//     OpenAPI security requirements against the caller's bearer token (auth
//     package) and puts the principal in the context; the rate limit then
//     counts per principal (auth.PrincipalFrom) instead of per IP address;
//   - idempotency keys (idempotency package) on the operations that take
//     them: every POST unless the spec says otherwise with the
//     x-agora-idempotency extension (IdempotencyExtension);
//   - the service's problem.Mapper for handler errors, and its readiness
//     checks on /readyz.
//
// Every refusal on the way is an RFC 9457 problem written by package
// problem, with the correlation ID in it.
package chassis

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"go.uber.org/zap"

	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/httpserver"
	"github.com/agoracommerce/agora/internal/platform/idempotency"
	"github.com/agoracommerce/agora/internal/platform/logging"
	"github.com/agoracommerce/agora/internal/platform/telemetry"
)

// DefaultMetricsPath is where the metrics are served when
// Config.MetricsPath is empty.
const DefaultMetricsPath = "/metrics"

// Config is what a service configures of its HTTP edge.
type Config struct {
	// HTTP configures the server: address, timeouts, body limit, rate
	// limit, the OpenAPI document (Spec or Document) and the service's
	// problem.Mapper (Problems). Authenticator and Principal must be left
	// unset: NewHTTP supplies them. Middleware and OperationMiddleware,
	// when set, run inside the ones NewHTTP installs.
	HTTP httpserver.Config
	// BearerSchemes names the spec's security schemes a bearer token
	// satisfies (for example "bearerAuth"); empty means every scheme.
	BearerSchemes []string
	// Idempotency holds the settings shared by every operation that takes
	// idempotency keys (Retention, LockTimeout, size limits, replayed
	// headers, Clock). Required, Methods and Route are set per operation
	// from the spec and must be left unset.
	Idempotency idempotency.Options
	// MetricsPath is where telemetry's metrics are served; empty means
	// DefaultMetricsPath. It must not be a path of the spec.
	MetricsPath string
}

// Validate reports the first problem with c that NewHTTP would meet
// before looking at the spec.
func (c Config) Validate() error {
	switch {
	case c.HTTP.Authenticator != nil:
		return errors.New("chassis: Config.HTTP.Authenticator must be unset: NewHTTP installs the bearer-token authenticator")
	case c.HTTP.Principal != nil:
		return errors.New("chassis: Config.HTTP.Principal must be unset: NewHTTP keys the rate limit by the token's subject")
	case c.Idempotency.Required || len(c.Idempotency.Methods) > 0 || c.Idempotency.Route != nil:
		return errors.New("chassis: Config.Idempotency.Required, Methods and Route must be unset: the spec decides them per operation")
	case c.MetricsPath != "" && !strings.HasPrefix(c.MetricsPath, "/"):
		return fmt.Errorf("chassis: Config.MetricsPath %q must start with /", c.MetricsPath)
	}
	for _, s := range c.BearerSchemes {
		if s == "" {
			return errors.New("chassis: Config.BearerSchemes has an empty name")
		}
	}
	return nil
}

// Check is one named readiness check of /readyz.
type Check struct {
	Name  string
	Check httpserver.ReadinessCheck
}

// Deps are the collaborators of a service's HTTP edge.
type Deps struct {
	// Logger writes the access log and the server's own lines (a
	// logging.New logger). Required.
	Logger *zap.Logger
	// Telemetry traces requests, records their metrics and serves the
	// metrics endpoint. Required.
	Telemetry *telemetry.Telemetry
	// Verifier checks bearer tokens. Required when the spec declares
	// security requirements; without it no operation may require them.
	Verifier auth.TokenVerifier
	// Idempotency keeps idempotency records. Required when an operation
	// takes idempotency keys (every POST, unless the spec opts it out).
	Idempotency idempotency.Store
	// Readiness are the checks /readyz runs, for example one per store and
	// broker connection.
	Readiness []Check
}

// NewHTTP validates cfg and deps, reads the operations' security and
// idempotency settings from the spec, and returns the assembled server.
// The caller mounts the service's generated handlers on its Router and
// runs it (Serve, or lifecycle.HTTPServer over HTTPServer()).
func NewHTTP(cfg Config, deps Deps) (*httpserver.Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Logger == nil {
		return nil, errors.New("chassis: Deps.Logger is required")
	}
	if deps.Telemetry == nil {
		return nil, errors.New("chassis: Deps.Telemetry is required")
	}
	if cfg.MetricsPath == "" {
		cfg.MetricsPath = DefaultMetricsPath
	}
	if err := checkReadiness(deps.Readiness); err != nil {
		return nil, err
	}
	hc := cfg.HTTP
	doc, err := loadDocument(hc.Spec, hc.Document)
	if err != nil {
		return nil, err
	}
	hc.Spec, hc.Document = nil, doc
	if doc.Paths.Find(cfg.MetricsPath) != nil {
		return nil, fmt.Errorf("chassis: the spec has a path %s, where the metrics are served; set Config.MetricsPath", cfg.MetricsPath)
	}

	if deps.Verifier == nil && secured(doc) {
		return nil, errors.New("chassis: the spec declares security requirements but Deps.Verifier is nil")
	}
	var authn *BearerAuth
	if deps.Verifier != nil {
		authn, err = NewBearerAuth(deps.Verifier, cfg.BearerSchemes...)
		if err != nil {
			return nil, err
		}
		hc.Authenticator = authn
		hc.Principal = principalOf
	}

	keys, err := newIdempotencyKeys(doc, deps.Idempotency, cfg.Idempotency)
	if err != nil {
		return nil, err
	}

	edge := []func(http.Handler) http.Handler{
		serveMetrics(cfg.MetricsPath, deps.Telemetry.MetricsHandler()),
		deps.Telemetry.HTTPMiddleware(),
		logging.AccessLog(deps.Logger),
	}
	if authn != nil {
		edge = append(edge, authn.Middleware())
	}
	hc.Middleware = append(edge, hc.Middleware...)
	if keys != nil {
		hc.OperationMiddleware = append([]func(http.Handler) http.Handler{keys.middleware}, hc.OperationMiddleware...)
	}

	srv, err := httpserver.New(hc, deps.Logger)
	if err != nil {
		return nil, fmt.Errorf("chassis: %w", err)
	}
	for _, c := range deps.Readiness {
		srv.AddReadinessCheck(c.Name, c.Check)
	}
	return srv, nil
}

// principalOf names the caller for the rate limit: the token's subject.
func principalOf(ctx context.Context) string {
	if p, ok := auth.PrincipalFrom(ctx); ok {
		return p.Subject
	}
	return ""
}

func checkReadiness(checks []Check) error {
	seen := make(map[string]bool, len(checks))
	for i, c := range checks {
		switch {
		case c.Name == "" || c.Check == nil:
			return fmt.Errorf("chassis: Deps.Readiness[%d] needs a name and a check", i)
		case seen[c.Name]:
			return fmt.Errorf("chassis: Deps.Readiness: two checks are named %q", c.Name)
		}
		seen[c.Name] = true
	}
	return nil
}

// loadDocument returns doc, or spec loaded without external references
// (as httpserver does), so that the operations' extensions can be read.
// httpserver validates the document.
func loadDocument(spec []byte, doc *openapi3.T) (*openapi3.T, error) {
	if (spec == nil) == (doc == nil) {
		return nil, errors.New("chassis: exactly one of Config.HTTP.Spec and Config.HTTP.Document must be set")
	}
	if doc == nil {
		loader := openapi3.NewLoader()
		loader.IsExternalRefsAllowed = false
		var err error
		if doc, err = loader.LoadFromData(spec); err != nil {
			return nil, fmt.Errorf("chassis: load spec: %w", err)
		}
	}
	if doc.Paths == nil {
		return nil, errors.New("chassis: the spec has no paths")
	}
	return doc, nil
}

// secured reports whether any operation of doc refuses anonymous callers.
func secured(doc *openapi3.T) bool {
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			security := doc.Security
			if op.Security != nil {
				security = *op.Security
			}
			if !auth.RequirementsOf(security).Anonymous() {
				return true
			}
		}
	}
	return false
}

// serveMetrics answers GET and HEAD on path with h and passes everything
// else on.
func serveMetrics(path string, h http.Handler) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == path && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
				h.ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
