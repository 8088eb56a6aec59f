package kafka_test

import (
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/agoracommerce/agora/gen/proto/agora/common/v1"
	inventoryv1 "github.com/agoracommerce/agora/gen/proto/agora/inventory/v1"
	orderingv1 "github.com/agoracommerce/agora/gen/proto/agora/ordering/v1"
	paymentv1 "github.com/agoracommerce/agora/gen/proto/agora/payment/v1"
	shippingv1 "github.com/agoracommerce/agora/gen/proto/agora/shipping/v1"
	"github.com/agoracommerce/agora/internal/orderhistory/kafka"
	"github.com/agoracommerce/agora/internal/orderhistory/orderhistorytest"
)

var t0 = orderhistorytest.T0

func ts(at time.Time) *timestamppb.Timestamp { return timestamppb.New(at) }

func eur(amount int64) *commonv1.Money { return &commonv1.Money{AmountMinor: amount, Currency: "EUR"} }

// produced is one event as its producer publishes it: the topic (one of
// kafka.Topics), the key, the envelope and when it happened.
type produced struct {
	topic string
	key   string
	env   proto.Message
	at    time.Time
}

func stock(ev *inventoryv1.StockEvent) proto.Message        { return ev }
func payments(ev *paymentv1.PaymentEvent) proto.Message     { return ev }
func shipments(ev *shippingv1.ShipmentEvent) proto.Message  { return ev }
func sec(at time.Time, n int) time.Time                     { return at.Add(time.Duration(n) * time.Second) }
func orderEvent(at time.Time, n int) *timestamppb.Timestamp { return ts(sec(at, n)) }
func allocation(sku string, qty int64) *inventoryv1.Allocation {
	return &inventoryv1.Allocation{Sku: sku, WarehouseId: "wh-1", Quantity: qty}
}

