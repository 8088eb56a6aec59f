package emf_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/agoracommerce/agora/internal/platform/fault"
	"github.com/agoracommerce/agora/internal/platform/telemetry/emf"
)

var now = time.Date(2026, 3, 4, 5, 6, 7, 890_000_000, time.UTC)

func clock() time.Time { return now }

// buffer is a writer that tests read while the SDK's reader goroutine
// writes.
type buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// lines returns and forgets what was written so far, one entry per line.
func (b *buffer) lines(t *testing.T) []string {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	text := b.b.String()
	b.b.Reset()
	if text == "" {
		return nil
	}
	if !strings.HasSuffix(text, "\n") {
		t.Fatalf("output does not end with a newline: %q", text)
	}
	return strings.Split(strings.TrimSuffix(text, "\n"), "\n")
}

// docs parses every line written so far as one JSON document.
func (b *buffer) docs(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range b.lines(t) {
		var doc map[string]any
		if err := json.Unmarshal([]byte(line), &doc); err != nil {
			t.Fatalf("line is not a JSON object: %v\n%s", err, line)
		}
		out = append(out, doc)
	}
	return out
}

func mustExporter(t *testing.T, cfg emf.Config) (*emf.Exporter, *buffer) {
	t.Helper()
	buf := &buffer{}
	cfg.Writer = buf
	if cfg.Service == "" {
		cfg.Service = "ordering"
	}
	if cfg.Clock == nil {
		cfg.Clock = clock
	}
	exp, err := emf.New(cfg)
	if err != nil {
		t.Fatalf("new exporter: %v", err)
	}
	return exp, buf
}

// mustProvider returns a meter provider whose periodic reader only exports
// when flushed.
func mustProvider(t *testing.T, cfg emf.Config) (*sdkmetric.MeterProvider, *buffer) {
	t.Helper()
	exp, buf := mustExporter(t, cfg)
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp, sdkmetric.WithInterval(time.Hour))))
	t.Cleanup(func() {
		if err := mp.Shutdown(context.Background()); err != nil {
			t.Errorf("shutdown meter provider: %v", err)
		}
	})
	return mp, buf
}

func mustFlush(t *testing.T, mp *sdkmetric.MeterProvider, buf *buffer) []map[string]any {
	t.Helper()
	if err := mp.ForceFlush(context.Background()); err != nil {
		t.Fatalf("flush: %v", err)
	}
	return buf.docs(t)
}

func mustExport(t *testing.T, exp *emf.Exporter, buf *buffer, ms ...metricdata.Metrics) []map[string]any {
	t.Helper()
	if err := exp.Export(context.Background(), resourceMetrics(ms...)); err != nil {
		t.Fatalf("export: %v", err)
	}
	return buf.docs(t)
}

func resourceMetrics(ms ...metricdata.Metrics) *metricdata.ResourceMetrics {
	return &metricdata.ResourceMetrics{ScopeMetrics: []metricdata.ScopeMetrics{{Metrics: ms}}}
}

// m is one metric expected in a document: its value is a float64 or, for
// several samples, a []any of float64.
type m struct {
	name, unit string
	value      any
}

// doc builds the document expected for service "ordering" in namespace
// "agora", with dims as name/value pairs after "service".
func doc(dims []string, metrics ...m) map[string]any {
	set := []any{"service"}
	out := map[string]any{"service": "ordering"}
	for i := 0; i < len(dims); i += 2 {
		set = append(set, dims[i])
		out[dims[i]] = dims[i+1]
	}
	defs := []any{}
	for _, mt := range metrics {
		defs = append(defs, map[string]any{"Name": mt.name, "Unit": mt.unit})
		out[mt.name] = mt.value
	}
	out["_aws"] = map[string]any{
		"Timestamp": float64(now.UnixMilli()),
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace":  "agora",
			"Dimensions": []any{set},
			"Metrics":    defs,
		}},
	}
	return out
}

