package events_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	protos "github.com/agoracommerce/agora/api/proto"
	commonv1 "github.com/agoracommerce/agora/gen/proto/agora/common/v1"
	orderingv1 "github.com/agoracommerce/agora/gen/proto/agora/ordering/v1"
	"github.com/agoracommerce/agora/internal/platform/correlation"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/fault"
)

func newRegistry(t *testing.T) *sr.Client {
	t.Helper()
	fake := srfake.New()
	t.Cleanup(fake.Close)
	cl, err := sr.NewClient(sr.URLs(fake.URL()))
	require.NoError(t, err)
	return cl
}

func newCodec(t *testing.T, reg events.SchemaRegistry, autoRegister bool) *events.Codec {
	t.Helper()
	c, err := events.NewCodec(events.CodecConfig{Registry: reg, Sources: protos.FS, AutoRegister: autoRegister})
	require.NoError(t, err)
	return c
}

func placed(orderID string) *orderingv1.OrderEvent {
	return &orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderPlaced{OrderPlaced: &orderingv1.OrderPlaced{
		OrderId: orderID, CustomerId: "c-1",
		Lines: []*orderingv1.OrderLine{{Sku: "SKU-1", Quantity: 2, UnitPrice: &commonv1.Money{AmountMinor: 1999, Currency: "EUR"}}},
		Total: &commonv1.Money{AmountMinor: 3998, Currency: "EUR"},
	}}}
}

func TestCodecRoundTripWithReferences(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg := newRegistry(t)
	producer := newCodec(t, reg, true)

	value, err := producer.Encode(ctx, "ordering.orders.v1", placed("o-1"))
	require.NoError(t, err)
	require.Equal(t, byte(0), value[0], "Confluent magic byte")

	// The envelope's file was registered under the topic's subject with the
	// imported money.proto as a reference registered under its import path.
	ss, err := reg.SchemaByVersion(ctx, "ordering.orders.v1-value", -1)
	require.NoError(t, err)
	require.Equal(t, sr.TypeProtobuf, ss.Type)
	require.Equal(t, []sr.SchemaReference{{Name: "agora/common/v1/money.proto", Subject: "agora/common/v1/money.proto", Version: 1}}, ss.References)

	// A consumer with a fresh codec resolves the unknown ID from the registry.
	consumer := newCodec(t, reg, false)
	got, err := consumer.Decode(ctx, value)
	require.NoError(t, err)
	if diff := cmp.Diff(placed("o-1"), got, protocmp.Transform()); diff != "" {
		t.Fatalf("decoded event differs (-want +got):\n%s", diff)
	}
}

func TestCodecWithoutAutoRegisterNeedsRegisteredSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg := newRegistry(t)
	_, err := newCodec(t, reg, false).Encode(ctx, "ordering.orders.v1", placed("o-1"))
	require.ErrorIs(t, err, events.ErrNoSchema)
	require.False(t, fault.IsRetryable(err))

	// Once registered (by CI in production), lookup finds the same ID.
	want, err := newCodec(t, reg, true).Encode(ctx, "ordering.orders.v1", placed("o-1"))
	require.NoError(t, err)
	got, err := newCodec(t, reg, false).Encode(ctx, "ordering.orders.v1", placed("o-1"))
	require.NoError(t, err)
	require.Equal(t, want, got)
}

func TestCodecDecodeRejectsBadValues(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg := newRegistry(t)
	codec := newCodec(t, reg, true)
	good, err := codec.Encode(ctx, "ordering.orders.v1", placed("o-1"))
	require.NoError(t, err)

	unknownID := append([]byte{0, 0, 0, 0x7f, 0x7f}, good[5:]...)
	truncated := append([]byte(nil), good[:len(good)-3]...)
	tests := []struct {
		name  string
		value []byte
		want  error
	}{
		{"empty", nil, events.ErrMalformed},
		{"no magic byte", []byte("plain json"), events.ErrMalformed},
		{"unknown schema id", unknownID, events.ErrNoSchema},
		{"truncated protobuf", truncated, events.ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := codec.Decode(ctx, tc.value)
			require.ErrorIs(t, err, tc.want)
			require.True(t, fault.IsPermanent(err), "decode errors are permanent: %v", err)
		})
	}
}

