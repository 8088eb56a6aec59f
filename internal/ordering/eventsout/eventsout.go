// Package eventsout turns the ordering service's domain events into records
// of the Kafka topic ordering.orders.v1: the OrderEvent Protobuf envelope,
// framed by the platform codec with its schema ID and CloudEvents metadata,
// keyed by order ID so that every participant sees one order's saga steps
// in the order they were taken. The store writes what it returns into its
// outbox in the same transaction as the change.
package eventsout

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/agoracommerce/agora/gen/proto/agora/common/v1"
	orderingv1 "github.com/agoracommerce/agora/gen/proto/agora/ordering/v1"
	"github.com/agoracommerce/agora/internal/ordering"
	"github.com/agoracommerce/agora/internal/platform/events"
)

// Topic and Source of the ordering service's events.
const (
	Topic  = "ordering.orders.v1"
	Source = "agora/ordering"
)

// Encoder encodes order events with a codec. Safe for concurrent use.
type Encoder = events.Encoder[ordering.Event]

// New returns an Encoder of Topic over codec.
func New(codec *events.Codec) (*Encoder, error) {
	return events.NewEncoder(codec, Topic, Source, func(ev ordering.Event) (string, proto.Message, time.Time, error) {
		env, err := Envelope(ev)
		if err != nil {
			return "", nil, time.Time{}, err
		}
		return ev.Key().String(), env, ev.OccurredAt(), nil
	})
}

// Envelope returns the OrderEvent envelope of a domain event.
func Envelope(ev ordering.Event) (*orderingv1.OrderEvent, error) {
	switch ev := ev.(type) {
	case ordering.OrderPlaced:
		return &orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderPlaced{OrderPlaced: &orderingv1.OrderPlaced{
			OrderId: ev.OrderID.String(), CustomerId: ev.CustomerID, Lines: Lines(ev.Lines), Total: Money(ev.Total),
			PlacedAt: timestamppb.New(ev.At), CartId: ev.CartID.String(), CustomerEmail: ev.Email,
			ShippingAddress: Address(ev.Address), ReservationExpiresAt: timestamppb.New(ev.ReservationExpiresAt),
		}}}, nil
	case ordering.PaymentRequested:
		return &orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderPaymentRequested{OrderPaymentRequested: &orderingv1.OrderPaymentRequested{
			OrderId: ev.OrderID.String(), CustomerId: ev.CustomerID, Amount: Money(ev.Amount), PaymentToken: ev.PaymentToken,
			OccurredAt: timestamppb.New(ev.At),
		}}}, nil
	case ordering.OrderConfirmed:
		return &orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderConfirmed{OrderConfirmed: &orderingv1.OrderConfirmed{
			OrderId: ev.OrderID.String(), CustomerId: ev.CustomerID, Lines: Lines(ev.Lines), ShippingAddress: Address(ev.Address),
			Total: Money(ev.Total), PaymentId: ev.PaymentID, OccurredAt: timestamppb.New(ev.At),
		}}}, nil
	case ordering.OrderShipped:
		return &orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderShipped{OrderShipped: &orderingv1.OrderShipped{
			OrderId: ev.OrderID.String(), CustomerId: ev.CustomerID, ShipmentId: ev.ShipmentID, Carrier: ev.Carrier,
			TrackingNumber: ev.TrackingNumber, OccurredAt: timestamppb.New(ev.At),
		}}}, nil
	case ordering.OrderCompleted:
		return &orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderCompleted{OrderCompleted: &orderingv1.OrderCompleted{
			OrderId: ev.OrderID.String(), CustomerId: ev.CustomerID, Total: Money(ev.Total), OccurredAt: timestamppb.New(ev.At),
		}}}, nil
	case ordering.OrderRejected:
		return &orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderRejected{OrderRejected: &orderingv1.OrderRejected{
			OrderId: ev.OrderID.String(), Reason: ev.Reason, CustomerId: ev.CustomerID, Code: EndReason(ev.Code),
			Step: SagaStep(ev.Step), OccurredAt: timestamppb.New(ev.At),
		}}}, nil
	case ordering.OrderCancelled:
		return &orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderCancelled{OrderCancelled: &orderingv1.OrderCancelled{
			OrderId: ev.OrderID.String(), Reason: ev.Reason, CustomerId: ev.CustomerID, Code: EndReason(ev.Code),
			Step: SagaStep(ev.Step), Refund: ev.Refund, Total: Money(ev.Total), OccurredAt: timestamppb.New(ev.At),
		}}}, nil
	default:
		return nil, fmt.Errorf("ordering eventsout: unknown event %T", ev)
	}
}

// Lines returns the Protobuf lines of an order.
func Lines(ls []ordering.Line) []*orderingv1.OrderLine {
	out := make([]*orderingv1.OrderLine, len(ls))
	for i, l := range ls {
		out[i] = &orderingv1.OrderLine{
			Sku: l.SKU, Quantity: int32(l.Quantity), // #nosec G115 -- at most ordering.MaxQuantity
			UnitPrice: Money(l.UnitPrice), ProductId: l.ProductID.String(), Name: l.Name,
		}
	}
	return out
}

// Address returns the Protobuf form of a.
func Address(a ordering.Address) *orderingv1.Address {
	return &orderingv1.Address{Name: a.Name, Line1: a.Line1, Line2: a.Line2, City: a.City, Region: a.Region,
		PostalCode: a.PostalCode, Country: a.Country}
}

// Money returns the Protobuf form of m.
func Money(m ordering.Money) *commonv1.Money {
	return &commonv1.Money{AmountMinor: m.Amount(), Currency: m.Currency()}
}

// EndReason returns the Protobuf end reason of code.
func EndReason(code ordering.EndCode) orderingv1.EndReason {
	switch code {
	case ordering.EndOutOfStock:
		return orderingv1.EndReason_END_REASON_OUT_OF_STOCK
	case ordering.EndPaymentDeclined:
		return orderingv1.EndReason_END_REASON_PAYMENT_DECLINED
	case ordering.EndPaymentFailed:
		return orderingv1.EndReason_END_REASON_PAYMENT_FAILED
	case ordering.EndDeadlineExceeded:
		return orderingv1.EndReason_END_REASON_DEADLINE_EXCEEDED
	case ordering.EndCustomerRequest:
		return orderingv1.EndReason_END_REASON_CUSTOMER_REQUEST
	case ordering.EndOperatorRequest:
		return orderingv1.EndReason_END_REASON_OPERATOR_REQUEST
	}
	return orderingv1.EndReason_END_REASON_UNSPECIFIED
}

// SagaStep returns the Protobuf saga step of step.
func SagaStep(step ordering.Step) orderingv1.SagaStep {
	switch step {
	case ordering.StepReservingStock:
		return orderingv1.SagaStep_SAGA_STEP_RESERVING_STOCK
	case ordering.StepAuthorizingPayment:
		return orderingv1.SagaStep_SAGA_STEP_AUTHORIZING_PAYMENT
	case ordering.StepShipping:
		return orderingv1.SagaStep_SAGA_STEP_SHIPPING
	case ordering.StepCapturingPayment:
		return orderingv1.SagaStep_SAGA_STEP_CAPTURING_PAYMENT
	case ordering.StepDone:
		return orderingv1.SagaStep_SAGA_STEP_DONE
	}
	return orderingv1.SagaStep_SAGA_STEP_UNSPECIFIED
}