func values(vs ...float64) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = v
	}
	return out
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("create instrument: %v", err)
		}
		return v
	}
}

func TestExportWritesOneDocumentPerDimensionSet(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	mp, buf := mustProvider(t, emf.Config{})
	meter := mp.Meter("test")

	published := must[metric.Int64Counter](t)(meter.Int64Counter("agora.outbox.published"))
	published.Add(ctx, 3, metric.WithAttributes(attribute.String("relay.owner", "a")))
	published.Add(ctx, 4, metric.WithAttributes(attribute.String("relay.owner", "b")))

	consumed := must[metric.Int64Counter](t)(meter.Int64Counter("agora.consumer.messages"))
	consumed.Add(ctx, 2, metric.WithAttributes(attribute.String("topic", "orders"), attribute.String("outcome", "ok")))
	consumed.Add(ctx, 1, metric.WithAttributes(attribute.String("topic", "orders"), attribute.String("outcome", "retry")))
	consumed.Add(ctx, 5, metric.WithAttributes(attribute.String("topic", "payments"), attribute.String("outcome", "ok")))

	age := must[metric.Float64ObservableGauge](t)(meter.Float64ObservableGauge("agora.outbox.oldest_age", metric.WithUnit("s")))
	lag := must[metric.Int64ObservableGauge](t)(meter.Int64ObservableGauge("agora.consumer.lag"))
	if _, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveFloat64(age, 12.5)
		o.ObserveInt64(lag, 6, metric.WithAttributes(attribute.String("topic", "orders"), attribute.Int("partition", 1)))
		o.ObserveInt64(lag, 4, metric.WithAttributes(attribute.String("topic", "orders"), attribute.Int("partition", 0)))
		return nil
	}, age, lag); err != nil {
		t.Fatalf("register callback: %v", err)
	}

	inFlight := must[metric.Int64UpDownCounter](t)(meter.Int64UpDownCounter("agora.http.in_flight"))
	inFlight.Add(ctx, 2, metric.WithAttributes(attribute.String("route", "GET /orders")))

	requests := must[metric.Int64Counter](t)(meter.Int64Counter("agora.http.requests"))
	requests.Add(ctx, 1, metric.WithAttributes(attribute.String("route", "GET /orders"),
		attribute.String("status_class", "2xx"), attribute.String("method", "GET")))

	duration := must[metric.Float64Histogram](t)(meter.Float64Histogram("agora.consumer.handler.duration", metric.WithUnit("s")))
	duration.Record(ctx, 0.5, metric.WithAttributes(attribute.String("topic", "orders")))
	duration.Record(ctx, 1.5, metric.WithAttributes(attribute.String("topic", "orders"), attribute.String("outcome", "ok")))

	want := []map[string]any{
		doc(nil,
			m{"outbox_oldest_age_seconds", "Seconds", 12.5},
			m{"outbox_published", "Count", 7.0}),
		doc([]string{"route", "GET /orders"},
			m{"http_in_flight", "None", 2.0}),
		doc([]string{"route", "GET /orders", "status_class", "2xx"},
			m{"http_requests", "Count", 1.0}),
		doc([]string{"topic", "orders"},
			m{"consumer_handler_duration_seconds_count", "Count", 2.0},
			m{"consumer_handler_duration_seconds_max", "Seconds", 1.5},
			m{"consumer_handler_duration_seconds_min", "Seconds", 0.5},
			m{"consumer_handler_duration_seconds_sum", "Seconds", 2.0},
			m{"consumer_lag", "None", values(4, 6)},
			m{"consumer_messages", "Count", 3.0}),
		doc([]string{"topic", "payments"},
			m{"consumer_messages", "Count", 5.0}),
	}
	if diff := cmp.Diff(want, mustFlush(t, mp, buf)); diff != "" {
		t.Errorf("documents (-want +got):\n%s", diff)
	}
}

