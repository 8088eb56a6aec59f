package apidocs_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/api/asyncapi"
	"github.com/agoracommerce/agora/api/openapi"
	"github.com/agoracommerce/agora/internal/platform/apidocs"
	"github.com/agoracommerce/agora/internal/platform/problem"
	"github.com/agoracommerce/agora/web"
)

// realHandler serves Agora's own specs and viewers; built once, since the
// handler is safe for concurrent use and hashes megabytes of assets.
var realHandler = sync.OnceValues(func() (http.Handler, error) {
	return apidocs.Handler(apidocs.Config{OpenAPI: openapi.FS, AsyncAPI: asyncapi.FS, Assets: web.FS})
})

func mustHandler(tb testing.TB) http.Handler {
	tb.Helper()
	h, err := realHandler()
	require.NoError(tb, err)
	return h
}

func get(tb testing.TB, h http.Handler, target string, header ...string) *httptest.ResponseRecorder {
	tb.Helper()
	return do(tb, h, http.MethodGet, target, header...)
}

func do(tb testing.TB, h http.Handler, method, target string, header ...string) *httptest.ResponseRecorder {
	tb.Helper()
	req := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// services lists the services with an OpenAPI file (<service>.v1.yaml) and
// with an AsyncAPI document.
func services(tb testing.TB) (http, events []string) {
	tb.Helper()
	files, err := fs.Glob(openapi.FS, "*.v1.yaml")
	require.NoError(tb, err)
	for _, f := range files {
		http = append(http, strings.TrimSuffix(f, ".v1.yaml"))
	}
	docs, err := fs.Glob(asyncapi.FS, "*.yaml")
	require.NoError(tb, err)
	for _, d := range docs {
		events = append(events, strings.TrimSuffix(d, ".yaml"))
	}
	require.NotEmpty(tb, http)
	require.NotEmpty(tb, events)
	return http, events
}

var (
	linkAttr     = regexp.MustCompile(`(?:href|src|data-spec-url)="([^"]*)"`)
	inlineScript = regexp.MustCompile(`<script[^>]*>\s*[^<\s]`)
	inlineStyle  = regexp.MustCompile(`<style|\sstyle=`)
)

// links returns the URLs a page refers to.
func links(page string) []string {
	var out []string
	for _, m := range linkAttr.FindAllStringSubmatch(page, -1) {
		out = append(out, m[1])
	}
	return out
}

// pages are every HTML page of the handler.
func pages(tb testing.TB) []string {
	tb.Helper()
	httpSvcs, eventSvcs := services(tb)
	out := []string{"/docs", "/docs/", "/docs/events", "/docs/events/"}
	for _, s := range httpSvcs {
		out = append(out, "/docs/"+s)
	}
	for _, s := range eventSvcs {
		out = append(out, "/docs/events/"+s)
	}
	return out
}

func TestIndexListsEveryOpenAPIFile(t *testing.T) {
	t.Parallel()
	h := mustHandler(t)
	httpSvcs, eventSvcs := services(t)
	index := get(t, h, "/docs").Body.String()
	for _, s := range httpSvcs {
		require.Contains(t, index, `href="/docs/`+s+`"`)
		require.Contains(t, index, `href="/docs/openapi/`+s+`.yaml"`)
		require.Contains(t, index, ">"+s+".v1.yaml<")

		raw := get(t, h, "/docs/openapi/"+s+".yaml")
		require.Equal(t, http.StatusOK, raw.Code, s)
		require.Equal(t, "application/yaml", raw.Header().Get("Content-Type"))
		want, err := fs.ReadFile(openapi.FS, s+".v1.yaml")
		require.NoError(t, err)
		require.Equal(t, want, raw.Body.Bytes(), "the raw spec of %s", s)
	}
	for _, s := range eventSvcs {
		require.Contains(t, index, `href="/docs/events/`+s+`"`)
	}
}

func TestEventsIndexListsEveryAsyncAPIDocument(t *testing.T) {
	t.Parallel()
	h := mustHandler(t)
	_, eventSvcs := services(t)
	index := get(t, h, "/docs/events").Body.String()
	for _, s := range eventSvcs {
		require.Contains(t, index, `href="/docs/events/`+s+`"`)
		require.Contains(t, index, `href="/docs/asyncapi/`+s+`.yaml"`)

		raw := get(t, h, "/docs/asyncapi/"+s+".yaml")
		require.Equal(t, http.StatusOK, raw.Code, s)
		require.Equal(t, "application/yaml", raw.Header().Get("Content-Type"))
		want, err := fs.ReadFile(asyncapi.FS, s+".yaml")
		require.NoError(t, err)
		require.Equal(t, want, raw.Body.Bytes(), "the raw document of %s", s)
	}
	require.Contains(t, index, "<code>ordering.orders.v1</code>")
}

func TestViewerPagesLoadTheirSpec(t *testing.T) {
	t.Parallel()
	h := mustHandler(t)
	httpSvcs, eventSvcs := services(t)
	for _, s := range httpSvcs {
		page := get(t, h, "/docs/"+s).Body.String()
		require.Contains(t, page, `<div id="swagger-ui" data-spec-url="/docs/openapi/`+s+`.yaml">`)
		require.Regexp(t, `<script src="/docs/assets/swagger-ui-dist/swagger-ui-bundle\.js\?v=[0-9a-f]{16}">`, page)
		require.Regexp(t, `<script src="/docs/assets/agora/swagger-init\.js\?v=[0-9a-f]{16}">`, page)
		require.Regexp(t, `<link rel="stylesheet" href="/docs/assets/swagger-ui-dist/swagger-ui\.css\?v=[0-9a-f]{16}">`, page)
	}
	for _, s := range eventSvcs {
		page := get(t, h, "/docs/events/"+s).Body.String()
		require.Contains(t, page, `<div id="asyncapi" data-spec-url="/docs/asyncapi/`+s+`.yaml">`)
		require.Regexp(t, `<script src="/docs/assets/asyncapi-react-component/browser/standalone/index\.js\?v=[0-9a-f]{16}">`, page)
		require.Regexp(t, `<script src="/docs/assets/agora/asyncapi-init\.js\?v=[0-9a-f]{16}">`, page)
		require.Regexp(t, `<link rel="stylesheet" href="/docs/assets/asyncapi-react-component/styles/default\.min\.css\?v=[0-9a-f]{16}">`, page)
	}
	init := get(t, h, "/docs/assets/agora/swagger-init.js").Body.String()
	require.Contains(t, init, "SwaggerUIBundle(")
	require.Contains(t, init, `root.getAttribute("data-spec-url")`)
	require.Contains(t, init, "validatorUrl: null")
	require.Contains(t, get(t, h, "/docs/assets/agora/asyncapi-init.js").Body.String(), "AsyncApiStandalone.render(")
}

// Every page answers as HTML with a strict policy and refers only to
// local URLs, each of which answers with the content type its kind needs.
func TestEveryPageAndAssetAnswers(t *testing.T) {
	t.Parallel()
	h := mustHandler(t)
	wantType := map[string]string{
		".js":   "text/javascript; charset=utf-8",
		".css":  "text/css; charset=utf-8",
		".yaml": "application/yaml",
		"":      "text/html; charset=utf-8",
	}
	checked := map[string]bool{}
	for _, p := range pages(t) {
		rec := get(t, h, p)
		require.Equal(t, http.StatusOK, rec.Code, p)
		require.Equal(t, "text/html; charset=utf-8", rec.Header().Get("Content-Type"), p)
		require.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"), p)
		require.Equal(t, "no-cache", rec.Header().Get("Cache-Control"), p)
		require.NotEmpty(t, rec.Header().Get("ETag"), p)
		for _, link := range links(rec.Body.String()) {
			u, err := url.Parse(link)
			require.NoError(t, err)
			require.Empty(t, u.Scheme, "%s links to %s", p, link)
			require.Empty(t, u.Host, "%s links to %s", p, link)
			require.True(t, strings.HasPrefix(u.Path, "/docs"), "%s links outside /docs: %s", p, link)
			if checked[link] {
				continue
			}
			checked[link] = true
			res := get(t, h, link)
			require.Equal(t, http.StatusOK, res.Code, "%s (linked from %s)", link, p)
			ext := path.Ext(u.Path)
			if strings.HasPrefix(u.Path, "/docs/assets/") && ext == "" {
				ext = ".txt"
				require.Equal(t, "text/plain; charset=utf-8", res.Header().Get("Content-Type"), link)
				continue
			}
			require.Equal(t, wantType[ext], res.Header().Get("Content-Type"), link)
			require.NotZero(t, res.Body.Len(), link)
		}
	}
	// The index's footer links the viewers' licenses.
	for _, p := range []string{"swagger-ui-dist/LICENSE", "asyncapi-react-component/LICENSE"} {
		require.True(t, checked["/docs/assets/"+p], "the index does not link %s", p)
	}
	for _, p := range []string{"swagger-ui-dist/swagger-ui-bundle.js.LICENSE.txt", "VERSIONS", "swagger-ui-dist/NOTICE"} {
		rec := get(t, h, "/docs/assets/"+p)
		require.Equal(t, http.StatusOK, rec.Code, p)
		require.Equal(t, "text/plain; charset=utf-8", rec.Header().Get("Content-Type"), p)
	}
}

func TestPagesReferenceNoOtherHost(t *testing.T) {
	t.Parallel()
	h := mustHandler(t)
	for _, p := range pages(t) {
		body := get(t, h, p).Body.String()
		require.NotContains(t, body, "http://", p)
		require.NotContains(t, body, "https://", p)
		require.NotContains(t, body, "//cdn", p)
		require.NotRegexp(t, inlineScript, body, "%s has an inline script", p)
		require.NotRegexp(t, inlineStyle, body, "%s has an inline style", p)
	}
	for _, s := range []string{"swagger-init.js", "asyncapi-init.js", "docs.css"} {
		body := get(t, h, "/docs/assets/agora/"+s).Body.String()
		require.NotContains(t, body, "http://", s)
		require.NotContains(t, body, "https://", s)
	}
}

func TestContentSecurityPolicy(t *testing.T) {
	t.Parallel()
	h := mustHandler(t)
	directives := func(csp string) map[string]string {
		out := map[string]string{}
		for _, d := range strings.Split(csp, ";") {
			name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
			out[name] = value
		}
		return out
	}
	_, eventSvcs := services(t)
	for _, p := range pages(t) {
		csp := directives(get(t, h, p).Header().Get("Content-Security-Policy"))
		require.Equal(t, "'none'", csp["default-src"], p)
		require.Equal(t, "'self'", csp["style-src"], p)
		require.Equal(t, "'self'", csp["connect-src"], p)
		require.Equal(t, "'self' data:", csp["img-src"], p)
		require.Equal(t, "'none'", csp["frame-ancestors"], p)
		require.Equal(t, "'none'", csp["base-uri"], p)
		require.NotContains(t, csp["script-src"], "unsafe-inline", p)
		// Only the AsyncAPI viewer compiles its validators at run time.
		wantScript := "'self'"
		for _, s := range eventSvcs {
			if p == "/docs/events/"+s {
				wantScript = "'self' 'unsafe-eval'"
			}
		}
		require.Equal(t, wantScript, csp["script-src"], p)
	}
}

func TestUnknownPathsAreProblems(t *testing.T) {
	t.Parallel()
	h := mustHandler(t)
	for _, p := range []string{
		"/docs/unknown", "/docs/events/unknown", "/docs/openapi/unknown.yaml", "/docs/asyncapi/unknown.yaml",
		"/docs/openapi/cart.v1.codegen.yaml", "/docs/openapi/cart.v1.yaml", "/docs/asyncapi/embed.go",
		"/docs/assets/nope.js", "/docs/assets/vendor/VERSIONS", "/docs/assets/../api/topics.yaml",
		"/docs/cart/extra", "/docsx", "/", "/docs/orderhistory/", "/docs/events/orderhistory",
	} {
		rec := get(t, h, p)
		require.Equal(t, http.StatusNotFound, rec.Code, p)
		require.Equal(t, problem.ContentType, rec.Header().Get("Content-Type"), p)
		var d problem.Details
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &d), p)
		require.Equal(t, http.StatusNotFound, d.Status, p)
		require.Equal(t, problem.TypeNotFound, d.Type, p)
		require.NotContains(t, rec.Body.String(), "<", p)
	}
}

