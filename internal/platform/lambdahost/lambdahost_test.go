package lambdahost_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/agoracommerce/agora/internal/platform/lambdahost"
)

func mustFixture[T any](tb testing.TB, name string) T {
	tb.Helper()
	data, err := os.ReadFile("testdata/" + name)
	require.NoError(tb, err)
	var v T
	require.NoError(tb, json.Unmarshal(data, &v))
	return v
}

func TestHTTPConvertsRequestAndResponse(t *testing.T) {
	t.Parallel()
	ev := mustFixture[events.APIGatewayV2HTTPRequest](t, "apigw-v2-jwt.json")

	type seen struct {
		Method, Path, RawPath, RequestURI, Query, Host, Cookie, Auth, Multi, Body, RemoteAddr, Sub string
		ContentLength                                                                              int64
		Scopes                                                                                     []string
		Tags                                                                                       []string
	}
	var got seen
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		rc, ok := lambdahost.RequestContext(r.Context())
		require.True(t, ok)
		got = seen{
			Method: r.Method, Path: r.URL.Path, RawPath: r.URL.EscapedPath(), RequestURI: r.RequestURI, Query: r.URL.RawQuery,
			Host: r.Host, Cookie: r.Header.Get("Cookie"), Auth: r.Header.Get("Authorization"), Multi: r.Header.Get("X-Multi"),
			Body: string(body), RemoteAddr: r.RemoteAddr, Sub: rc.Authorizer.JWT.Claims["sub"], ContentLength: r.ContentLength,
			Scopes: rc.Authorizer.JWT.Scopes, Tags: r.URL.Query()["tag"],
		}
		w.Header().Add("Vary", "Accept")
		w.Header().Add("Vary", "Authorization")
		w.Header().Add("Set-Cookie", "a=1; Path=/")
		w.Header().Add("Set-Cookie", "b=2; Path=/")
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusConflict)
		_, _ = w.Write([]byte(`{"status":409}`))
	})

	resp, err := lambdahost.HTTP(h)(context.Background(), ev)
	require.NoError(t, err)
	want := seen{
		Method: http.MethodPost, Path: "/v1/items/a/b/notes", RawPath: "/v1/items/a%2Fb/notes",
		RequestURI: "/v1/items/a%2Fb/notes?tag=red&tag=blue&q=mug%20cup", Query: "tag=red&tag=blue&q=mug%20cup",
		Host: "api.example.com", Cookie: "session=abc; theme=dark", Auth: "Bearer eyJhbGciOiJFUzI1NiJ9.e30.sig", Multi: "one,two",
		Body: `{"note":"hello"}`, RemoteAddr: "203.0.113.7:0", Sub: "customer-42", ContentLength: 16,
		Scopes: []string{"orders:read", "orders:write"}, Tags: []string{"red", "blue"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("request (-want +got):\n%s", d)
	}
	require.Equal(t, http.StatusConflict, resp.StatusCode)
	require.Equal(t, `{"status":409}`, resp.Body)
	require.False(t, resp.IsBase64Encoded)
	require.Equal(t, []string{"a=1; Path=/", "b=2; Path=/"}, resp.Cookies)
	require.Equal(t, "Accept,Authorization", resp.Headers["Vary"])
	require.Equal(t, []string{"Accept", "Authorization"}, resp.MultiValueHeaders["Vary"])
	require.Equal(t, "14", resp.Headers["Content-Length"])
	require.NotContains(t, resp.Headers, "Set-Cookie")
}

func TestHTTPBinaryAndDefaults(t *testing.T) {
	t.Parallel()
	binary := []byte{0x00, 0xff, 0x10, 0x80}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, http.MethodGet, r.Method)
		require.Equal(t, "/", r.URL.Path)
		require.Equal(t, http.NoBody, r.Body)
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(binary)
	})
	resp, err := lambdahost.HTTP(h)(context.Background(), events.APIGatewayV2HTTPRequest{})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.True(t, resp.IsBase64Encoded)
	require.Equal(t, base64.StdEncoding.EncodeToString(binary), resp.Body)

	// Text that is not UTF-8 also travels as base64; no body, no encoding.
	for _, tc := range []struct {
		name, ct string
		body     []byte
		b64      bool
	}{
		{"latin1 text", "text/plain; charset=iso-8859-1", []byte{'c', 0xe9}, true},
		{"json", "application/json", []byte(`{}`), false},
		{"empty", "", nil, false},
		{"unknown type", "image/png", []byte("PNG"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := lambdahost.HTTP(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				if tc.ct != "" {
					w.Header().Set("Content-Type", tc.ct)
				}
				_, _ = w.Write(tc.body)
			}))(context.Background(), events.APIGatewayV2HTTPRequest{})
			require.NoError(t, err)
			require.Equal(t, tc.b64, resp.IsBase64Encoded)
		})
	}
}

