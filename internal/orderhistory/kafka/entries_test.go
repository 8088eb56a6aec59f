package kafka_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	catalogv1 "github.com/agoracommerce/agora/gen/proto/agora/catalog/v1"
	commonv1 "github.com/agoracommerce/agora/gen/proto/agora/common/v1"
	inventoryv1 "github.com/agoracommerce/agora/gen/proto/agora/inventory/v1"
	orderingv1 "github.com/agoracommerce/agora/gen/proto/agora/ordering/v1"
	paymentv1 "github.com/agoracommerce/agora/gen/proto/agora/payment/v1"
	shippingv1 "github.com/agoracommerce/agora/gen/proto/agora/shipping/v1"
	"github.com/agoracommerce/agora/internal/orderhistory"
	"github.com/agoracommerce/agora/internal/orderhistory/kafka"
	"github.com/agoracommerce/agora/internal/orderhistory/orderhistorytest"
)

func mustEntry(t *testing.T, id string, env proto.Message) orderhistory.Entry {
	t.Helper()
	e, ok, err := kafka.Entry(id, t0, env)
	require.NoError(t, err)
	require.True(t, ok)
	return e
}

// Every event of a saga maps to the entry the read model expects.
func TestEntriesOfASaga(t *testing.T) {
	t.Parallel()
	events := sagaEvents("order-1", "alice", t0)
	var got []orderhistory.Entry
	for i, p := range events[:12] {
		got = append(got, mustEntry(t, fmt.Sprintf("order-1/%02d", i+1), p.env))
	}
	require.Empty(t, cmp.Diff(orderhistorytest.Saga("order-1", "alice", t0), got))

	require.Equal(t, orderhistory.Entry{EventID: "c", OrderID: "order-1", Type: orderhistory.OrderCancelled, OccurredAt: sec(t0, 13),
		CustomerID: "alice", Facts: orderhistory.Facts{Amount: orderhistorytest.EUR(4997), Code: orderhistory.EndOperatorRequest,
			Reason: "damaged in transit", Refund: true}}, mustEntry(t, "c", events[12].env))
	require.Equal(t, orderhistory.Entry{EventID: "r", OrderID: "order-1", Type: orderhistory.PaymentRefunded, OccurredAt: sec(t0, 14),
		CustomerID: "alice", Facts: orderhistory.Facts{Amount: orderhistorytest.EUR(4997), RefundedTotal: orderhistorytest.EUR(4997),
			PaymentID: "pay-order-1", Reason: "order cancelled"}}, mustEntry(t, "r", events[13].env))

	_, ok, err := kafka.Entry("s", t0, events[14].env)
	require.NoError(t, err)
	require.False(t, ok, "stock levels are no order's step")
}

