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

	inventoryv1 "github.com/agoracommerce/agora/gen/proto/agora/inventory/v1"
	"github.com/agoracommerce/agora/internal/inventory"
	"github.com/agoracommerce/agora/internal/platform/kafkatest"
	"github.com/agoracommerce/agora/internal/platform/outbox/outboxtest"
	"github.com/agoracommerce/agora/internal/platform/sqldb/sqldbtest"
)

// The events a change writes to the outbox decode, through the codec and
// the embedded registry a consumer uses, into the StockEvent envelope with
// the change's fields, keyed by the aggregate and typed in the metadata.
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

	_, err = st.Receive(ctx, inventory.Receipt{SKU: "SKU-EV", Warehouse: "ams-1", Quantity: 10, Note: "PO 1", At: at})
	require.NoError(t, err)
	_, err = st.SetThreshold(ctx, inventory.ThresholdChange{SKU: "SKU-EV", Threshold: 5, At: at})
	require.NoError(t, err)
	req, err := inventory.NewReservationRequest("order-ev", []inventory.Line{{SKU: "SKU-EV", Quantity: 6}}, at.Add(time.Hour), at)
	require.NoError(t, err)
	_, _, err = st.Reserve(ctx, req)
	require.NoError(t, err)
	req2, err := inventory.NewReservationRequest("order-short", []inventory.Line{{SKU: "SKU-EV", Quantity: 9}}, at.Add(time.Hour), at)
	require.NoError(t, err)
	_, _, err = st.Reserve(ctx, req2)
	require.ErrorIs(t, err, inventory.ErrOutOfStock)
	_, err = st.UpdateReservation(ctx, "order-ev", func(r *inventory.Reservation) error { return r.Release("cancelled", at) })
	require.NoError(t, err)
	_, err = st.Adjust(ctx, inventory.Adjustment{SKU: "SKU-EV", Warehouse: "ams-1", OnHand: 7, Reason: inventory.ReasonDamaged, Note: "dropped", At: at})
	require.NoError(t, err)
	req3, err := inventory.NewReservationRequest("order-ship", []inventory.Line{{SKU: "SKU-EV", Quantity: 2}}, at.Add(time.Hour), at)
	require.NoError(t, err)
	_, _, err = st.Reserve(ctx, req3)
	require.NoError(t, err)
	_, err = st.UpdateReservation(ctx, "order-ship", func(r *inventory.Reservation) error { return r.Commit(at) })
	require.NoError(t, err)

	alloc := func(q int64) []*inventoryv1.Allocation {
		return []*inventoryv1.Allocation{{Sku: "SKU-EV", WarehouseId: "ams-1", Quantity: q}}
	}
	want := []struct {
		key, typ string
		env      *inventoryv1.StockEvent
	}{
		{"SKU-EV", "agora.inventory.v1.StockReceived", &inventoryv1.StockEvent{Event: &inventoryv1.StockEvent_StockReceived{StockReceived: &inventoryv1.StockReceived{
			Sku: "SKU-EV", Quantity: 10, Note: "PO 1", OccurredAt: ts,
			Level: &inventoryv1.WarehouseLevel{WarehouseId: "ams-1", OnHand: 10, Available: 10}}}}},
		{"order-ev", "agora.inventory.v1.StockReserved", &inventoryv1.StockEvent{Event: &inventoryv1.StockEvent_StockReserved{StockReserved: &inventoryv1.StockReserved{
			OrderId: "order-ev", Allocations: alloc(6), ExpiresAt: timestamppb.New(at.Add(time.Hour)), OccurredAt: ts}}}},
		{"SKU-EV", "agora.inventory.v1.LowStock", &inventoryv1.StockEvent{Event: &inventoryv1.StockEvent_LowStock{LowStock: &inventoryv1.LowStock{
			Sku: "SKU-EV", Available: 4, Threshold: 5, OccurredAt: ts}}}},
		{"order-short", "agora.inventory.v1.ReservationRejected", &inventoryv1.StockEvent{Event: &inventoryv1.StockEvent_ReservationRejected{ReservationRejected: &inventoryv1.ReservationRejected{
			OrderId: "order-short", ShortLines: []*inventoryv1.ShortLine{{Sku: "SKU-EV", Requested: 9, Available: 4}}, OccurredAt: ts}}}},
		{"order-ev", "agora.inventory.v1.StockReleased", &inventoryv1.StockEvent{Event: &inventoryv1.StockEvent_StockReleased{StockReleased: &inventoryv1.StockReleased{
			OrderId: "order-ev", Allocations: alloc(6), Reason: "cancelled", OccurredAt: ts}}}},
		{"SKU-EV", "agora.inventory.v1.StockAdjusted", &inventoryv1.StockEvent{Event: &inventoryv1.StockEvent_StockAdjusted{StockAdjusted: &inventoryv1.StockAdjusted{
			Sku: "SKU-EV", PreviousOnHand: 10, Reason: "damaged", Note: "dropped", OccurredAt: ts,
			Level: &inventoryv1.WarehouseLevel{WarehouseId: "ams-1", OnHand: 7, Available: 7}}}}},
		{"order-ship", "agora.inventory.v1.StockReserved", &inventoryv1.StockEvent{Event: &inventoryv1.StockEvent_StockReserved{StockReserved: &inventoryv1.StockReserved{
			OrderId: "order-ship", Allocations: alloc(2), ExpiresAt: timestamppb.New(at.Add(time.Hour)), OccurredAt: ts}}}},
		{"order-ship", "agora.inventory.v1.StockCommitted", &inventoryv1.StockEvent{Event: &inventoryv1.StockEvent_StockCommitted{StockCommitted: &inventoryv1.StockCommitted{
			OrderId: "order-ship", Allocations: alloc(2), OccurredAt: ts}}}},
	}
	evs := outboxtest.Pending(t, ob)
	require.Len(t, evs, len(want))
	for i, ev := range evs {
		require.Equal(t, "inventory.stock.v1", ev.Topic)
		require.Equal(t, want[i].key, ev.Key, "event %d", i)
		require.Equal(t, want[i].typ, ev.Metadata.Type, "event %d", i)
		require.Equal(t, "agora/inventory", ev.Metadata.Source)
		require.Equal(t, ev.Key, ev.Metadata.Subject)
		msg, err := bus.Codec.Decode(ctx, ev.Value)
		require.NoError(t, err)
		if diff := cmp.Diff(want[i].env, msg, protocmp.Transform()); diff != "" {
			t.Errorf("event %d (-want +got):\n%s", i, diff)
		}
	}
}