func TestHTTPRejectsMalformedEvents(t *testing.T) {
	t.Parallel()
	called := false
	h := lambdahost.HTTP(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))
	for name, ev := range map[string]events.APIGatewayV2HTTPRequest{
		"bad base64": {RawPath: "/v1/x", Body: "not base64!", IsBase64Encoded: true},
		"bad escape": {RawPath: "/v1/%zz"},
	} {
		resp, err := h(context.Background(), ev)
		require.NoError(t, err, name)
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, name)
		require.Equal(t, "application/problem+json", resp.Headers["Content-Type"], name)
	}
	require.False(t, called)
}

// fakeProcessor records what it was given, per partition.
type fakeProcessor struct {
	topics []string
	fail   error
	mu     sync.Mutex
	got    [][]*kgo.Record
}

func (f *fakeProcessor) Topics() []string { return f.topics }

func (f *fakeProcessor) Process(_ context.Context, recs []*kgo.Record) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, recs)
	return f.fail
}

func TestKafkaRecordsFromMSKEvent(t *testing.T) {
	t.Parallel()
	ev := mustFixture[events.KafkaEvent](t, "msk-event.json")
	parts, err := lambdahost.Records(ev)
	require.NoError(t, err)
	require.Len(t, parts, 2)

	p0 := parts[0]
	require.Len(t, p0, 2)
	require.Equal(t, []int64{15, 16}, []int64{p0[0].Offset, p0[1].Offset}, "sorted by offset")
	require.Equal(t, "mytopic", p0[1].Topic)
	require.Equal(t, "abc", string(p0[1].Key))
	require.Equal(t, "Hello, this is a test.", string(p0[1].Value))
	require.Equal(t, []kgo.RecordHeader{{Key: "headerKey", Value: []byte("headerValue")}}, p0[1].Headers)
	require.Equal(t, time.UnixMilli(1545084650988).UTC(), p0[1].Timestamp.UTC())

	p1 := parts[1]
	require.Equal(t, int32(1), p1[0].Partition)
	require.Nil(t, p1[0].Key)
	require.Equal(t, []byte{0x00, 0xff}, p1[0].Value)
	require.Equal(t, []kgo.RecordHeader{{Key: "ce_id", Value: []byte("e-1")}, {Key: "ce_type", Value: []byte("té")}}, p1[0].Headers,
		"signed bytes decode to UTF-8")

	_, err = lambdahost.Records(events.KafkaEvent{Records: map[string][]events.KafkaRecord{"t-0": {{Topic: "t", Value: "%%%"}}}})
	require.ErrorContains(t, err, "value")
}

func TestKafkaRoutesPartitionsToTheirConsumer(t *testing.T) {
	t.Parallel()
	ev := mustFixture[events.KafkaEvent](t, "msk-event.json")
	mine := &fakeProcessor{topics: []string{"mytopic"}}
	other := &fakeProcessor{topics: []string{"othertopic"}}
	h, err := lambdahost.Kafka(lambdahost.KafkaConfig{Processors: []lambdahost.Processor{mine, other}})
	require.NoError(t, err)
	require.NoError(t, h(context.Background(), ev))
	require.Len(t, mine.got, 2, "one call per partition")
	require.Empty(t, other.got)

	// A partition that cannot finish fails the invocation: the event
	// source mapping retries the batch.
	failing := &fakeProcessor{topics: []string{"mytopic"}, fail: errors.New("broker unreachable")}
	h, err = lambdahost.Kafka(lambdahost.KafkaConfig{Processors: []lambdahost.Processor{failing}})
	require.NoError(t, err)
	require.ErrorContains(t, h(context.Background(), ev), "broker unreachable")

	// Records of a topic no consumer reads: a misconfigured mapping.
	h, err = lambdahost.Kafka(lambdahost.KafkaConfig{Processors: []lambdahost.Processor{other}})
	require.NoError(t, err)
	require.ErrorContains(t, h(context.Background(), ev), "no consumer of topic mytopic")

	_, err = lambdahost.Kafka(lambdahost.KafkaConfig{Processors: []lambdahost.Processor{mine, mine}})
	require.ErrorContains(t, err, "two consumers read topic mytopic")
	_, err = lambdahost.Kafka(lambdahost.KafkaConfig{})
	require.Error(t, err)
}