func TestExportSendsCountersAsDeltasAndLevelsAsTotals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	mp, buf := mustProvider(t, emf.Config{})
	meter := mp.Meter("test")
	published := must[metric.Int64Counter](t)(meter.Int64Counter("agora.outbox.published"))
	depth := must[metric.Int64UpDownCounter](t)(meter.Int64UpDownCounter("agora.queue.depth"))
	sizes := must[metric.Int64Histogram](t)(meter.Int64Histogram("agora.payload.size", metric.WithUnit("By")))

	published.Add(ctx, 5)
	depth.Add(ctx, 3)
	sizes.Record(ctx, 100)
	want := []map[string]any{doc(nil,
		m{"outbox_published", "Count", 5.0},
		m{"payload_size_bytes_count", "Count", 1.0},
		m{"payload_size_bytes_max", "Bytes", 100.0},
		m{"payload_size_bytes_min", "Bytes", 100.0},
		m{"payload_size_bytes_sum", "Bytes", 100.0},
		m{"queue_depth", "None", 3.0})}
	if diff := cmp.Diff(want, mustFlush(t, mp, buf)); diff != "" {
		t.Errorf("first flush (-want +got):\n%s", diff)
	}

	published.Add(ctx, 2)
	depth.Add(ctx, -1)
	sizes.Record(ctx, 10)
	sizes.Record(ctx, 30)
	want = []map[string]any{doc(nil,
		m{"outbox_published", "Count", 2.0},
		m{"payload_size_bytes_count", "Count", 2.0},
		m{"payload_size_bytes_max", "Bytes", 30.0},
		m{"payload_size_bytes_min", "Bytes", 10.0},
		m{"payload_size_bytes_sum", "Bytes", 40.0},
		m{"queue_depth", "None", 2.0})}
	if diff := cmp.Diff(want, mustFlush(t, mp, buf)); diff != "" {
		t.Errorf("second flush (-want +got):\n%s", diff)
	}

	// Nothing counted since: only the level is reported.
	want = []map[string]any{doc(nil, m{"queue_depth", "None", 2.0})}
	if diff := cmp.Diff(want, mustFlush(t, mp, buf)); diff != "" {
		t.Errorf("third flush (-want +got):\n%s", diff)
	}
}

func TestExportSplitsDocumentsOver100Metrics(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	mp, buf := mustProvider(t, emf.Config{})
	meter := mp.Meter("test")
	var first, second []m
	for i := range 150 {
		c := must[metric.Int64Counter](t)(meter.Int64Counter(fmt.Sprintf("agora.batch.c%03d", i)))
		c.Add(ctx, int64(i))
		want := m{fmt.Sprintf("batch_c%03d", i), "Count", float64(i)}
		if i < 100 {
			first = append(first, want)
		} else {
			second = append(second, want)
		}
	}
	want := []map[string]any{doc(nil, first...), doc(nil, second...)}
	if diff := cmp.Diff(want, mustFlush(t, mp, buf)); diff != "" {
		t.Errorf("documents (-want +got):\n%s", diff)
	}
}

func TestExportSplitsValueArraysOver100Values(t *testing.T) {
	t.Parallel()
	exp, buf := mustExporter(t, emf.Config{})
	points := make([]metricdata.DataPoint[int64], 250)
	var all []float64
	for i := range points {
		points[i] = metricdata.DataPoint[int64]{Attributes: attribute.NewSet(attribute.Int("partition", i)), Value: int64(i)}
		all = append(all, float64(i))
	}
	other := metricdata.Metrics{Name: "agora.other", Data: metricdata.Gauge[int64]{DataPoints: []metricdata.DataPoint[int64]{{Value: 1}}}}
	got := mustExport(t, exp, buf,
		metricdata.Metrics{Name: "agora.consumer.lag", Data: metricdata.Gauge[int64]{DataPoints: points}}, other)
	want := []map[string]any{
		doc(nil, m{"consumer_lag", "None", values(all[:100]...)}, m{"other", "None", 1.0}),
		doc(nil, m{"consumer_lag", "None", values(all[100:200]...)}),
		doc(nil, m{"consumer_lag", "None", values(all[200:]...)}),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("documents (-want +got):\n%s", diff)
	}
}

