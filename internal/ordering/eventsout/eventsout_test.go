package eventsout_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/agoracommerce/agora/gen/proto/agora/common/v1"
	orderingv1 "github.com/agoracommerce/agora/gen/proto/agora/ordering/v1"
	"github.com/agoracommerce/agora/internal/ordering"
	"github.com/agoracommerce/agora/internal/ordering/eventsout"
	"github.com/agoracommerce/agora/internal/platform/kafkatest"
)

// Every domain event encodes, through the codec and the embedded registry
// a consumer uses, into the OrderEvent envelope with all its fields, keyed
// by order ID and typed in the metadata.
func TestEventContract(t *testing.T) {
	t.Parallel()
	codec := kafkatest.Codec(t)
	enc, err := eventsout.New(codec)
	require.NoError(t, err)
	require.Equal(t, "ordering.orders.v1", enc.Topic())
	ctx := context.Background()

	at := time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)
	ts := timestamppb.New(at)
	id, cart, product := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	price, err := ordering.NewMoney(1999, "EUR")
	require.NoError(t, err)
	total, err := ordering.NewMoney(3998, "EUR")
	require.NoError(t, err)
	lines := []ordering.Line{{ProductID: product, SKU: "SHIRT-1", Name: "Shirt", Quantity: 2, UnitPrice: price}}
	addr := ordering.Address{Name: "Ada", Line1: "1 Row", Line2: "Flat 2", City: "London", Region: "LDN", PostalCode: "EC1", Country: "GB"}

	pbLines := []*orderingv1.OrderLine{{Sku: "SHIRT-1", Quantity: 2, UnitPrice: &commonv1.Money{AmountMinor: 1999, Currency: "EUR"},
		ProductId: product.String(), Name: "Shirt"}}
	pbAddr := &orderingv1.Address{Name: "Ada", Line1: "1 Row", Line2: "Flat 2", City: "London", Region: "LDN", PostalCode: "EC1", Country: "GB"}
	pbTotal := &commonv1.Money{AmountMinor: 3998, Currency: "EUR"}

	cases := []struct {
		ev   ordering.Event
		typ  string
		want *orderingv1.OrderEvent
	}{
		{ordering.OrderPlaced{OrderID: id, CustomerID: "alice", CartID: cart, Lines: lines, Total: total, Email: "ada@example.com",
			Address: addr, ReservationExpiresAt: at.Add(time.Hour), At: at},
			"agora.ordering.v1.OrderPlaced",
			&orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderPlaced{OrderPlaced: &orderingv1.OrderPlaced{
				OrderId: id.String(), CustomerId: "alice", Lines: pbLines, Total: pbTotal, PlacedAt: ts, CartId: cart.String(),
				CustomerEmail: "ada@example.com", ShippingAddress: pbAddr, ReservationExpiresAt: timestamppb.New(at.Add(time.Hour))}}}},
		{ordering.PaymentRequested{OrderID: id, CustomerID: "alice", Amount: total, PaymentToken: "tok_visa", At: at},
			"agora.ordering.v1.OrderPaymentRequested",
			&orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderPaymentRequested{OrderPaymentRequested: &orderingv1.OrderPaymentRequested{
				OrderId: id.String(), CustomerId: "alice", Amount: pbTotal, PaymentToken: "tok_visa", OccurredAt: ts}}}},
		{ordering.OrderConfirmed{OrderID: id, CustomerID: "alice", Lines: lines, Address: addr, Total: total, PaymentID: "pay-1", At: at},
			"agora.ordering.v1.OrderConfirmed",
			&orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderConfirmed{OrderConfirmed: &orderingv1.OrderConfirmed{
				OrderId: id.String(), CustomerId: "alice", Lines: pbLines, ShippingAddress: pbAddr, Total: pbTotal, PaymentId: "pay-1",
				OccurredAt: ts}}}},
		{ordering.OrderShipped{OrderID: id, CustomerID: "alice", ShipmentID: "s-1", Carrier: "DHL", TrackingNumber: "T1", At: at},
			"agora.ordering.v1.OrderShipped",
			&orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderShipped{OrderShipped: &orderingv1.OrderShipped{
				OrderId: id.String(), CustomerId: "alice", ShipmentId: "s-1", Carrier: "DHL", TrackingNumber: "T1", OccurredAt: ts}}}},
		{ordering.OrderCompleted{OrderID: id, CustomerID: "alice", Total: total, At: at},
			"agora.ordering.v1.OrderCompleted",
			&orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderCompleted{OrderCompleted: &orderingv1.OrderCompleted{
				OrderId: id.String(), CustomerId: "alice", Total: pbTotal, OccurredAt: ts}}}},
		{ordering.OrderRejected{OrderID: id, CustomerID: "alice", Code: ordering.EndOutOfStock, Reason: "short", Step: ordering.StepReservingStock, At: at},
			"agora.ordering.v1.OrderRejected",
			&orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderRejected{OrderRejected: &orderingv1.OrderRejected{
				OrderId: id.String(), Reason: "short", CustomerId: "alice", Code: orderingv1.EndReason_END_REASON_OUT_OF_STOCK,
				Step: orderingv1.SagaStep_SAGA_STEP_RESERVING_STOCK, OccurredAt: ts}}}},
		{ordering.OrderCancelled{OrderID: id, CustomerID: "alice", Code: ordering.EndOperatorRequest, Reason: "damaged",
			Step: ordering.StepCapturingPayment, Refund: true, Total: total, At: at},
			"agora.ordering.v1.OrderCancelled",
			&orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderCancelled{OrderCancelled: &orderingv1.OrderCancelled{
				OrderId: id.String(), Reason: "damaged", CustomerId: "alice", Code: orderingv1.EndReason_END_REASON_OPERATOR_REQUEST,
				Step: orderingv1.SagaStep_SAGA_STEP_CAPTURING_PAYMENT, Refund: true, Total: pbTotal, OccurredAt: ts}}}},
	}
	for _, c := range cases {
		evs, err := enc.Encode(ctx, c.ev)
		require.NoError(t, err)
		require.Len(t, evs, 1)
		ev := evs[0]
		require.Equal(t, eventsout.Topic, ev.Topic)
		require.Equal(t, id.String(), ev.Key)
		require.Equal(t, c.typ, ev.Metadata.Type)
		require.Equal(t, eventsout.Source, ev.Metadata.Source)
		require.Equal(t, id.String(), ev.Metadata.Subject)
		msg, err := codec.Decode(ctx, ev.Value)
		require.NoError(t, err)
		if diff := cmp.Diff(c.want, msg, protocmp.Transform()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.typ, diff)
		}
	}
}

