package kafka

import (
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/agoracommerce/agora/gen/proto/agora/common/v1"
	inventoryv1 "github.com/agoracommerce/agora/gen/proto/agora/inventory/v1"
	orderingv1 "github.com/agoracommerce/agora/gen/proto/agora/ordering/v1"
	paymentv1 "github.com/agoracommerce/agora/gen/proto/agora/payment/v1"
	shippingv1 "github.com/agoracommerce/agora/gen/proto/agora/shipping/v1"
	"github.com/agoracommerce/agora/internal/orderhistory"
)

// Entry maps one event — its ID, the time its metadata gives (the
// fallback when the event has no occurred_at) and its decoded envelope —
// to the timeline entry it records. ok is false for events the projection
// does not record (inventory's stock levels, which name no order). An
// envelope of another topic, one without an event, or an event that
// breaks the read model's rules (no order ID, malformed money) is an
// error: such a record can never be projected.
func Entry(eventID string, at time.Time, envelope proto.Message) (e orderhistory.Entry, ok bool, err error) {
	switch env := envelope.(type) {
	case *orderingv1.OrderEvent:
		e, err = orderingEntry(env)
	case *inventoryv1.StockEvent:
		e, ok, err = inventoryEntry(env)
		if err != nil || !ok {
			return orderhistory.Entry{}, false, err
		}
	case *paymentv1.PaymentEvent:
		e, err = paymentEntry(env)
	case *shippingv1.ShipmentEvent:
		e, err = shippingEntry(env)
	case nil:
		return orderhistory.Entry{}, false, fmt.Errorf("orderhistory kafka: event %s has no envelope", eventID)
	default:
		return orderhistory.Entry{}, false, fmt.Errorf("orderhistory kafka: event %s: %s is no envelope the order history reads",
			eventID, envelope.ProtoReflect().Descriptor().FullName())
	}
	if err != nil {
		return orderhistory.Entry{}, false, fmt.Errorf("orderhistory kafka: event %s: %w", eventID, err)
	}
	e.EventID = eventID
	if e.OccurredAt.IsZero() {
		e.OccurredAt = at
	}
	if err := e.Validate(); err != nil {
		return orderhistory.Entry{}, false, fmt.Errorf("orderhistory kafka: event %s: %w", eventID, err)
	}
	return e, true, nil
}

func timeOf(ts *timestamppb.Timestamp) time.Time {
	if !ts.IsValid() {
		return time.Time{}
	}
	return ts.AsTime()
}

func money(m *commonv1.Money) orderhistory.Money {
	if m == nil {
		return orderhistory.Money{}
	}
	return orderhistory.Money{Amount: m.GetAmountMinor(), Currency: m.GetCurrency()}
}

func entry(typ orderhistory.EntryType, orderID, customerID string, at *timestamppb.Timestamp, f orderhistory.Facts) orderhistory.Entry {
	f.Reason = orderhistory.ClipText(f.Reason)
	return orderhistory.Entry{OrderID: orderID, Type: typ, OccurredAt: timeOf(at), CustomerID: customerID, Facts: f}
}

var endCodes = map[orderingv1.EndReason]orderhistory.EndCode{
	orderingv1.EndReason_END_REASON_UNSPECIFIED:       orderhistory.EndUnspecified,
	orderingv1.EndReason_END_REASON_OUT_OF_STOCK:      orderhistory.EndOutOfStock,
	orderingv1.EndReason_END_REASON_PAYMENT_DECLINED:  orderhistory.EndPaymentDeclined,
	orderingv1.EndReason_END_REASON_PAYMENT_FAILED:    orderhistory.EndPaymentFailed,
	orderingv1.EndReason_END_REASON_DEADLINE_EXCEEDED: orderhistory.EndDeadlineExceeded,
	orderingv1.EndReason_END_REASON_CUSTOMER_REQUEST:  orderhistory.EndCustomerRequest,
	orderingv1.EndReason_END_REASON_OPERATOR_REQUEST:  orderhistory.EndOperatorRequest,
}

// endCode maps ordering's end reason; a code this build does not know yet
// reads as unspecified.
func endCode(c orderingv1.EndReason) orderhistory.EndCode {
	if code, ok := endCodes[c]; ok {
		return code
	}
	return orderhistory.EndUnspecified
}