// The failure paths of the saga map too.
func TestEntriesOfFailures(t *testing.T) {
	t.Parallel()
	at := ts(sec(t0, 5))
	for _, c := range []struct {
		env  proto.Message
		want orderhistory.Entry
	}{
		{&orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderRejected{OrderRejected: &orderingv1.OrderRejected{
			OrderId: "o-1", Reason: "no stock", CustomerId: "alice", Code: orderingv1.EndReason_END_REASON_OUT_OF_STOCK, OccurredAt: at}}},
			orderhistory.Entry{Type: orderhistory.OrderRejected, CustomerID: "alice",
				Facts: orderhistory.Facts{Code: orderhistory.EndOutOfStock, Reason: "no stock"}}},
		{&orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderRejected{OrderRejected: &orderingv1.OrderRejected{
			OrderId: "o-1", CustomerId: "alice", Code: orderingv1.EndReason(99), OccurredAt: at}}},
			orderhistory.Entry{Type: orderhistory.OrderRejected, CustomerID: "alice", Facts: orderhistory.Facts{Code: orderhistory.EndUnspecified}}},
		{&orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderCancelled{OrderCancelled: &orderingv1.OrderCancelled{
			OrderId: "o-1", CustomerId: "alice", Code: orderingv1.EndReason_END_REASON_PAYMENT_DECLINED, Total: eur(100), OccurredAt: at}}},
			orderhistory.Entry{Type: orderhistory.OrderCancelled, CustomerID: "alice",
				Facts: orderhistory.Facts{Code: orderhistory.EndPaymentDeclined, Amount: orderhistorytest.EUR(100)}}},
		{&inventoryv1.StockEvent{Event: &inventoryv1.StockEvent_ReservationRejected{ReservationRejected: &inventoryv1.ReservationRejected{
			OrderId: "o-1", ShortLines: []*inventoryv1.ShortLine{{Sku: "A", Requested: 3, Available: 1}, {Sku: "B", Requested: 1}}, OccurredAt: at}}},
			orderhistory.Entry{Type: orderhistory.ReservationRejected,
				Facts: orderhistory.Facts{Quantity: 3, Reason: "A (3 requested, 1 available), B (1 requested, 0 available)"}}},
		{&inventoryv1.StockEvent{Event: &inventoryv1.StockEvent_StockReleased{StockReleased: &inventoryv1.StockReleased{
			OrderId: "o-1", Allocations: []*inventoryv1.Allocation{allocation("A", 2)}, Reason: "order cancelled", OccurredAt: at}}},
			orderhistory.Entry{Type: orderhistory.StockReleased, Facts: orderhistory.Facts{Quantity: 2, Reason: "order cancelled"}}},
		{&paymentv1.PaymentEvent{Event: &paymentv1.PaymentEvent_PaymentDeclined{PaymentDeclined: &paymentv1.PaymentDeclined{
			PaymentId: "p-1", OrderId: "o-1", CustomerId: "alice", Amount: eur(100), Reason: "insufficient_funds", OccurredAt: at}}},
			orderhistory.Entry{Type: orderhistory.PaymentDeclined, CustomerID: "alice",
				Facts: orderhistory.Facts{Amount: orderhistorytest.EUR(100), PaymentID: "p-1", Reason: "insufficient_funds"}}},
		{&paymentv1.PaymentEvent{Event: &paymentv1.PaymentEvent_PaymentFailed{PaymentFailed: &paymentv1.PaymentFailed{
			PaymentId: "p-1", OrderId: "o-1", CustomerId: "alice", Amount: eur(100), Reason: "gateway rejected", OccurredAt: at}}},
			orderhistory.Entry{Type: orderhistory.PaymentFailed, CustomerID: "alice",
				Facts: orderhistory.Facts{Amount: orderhistorytest.EUR(100), PaymentID: "p-1", Reason: "gateway rejected"}}},
		{&paymentv1.PaymentEvent{Event: &paymentv1.PaymentEvent_PaymentVoided{PaymentVoided: &paymentv1.PaymentVoided{
			PaymentId: "p-1", OrderId: "o-1", CustomerId: "alice", Amount: eur(100), Reason: "order cancelled", OccurredAt: at}}},
			orderhistory.Entry{Type: orderhistory.PaymentVoided, CustomerID: "alice",
				Facts: orderhistory.Facts{Amount: orderhistorytest.EUR(100), PaymentID: "p-1", Reason: "order cancelled"}}},
		{&shippingv1.ShipmentEvent{Event: &shippingv1.ShipmentEvent_ShipmentCancelled{ShipmentCancelled: &shippingv1.ShipmentCancelled{
			ShipmentId: "s-1", OrderId: "o-1", Carrier: "agora-sim", TrackingNumber: "T-1", OccurredAt: at}}},
			orderhistory.Entry{Type: orderhistory.ShipmentCancelled,
				Facts: orderhistory.Facts{ShipmentID: "s-1", Carrier: "agora-sim", TrackingNumber: "T-1"}}},
	} {
		want := c.want
		want.EventID, want.OrderID, want.OccurredAt = "e-1", "o-1", sec(t0, 5)
		require.Equal(t, want, mustEntry(t, "e-1", c.env))
	}
}

// An event without occurred_at takes the time of its metadata; records
// that can never be projected are errors.
func TestEntriesMalformed(t *testing.T) {
	t.Parallel()
	noTime := &shippingv1.ShipmentEvent{Event: &shippingv1.ShipmentEvent_ShipmentDelivered{ShipmentDelivered: &shippingv1.ShipmentDelivered{
		ShipmentId: "s-1", OrderId: "o-1"}}}
	require.Equal(t, t0, mustEntry(t, "e-1", noTime).OccurredAt)

	placed := func(mut func(*orderingv1.OrderPlaced)) proto.Message {
		e := proto.Clone(sagaEvents("o-1", "alice", t0)[0].env).(*orderingv1.OrderEvent).GetOrderPlaced()
		mut(e)
		return &orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderPlaced{OrderPlaced: e}}
	}
	for name, env := range map[string]proto.Message{
		"nil envelope":       nil,
		"another topic":      &catalogv1.ProductEvent{},
		"no ordering event":  &orderingv1.OrderEvent{},
		"no stock event":     &inventoryv1.StockEvent{},
		"no payment event":   &paymentv1.PaymentEvent{},
		"no shipment event":  &shippingv1.ShipmentEvent{},
		"no order ID":        placed(func(e *orderingv1.OrderPlaced) { e.OrderId = "" }),
		"bad order ID":       placed(func(e *orderingv1.OrderPlaced) { e.OrderId = "o 1" }),
		"no customer":        placed(func(e *orderingv1.OrderPlaced) { e.CustomerId = "" }),
		"no total":           placed(func(e *orderingv1.OrderPlaced) { e.Total = nil }),
		"bad currency":       placed(func(e *orderingv1.OrderPlaced) { e.Total = &commonv1.Money{AmountMinor: 1, Currency: "euro"} }),
		"line without price": placed(func(e *orderingv1.OrderPlaced) { e.Lines[0].UnitPrice = nil }),
		"no time at all": &paymentv1.PaymentEvent{Event: &paymentv1.PaymentEvent_PaymentCaptured{PaymentCaptured: &paymentv1.PaymentCaptured{
			PaymentId: "p", OrderId: "o-1", Amount: eur(1)}}},
	} {
		at := t0
		if name == "no time at all" {
			at = time.Time{} // and no metadata time either
		}
		_, ok, err := kafka.Entry("e-1", at, env)
		require.Error(t, err, name)
		require.False(t, ok, name)
	}
}