// sagaEvents are the events of a checkout of orderID by customer that
// completes, then is cancelled by an operator and refunded, as the four
// services publish them, in the order they happen.
func sagaEvents(orderID, customer string, at time.Time) []produced {
	pay, ship, track := "pay-"+orderID, "ship-"+orderID, "AG-"+orderID
	lines := []*orderingv1.OrderLine{
		{Sku: "SHIRT-RED-M", Quantity: 2, UnitPrice: eur(1999), ProductId: "01936f0e-6b2c-7d4e-9f10-2a3b4c5d6e7f", Name: "Red shirt"},
		{Sku: "MUG-1", Quantity: 1, UnitPrice: eur(999), ProductId: "01936f0e-6b2c-7d4e-9f10-2a3b4c5d6e80", Name: "Mug"},
	}
	allocs := []*inventoryv1.Allocation{allocation("SHIRT-RED-M", 2), allocation("MUG-1", 1)}
	o := func(n int, ev *orderingv1.OrderEvent) produced {
		return produced{kafka.OrderingTopic, orderID, ev, sec(at, n)}
	}
	return []produced{
		o(1, &orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderPlaced{OrderPlaced: &orderingv1.OrderPlaced{
			OrderId: orderID, CustomerId: customer, Lines: lines, Total: eur(4997), PlacedAt: orderEvent(at, 1),
			CartId: "01936f0e-0000-7000-8000-000000000001", CustomerEmail: customer + "@example.com",
			ShippingAddress:      &orderingv1.Address{Name: "Ada", Line1: "1 Main St", City: "Amsterdam", PostalCode: "1000", Country: "NL"},
			ReservationExpiresAt: orderEvent(at, 900)}}}),
		{kafka.InventoryTopic, orderID, stock(&inventoryv1.StockEvent{Event: &inventoryv1.StockEvent_StockReserved{StockReserved: &inventoryv1.StockReserved{
			OrderId: orderID, Allocations: allocs, ExpiresAt: orderEvent(at, 900), OccurredAt: orderEvent(at, 2)}}}), sec(at, 2)},
		o(3, &orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderPaymentRequested{OrderPaymentRequested: &orderingv1.OrderPaymentRequested{
			OrderId: orderID, CustomerId: customer, Amount: eur(4997), PaymentToken: "tok_visa", OccurredAt: orderEvent(at, 3)}}}),
		{kafka.PaymentTopic, pay, payments(&paymentv1.PaymentEvent{Event: &paymentv1.PaymentEvent_PaymentAuthorized{PaymentAuthorized: &paymentv1.PaymentAuthorized{
			PaymentId: pay, OrderId: orderID, CustomerId: customer, Amount: eur(4997), AuthorizationId: "auth-1", OccurredAt: orderEvent(at, 4)}}}), sec(at, 4)},
		o(5, &orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderConfirmed{OrderConfirmed: &orderingv1.OrderConfirmed{
			OrderId: orderID, CustomerId: customer, Lines: lines, Total: eur(4997), PaymentId: pay, OccurredAt: orderEvent(at, 5)}}}),
		{kafka.ShippingTopic, ship, shipments(&shippingv1.ShipmentEvent{Event: &shippingv1.ShipmentEvent_ShipmentCreated{ShipmentCreated: &shippingv1.ShipmentCreated{
			ShipmentId: ship, OrderId: orderID, CustomerId: customer, Carrier: "agora-sim", TrackingNumber: track, LabelId: "lbl-1",
			OccurredAt: orderEvent(at, 6)}}}), sec(at, 6)},
		{kafka.ShippingTopic, ship, shipments(&shippingv1.ShipmentEvent{Event: &shippingv1.ShipmentEvent_ShipmentShipped{ShipmentShipped: &shippingv1.ShipmentShipped{
			ShipmentId: ship, OrderId: orderID, Carrier: "agora-sim", TrackingNumber: track, OccurredAt: orderEvent(at, 7)}}}), sec(at, 7)},
		o(8, &orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderShipped{OrderShipped: &orderingv1.OrderShipped{
			OrderId: orderID, CustomerId: customer, ShipmentId: ship, Carrier: "agora-sim", TrackingNumber: track, OccurredAt: orderEvent(at, 8)}}}),
		{kafka.PaymentTopic, pay, payments(&paymentv1.PaymentEvent{Event: &paymentv1.PaymentEvent_PaymentCaptured{PaymentCaptured: &paymentv1.PaymentCaptured{
			PaymentId: pay, OrderId: orderID, CustomerId: customer, Amount: eur(4997), CaptureId: "cap-1", OccurredAt: orderEvent(at, 9)}}}), sec(at, 9)},
		{kafka.InventoryTopic, orderID, stock(&inventoryv1.StockEvent{Event: &inventoryv1.StockEvent_StockCommitted{StockCommitted: &inventoryv1.StockCommitted{
			OrderId: orderID, Allocations: allocs, OccurredAt: orderEvent(at, 10)}}}), sec(at, 10)},
		o(11, &orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderCompleted{OrderCompleted: &orderingv1.OrderCompleted{
			OrderId: orderID, CustomerId: customer, Total: eur(4997), OccurredAt: orderEvent(at, 11)}}}),
		{kafka.ShippingTopic, ship, shipments(&shippingv1.ShipmentEvent{Event: &shippingv1.ShipmentEvent_ShipmentDelivered{ShipmentDelivered: &shippingv1.ShipmentDelivered{
			ShipmentId: ship, OrderId: orderID, Carrier: "agora-sim", TrackingNumber: track, OccurredAt: orderEvent(at, 12)}}}), sec(at, 12)},
		o(13, &orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderCancelled{OrderCancelled: &orderingv1.OrderCancelled{
			OrderId: orderID, CustomerId: customer, Reason: "damaged in transit", Code: orderingv1.EndReason_END_REASON_OPERATOR_REQUEST,
			Step: orderingv1.SagaStep_SAGA_STEP_DONE, Refund: true, Total: eur(4997), OccurredAt: orderEvent(at, 13)}}}),
		{kafka.PaymentTopic, pay, payments(&paymentv1.PaymentEvent{Event: &paymentv1.PaymentEvent_PaymentRefunded{PaymentRefunded: &paymentv1.PaymentRefunded{
			PaymentId: pay, OrderId: orderID, CustomerId: customer, Amount: eur(4997), TotalRefunded: eur(4997), RefundId: "ref-1",
			Reference: orderID + ":cancel", Reason: "order cancelled", OccurredAt: orderEvent(at, 14)}}}), sec(at, 14)},
		// A stock level change on the same topic: not an order's step.
		{kafka.InventoryTopic, "SHIRT-RED-M", stock(&inventoryv1.StockEvent{Event: &inventoryv1.StockEvent_StockReceived{StockReceived: &inventoryv1.StockReceived{
			Sku: "SHIRT-RED-M", Quantity: 10, Level: &inventoryv1.WarehouseLevel{WarehouseId: "wh-1", OnHand: 10, Available: 10},
			OccurredAt: orderEvent(at, 15)}}}), sec(at, 15)},
	}
}