func TestNewEventMetadata(t *testing.T) {
	t.Parallel()
	reg := newRegistry(t)
	codec := newCodec(t, reg, true)
	traceID, _ := trace.TraceIDFromHex("6a1b2c3d4e5f60718293a4b5c6d7e8f9")
	spanID, _ := trace.SpanIDFromHex("0102030405060708")
	ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: traceID, SpanID: spanID, TraceFlags: trace.FlagsSampled,
	}))
	ctx = correlation.WithID(ctx, "corr-1")
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

	ev, err := codec.NewEvent(ctx, "ordering.orders.v1", "agora/ordering", "o-1", placed("o-1"), now)
	require.NoError(t, err)
	require.Equal(t, "agora.ordering.v1.OrderPlaced", ev.Metadata.Type)
	require.Equal(t, "o-1", ev.Key)

	rec := ev.Record()
	require.Equal(t, "o-1", string(rec.Key))
	got, err := events.MetadataFromHeaders(rec.Headers)
	require.NoError(t, err)
	require.Equal(t, ev.Metadata, got)
	require.Equal(t, "00-6a1b2c3d4e5f60718293a4b5c6d7e8f9-0102030405060708-01", got.TraceParent)
	spec, _ := events.Header(rec.Headers, events.HeaderSpecVersion)
	require.Equal(t, "1.0", spec)

	// The consumer side restores correlation and trace context.
	cctx := got.Context(context.Background())
	require.Equal(t, "corr-1", correlation.ID(cctx))
	require.Equal(t, traceID, trace.SpanContextFromContext(cctx).TraceID())
}

func TestEventIDsAreTimeOrdered(t *testing.T) {
	t.Parallel()
	prev := events.NewID()
	for range 1000 {
		next := events.NewID()
		require.Less(t, prev, next)
		prev = next
	}
}

func TestEmptyEnvelopeIsRejected(t *testing.T) {
	t.Parallel()
	_, err := events.EventType(&orderingv1.OrderEvent{})
	require.ErrorIs(t, err, events.ErrEmptyEnvelope)
}

func TestMetadataFromHeadersRequiresCloudEventsFields(t *testing.T) {
	t.Parallel()
	_, err := events.MetadataFromHeaders(nil)
	require.True(t, errors.Is(err, events.ErrInvalidMetadata) && fault.IsPermanent(err))
}

func TestEncoderMapsAndEncodesInOrder(t *testing.T) {
	t.Parallel()
	codec := newCodec(t, newRegistry(t), true)
	_, err := events.NewEncoder[string](codec, "", "agora/test", nil)
	require.Error(t, err, "an encoder without topic or envelope function is refused")

	enc, err := events.NewEncoder(codec, "ordering.orders.v1", "agora/test", func(id string) (string, proto.Message, time.Time, error) {
		if id == "" {
			return "", nil, time.Time{}, errors.New("no order ID")
		}
		return id, placed(id), time.Unix(1, 0), nil
	})
	require.NoError(t, err)
	require.Equal(t, "ordering.orders.v1", enc.Topic())
	evs, err := enc.Encode(context.Background(), "o-1", "o-2")
	require.NoError(t, err)
	require.Len(t, evs, 2)
	require.Equal(t, []string{"o-1", "o-2"}, []string{evs[0].Key, evs[1].Key})
	require.Equal(t, "agora.ordering.v1.OrderPlaced", evs[1].Metadata.Type)
	_, err = enc.Encode(context.Background(), "o-3", "")
	require.ErrorContains(t, err, "no order ID")
}
