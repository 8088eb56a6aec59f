// Package apidocs serves Agora's API documentation, rendered in the browser
// from the specs themselves and never written by hand: every service's
// OpenAPI file in Swagger UI, and the AsyncAPI documents of its Kafka topics
// (generated from the Protobuf schemas) in the AsyncAPI React component.
// Every byte comes from the binary: the specs and the vendored viewers are
// embedded, and the pages' Content-Security-Policy lets the browser load
// nothing from anywhere else.
//
// Routes (GET and HEAD; every other method answers 405):
//
//	/docs                          index of every service, with links
//	/docs/{service}                Swagger UI for the service's OpenAPI file
//	/docs/openapi/{service}.yaml   the OpenAPI file
//	/docs/events                   index of the AsyncAPI documents
//	/docs/events/{service}         the AsyncAPI viewer for the service's topics
//	/docs/asyncapi/{service}.yaml  the AsyncAPI document
//	/docs/assets/...               the viewers and the pages' own script and styles
//
// An unknown service or path answers 404 with a problem+json document.
package apidocs

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/agoracommerce/agora/internal/platform/problem"
)

// Prefix is the path every route lives under.
const Prefix = "/docs"

// Content-Security-Policy of the pages: scripts, styles, fonts and fetches
// from Agora only (the viewers' scripts are files under /docs/assets, never
// inline); images also as data: URIs, which Swagger UI's stylesheet uses for
// its icons.
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// eventsPageCSP is pageCSP plus 'unsafe-eval' for the AsyncAPI viewer: its
// parser validates the document with JSON Schema validators and JSONPath
// rules compiled to functions at run time. The viewer still loads and
// fetches nothing from anywhere but Agora.
const eventsPageCSP = "default-src 'none'; script-src 'self' 'unsafe-eval'; style-src 'self'; img-src 'self' data:; " +
	"font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Cache-Control values: versioned asset URLs never change; everything else
// is revalidated with its ETag.
const (
	cacheImmutable  = "public, max-age=31536000, immutable"
	cacheRevalidate = "no-cache"
)

// Config configures Handler.
type Config struct {
	// OpenAPI holds the OpenAPI files at its root as
	// <service>.v<major>.yaml (api/openapi.FS); other files are ignored.
	// When a service has several majors, the highest is shown.
	OpenAPI fs.FS
	// AsyncAPI holds the AsyncAPI documents at its root as <service>.yaml
	// (api/asyncapi.FS).
	AsyncAPI fs.FS
	// Assets holds the vendored viewers as web.FS lays them out:
	// vendor/swagger-ui-dist/... and vendor/asyncapi-react-component/....
	Assets fs.FS
	// Logger records responses that could not be written; nil for none.
	Logger *zap.Logger
}

// Validate reports a missing file system.
func (c Config) Validate() error {
	var missing []string
	if c.OpenAPI == nil {
		missing = append(missing, "OpenAPI")
	}
	if c.AsyncAPI == nil {
		missing = append(missing, "AsyncAPI")
	}
	if c.Assets == nil {
		missing = append(missing, "Assets")
	}
	if len(missing) > 0 {
		return fmt.Errorf("apidocs: config: %s required", strings.Join(missing, ", "))
	}
	return nil
}

// Handler returns the handler of every route under Prefix. It reads and
// checks the specs and assets once, here: a spec that does not parse, a
// service name that clashes with a route, or a missing viewer file is an
// error. The handler is safe for concurrent use.
func Handler(cfg Config) (http.Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = zap.NewNop()
	}
	h := &handler{log: log, routes: map[string]*resource{}}
	assets, err := loadAssets(cfg.Assets)
	if err != nil {
		return nil, err
	}
	for _, a := range assets {
		h.routes[Prefix+"/assets/"+a.path] = a.res
	}
	services, err := loadServices(cfg.OpenAPI, cfg.AsyncAPI)
	if err != nil {
		return nil, err
	}
	pages, err := renderPages(services, assets)
	if err != nil {
		return nil, err
	}
	for path, res := range pages {
		h.routes[path] = res
	}
	for _, s := range services {
		if s.openAPI != nil {
			h.routes[Prefix+"/openapi/"+s.name+".yaml"] = memory(yamlType, s.openAPI.raw, cacheRevalidate, "")
		}
		if s.asyncAPI != nil {
			h.routes[Prefix+"/asyncapi/"+s.name+".yaml"] = memory(yamlType, s.asyncAPI.raw, cacheRevalidate, "")
		}
	}
	return h, nil
}

// handler serves the precomputed routes.
type handler struct {
	log    *zap.Logger
	routes map[string]*resource
}

