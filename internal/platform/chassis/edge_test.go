package chassis_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/testing/protocmp"

	orderingv1 "github.com/agoracommerce/agora/gen/proto/agora/ordering/v1"
	"github.com/agoracommerce/agora/internal/platform/correlation"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/idempotency"
	"github.com/agoracommerce/agora/internal/platform/outbox"
)

// One request's access-log line, its handler's log line, its server span
// and the Kafka headers of the event it caused all name the same
// correlation ID and the same trace.
func TestOneRequestOneCorrelationOneTrace(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e := newEdge(t, edgeOptions{})

	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, e.topic))
	require.NoError(t, err)
	t.Cleanup(cluster.Close)
	producer, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...))
	require.NoError(t, err)
	t.Cleanup(producer.Close)

	res := e.do(t, http.MethodPost, "/v1/widgets", `{"name":"sprocket","quantity":2}`,
		"Authorization", e.token(t, "customer-7", scopeWrite), idempotency.KeyHeader, "create-sprocket")
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	corrID := res.header.Get(correlation.HTTPHeader)
	require.True(t, correlation.Valid(corrID), "response correlation ID %q", corrID)

	// The server span of the request.
	var server sdktrace.ReadOnlySpan
	for _, s := range e.spans.Ended() {
		if s.SpanKind() == trace.SpanKindServer {
			require.Nil(t, server, "one request, one server span")
			server = s
		}
	}
	require.NotNil(t, server)
	require.Equal(t, "POST /v1/widgets", server.Name())
	traceID := server.SpanContext().TraceID().String()
	spanID := server.SpanContext().SpanID().String()
	requireXRayEpoch(t, traceID)

	// The access-log line and the handler's line.
	var access, handler map[string]any
	for _, l := range e.logs.lines(t) {
		switch l["msg"] {
		case "http request":
			require.Nil(t, access, "one request, one access-log line")
			access = l
		case "widget created":
			handler = l
		}
	}
	require.NotNil(t, access, "access-log line")
	require.NotNil(t, handler, "handler log line")
	require.Equal(t, "/v1/widgets", access["route"])
	require.EqualValues(t, http.StatusCreated, access["status"])
	for name, line := range map[string]map[string]any{"access log": access, "handler log": handler} {
		require.Equal(t, "widgets", line["service"], name)
		require.Equal(t, corrID, line["correlation_id"], name)
		require.Equal(t, traceID, fromXRay(t, line["trace_id"]), "%s: X-Ray trace ID %v", name, line["trace_id"])
		require.Equal(t, spanID, line["span_id"], name)
	}

	// Relay the outbox to Kafka and read the event back.
	relay, err := outbox.NewRelay(outbox.RelayConfig{Source: e.outbox, Producer: producer})
	require.NoError(t, err)
	n, err := relay.RelayOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Zero(t, e.outboxBacklog(t))
	rec := consumeOne(ctx, t, cluster.ListenAddrs(), e.topic)

	meta, err := events.MetadataFromHeaders(rec.Headers)
	require.NoError(t, err)
	require.Equal(t, corrID, meta.CorrelationID)
	version, tid, parent, flags := splitTraceParent(t, meta.TraceParent)
	require.Equal(t, "00", version)
	require.Equal(t, traceID, tid, "the event continues the request's trace")
	require.Equal(t, spanID, parent, "its parent is the request's server span")
	require.Equal(t, "01", flags, "sampled")

	// And it is the widget the response announced, under its key.
	var widget struct {
		ID string `json:"id"`
	}
	require.NoError(t, json.Unmarshal(res.body, &widget))
	require.Equal(t, widget.ID, string(rec.Key))
	require.Equal(t, widget.ID, meta.Subject)
	require.Equal(t, source, meta.Source)
	require.Equal(t, "agora.ordering.v1.OrderPlaced", meta.Type)
	msg, err := e.codec.Decode(ctx, rec.Value)
	require.NoError(t, err)
	got, ok := msg.(*orderingv1.OrderEvent)
	require.True(t, ok, "decoded %T", msg)
	want := &orderingv1.OrderPlaced{OrderId: widget.ID, CustomerId: "customer-7"}
	if diff := cmp.Diff(want, got.GetOrderPlaced(), protocmp.Transform(),
		protocmp.IgnoreFields(&orderingv1.OrderPlaced{}, "lines", "total")); diff != "" {
		t.Errorf("event (-want +got):\n%s", diff)
	}
}

