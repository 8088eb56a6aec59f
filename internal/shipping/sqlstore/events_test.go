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

	shippingv1 "github.com/agoracommerce/agora/gen/proto/agora/shipping/v1"
	"github.com/agoracommerce/agora/internal/platform/kafkatest"
	"github.com/agoracommerce/agora/internal/platform/outbox/outboxtest"
	"github.com/agoracommerce/agora/internal/platform/sqldb/sqldbtest"
	"github.com/agoracommerce/agora/internal/shipping"
)

// The events a change writes to the outbox decode, through the codec and
// the embedded registry a consumer uses, into the ShipmentEvent envelope
// with the change's fields, keyed by shipment ID and typed in the
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
	ts := timestamppb.New(at)
	label := shipping.Label{Carrier: "agora-sim", TrackingNumber: "AG0123456789", LabelID: "SIM-LBL-1"}
	addr := shipping.Address{Name: "Ada Lovelace", Line1: "12 Market Street", Line2: "3rd floor", City: "Amsterdam",
		Region: "NH", PostalCode: "1012 AB", Country: "NL"}

	create := func(id, orderID string) {
		req, err := shipping.NewRequest(id, orderID, "customer-1", addr, []shipping.Line{{SKU: "MUG-1", Quantity: 3}}, at)
		require.NoError(t, err)
		sh, err := shipping.NewShipment(req, label)
		require.NoError(t, err)
		_, created, err := st.Create(ctx, sh)
		require.NoError(t, err)
		require.True(t, created)
	}
	const (
		shipped   = "01936f0e-8c4a-7b2e-9d41-6a3c2b1f0e77"
		cancelled = "01936f0e-8c4a-7b2e-9d41-6a3c2b1f0e78"
	)
	create(shipped, "order-ship")
	advance := func(sh *shipping.Shipment) error { return sh.Advance(at) }
	_, err = st.Update(ctx, shipped, advance)
	require.NoError(t, err)
	_, err = st.Update(ctx, shipped, advance)
	require.NoError(t, err)
	create(cancelled, "order-cancel")
	_, err = st.Update(ctx, cancelled, func(sh *shipping.Shipment) error { return sh.Cancel(at) })
	require.NoError(t, err)

	created := func(id, orderID string) *shippingv1.ShipmentEvent {
		return &shippingv1.ShipmentEvent{Event: &shippingv1.ShipmentEvent_ShipmentCreated{ShipmentCreated: &shippingv1.ShipmentCreated{
			ShipmentId: id, OrderId: orderID, CustomerId: "customer-1", Carrier: "agora-sim", TrackingNumber: "AG0123456789",
			LabelId: "SIM-LBL-1", Lines: []*shippingv1.Line{{Sku: "MUG-1", Quantity: 3}}, OccurredAt: ts,
			Address: &shippingv1.Address{Name: "Ada Lovelace", Line1: "12 Market Street", Line2: "3rd floor", City: "Amsterdam",
				Region: "NH", PostalCode: "1012 AB", Country: "NL"},
		}}}
	}
	want := []struct {
		key, typ string
		env      *shippingv1.ShipmentEvent
	}{
		{shipped, "agora.shipping.v1.ShipmentCreated", created(shipped, "order-ship")},
		{shipped, "agora.shipping.v1.ShipmentShipped", &shippingv1.ShipmentEvent{Event: &shippingv1.ShipmentEvent_ShipmentShipped{
			ShipmentShipped: &shippingv1.ShipmentShipped{ShipmentId: shipped, OrderId: "order-ship", Carrier: "agora-sim",
				TrackingNumber: "AG0123456789", OccurredAt: ts}}}},
		{shipped, "agora.shipping.v1.ShipmentDelivered", &shippingv1.ShipmentEvent{Event: &shippingv1.ShipmentEvent_ShipmentDelivered{
			ShipmentDelivered: &shippingv1.ShipmentDelivered{ShipmentId: shipped, OrderId: "order-ship", Carrier: "agora-sim",
				TrackingNumber: "AG0123456789", OccurredAt: ts}}}},
		{cancelled, "agora.shipping.v1.ShipmentCreated", created(cancelled, "order-cancel")},
		{cancelled, "agora.shipping.v1.ShipmentCancelled", &shippingv1.ShipmentEvent{Event: &shippingv1.ShipmentEvent_ShipmentCancelled{
			ShipmentCancelled: &shippingv1.ShipmentCancelled{ShipmentId: cancelled, OrderId: "order-cancel", Carrier: "agora-sim",
				TrackingNumber: "AG0123456789", OccurredAt: ts}}}},
	}
	evs := outboxtest.Pending(t, ob)
	require.Len(t, evs, len(want))
	for i, ev := range evs {
		require.Equal(t, "shipping.shipments.v1", ev.Topic)
		require.Equal(t, want[i].key, ev.Key, "event %d", i)
		require.Equal(t, want[i].typ, ev.Metadata.Type, "event %d", i)
		require.Equal(t, "agora/shipping", ev.Metadata.Source)
		require.Equal(t, ev.Key, ev.Metadata.Subject)
		msg, err := bus.Codec.Decode(ctx, ev.Value)
		require.NoError(t, err)
		if diff := cmp.Diff(want[i].env, msg, protocmp.Transform()); diff != "" {
			t.Errorf("event %d (-want +got):\n%s", i, diff)
		}
	}
}