func orderingEntry(env *orderingv1.OrderEvent) (orderhistory.Entry, error) {
	switch ev := env.GetEvent().(type) {
	case *orderingv1.OrderEvent_OrderPlaced:
		e := ev.OrderPlaced
		out := entry(orderhistory.OrderPlaced, e.GetOrderId(), e.GetCustomerId(), e.GetPlacedAt(), orderhistory.Facts{Amount: money(e.GetTotal())})
		for _, l := range e.GetLines() {
			out.Lines = append(out.Lines, orderhistory.Line{SKU: l.GetSku(), ProductID: l.GetProductId(), Name: l.GetName(),
				Quantity: l.GetQuantity(), UnitPrice: money(l.GetUnitPrice())})
		}
		return out, nil
	case *orderingv1.OrderEvent_OrderPaymentRequested:
		e := ev.OrderPaymentRequested
		return entry(orderhistory.OrderPaymentRequested, e.GetOrderId(), e.GetCustomerId(), e.GetOccurredAt(),
			orderhistory.Facts{Amount: money(e.GetAmount())}), nil
	case *orderingv1.OrderEvent_OrderConfirmed:
		e := ev.OrderConfirmed
		return entry(orderhistory.OrderConfirmed, e.GetOrderId(), e.GetCustomerId(), e.GetOccurredAt(),
			orderhistory.Facts{Amount: money(e.GetTotal()), PaymentID: e.GetPaymentId()}), nil
	case *orderingv1.OrderEvent_OrderShipped:
		e := ev.OrderShipped
		return entry(orderhistory.OrderShipped, e.GetOrderId(), e.GetCustomerId(), e.GetOccurredAt(),
			orderhistory.Facts{Carrier: e.GetCarrier(), TrackingNumber: e.GetTrackingNumber(), ShipmentID: e.GetShipmentId()}), nil
	case *orderingv1.OrderEvent_OrderCompleted:
		e := ev.OrderCompleted
		return entry(orderhistory.OrderCompleted, e.GetOrderId(), e.GetCustomerId(), e.GetOccurredAt(),
			orderhistory.Facts{Amount: money(e.GetTotal())}), nil
	case *orderingv1.OrderEvent_OrderRejected:
		e := ev.OrderRejected
		return entry(orderhistory.OrderRejected, e.GetOrderId(), e.GetCustomerId(), e.GetOccurredAt(),
			orderhistory.Facts{Code: endCode(e.GetCode()), Reason: e.GetReason()}), nil
	case *orderingv1.OrderEvent_OrderCancelled:
		e := ev.OrderCancelled
		return entry(orderhistory.OrderCancelled, e.GetOrderId(), e.GetCustomerId(), e.GetOccurredAt(),
			orderhistory.Facts{Amount: money(e.GetTotal()), Code: endCode(e.GetCode()), Reason: e.GetReason(), Refund: e.GetRefund()}), nil
	default:
		return orderhistory.Entry{}, fmt.Errorf("order event without a known event (%T)", ev)
	}
}

func allocated(as []*inventoryv1.Allocation) int64 {
	var n int64
	for _, a := range as {
		n += a.GetQuantity()
	}
	return n
}

func inventoryEntry(env *inventoryv1.StockEvent) (orderhistory.Entry, bool, error) {
	switch ev := env.GetEvent().(type) {
	case *inventoryv1.StockEvent_StockReserved:
		e := ev.StockReserved
		return entry(orderhistory.StockReserved, e.GetOrderId(), "", e.GetOccurredAt(),
			orderhistory.Facts{Quantity: allocated(e.GetAllocations())}), true, nil
	case *inventoryv1.StockEvent_ReservationRejected:
		e := ev.ReservationRejected
		var short []string
		var missing int64
		for _, l := range e.GetShortLines() {
			short = append(short, fmt.Sprintf("%s (%d requested, %d available)", l.GetSku(), l.GetRequested(), l.GetAvailable()))
			missing += max(l.GetRequested()-l.GetAvailable(), 0)
		}
		return entry(orderhistory.ReservationRejected, e.GetOrderId(), "", e.GetOccurredAt(),
			orderhistory.Facts{Quantity: missing, Reason: strings.Join(short, ", ")}), true, nil
	case *inventoryv1.StockEvent_StockReleased:
		e := ev.StockReleased
		return entry(orderhistory.StockReleased, e.GetOrderId(), "", e.GetOccurredAt(),
			orderhistory.Facts{Quantity: allocated(e.GetAllocations()), Reason: e.GetReason()}), true, nil
	case *inventoryv1.StockEvent_StockCommitted:
		e := ev.StockCommitted
		return entry(orderhistory.StockCommitted, e.GetOrderId(), "", e.GetOccurredAt(),
			orderhistory.Facts{Quantity: allocated(e.GetAllocations())}), true, nil
	case *inventoryv1.StockEvent_StockReceived, *inventoryv1.StockEvent_StockAdjusted, *inventoryv1.StockEvent_LowStock:
		return orderhistory.Entry{}, false, nil // stock levels: no order's step
	default:
		return orderhistory.Entry{}, false, fmt.Errorf("stock event without a known event (%T)", ev)
	}
}