func TestExportKeepsDocumentsUnderMaxBytes(t *testing.T) {
	t.Parallel()
	const maxBytes = 1024
	exp, buf := mustExporter(t, emf.Config{MaxBytes: maxBytes})
	var ms []metricdata.Metrics
	wantValues := map[string][]float64{}
	for i := range 40 {
		name := fmt.Sprintf("agora.gauge_with_a_rather_long_name_%02d", i)
		ms = append(ms, gauge(name, "", float64(i)+0.25))
		wantValues[fmt.Sprintf("gauge_with_a_rather_long_name_%02d", i)] = []float64{float64(i) + 0.25}
	}
	var many []float64
	for i := range 100 {
		many = append(many, math.Pi*float64(i+1)*1e-100)
	}
	ms = append(ms, gauge("agora.samples", "", many...))
	wantValues["samples"] = many

	if err := exp.Export(context.Background(), resourceMetrics(ms...)); err != nil {
		t.Fatalf("export: %v", err)
	}
	gotValues := map[string][]float64{}
	lines := buf.lines(t)
	if len(lines) < 2 {
		t.Fatalf("got %d documents, want the metrics split over several", len(lines))
	}
	for _, line := range lines {
		if len(line) > maxBytes {
			t.Errorf("document of %d bytes exceeds %d", len(line), maxBytes)
		}
		var d map[string]any
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatalf("parse: %v", err)
		}
		for _, def := range d["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)[0].(map[string]any)["Metrics"].([]any) {
			name := def.(map[string]any)["Name"].(string)
			switch v := d[name].(type) {
			case float64:
				gotValues[name] = append(gotValues[name], v)
			case []any:
				for _, x := range v {
					gotValues[name] = append(gotValues[name], x.(float64))
				}
			}
		}
	}
	if diff := cmp.Diff(wantValues, gotValues); diff != "" {
		t.Errorf("values across documents (-want +got):\n%s", diff)
	}
}

func gauge(name, unit string, vs ...float64) metricdata.Metrics {
	points := make([]metricdata.DataPoint[float64], len(vs))
	for i, v := range vs {
		points[i] = metricdata.DataPoint[float64]{Attributes: attribute.NewSet(attribute.Int("i", i)), Value: v}
	}
	return metricdata.Metrics{Name: name, Unit: unit, Data: metricdata.Gauge[float64]{DataPoints: points}}
}

func TestExportSkipsValuesCloudWatchRefuses(t *testing.T) {
	t.Parallel()
	exp, buf := mustExporter(t, emf.Config{})
	sum := metricdata.Metrics{Name: "agora.total", Data: metricdata.Sum[float64]{
		IsMonotonic: true,
		Temporality: metricdata.DeltaTemporality,
		DataPoints: []metricdata.DataPoint[float64]{
			{Attributes: attribute.NewSet(attribute.Int("i", 1)), Value: math.NaN()},
			{Attributes: attribute.NewSet(attribute.Int("i", 2)), Value: 3},
		},
	}}
	hist := metricdata.Metrics{Name: "agora.latency", Unit: "ms", Data: metricdata.Histogram[float64]{
		Temporality: metricdata.DeltaTemporality,
		DataPoints: []metricdata.HistogramDataPoint[float64]{{
			Count: 2, Sum: math.NaN(), Min: metricdata.NewExtrema(1.0), Max: metricdata.NewExtrema(math.Inf(1)),
		}},
	}}
	got := mustExport(t, exp, buf,
		gauge("agora.level", "", math.NaN(), math.Inf(1), 2, math.Inf(-1)),
		gauge("agora.broken", "", math.NaN()),
		gauge("agora.huge", "", 1e300),
		gauge("agora.tiny", "", 1e-300),
		sum, hist)
	want := []map[string]any{doc(nil,
		m{"latency_milliseconds_count", "Count", 2.0},
		m{"latency_milliseconds_min", "Milliseconds", 1.0},
		m{"level", "None", 2.0},
		m{"tiny", "None", 0.0},
		m{"total", "Count", 3.0})}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("documents (-want +got):\n%s", diff)
	}
}