func TestEnums(t *testing.T) {
	t.Parallel()
	for _, code := range []ordering.EndCode{ordering.EndOutOfStock, ordering.EndPaymentDeclined, ordering.EndPaymentFailed,
		ordering.EndDeadlineExceeded, ordering.EndCustomerRequest, ordering.EndOperatorRequest} {
		require.NotEqual(t, orderingv1.EndReason_END_REASON_UNSPECIFIED, eventsout.EndReason(code), code)
		require.Equal(t, "END_REASON_"+string(code), eventsout.EndReason(code).String())
	}
	require.Equal(t, orderingv1.EndReason_END_REASON_UNSPECIFIED, eventsout.EndReason("nope"))
	for _, st := range []ordering.Step{ordering.StepReservingStock, ordering.StepAuthorizingPayment, ordering.StepShipping,
		ordering.StepCapturingPayment, ordering.StepDone} {
		require.NotEqual(t, orderingv1.SagaStep_SAGA_STEP_UNSPECIFIED, eventsout.SagaStep(st), st)
	}
	require.Equal(t, orderingv1.SagaStep_SAGA_STEP_UNSPECIFIED, eventsout.SagaStep("nope"))
	_, err := eventsout.Envelope(nil)
	require.Error(t, err)
	_, err = eventsout.New(nil)
	require.Error(t, err)
}