func paymentEntry(env *paymentv1.PaymentEvent) (orderhistory.Entry, error) {
	switch ev := env.GetEvent().(type) {
	case *paymentv1.PaymentEvent_PaymentAuthorized:
		e := ev.PaymentAuthorized
		return entry(orderhistory.PaymentAuthorized, e.GetOrderId(), e.GetCustomerId(), e.GetOccurredAt(),
			orderhistory.Facts{Amount: money(e.GetAmount()), PaymentID: e.GetPaymentId()}), nil
	case *paymentv1.PaymentEvent_PaymentDeclined:
		e := ev.PaymentDeclined
		return entry(orderhistory.PaymentDeclined, e.GetOrderId(), e.GetCustomerId(), e.GetOccurredAt(),
			orderhistory.Facts{Amount: money(e.GetAmount()), PaymentID: e.GetPaymentId(), Reason: e.GetReason()}), nil
	case *paymentv1.PaymentEvent_PaymentFailed:
		e := ev.PaymentFailed
		return entry(orderhistory.PaymentFailed, e.GetOrderId(), e.GetCustomerId(), e.GetOccurredAt(),
			orderhistory.Facts{Amount: money(e.GetAmount()), PaymentID: e.GetPaymentId(), Reason: e.GetReason()}), nil
	case *paymentv1.PaymentEvent_PaymentCaptured:
		e := ev.PaymentCaptured
		return entry(orderhistory.PaymentCaptured, e.GetOrderId(), e.GetCustomerId(), e.GetOccurredAt(),
			orderhistory.Facts{Amount: money(e.GetAmount()), PaymentID: e.GetPaymentId()}), nil
	case *paymentv1.PaymentEvent_PaymentVoided:
		e := ev.PaymentVoided
		return entry(orderhistory.PaymentVoided, e.GetOrderId(), e.GetCustomerId(), e.GetOccurredAt(),
			orderhistory.Facts{Amount: money(e.GetAmount()), PaymentID: e.GetPaymentId(), Reason: e.GetReason()}), nil
	case *paymentv1.PaymentEvent_PaymentRefunded:
		e := ev.PaymentRefunded
		return entry(orderhistory.PaymentRefunded, e.GetOrderId(), e.GetCustomerId(), e.GetOccurredAt(),
			orderhistory.Facts{Amount: money(e.GetAmount()), RefundedTotal: money(e.GetTotalRefunded()), PaymentID: e.GetPaymentId(),
				Reason: e.GetReason()}), nil
	default:
		return orderhistory.Entry{}, fmt.Errorf("payment event without a known event (%T)", ev)
	}
}

func shippingEntry(env *shippingv1.ShipmentEvent) (orderhistory.Entry, error) {
	facts := func(id, carrier, tracking string) orderhistory.Facts {
		return orderhistory.Facts{ShipmentID: id, Carrier: carrier, TrackingNumber: tracking}
	}
	switch ev := env.GetEvent().(type) {
	case *shippingv1.ShipmentEvent_ShipmentCreated:
		e := ev.ShipmentCreated
		return entry(orderhistory.ShipmentCreated, e.GetOrderId(), e.GetCustomerId(), e.GetOccurredAt(),
			facts(e.GetShipmentId(), e.GetCarrier(), e.GetTrackingNumber())), nil
	case *shippingv1.ShipmentEvent_ShipmentShipped:
		e := ev.ShipmentShipped
		return entry(orderhistory.ShipmentShipped, e.GetOrderId(), "", e.GetOccurredAt(),
			facts(e.GetShipmentId(), e.GetCarrier(), e.GetTrackingNumber())), nil
	case *shippingv1.ShipmentEvent_ShipmentDelivered:
		e := ev.ShipmentDelivered
		return entry(orderhistory.ShipmentDelivered, e.GetOrderId(), "", e.GetOccurredAt(),
			facts(e.GetShipmentId(), e.GetCarrier(), e.GetTrackingNumber())), nil
	case *shippingv1.ShipmentEvent_ShipmentCancelled:
		e := ev.ShipmentCancelled
		return entry(orderhistory.ShipmentCancelled, e.GetOrderId(), "", e.GetOccurredAt(),
			facts(e.GetShipmentId(), e.GetCarrier(), e.GetTrackingNumber())), nil
	default:
		return orderhistory.Entry{}, fmt.Errorf("shipment event without a known event (%T)", ev)
	}
}