func TestExportNamesAndUnits(t *testing.T) {
	t.Parallel()
	sum := func(name, unit string, monotonic bool) metricdata.Metrics {
		return metricdata.Metrics{Name: name, Unit: unit, Data: metricdata.Sum[int64]{
			IsMonotonic: monotonic, DataPoints: []metricdata.DataPoint[int64]{{Value: 1}},
		}}
	}
	tests := []struct {
		name     string
		metric   metricdata.Metrics
		wantName string
		wantUnit string
	}{
		{"seconds", gauge("agora.outbox.oldest_age", "s", 1), "outbox_oldest_age_seconds", "Seconds"},
		{"milliseconds and hyphen", gauge("agora.db.query-time", "ms", 1), "db_query_time_milliseconds", "Milliseconds"},
		{"bytes", gauge("agora.payload.size", "By", 1), "payload_size_bytes", "Bytes"},
		{"dimensionless", gauge("agora.cache.ratio", "1", 1), "cache_ratio", "None"},
		{"no unit", gauge("agora.queue.depth", "", 1), "queue_depth", "None"},
		{"annotation unit", gauge("agora.things", "{thing}", 1), "things", "None"},
		{"unknown unit", gauge("agora.temperature", "Cel", 1), "temperature", "None"},
		{"suffix not doubled", gauge("agora.wait_seconds", "s", 1), "wait_seconds", "Seconds"},
		{"foreign prefix kept", gauge("http.server.active_requests", "", 1), "http_server_active_requests", "None"},
		{"only agora. stripped", gauge("agoraless.x", "", 1), "agoraless_x", "None"},
		{"counter", sum("agora.outbox.published", "", true), "outbox_published", "Count"},
		{"counter with annotation", sum("agora.consumer.messages", "{message}", true), "consumer_messages", "Count"},
		{"counter of seconds", sum("agora.cpu.time", "s", true), "cpu_time_seconds", "Seconds"},
		{"up-down counter", sum("agora.http.in_flight", "", false), "http_in_flight", "None"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			exp, buf := mustExporter(t, emf.Config{})
			want := []map[string]any{doc(nil, m{tt.wantName, tt.wantUnit, 1.0})}
			if diff := cmp.Diff(want, mustExport(t, exp, buf, tt.metric)); diff != "" {
				t.Errorf("documents (-want +got):\n%s", diff)
			}
		})
	}
}

func TestExportOtherAggregations(t *testing.T) {
	t.Parallel()
	exp, buf := mustExporter(t, emf.Config{})
	expo := metricdata.Metrics{Name: "agora.rpc.duration", Unit: "s", Data: metricdata.ExponentialHistogram[int64]{
		DataPoints: []metricdata.ExponentialHistogramDataPoint[int64]{{
			Attributes: attribute.NewSet(attribute.String("route", "GET /x")),
			Count:      3, Sum: 9, Min: metricdata.NewExtrema[int64](2), Max: metricdata.NewExtrema[int64](4),
		}},
	}}
	noExtrema := metricdata.Metrics{Name: "agora.plain", Data: metricdata.Histogram[int64]{
		DataPoints: []metricdata.HistogramDataPoint[int64]{{Count: 1, Sum: 7}},
	}}
	summary := metricdata.Metrics{Name: "agora.gc.pause", Unit: "ms", Data: metricdata.Summary{
		DataPoints: []metricdata.SummaryDataPoint{{Count: 4, Sum: 10}},
	}}
	got := mustExport(t, exp, buf, expo, noExtrema, summary)
	want := []map[string]any{
		doc(nil,
			m{"gc_pause_milliseconds_count", "Count", 4.0},
			m{"gc_pause_milliseconds_sum", "Milliseconds", 10.0},
			m{"plain_count", "Count", 1.0},
			m{"plain_sum", "None", 7.0}),
		doc([]string{"route", "GET /x"},
			m{"rpc_duration_seconds_count", "Count", 3.0},
			m{"rpc_duration_seconds_max", "Seconds", 4.0},
			m{"rpc_duration_seconds_min", "Seconds", 2.0},
			m{"rpc_duration_seconds_sum", "Seconds", 9.0}),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("documents (-want +got):\n%s", diff)
	}
}

