package chassis_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/chassis"
	"github.com/agoracommerce/agora/internal/platform/httpserver"
	"github.com/agoracommerce/agora/internal/platform/idempotency"
	"github.com/agoracommerce/agora/internal/platform/problem"
	"github.com/agoracommerce/agora/internal/platform/telemetry"
)

// /metrics serves the RED metrics of the requests served, without a span
// or an access-log line of its own; /readyz runs the service's checks.
func TestMetricsAndReadiness(t *testing.T) {
	t.Parallel()
	dbDown := errors.New("database is down")
	var failing atomic.Bool
	e := newEdge(t, edgeOptions{readiness: []chassis.Check{
		{Name: "database", Check: func(context.Context) error {
			if failing.Load() {
				return dbDown
			}
			return nil
		}},
		{Name: "broker", Check: func(context.Context) error { return nil }},
	}})
	require.Equal(t, http.StatusOK, e.do(t, http.MethodGet, "/v1/widgets", "", "Authorization", e.token(t, "a", scopeRead)).status)
	spans, lines := len(e.spans.Ended()), len(e.logs.lines(t))

	res := e.do(t, http.MethodGet, chassis.DefaultMetricsPath, "")
	require.Equal(t, http.StatusOK, res.status)
	require.Contains(t, string(res.body), `http_server_request_duration_seconds_count{`)
	require.Contains(t, string(res.body), `http_route="/v1/widgets"`)
	require.Len(t, e.spans.Ended(), spans, "scrapes are not traced")
	require.Len(t, e.logs.lines(t), lines, "scrapes are not access-logged")

	require.Equal(t, http.StatusOK, e.do(t, http.MethodGet, "/readyz", "").status)
	failing.Store(true)
	res = e.do(t, http.MethodGet, "/readyz", "")
	require.Equal(t, http.StatusServiceUnavailable, res.status)
	require.Equal(t, problem.TypeNotReady, res.problem.Type)
	require.Equal(t, []any{"database"}, res.problem.Extensions["failing"])
}