func TestOnlyGetAndHead(t *testing.T) {
	t.Parallel()
	h := mustHandler(t)
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		rec := do(t, h, m, "/docs/cart")
		require.Equal(t, http.StatusMethodNotAllowed, rec.Code, m)
		require.Equal(t, "GET, HEAD", rec.Header().Get("Allow"), m)
		require.Equal(t, problem.ContentType, rec.Header().Get("Content-Type"), m)
	}
	head := do(t, h, http.MethodHead, "/docs/assets/agora/docs.css")
	require.Equal(t, http.StatusOK, head.Code)
	require.Equal(t, "text/css; charset=utf-8", head.Header().Get("Content-Type"))
	require.Zero(t, head.Body.Len())
}

func TestAssetCaching(t *testing.T) {
	t.Parallel()
	h := mustHandler(t)
	page := get(t, h, "/docs/cart").Body.String()
	var bundle string
	for _, l := range links(page) {
		if strings.Contains(l, "swagger-ui-bundle.js") {
			bundle = l
		}
	}
	require.NotEmpty(t, bundle)

	versioned := get(t, h, bundle)
	require.Equal(t, http.StatusOK, versioned.Code)
	require.Equal(t, "public, max-age=31536000, immutable", versioned.Header().Get("Cache-Control"))
	etag := versioned.Header().Get("ETag")
	require.NotEmpty(t, etag)

	for _, target := range []string{"/docs/assets/swagger-ui-dist/swagger-ui-bundle.js", "/docs/assets/swagger-ui-dist/swagger-ui-bundle.js?v=0000"} {
		rec := get(t, h, target)
		require.Equal(t, http.StatusOK, rec.Code, target)
		require.Equal(t, "no-cache", rec.Header().Get("Cache-Control"), target)
		require.Equal(t, versioned.Body.Bytes(), rec.Body.Bytes(), target)
	}

	notModified := get(t, h, bundle, "If-None-Match", etag)
	require.Equal(t, http.StatusNotModified, notModified.Code)
	require.Zero(t, notModified.Body.Len())

	pageTag := get(t, h, "/docs").Header().Get("ETag")
	require.Equal(t, http.StatusNotModified, get(t, h, "/docs", "If-None-Match", pageTag).Code)
}