func TestExportDimensionValues(t *testing.T) {
	t.Parallel()
	exp, buf := mustExporter(t, emf.Config{Dimensions: []string{"partition", "topic", "empty"}})
	got := mustExport(t, exp, buf, metricdata.Metrics{Name: "agora.lag", Data: metricdata.Gauge[int64]{
		DataPoints: []metricdata.DataPoint[int64]{{
			Attributes: attribute.NewSet(attribute.Int("partition", 3), attribute.String("topic", "ordérs\n"),
				attribute.String("empty", "  "), attribute.String("group", "g")),
			Value: 9,
		}},
	}})
	want := []map[string]any{doc([]string{"partition", "3", "topic", "ord_rs_"}, m{"lag", "None", 9.0})}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("documents (-want +got):\n%s", diff)
	}
}

func TestExportServiceOnlyWithEmptyDimensions(t *testing.T) {
	t.Parallel()
	exp, buf := mustExporter(t, emf.Config{Dimensions: []string{}})
	got := mustExport(t, exp, buf, metricdata.Metrics{Name: "agora.consumer.messages", Data: metricdata.Sum[int64]{
		IsMonotonic: true,
		DataPoints: []metricdata.DataPoint[int64]{
			{Attributes: attribute.NewSet(attribute.String("topic", "a")), Value: 1},
			{Attributes: attribute.NewSet(attribute.String("topic", "b")), Value: 2},
		},
	}})
	want := []map[string]any{doc(nil, m{"consumer_messages", "Count", 3.0})}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("documents (-want +got):\n%s", diff)
	}
}