// The assembled server serves over a real connection too.
func TestServesOverTheWire(t *testing.T) {
	t.Parallel()
	e := newEdge(t, edgeOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- e.srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+ln.Addr().String()+"/v1/widgets",
		strings.NewReader(`{"name":"cog","quantity":1}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(idempotency.KeyHeader, "wire-1")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Equal(t, `Bearer realm="agora"`, resp.Header.Get("WWW-Authenticate"))
	require.Equal(t, problem.ContentType, resp.Header.Get("Content-Type"))
}

func TestNewHTTPRejectsBadSetups(t *testing.T) {
	t.Parallel()
	_, verifier := mustIssuer(t)
	store := mustIdempotencyStore(t)
	tel, err := telemetry.Setup(context.Background(), telemetry.Config{Service: "widgets", TracesExporter: "none", MetricsExporter: "none"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })

	valid := func() (chassis.Config, chassis.Deps) {
		return chassis.Config{HTTP: httpserver.Config{Document: mustDocument(t, "")}},
			chassis.Deps{Logger: zap.NewNop(), Telemetry: tel, Verifier: verifier, Idempotency: store}
	}
	tests := []struct {
		name   string
		mutate func(*chassis.Config, *chassis.Deps)
		want   string
	}{
		{"no logger", func(_ *chassis.Config, d *chassis.Deps) { d.Logger = nil }, "Deps.Logger"},
		{"no telemetry", func(_ *chassis.Config, d *chassis.Deps) { d.Telemetry = nil }, "Deps.Telemetry"},
		{"secured spec without verifier", func(_ *chassis.Config, d *chassis.Deps) { d.Verifier = nil }, "Deps.Verifier is nil"},
		{"POST without a key store", func(_ *chassis.Config, d *chassis.Deps) { d.Idempotency = nil },
			"POST /v1/widgets takes idempotency keys but Deps.Idempotency is nil"},
		{"authenticator preset", func(c *chassis.Config, _ *chassis.Deps) { c.HTTP.Authenticator = httpserver.NoAuth{} }, "Authenticator must be unset"},
		{"principal preset", func(c *chassis.Config, _ *chassis.Deps) {
			c.HTTP.Principal = func(context.Context) string { return "" }
		}, "Principal must be unset"},
		{"idempotency methods preset", func(c *chassis.Config, _ *chassis.Deps) { c.Idempotency.Methods = []string{"PUT"} }, "Required, Methods and Route"},
		{"negative retention", func(c *chassis.Config, _ *chassis.Deps) { c.Idempotency.Retention = -1 }, "may not be negative"},
		{"relative metrics path", func(c *chassis.Config, _ *chassis.Deps) { c.MetricsPath = "metrics" }, "must start with /"},
		{"metrics path in the spec", func(c *chassis.Config, _ *chassis.Deps) { c.MetricsPath = "/v1/widgets" }, "the spec has a path /v1/widgets"},
		{"empty bearer scheme", func(c *chassis.Config, _ *chassis.Deps) { c.BearerSchemes = []string{""} }, "empty name"},
		{"no spec", func(c *chassis.Config, _ *chassis.Deps) { c.HTTP.Document = nil }, "exactly one of Config.HTTP.Spec and Config.HTTP.Document"},
		{"unnamed readiness check", func(_ *chassis.Config, d *chassis.Deps) {
			d.Readiness = []chassis.Check{{Check: func(context.Context) error { return nil }}}
		}, "needs a name and a check"},
		{"duplicate readiness check", func(_ *chassis.Config, d *chassis.Deps) {
			ok := func(context.Context) error { return nil }
			d.Readiness = []chassis.Check{{Name: "db", Check: ok}, {Name: "db", Check: ok}}
		}, `two checks are named "db"`},
		{"unknown idempotency policy", func(c *chassis.Config, _ *chassis.Deps) { c.HTTP.Document = mustDocument(t, "always") },
			`x-agora-idempotency is always; want "required", "optional" or "none"`},
		{"idempotency on a safe method", func(c *chassis.Config, _ *chassis.Deps) {
			c.HTTP.Document.Paths.Find("/v1/widgets").Get.Extensions = map[string]any{chassis.IdempotencyExtension: "required"}
		}, `GET /v1/widgets: x-agora-idempotency cannot be "required" on a safe method`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, deps := valid()
			tt.mutate(&cfg, &deps)
			_, err := chassis.NewHTTP(cfg, deps)
			require.ErrorContains(t, err, tt.want)
		})
	}
	cfg, deps := valid()
	_, err = chassis.NewHTTP(cfg, deps)
	require.NoError(t, err, "the valid setup builds")
}

// A spec with no security and no POST needs neither a verifier nor a key
// store, and is loaded from YAML like a service's embedded spec.
func TestPublicReadOnlySpec(t *testing.T) {
	t.Parallel()
	tel, err := telemetry.Setup(context.Background(), telemetry.Config{Service: "catalog", TracesExporter: "none", MetricsExporter: "none"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	spec := []byte(`openapi: 3.0.3
info: {title: public, version: "1"}
paths:
  /v1/products:
    get:
      operationId: listProducts
      responses:
        '200': {description: ok, content: {application/json: {schema: {type: object}}}}
`)
	srv, err := chassis.NewHTTP(chassis.Config{HTTP: httpserver.Config{Spec: spec}}, chassis.Deps{Logger: zap.NewNop(), Telemetry: tel})
	require.NoError(t, err)
	srv.Router().Get("/v1/products", func(w http.ResponseWriter, r *http.Request) {
		_, authenticated := auth.PrincipalFrom(r.Context())
		require.False(t, authenticated)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{}`)
	})
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/products", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	rec = httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, chassis.DefaultMetricsPath, nil))
	require.Equal(t, http.StatusNotFound, rec.Code, "no Prometheus exporter, no metrics page")
}