func TestGzip(t *testing.T) {
	t.Parallel()
	h := mustHandler(t)
	for _, target := range []string{
		"/docs/assets/asyncapi-react-component/browser/standalone/index.js", "/docs/openapi/ordering.yaml", "/docs",
	} {
		plain := get(t, h, target)
		require.Equal(t, http.StatusOK, plain.Code, target)
		require.Empty(t, plain.Header().Get("Content-Encoding"), target)
		require.Contains(t, plain.Header().Values("Vary"), "Accept-Encoding", target)

		zipped := get(t, h, target, "Accept-Encoding", "br;q=1.0, gzip;q=0.8")
		require.Equal(t, http.StatusOK, zipped.Code, target)
		require.Equal(t, "gzip", zipped.Header().Get("Content-Encoding"), target)
		require.Equal(t, plain.Header().Get("Content-Type"), zipped.Header().Get("Content-Type"), target)
		require.NotEqual(t, plain.Header().Get("ETag"), zipped.Header().Get("ETag"), target)
		require.Less(t, zipped.Body.Len(), plain.Body.Len(), target)
		zr, err := gzip.NewReader(bytes.NewReader(zipped.Body.Bytes()))
		require.NoError(t, err)
		body, err := io.ReadAll(zr)
		require.NoError(t, err)
		require.Equal(t, plain.Body.Bytes(), body, target)

		refused := get(t, h, target, "Accept-Encoding", "gzip;q=0")
		require.Empty(t, refused.Header().Get("Content-Encoding"), target)
	}
}

