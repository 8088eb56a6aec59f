package telemetry_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/agoracommerce/agora/internal/platform/telemetry"
)

type fixture struct {
	tel    *telemetry.Telemetry
	spans  *tracetest.SpanRecorder
	reader *sdkmetric.ManualReader
}

func mustSetup(t *testing.T, metrics string) fixture {
	t.Helper()
	f := fixture{spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	tel, err := telemetry.Setup(context.Background(), telemetry.Config{
		Service: "ordering", Version: "test", TracesExporter: "none", MetricsExporter: metrics,
		SampleRatio:    1,
		SpanProcessors: []sdktrace.SpanProcessor{f.spans},
		MetricReaders:  []sdkmetric.Reader{f.reader},
	})
	if err != nil {
		t.Fatalf("setup: %v", err)
	}
	t.Cleanup(func() {
		if err := tel.Shutdown(context.Background()); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	f.tel = tel
	return f
}

type copiedKey struct{}

func router(tel *telemetry.Telemetry) http.Handler {
	r := chi.NewRouter()
	r.Use(tel.HTTPMiddleware())
	// A middleware that copies the request, as correlation ID or auth
	// middlewares do.
	r.Use(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), copiedKey{}, 1)))
		})
	})
	r.Get("/v1/orders/{orderID}", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "{}")
	})
	r.Post("/v1/orders", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	return r
}

func TestSetupValidates(t *testing.T) {
	t.Parallel()
	ok := telemetry.Config{Service: "s", TracesExporter: "none", MetricsExporter: "none", SampleRatio: 1}
	tests := []struct {
		name string
		mut  func(*telemetry.Config)
		want string
	}{
		{"no service", func(c *telemetry.Config) { c.Service = "" }, "service"},
		{"bad traces exporter", func(c *telemetry.Config) { c.TracesExporter = "jaeger" }, "traces exporter"},
		{"bad metrics exporter", func(c *telemetry.Config) { c.MetricsExporter = "statsd" }, "metrics exporter"},
		{"otlp without endpoint", func(c *telemetry.Config) { c.TracesExporter = "otlp" }, "otlp endpoint"},
		{"otlp endpoint not a URL", func(c *telemetry.Config) { c.MetricsExporter = "otlp"; c.OTLPEndpoint = "collector:4318" }, "otlp endpoint"},
		{"ratio above 1", func(c *telemetry.Config) { c.SampleRatio = 1.5 }, "sample ratio"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := ok
			tc.mut(&cfg)
			_, err := telemetry.Setup(context.Background(), cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestSetupOTLPAndShutdown(t *testing.T) {
	t.Parallel()
	// Nothing listens on this port: Setup must not need the collector, and
	// Shutdown must give up when its context expires.
	tel, err := telemetry.Setup(context.Background(), telemetry.Config{
		Service: "s", TracesExporter: "otlp", MetricsExporter: "otlp", OTLPEndpoint: "http://127.0.0.1:1", SampleRatio: 1,
	})
	if err != nil {
		t.Fatalf("setup: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, span := tel.TracerProvider().Tracer("t").Start(ctx, "op")
	span.End()
	start := time.Now()
	if err := tel.Shutdown(ctx); err == nil {
		t.Error("shutdown reported success although the collector is unreachable")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("shutdown took %s despite a 200ms deadline", d)
	}
}

func TestServerSpansNamedByRouteWithXRayIDs(t *testing.T) {
	t.Parallel()
	f := mustSetup(t, "none")
	h := router(f.tel)
	before := time.Now().Unix()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/orders/o-123", nil))
	after := time.Now().Unix()
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	spans := f.spans.Ended()
	if len(spans) != 1 {
		t.Fatalf("got %d spans", len(spans))
	}
	s := spans[0]
	if s.Name() != "GET /v1/orders/{orderID}" {
		t.Errorf("span name = %q", s.Name())
	}
	if s.SpanKind() != trace.SpanKindServer {
		t.Errorf("span kind = %v", s.SpanKind())
	}
	attrs := attrMap(s.Attributes())
	if attrs["http.route"] != "/v1/orders/{orderID}" || attrs["http.response.status_code"] != "200" || attrs["http.request.method"] != "GET" {
		t.Errorf("span attributes = %v", attrs)
	}
	tid := s.SpanContext().TraceID()
	epoch := int64(binary.BigEndian.Uint32(tid[:4]))
	if epoch < before || epoch > after {
		t.Errorf("trace ID %s does not start with the epoch seconds (got %d, want %d..%d)", tid, epoch, before, after)
	}
}

func TestServerExtractsXRayAndW3CParents(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, header, value, wantTrace string
	}{
		{"x-ray", "X-Amzn-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1", "5759e988bd862e3fe1be46a994272793"},
		{"w3c", "traceparent", "00-6759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01", "6759e988bd862e3fe1be46a994272793"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := mustSetup(t, "none")
			req := httptest.NewRequest(http.MethodGet, "/v1/orders/o-1", nil)
			req.Header.Set(tc.header, tc.value)
			router(f.tel).ServeHTTP(httptest.NewRecorder(), req)
			spans := f.spans.Ended()
			if len(spans) != 1 {
				t.Fatalf("got %d spans", len(spans))
			}
			if got := spans[0].SpanContext().TraceID().String(); got != tc.wantTrace {
				t.Fatalf("trace ID = %s, want %s", got, tc.wantTrace)
			}
			if got := spans[0].Parent().SpanID().String(); got != "53995c3f42cd8ad8" {
				t.Fatalf("parent span = %s", got)
			}
		})
	}
}

func TestREDMetricsPerRoute(t *testing.T) {
	t.Parallel()
	f := mustSetup(t, "none")
	h := router(f.tel)
	for i := range 3 {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/v1/orders/o-"+strconv.Itoa(i), nil))
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/v1/orders", nil))

	var rm metricdata.ResourceMetrics
	if err := f.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatalf("collect: %v", err)
	}
	hist := findHistogram(t, rm, "http.server.request.duration")
	counts := map[string]uint64{}
	for _, dp := range hist.DataPoints {
		a := attrMap(dp.Attributes.ToSlice())
		counts[a["http.request.method"]+" "+a["http.route"]+" "+a["http.response.status_code"]] += dp.Count
	}
	want := map[string]uint64{"GET /v1/orders/{orderID} 200": 3, "POST /v1/orders 503": 1}
	for k, v := range want {
		if counts[k] != v {
			t.Errorf("count[%s] = %d, want %d (all: %v)", k, counts[k], v, counts)
		}
	}
	if len(counts) != len(want) {
		t.Errorf("unexpected series: %v", counts)
	}
}

func TestClientTransportPropagates(t *testing.T) {
	t.Parallel()
	f := mustSetup(t, "none")
	got := make(chan http.Header, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got <- r.Header.Clone() }))
	t.Cleanup(srv.Close)

	ctx, parent := f.tel.TracerProvider().Tracer("test").Start(context.Background(), "checkout")
	client := &http.Client{Transport: f.tel.HTTPTransport(nil), Timeout: 5 * time.Second}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	parent.End()
	hdr := <-got
	tid := parent.SpanContext().TraceID().String()
	if tp := hdr.Get("traceparent"); !strings.Contains(tp, tid) {
		t.Errorf("traceparent = %q, want trace %s", tp, tid)
	}
	if xr := hdr.Get("X-Amzn-Trace-Id"); !strings.Contains(xr, "Root=1-"+tid[:8]+"-"+tid[8:]) {
		t.Errorf("X-Amzn-Trace-Id = %q, want trace %s", xr, tid)
	}
	var client0 bool
	for _, s := range f.spans.Ended() {
		if s.SpanKind() == trace.SpanKindClient && s.Parent().SpanID() == parent.SpanContext().SpanID() {
			client0 = true
		}
	}
	if !client0 {
		t.Error("no client span under the parent")
	}
}

func TestPrometheusHandler(t *testing.T) {
	t.Parallel()
	f := mustSetup(t, "prometheus")
	router(f.tel).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/v1/orders/o-1", nil))
	rec := httptest.NewRecorder()
	f.tel.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body := rec.Body.String()
	if rec.Code != http.StatusOK || !strings.Contains(body, "http_server_request_duration_seconds_count") ||
		!strings.Contains(body, `http_route="/v1/orders/{orderID}"`) {
		t.Fatalf("status %d, body:\n%s", rec.Code, body)
	}

	none := mustSetup(t, "none")
	rec = httptest.NewRecorder()
	none.tel.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusNotFound {
		t.Fatalf("metrics handler without prometheus: status %d", rec.Code)
	}
}

func attrMap(kvs []attribute.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.String()
	}
	return m
}

func findHistogram(t *testing.T, rm metricdata.ResourceMetrics, name string) metricdata.Histogram[float64] {
	t.Helper()
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == name {
				h, ok := m.Data.(metricdata.Histogram[float64])
				if !ok {
					t.Fatalf("%s is %T", name, m.Data)
				}
				return h
			}
		}
	}
	t.Fatalf("metric %s not found", name)
	return metricdata.Histogram[float64]{}
}