func TestExportNamespace(t *testing.T) {
	t.Parallel()
	exp, buf := mustExporter(t, emf.Config{Namespace: "agora/staging", Service: "payment"})
	got := mustExport(t, exp, buf, gauge("agora.x", "", 1))
	want := doc(nil, m{"x", "None", 1.0})
	want["service"] = "payment"
	want["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)[0].(map[string]any)["Namespace"] = "agora/staging"
	if diff := cmp.Diff([]map[string]any{want}, got); diff != "" {
		t.Errorf("documents (-want +got):\n%s", diff)
	}
}

func TestExportReportsNameClashesAfterWritingTheRest(t *testing.T) {
	t.Parallel()
	exp, buf := mustExporter(t, emf.Config{Dimensions: []string{"topic"}})
	err := exp.Export(context.Background(), resourceMetrics(
		gauge("agora.topic", "", 1), gauge("agora.service", "", 1), gauge("agora.ok", "", 1)))
	if err == nil || !strings.Contains(err.Error(), `"topic"`) || !strings.Contains(err.Error(), `"service"`) {
		t.Errorf("export error = %v, want one naming the clashing metrics", err)
	}
	want := []map[string]any{doc(nil, m{"ok", "None", 1.0})}
	if diff := cmp.Diff(want, buf.docs(t)); diff != "" {
		t.Errorf("documents (-want +got):\n%s", diff)
	}
}

type failingWriter struct{ err error }

func (w failingWriter) Write([]byte) (int, error) { return 0, w.err }

func TestExportReturnsWriteErrors(t *testing.T) {
	t.Parallel()
	diskFull := errors.New("disk full")
	exp, err := emf.New(emf.Config{Writer: failingWriter{diskFull}, Service: "ordering"})
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	err = exp.Export(context.Background(), resourceMetrics(gauge("agora.x", "", 1)))
	if !errors.Is(err, diskFull) {
		t.Errorf("export error = %v, want it to wrap %v", err, diskFull)
	}
}

func TestExportHonoursContext(t *testing.T) {
	t.Parallel()
	exp, buf := mustExporter(t, emf.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := exp.Export(ctx, resourceMetrics(gauge("agora.x", "", 1)))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("export error = %v, want context.Canceled", err)
	}
	if lines := buf.lines(t); len(lines) != 0 {
		t.Errorf("wrote %d lines after cancellation", len(lines))
	}
	if err := exp.ForceFlush(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("force flush error = %v, want context.Canceled", err)
	}
}

func TestShutdown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	exp, buf := mustExporter(t, emf.Config{})
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp, sdkmetric.WithInterval(time.Hour))))
	c := must[metric.Int64Counter](t)(mp.Meter("test").Int64Counter("agora.outbox.published"))
	c.Add(ctx, 1)

	// Shutting the provider down exports what is pending, then shuts the
	// exporter down.
	if err := mp.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown meter provider: %v", err)
	}
	want := []map[string]any{doc(nil, m{"outbox_published", "Count", 1.0})}
	if diff := cmp.Diff(want, buf.docs(t)); diff != "" {
		t.Errorf("final documents (-want +got):\n%s", diff)
	}

	err := exp.Export(ctx, resourceMetrics(gauge("agora.x", "", 1)))
	if !errors.Is(err, sdkmetric.ErrExporterShutdown) || fault.IsRetryable(err) {
		t.Errorf("export after shutdown = %v, want a permanent ErrExporterShutdown", err)
	}
	if lines := buf.lines(t); len(lines) != 0 {
		t.Errorf("wrote %d lines after shutdown", len(lines))
	}
	if err := exp.Shutdown(ctx); err != nil {
		t.Errorf("second shutdown: %v", err)
	}
}