// An upstream trace context (W3C traceparent) is continued: the span, the
// logs and the event join the caller's trace.
func TestIncomingTraceIsContinued(t *testing.T) {
	t.Parallel()
	e := newEdge(t, edgeOptions{})
	const upstreamTrace = "6650f0a1c3d4e5f6a7b8c9d0e1f2a3b4"
	const upstreamSpan = "00f067aa0ba902b7"
	res := e.do(t, http.MethodPost, "/v1/widgets", `{"name":"gear","quantity":1}`,
		"Authorization", e.token(t, "customer-8", scopeWrite),
		"traceparent", "00-"+upstreamTrace+"-"+upstreamSpan+"-01",
		correlation.HTTPHeader, "checkout-42")
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	require.Equal(t, "checkout-42", res.header.Get(correlation.HTTPHeader))

	spans := e.spans.Ended()
	require.Len(t, spans, 1)
	require.Equal(t, upstreamTrace, spans[0].SpanContext().TraceID().String())
	require.Equal(t, upstreamSpan, spans[0].Parent().SpanID().String())

	for _, l := range e.logs.lines(t) {
		if l["msg"] == "http request" || l["msg"] == "widget created" {
			require.Equal(t, "checkout-42", l["correlation_id"])
			require.Equal(t, "1-6650f0a1-c3d4e5f6a7b8c9d0e1f2a3b4", l["trace_id"])
		}
	}
	rows, err := e.outbox.Claim(context.Background(), "test", 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, rows, 1)
	_, tid, parent, _ := splitTraceParent(t, rows[0].Event.Metadata.TraceParent)
	require.Equal(t, upstreamTrace, tid)
	require.Equal(t, spans[0].SpanContext().SpanID().String(), parent)
	require.Equal(t, "checkout-42", rows[0].Event.Metadata.CorrelationID)
}

func consumeOne(ctx context.Context, t *testing.T, brokers []string, topic string) *kgo.Record {
	t.Helper()
	consumer, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	require.NoError(t, err)
	defer consumer.Close()
	for {
		fetches := consumer.PollFetches(ctx)
		require.NoError(t, ctx.Err(), "no record arrived")
		for _, fe := range fetches.Errors() {
			t.Fatalf("fetch %s/%d: %v", fe.Topic, fe.Partition, fe.Err)
		}
		if recs := fetches.Records(); len(recs) > 0 {
			require.Len(t, recs, 1)
			return recs[0]
		}
	}
}

// fromXRay turns an X-Ray trace ID (1-<8 hex>-<24 hex>) back into the
// 32 hex digits of the W3C form.
func fromXRay(t *testing.T, v any) string {
	t.Helper()
	s, ok := v.(string)
	require.True(t, ok, "trace_id %v is not a string", v)
	parts := strings.Split(s, "-")
	require.Len(t, parts, 3, "X-Ray trace ID %q", s)
	require.Equal(t, "1", parts[0])
	require.Len(t, parts[1], 8)
	require.Len(t, parts[2], 24)
	return parts[1] + parts[2]
}

// requireXRayEpoch checks that the trace ID starts with the current epoch
// seconds, as X-Ray requires of the IDs it accepts.
func requireXRayEpoch(t *testing.T, traceID string) {
	t.Helper()
	_, err := hex.DecodeString(traceID)
	require.NoError(t, err)
	secs, err := strconv.ParseInt(traceID[:8], 16, 64)
	require.NoError(t, err)
	require.WithinDuration(t, time.Now(), time.Unix(secs, 0), 5*time.Minute, "trace ID %s", traceID)
}

func splitTraceParent(t *testing.T, tp string) (version, traceID, parentID, flags string) {
	t.Helper()
	parts := strings.Split(tp, "-")
	require.Len(t, parts, 4, "traceparent %q", tp)
	return parts[0], parts[1], parts[2], parts[3]
}
