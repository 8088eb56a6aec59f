package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	notificationv1 "github.com/agoracommerce/agora/gen/proto/agora/notification/v1"
	"github.com/agoracommerce/agora/internal/notification"
	"github.com/agoracommerce/agora/internal/notification/app"
	"github.com/agoracommerce/agora/internal/platform/correlation"
	"github.com/agoracommerce/agora/internal/platform/kafkatest"
	"github.com/agoracommerce/agora/internal/platform/outbox/outboxtest"
	"github.com/agoracommerce/agora/internal/platform/sqldb/sqldbtest"
)

// The events a change writes to the outbox decode, through the codec and
// the embedded registry a consumer uses, into the MessageEvent envelope
// with the change's fields, keyed by message ID and typed in the
// metadata.
func TestEventContract(t *testing.T) {
	t.Parallel()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
	require.NoError(t, err)
	t.Cleanup(cluster.Close)
	bus := kafkatest.New(t, cluster.ListenAddrs())
	st, ob := newStore(t, sqldbtest.SQLite(t), bus.Codec)
	ctx := context.Background()
	at := time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)

	r, err := notification.NewRecipient("order-1", "customer-1", "ada@example.com", "")
	require.NoError(t, err)
	// Messages are rendered in the flow of the consumed event; they are
	// sent later, by the dispatcher, outside of it.
	flow := correlation.WithID(ctx, "checkout-flow-1")
	accept := func(n notification.Notice) notification.Message {
		m, err := notification.NewMessage(n, r, at)
		require.NoError(t, err)
		out, err := st.Accept(flow, app.EventRef{Group: "g", ID: m.ID()}, &r, &m)
		require.NoError(t, err)
		require.Equal(t, app.Created, out)
		return m
	}
	sent := accept(notification.Notice{Kind: notification.KindOrderShipped, OrderID: "order-1", Carrier: "agora-sim",
		TrackingNumber: "AG1", OccurredAt: at})
	failed := accept(notification.Notice{Kind: notification.KindOrderConfirmed, OrderID: "order-1", OccurredAt: at})
	claimed, err := st.Claim(ctx, at, at.Add(time.Minute), 10)
	require.NoError(t, err)
	require.Len(t, claimed, 2)
	_, err = st.Update(ctx, sent.ID(), func(m *notification.Message) error { return m.MarkSent(at) })
	require.NoError(t, err)
	_, err = st.Update(ctx, failed.ID(), func(m *notification.Message) error { return m.Fail(at, "address refused") })
	require.NoError(t, err)

	ts := timestamppb.New(at)
	want := []struct {
		key, typ string
		env      *notificationv1.MessageEvent
	}{
		{sent.ID(), "agora.notification.v1.MessageSent", &notificationv1.MessageEvent{Event: &notificationv1.MessageEvent_MessageSent{
			MessageSent: &notificationv1.MessageSent{MessageId: sent.ID(), OrderId: "order-1", CustomerId: "customer-1",
				Kind: notificationv1.MessageKind_MESSAGE_KIND_ORDER_SHIPPED, Channel: notificationv1.Channel_CHANNEL_EMAIL, Attempts: 1,
				OccurredAt: ts}}}},
		{failed.ID(), "agora.notification.v1.MessageFailed", &notificationv1.MessageEvent{Event: &notificationv1.MessageEvent_MessageFailed{
			MessageFailed: &notificationv1.MessageFailed{MessageId: failed.ID(), OrderId: "order-1", CustomerId: "customer-1",
				Kind: notificationv1.MessageKind_MESSAGE_KIND_ORDER_CONFIRMED, Channel: notificationv1.Channel_CHANNEL_EMAIL, Attempts: 1,
				Reason: "address refused", OccurredAt: ts}}}},
	}
	evs := outboxtest.Pending(t, ob)
	require.Len(t, evs, len(want))
	for i, ev := range evs {
		require.Equal(t, "notification.messages.v1", ev.Topic)
		require.Equal(t, want[i].key, ev.Key, "event %d", i)
		require.Equal(t, want[i].typ, ev.Metadata.Type, "event %d", i)
		require.Equal(t, "agora/notification", ev.Metadata.Source)
		require.Equal(t, ev.Key, ev.Metadata.Subject)
		require.Equal(t, "checkout-flow-1", ev.Metadata.CorrelationID, "the flow the message came from")
		msg, err := bus.Codec.Decode(ctx, ev.Value)
		require.NoError(t, err)
		if diff := cmp.Diff(want[i].env, msg, protocmp.Transform()); diff != "" {
			t.Errorf("event %d (-want +got):\n%s", i, diff)
		}
	}
}