// With METRICS_EXPORTER=emf the meter provider writes CloudWatch embedded
// metric format lines: the outbox's age gauge becomes
// outbox_oldest_age_seconds in the configured namespace with the plain
// service name as its dimension, the metric the outbox age alarm reads.
func TestEMFMetrics(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	tel, err := telemetry.Setup(context.Background(), telemetry.Config{
		Service: "agora-inventory", TracesExporter: "none", MetricsExporter: "emf", SampleRatio: 1,
		MetricsNamespace: "agora-test", MetricsService: "inventory", MetricsWriter: &out,
	})
	if err != nil {
		t.Fatalf("setup: %v", err)
	}
	gauge, err := tel.MeterProvider().Meter("outbox").Float64Gauge("agora.outbox.oldest_age", metric.WithUnit("s"))
	if err != nil {
		t.Fatal(err)
	}
	gauge.Record(context.Background(), 42.5)
	if err := tel.MeterProvider().(interface{ ForceFlush(context.Context) error }).ForceFlush(context.Background()); err != nil {
		t.Fatalf("flush: %v", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &doc); err != nil {
		t.Fatalf("not one EMF document: %v\n%s", err, out.String())
	}
	if doc["service"] != "inventory" || doc["outbox_oldest_age_seconds"] != 42.5 {
		t.Fatalf("document %v", doc)
	}
	directive := doc["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)[0].(map[string]any)
	if directive["Namespace"] != "agora-test" {
		t.Fatalf("namespace %v", directive["Namespace"])
	}
	if err := tel.Shutdown(context.Background()); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}