func TestTemporalityAndAggregation(t *testing.T) {
	t.Parallel()
	exp, _ := mustExporter(t, emf.Config{})
	tests := []struct {
		kind sdkmetric.InstrumentKind
		want metricdata.Temporality
	}{
		{sdkmetric.InstrumentKindCounter, metricdata.DeltaTemporality},
		{sdkmetric.InstrumentKindObservableCounter, metricdata.DeltaTemporality},
		{sdkmetric.InstrumentKindHistogram, metricdata.DeltaTemporality},
		{sdkmetric.InstrumentKindUpDownCounter, metricdata.CumulativeTemporality},
		{sdkmetric.InstrumentKindObservableUpDownCounter, metricdata.CumulativeTemporality},
		{sdkmetric.InstrumentKindGauge, metricdata.CumulativeTemporality},
		{sdkmetric.InstrumentKindObservableGauge, metricdata.CumulativeTemporality},
	}
	for _, tt := range tests {
		if got := exp.Temporality(tt.kind); got != tt.want {
			t.Errorf("Temporality(%v) = %v, want %v", tt.kind, got, tt.want)
		}
		if got, want := exp.Aggregation(tt.kind), sdkmetric.DefaultAggregationSelector(tt.kind); !cmp.Equal(got, want) {
			t.Errorf("Aggregation(%v) = %#v, want the default %#v", tt.kind, got, want)
		}
	}
}

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	w := &buffer{}
	tooMany := make([]string, 30)
	for i := range tooMany {
		tooMany[i] = fmt.Sprintf("d%d", i)
	}
	tests := []struct {
		name string
		cfg  emf.Config
		want []string // substrings of the error; none means valid
	}{
		{"minimal", emf.Config{Writer: w, Service: "ordering"}, nil},
		{"everything", emf.Config{Writer: w, Service: "ordering", Namespace: "agora/prod #1",
			Dimensions: []string{"topic"}, MaxBytes: emf.MaxEventBytes, Clock: clock}, nil},
		{"nothing", emf.Config{}, []string{"writer is required", "service is required"}},
		{"blank service", emf.Config{Writer: w, Service: " "}, []string{`service " ": is blank`}},
		{"non-ASCII service", emf.Config{Writer: w, Service: "bestellung-ü"}, []string{"service", "printable ASCII"}},
		{"reserved namespace", emf.Config{Writer: w, Service: "s", Namespace: "AWS/Lambda"}, []string{"namespace", `reserved "AWS/"`}},
		{"bad namespace character", emf.Config{Writer: w, Service: "s", Namespace: "agora$"}, []string{"namespace", `'$'`}},
		{"long namespace", emf.Config{Writer: w, Service: "s", Namespace: strings.Repeat("a", 256)}, []string{"namespace", "255"}},
		{"service dimension", emf.Config{Writer: w, Service: "s", Dimensions: []string{"service"}}, []string{`dimension "service"`}},
		{"empty dimension", emf.Config{Writer: w, Service: "s", Dimensions: []string{""}}, []string{`dimension "": is empty`}},
		{"colon dimension", emf.Config{Writer: w, Service: "s", Dimensions: []string{":x"}}, []string{"colon"}},
		{"duplicate dimension", emf.Config{Writer: w, Service: "s", Dimensions: []string{"topic", "topic"}}, []string{"listed twice"}},
		{"too many dimensions", emf.Config{Writer: w, Service: "s", Dimensions: tooMany}, []string{"30 dimensions", "at most 29"}},
		{"max bytes too small", emf.Config{Writer: w, Service: "s", MaxBytes: 100}, []string{"max bytes 100"}},
		{"max bytes too large", emf.Config{Writer: w, Service: "s", MaxBytes: 1 << 20}, []string{"max bytes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			exp, err := emf.New(tt.cfg)
			if len(tt.want) == 0 {
				if err != nil || exp == nil {
					t.Fatalf("New = %v, %v; want an exporter", exp, err)
				}
				return
			}
			if err == nil {
				t.Fatal("New succeeded, want an error")
			}
			if !strings.HasPrefix(err.Error(), "emf: ") {
				t.Errorf("error %q does not start with the package name", err)
			}
			for _, s := range tt.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

// TestDocumentsAreSingleLines checks the framing CloudWatch Logs relies on:
// every document is one line, and a whole document per Write call.
func TestDocumentsAreSingleLines(t *testing.T) {
	t.Parallel()
	var writes [][]byte
	var mu sync.Mutex
	w := writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		writes = append(writes, bytes.Clone(p))
		return len(p), nil
	})
	exp, err := emf.New(emf.Config{Writer: w, Service: "ordering", Dimensions: []string{"route"}, Clock: clock})
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	g := gauge("agora.x", "", 1, 2)
	g.Data = metricdata.Gauge[float64]{DataPoints: []metricdata.DataPoint[float64]{
		{Attributes: attribute.NewSet(attribute.String("route", "GET /a\n<b>")), Value: 1},
		{Attributes: attribute.NewSet(attribute.String("route", "GET /c")), Value: 2},
	}}
	if err := exp.Export(context.Background(), resourceMetrics(g)); err != nil {
		t.Fatalf("export: %v", err)
	}
	if len(writes) != 2 {
		t.Fatalf("got %d writes, want one per document (2)", len(writes))
	}
	for _, p := range writes {
		sc := bufio.NewScanner(bytes.NewReader(p))
		n := 0
		for sc.Scan() {
			n++
			if !json.Valid(sc.Bytes()) {
				t.Errorf("line is not JSON: %s", sc.Bytes())
			}
		}
		if n != 1 || !bytes.HasSuffix(p, []byte("\n")) {
			t.Errorf("write %q is not exactly one newline-terminated line", p)
		}
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