// minimalAssets has the viewer files the pages load.
func minimalAssets() fstest.MapFS {
	return fstest.MapFS{
		"vendor/swagger-ui-dist/swagger-ui-bundle.js":                    {Data: []byte("var SwaggerUIBundle;")},
		"vendor/swagger-ui-dist/swagger-ui.css":                          {Data: []byte("body{}")},
		"vendor/asyncapi-react-component/browser/standalone/index.js":    {Data: []byte("var AsyncApiStandalone;")},
		"vendor/asyncapi-react-component/styles/default.min.css":         {Data: []byte("body{}")},
		"vendor/asyncapi-react-component/browser/standalone/extra.woff2": {Data: []byte{0, 1}},
	}
}

func openAPIFile(title string) *fstest.MapFile {
	return &fstest.MapFile{Data: []byte("openapi: 3.0.3\ninfo:\n  title: " + title + "\n  version: 1.0.0\npaths: {}\n")}
}

func TestHighestMajorIsShown(t *testing.T) {
	t.Parallel()
	h, err := apidocs.Handler(apidocs.Config{
		OpenAPI: fstest.MapFS{
			"widgets.v1.yaml": openAPIFile("Widgets one"), "widgets.v2.yaml": openAPIFile("Widgets two"),
			"widgets.v2.codegen.yaml": {Data: []byte("package: widgets\n")},
		},
		AsyncAPI: fstest.MapFS{},
		Assets:   minimalAssets(),
	})
	require.NoError(t, err)
	require.Contains(t, get(t, h, "/docs/openapi/widgets.yaml").Body.String(), "Widgets two")
	index := get(t, h, "/docs").Body.String()
	require.Contains(t, index, "widgets.v2.yaml")
	require.NotContains(t, index, "widgets.v1.yaml")
	require.Contains(t, get(t, h, "/docs/events").Body.String(), "Agora events")
	require.Equal(t, http.StatusNotFound, get(t, h, "/docs/events/widgets").Code)
	require.Equal(t, "font/woff2", get(t, h, "/docs/assets/asyncapi-react-component/browser/standalone/extra.woff2").Header().Get("Content-Type"))
}

