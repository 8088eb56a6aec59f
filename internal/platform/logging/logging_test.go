package logging_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"testing"

	"github.com/go-chi/chi/v5"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"

	"github.com/agoracommerce/agora/internal/platform/correlation"
	"github.com/agoracommerce/agora/internal/platform/logging"
)

// buffer is a concurrency-safe log sink.
type buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines decodes every JSON line written so far.
func (b *buffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b.buf.Bytes()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q is not JSON: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

func mustLogger(t *testing.T, level string) (*zap.Logger, *buffer) {
	t.Helper()
	buf := &buffer{}
	log, err := logging.New(logging.Config{Service: "ordering", Level: level, Output: buf})
	if err != nil {
		t.Fatalf("new logger: %v", err)
	}
	return log, buf
}

var (
	traceID = trace.TraceID{0x5f, 0x84, 0xc7, 0xa1, 0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f, 0x60, 0x71, 0x82, 0x93, 0xa4, 0xb5}
	spanID  = trace.SpanID{0x53, 0x99, 0x5c, 0x3f, 0x42, 0xcd, 0x8a, 0xd8}
)

func spanContext(ctx context.Context) context.Context {
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceID, SpanID: spanID, TraceFlags: trace.FlagsSampled})
	return trace.ContextWithSpanContext(ctx, sc)
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  logging.Config
	}{
		{"no service", logging.Config{Level: "info"}},
		{"unknown level", logging.Config{Service: "x", Level: "verbose"}},
		{"fatal is not allowed", logging.Config{Service: "x", Level: "fatal"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := logging.New(tc.cfg); err == nil {
				t.Fatal("New returned no error")
			}
		})
	}
}

func TestLevelFilters(t *testing.T) {
	t.Parallel()
	log, buf := mustLogger(t, "warn")
	log.Info("hidden")
	log.Warn("shown")
	lines := buf.lines(t)
	if len(lines) != 1 || lines[0]["msg"] != "shown" || lines[0]["level"] != "warn" {
		t.Fatalf("lines = %v, want only the warning", lines)
	}
}

func TestFromContextAddsFields(t *testing.T) {
	t.Parallel()
	log, buf := mustLogger(t, "")
	ctx := spanContext(correlation.WithID(context.Background(), "corr-42"))
	logging.FromContext(ctx, log).Info("order placed", zap.String("order_id", "o-1"))
	logging.FromContext(context.Background(), log).Info("bare")

	lines := buf.lines(t)
	if len(lines) != 2 {
		t.Fatalf("got %d lines", len(lines))
	}
	want := map[string]any{
		"service":        "ordering",
		"correlation_id": "corr-42",
		"trace_id":       "1-5f84c7a1-0a1b2c3d4e5f60718293a4b5",
		"span_id":        "53995c3f42cd8ad8",
		"order_id":       "o-1",
		"msg":            "order placed",
		"level":          "info",
	}
	for k, v := range want {
		if lines[0][k] != v {
			t.Errorf("field %s = %v, want %v", k, lines[0][k], v)
		}
	}
	if _, ok := lines[0]["ts"]; !ok {
		t.Error("no ts field")
	}
	for _, k := range []string{"correlation_id", "trace_id", "span_id"} {
		if _, ok := lines[1][k]; ok {
			t.Errorf("line without context has %s", k)
		}
	}
	if lines[1]["service"] != "ordering" {
		t.Errorf("service = %v on the bare line", lines[1]["service"])
	}
}

func TestXRayTraceIDFormat(t *testing.T) {
	t.Parallel()
	got := logging.XRayTraceID(traceID)
	if !regexp.MustCompile(`^1-[0-9a-f]{8}-[0-9a-f]{24}$`).MatchString(got) {
		t.Fatalf("%q is not in X-Ray form", got)
	}
	if got != "1-5f84c7a1-0a1b2c3d4e5f60718293a4b5" {
		t.Fatalf("got %q", got)
	}
}

func TestAccessLog(t *testing.T) {
	t.Parallel()
	log, buf := mustLogger(t, "info")
	// A stand-in for the correlation and tracing middlewares mounted before
	// the access log.
	withContext := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := spanContext(correlation.WithID(r.Context(), "corr-7"))
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
	router := chi.NewRouter()
	router.Use(withContext, logging.AccessLog(log))
	router.Get("/v1/orders/{orderID}", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"id":"o-1"}`))
	})
	router.Post("/v1/orders", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	})

	tests := []struct {
		name, method, path, route, level string
		status                           float64
		bytes                            float64
	}{
		{"ok", http.MethodGet, "/v1/orders/o-1", "/v1/orders/{orderID}", "info", 200, 12},
		{"server error", http.MethodPost, "/v1/orders", "/v1/orders", "error", 500, 5},
		{"not found", http.MethodGet, "/v1/nothing", "", "info", 404, 19},
	}
	for _, tc := range tests {
		rec := httptest.NewRecorder()
		router.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		if rec.Code != int(tc.status) {
			t.Fatalf("%s: status %d", tc.name, rec.Code)
		}
	}
	lines := buf.lines(t)
	if len(lines) != len(tests) {
		t.Fatalf("got %d lines, want %d", len(lines), len(tests))
	}
	for i, tc := range tests {
		l := lines[i]
		want := map[string]any{
			"msg": "http request", "method": tc.method, "route": tc.route, "path": tc.path,
			"status": tc.status, "bytes": tc.bytes, "level": tc.level,
			"service": "ordering", "correlation_id": "corr-7",
			"trace_id": "1-5f84c7a1-0a1b2c3d4e5f60718293a4b5", "span_id": "53995c3f42cd8ad8",
		}
		for k, v := range want {
			if l[k] != v {
				t.Errorf("%s: field %s = %v, want %v", tc.name, k, l[k], v)
			}
		}
		if d, ok := l["duration_ms"].(float64); !ok || d < 0 {
			t.Errorf("%s: duration_ms = %v", tc.name, l["duration_ms"])
		}
	}
}

func TestAccessLogAroundRouter(t *testing.T) {
	t.Parallel()
	log, buf := mustLogger(t, "info")
	router := chi.NewRouter()
	router.Route("/v1/carts", func(r chi.Router) {
		r.Put("/{cartID}/items/{sku}", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusNoContent)
		})
	})
	h := logging.AccessLog(log)(router)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPut, "/v1/carts/c1/items/sku-9", nil))
	lines := buf.lines(t)
	if len(lines) != 1 {
		t.Fatalf("got %d lines", len(lines))
	}
	if got := lines[0]["route"]; got != "/v1/carts/{cartID}/items/{sku}" {
		t.Fatalf("route = %v", got)
	}
	if got := lines[0]["status"]; got != float64(http.StatusNoContent) {
		t.Fatalf("status = %v", got)
	}
}

func TestFromContextNilBase(t *testing.T) {
	t.Parallel()
	l := logging.FromContext(context.Background(), nil)
	if l == nil {
		t.Fatal("nil logger")
	}
	l.Error("dropped", zap.Error(errors.New("x")))
}