// ServeHTTP serves one route.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	res, ok := h.routes[r.URL.Path]
	if !ok {
		h.problem(w, r, problem.NotFound("there is no documentation at "+r.URL.Path))
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		h.problem(w, r, problem.MethodNotAllowed(r.Method))
		return
	}
	res.serve(w, r)
}

func (h *handler) problem(w http.ResponseWriter, r *http.Request, d *problem.Details) {
	if err := problem.Write(w, r, *d); err != nil {
		h.log.Debug("apidocs: write problem", zap.Error(err), zap.String("path", r.URL.Path))
	}
}

// Media types of the responses.
const (
	htmlType  = "text/html; charset=utf-8"
	yamlType  = "application/yaml"
	jsType    = "text/javascript; charset=utf-8"
	cssType   = "text/css; charset=utf-8"
	textType  = "text/plain; charset=utf-8"
	jsonType  = "application/json"
	octetType = "application/octet-stream"
)

// resource is one response body with its headers. The body is in memory
// (pages and specs) or opened from a file system on demand (the vendored
// viewers, megabytes that are already in the binary); a gzip copy is made
// on the first request that accepts it and kept.
type resource struct {
	contentType string
	// cache is the Cache-Control of a request without the version query.
	cache string
	// version is the content hash that ?v= must carry for the immutable
	// Cache-Control; "" when the URL is not versioned.
	version string
	etag    string
	csp     string
	data    []byte
	fsys    fs.FS
	name    string

	gzOnce sync.Once
	gz     []byte
}

// memory is a resource served from data.
func memory(contentType string, data []byte, cache, csp string) *resource {
	sum := sha256.Sum256(data)
	return &resource{contentType: contentType, cache: cache, csp: csp, data: data,
		etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
}

// compressible reports whether gzip is worth it for the content type.
func (r *resource) compressible() bool {
	return strings.HasPrefix(r.contentType, "text/") || r.contentType == yamlType || r.contentType == jsonType
}

// open returns the identity body.
func (r *resource) open() (io.ReadSeeker, func(), error) {
	if r.fsys == nil {
		return bytes.NewReader(r.data), func() {}, nil
	}
	f, err := r.fsys.Open(r.name)
	if err != nil {
		return nil, nil, fmt.Errorf("open %s: %w", r.name, err)
	}
	if rs, ok := f.(io.ReadSeeker); ok {
		return rs, func() { _ = f.Close() }, nil
	}
	data, err := io.ReadAll(f)
	_ = f.Close()
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", r.name, err)
	}
	return bytes.NewReader(data), func() {}, nil
}

// gzipped returns the gzip body, nil when it would not be smaller.
func (r *resource) gzipped() []byte {
	r.gzOnce.Do(func() {
		body, done, err := r.open()
		if err != nil {
			return
		}
		defer done()
		var buf bytes.Buffer
		zw, err := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
		if err != nil {
			return
		}
		n, err := io.Copy(zw, body)
		if err != nil || zw.Close() != nil || int64(buf.Len()) >= n {
			return
		}
		r.gz = buf.Bytes()
	})
	return r.gz
}

func (r *resource) serve(w http.ResponseWriter, req *http.Request) {
	h := w.Header()
	h.Set("Content-Type", r.contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	if r.csp != "" {
		h.Set("Content-Security-Policy", r.csp)
		h.Set("X-Frame-Options", "DENY")
	}
	if r.version != "" && req.URL.Query().Get("v") == r.version {
		h.Set("Cache-Control", cacheImmutable)
	} else {
		h.Set("Cache-Control", r.cache)
	}
	if r.compressible() {
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(req.Header.Get("Accept-Encoding")) {
			if gz := r.gzipped(); gz != nil {
				h.Set("Content-Encoding", "gzip")
				h.Set("ETag", strings.TrimSuffix(r.etag, `"`)+`-gzip"`)
				http.ServeContent(w, req, "", time.Time{}, bytes.NewReader(gz))
				return
			}
		}
	}
	h.Set("ETag", r.etag)
	body, done, err := r.open()
	if err != nil {
		// The file was there when the handler was built: an embedded
		// file system cannot lose it, so only a broken custom one gets
		// here.
		h.Del("ETag")
		h.Del("Vary")
		_ = problem.Write(w, req, *problem.New(http.StatusInternalServerError, "", "", "the document could not be read"))
		return
	}
	defer done()
	http.ServeContent(w, req, "", time.Time{}, body)
}

// acceptsGzip reports whether an Accept-Encoding header accepts gzip.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.ToLower(strings.TrimSpace(name))
		if name != "gzip" && name != "x-gzip" {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}