func TestHandlerRejectsABadConfig(t *testing.T) {
	t.Parallel()
	good := func() apidocs.Config {
		return apidocs.Config{
			OpenAPI:  fstest.MapFS{"widgets.v1.yaml": openAPIFile("Widgets")},
			AsyncAPI: fstest.MapFS{"widgets.yaml": {Data: []byte("asyncapi: 3.0.0\ninfo:\n  title: Widget events\n  version: 1.0.0\n")}},
			Assets:   minimalAssets(),
		}
	}
	_, err := apidocs.Handler(good())
	require.NoError(t, err)

	for _, tc := range []struct {
		name    string
		change  func(*apidocs.Config)
		wantErr string
	}{
		{"no OpenAPI", func(c *apidocs.Config) { c.OpenAPI = nil }, "OpenAPI"},
		{"no AsyncAPI", func(c *apidocs.Config) { c.AsyncAPI = nil }, "AsyncAPI"},
		{"no assets", func(c *apidocs.Config) { c.Assets = nil }, "Assets"},
		{"missing viewer", func(c *apidocs.Config) {
			delete(c.Assets.(fstest.MapFS), "vendor/asyncapi-react-component/browser/standalone/index.js")
		}, "vendor/asyncapi-react-component/browser/standalone/index.js"},
		{"vendored package named like Agora's own", func(c *apidocs.Config) {
			c.Assets.(fstest.MapFS)["vendor/agora/docs.css"] = &fstest.MapFile{Data: []byte("x")}
		}, "may not be called agora"},
		{"reserved service name", func(c *apidocs.Config) {
			c.OpenAPI.(fstest.MapFS)["events.v1.yaml"] = openAPIFile("Events")
		}, `may not be called "events"`},
		{"broken YAML", func(c *apidocs.Config) {
			c.OpenAPI.(fstest.MapFS)["broken.v1.yaml"] = &fstest.MapFile{Data: []byte("openapi: [")}
		}, "broken.v1.yaml is not YAML"},
		{"not OpenAPI 3", func(c *apidocs.Config) {
			c.OpenAPI.(fstest.MapFS)["old.v1.yaml"] = &fstest.MapFile{Data: []byte("swagger: '2.0'\ninfo:\n  title: Old\n")}
		}, "old.v1.yaml is not an OpenAPI 3 file"},
		{"not AsyncAPI 3", func(c *apidocs.Config) {
			c.AsyncAPI.(fstest.MapFS)["old.yaml"] = &fstest.MapFile{Data: []byte("asyncapi: 2.6.0\ninfo:\n  title: Old\n")}
		}, "old.yaml is not an AsyncAPI 3 document"},
		{"no title", func(c *apidocs.Config) {
			c.OpenAPI.(fstest.MapFS)["untitled.v1.yaml"] = &fstest.MapFile{Data: []byte("openapi: 3.0.3\ninfo:\n  version: 1.0.0\n")}
		}, "untitled.v1.yaml has no info.title"},
		{"no specs at all", func(c *apidocs.Config) {
			c.OpenAPI = fstest.MapFS{}
			c.AsyncAPI = fstest.MapFS{}
		}, "neither OpenAPI files nor AsyncAPI documents"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := good()
			tc.change(&cfg)
			_, err := apidocs.Handler(cfg)
			require.ErrorContains(t, err, tc.wantErr)
		})
	}
}