func TestBudgetKeepsAReserve(t *testing.T) {
	t.Parallel()
	deadline := time.Now().Add(30 * time.Second)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	bctx, bcancel := lambdahost.Budget(ctx, 0)
	defer bcancel()
	got, ok := bctx.Deadline()
	require.True(t, ok)
	require.WithinDuration(t, deadline.Add(-3*time.Second), got, 100*time.Millisecond)

	bctx, bcancel = lambdahost.Budget(context.Background(), time.Second)
	defer bcancel()
	_, ok = bctx.Deadline()
	require.False(t, ok, "no deadline, none added")
}

func TestStreamsWithoutRelay(t *testing.T) {
	t.Parallel()
	ev := mustFixture[events.DynamoDBEvent](t, "dynamodb-streams-event.json")
	require.Len(t, ev.Records, 1)
	require.Equal(t, "inventory.stock.v1", ev.Records[0].Change.NewImage["topic"].String())
	_, err := lambdahost.Streams(nil)(context.Background(), ev)
	require.ErrorIs(t, err, lambdahost.ErrStreamsUnavailable)
	require.EqualError(t, err, "streams relay not available in this build")

	var got events.DynamoDBEvent
	relay := relayFunc(func(_ context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		got = ev
		return events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{{ItemIdentifier: "1"}}}, nil
	})
	resp, err := lambdahost.Streams(relay)(context.Background(), ev)
	require.NoError(t, err)
	require.Len(t, got.Records, 1)
	require.Len(t, resp.BatchItemFailures, 1, "the relay's answer is passed on")
}

type relayFunc func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error)

func (f relayFunc) Handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	return f(ctx, ev)
}

type fakeOutbox struct{ batches []int }

func (o *fakeOutbox) RelayOnce(context.Context) (int, error) {
	if len(o.batches) == 0 {
		return 0, nil
	}
	n := o.batches[0]
	o.batches = o.batches[1:]
	return n, nil
}

type countingFlusher struct{ n int }

func (c *countingFlusher) Flush(context.Context) error      { c.n++; return nil }
func (c *countingFlusher) ForceFlush(context.Context) error { c.n++; return nil }

func TestFlusherRunsAfterEveryInvocation(t *testing.T) {
	t.Parallel()
	ob := &fakeOutbox{batches: []int{500, 500, 3}}
	producer, telemetry := &countingFlusher{}, &countingFlusher{}
	f := &lambdahost.Flusher{Outbox: ob, Producer: producer, Telemetry: []lambdahost.ForceFlusher{telemetry}}

	h := f.HTTP(lambdahost.HTTP(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })))
	resp, err := h(context.Background(), events.APIGatewayV2HTTPRequest{RawPath: "/"})
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	require.Empty(t, ob.batches, "the outbox was relayed until empty")
	require.Equal(t, 1, producer.n)
	require.Equal(t, 1, telemetry.n)

	kerr := errors.New("retry the batch")
	k := f.Kafka(func(context.Context, events.KafkaEvent) error { return kerr })
	require.ErrorIs(t, k(context.Background(), events.KafkaEvent{}), kerr, "the flush does not change the result")
	s := f.Streams(lambdahost.Streams(nil))
	_, err = s(context.Background(), events.DynamoDBEvent{})
	require.ErrorIs(t, err, lambdahost.ErrStreamsUnavailable)
	require.Equal(t, 3, producer.n)
	require.Equal(t, 3, telemetry.n)
}
