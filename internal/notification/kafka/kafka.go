// Package kafka holds the notification service's event consumer. One
// consumer group (Group) reads the order's steps from ordering
// (ordering.orders.v1), refunds from payment (payment.payments.v1) and
// deliveries from shipping (shipping.shipments.v1), and turns each event
// the customer should hear about into a pending message:
//
//	OrderPlaced        the order's recipient, and "order received"
//	OrderConfirmed     "order confirmed"
//	OrderShipped       "order shipped" with the tracking number
//	ShipmentDelivered  "order delivered"
//	OrderCompleted     "order completed"
//	OrderRejected      "order rejected" with the reason
//	OrderCancelled     "order cancelled" with the reason and the refund note
//	PaymentRefunded    "refund issued" with the amount
//
// Every other event of those topics is acknowledged and ignored. Applying
// is idempotent twice over: the event is recorded in the inbox in the same
// transaction as its message, and a message's ID derives from its order
// and kind, so a step published again renders no second message.
//
// Errors: an event for an order whose OrderPlaced has not been applied yet
// is retryable (payment's and shipping's topics are not ordered with
// ordering's; the OrderPlaced arrives moments later) and, once the
// consumer's retries run out, dead-lettered with that reason. An event
// that cannot be turned into a message (a missing order ID, a malformed
// amount, ...) fails permanently; storage errors stay retryable.
package kafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/agoracommerce/agora/gen/proto/agora/common/v1"
	orderingv1 "github.com/agoracommerce/agora/gen/proto/agora/ordering/v1"
	paymentv1 "github.com/agoracommerce/agora/gen/proto/agora/payment/v1"
	shippingv1 "github.com/agoracommerce/agora/gen/proto/agora/shipping/v1"
	"github.com/agoracommerce/agora/internal/notification"
	"github.com/agoracommerce/agora/internal/notification/app"
	"github.com/agoracommerce/agora/internal/platform/consumer"
	"github.com/agoracommerce/agora/internal/platform/contract"
	"github.com/agoracommerce/agora/internal/platform/fault"
)

// Group is the notification service's consumer group; the topics are the
// ones it reads.
const (
	Group          = "notification.events"
	OrdersTopic    = "ordering.orders.v1"
	PaymentsTopic  = "payment.payments.v1"
	ShipmentsTopic = "shipping.shipments.v1"
)

// Topics lists the topics the group consumes.
func Topics() []string { return []string{OrdersTopic, PaymentsTopic, ShipmentsTopic} }

// Notifier is the use cases the consumer drives; *app.Service implements
// it.
type Notifier interface {
	OrderPlaced(ctx context.Context, ev app.EventRef, r notification.Recipient, n notification.Notice) (app.Outcome, error)
	Notify(ctx context.Context, ev app.EventRef, n notification.Notice) (app.Outcome, error)
}

var _ Notifier = (*app.Service)(nil)

// Contracts declares what the consumer reads of each producer's events,
// checked against the producers' envelopes (package contract).
func Contracts() []contract.Reads {
	ts := "message google.protobuf.Timestamp"
	return []contract.Reads{
		{Consumer: Group, Topic: OrdersTopic, Events: map[string][]string{
			"agora.ordering.v1.OrderPlaced": {"order_id string", "customer_id string", "customer_email string",
				"shipping_address.name string", "lines.sku string", "lines.name string", "lines.quantity int32",
				"lines.unit_price.amount_minor int64", "lines.unit_price.currency string",
				"total.amount_minor int64", "total.currency string", "placed_at " + ts},
			"agora.ordering.v1.OrderConfirmed": {"order_id string", "total.amount_minor int64", "total.currency string", "occurred_at " + ts},
			"agora.ordering.v1.OrderShipped":   {"order_id string", "carrier string", "tracking_number string", "occurred_at " + ts},
			"agora.ordering.v1.OrderCompleted": {"order_id string", "total.amount_minor int64", "total.currency string", "occurred_at " + ts},
			"agora.ordering.v1.OrderRejected": {"order_id string", "reason string", "code enum agora.ordering.v1.EndReason",
				"occurred_at " + ts},
			"agora.ordering.v1.OrderCancelled": {"order_id string", "reason string", "code enum agora.ordering.v1.EndReason",
				"refund bool", "total.amount_minor int64", "total.currency string", "occurred_at " + ts},
		}},
		{Consumer: Group, Topic: PaymentsTopic, Events: map[string][]string{
			"agora.payment.v1.PaymentRefunded": {"order_id string", "refund_id string", "reference string",
				"amount.amount_minor int64", "amount.currency string", "occurred_at " + ts},
		}},
		{Consumer: Group, Topic: ShipmentsTopic, Events: map[string][]string{
			"agora.shipping.v1.ShipmentDelivered": {"order_id string", "carrier string", "tracking_number string", "occurred_at " + ts},
		}},
	}
}

// Handler returns the consumer.Handler of the group over n.
func Handler(n Notifier) (consumer.Handler, error) {
	if n == nil {
		return nil, errors.New("notification kafka: a Notifier is required")
	}
	return func(ctx context.Context, m *consumer.Message) error {
		ref := app.EventRef{Group: Group, ID: m.Meta.ID}
		var (
			out app.Outcome
			err error
		)
		switch env := m.Event.(type) {
		case *orderingv1.OrderEvent:
			out, err = order(ctx, n, ref, env, m.Meta.Time)
		case *paymentv1.PaymentEvent:
			out, err = payment(ctx, n, ref, env, m.Meta.Time)
		case *shippingv1.ShipmentEvent:
			out, err = shipment(ctx, n, ref, env, m.Meta.Time)
		default:
			return fault.Permanent(fmt.Errorf("notification kafka: %s is not an event this group reads",
				m.Event.ProtoReflect().Descriptor().FullName()))
		}
		if out == app.Duplicate {
			m.Duplicate = true
		}
		return classify(err)
	}, nil
}

// classify marks what no retry can fix as permanent and an unknown
// recipient as retryable; storage errors come marked retryable.
func classify(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, notification.ErrUnknownRecipient):
		return fault.Retryable(fmt.Errorf("notification kafka: the order's OrderPlaced has not been applied yet: %w", err))
	case errors.Is(err, notification.ErrInvalid):
		return fault.Permanent(err)
	}
	return err
}

// malformed is a permanent error about an event's content.
func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: notification kafka: %s", notification.ErrInvalid, fmt.Sprintf(format, args...))
}

// at is when the event happened: its occurred_at, or the record's event
// time when the producer left it out.
func at(ts *timestamppb.Timestamp, fallback time.Time) time.Time {
	if ts.IsValid() {
		return ts.AsTime()
	}
	return fallback
}

func money(field string, m *commonv1.Money) (notification.Money, error) {
	if m == nil {
		return notification.Money{}, malformed("%s is missing", field)
	}
	out, err := notification.NewMoney(m.GetAmountMinor(), m.GetCurrency())
	if err != nil {
		return notification.Money{}, fmt.Errorf("notification kafka: %s: %w", field, err)
	}
	return out, nil
}

// optionalMoney is money that the message shows when the producer sent it.
func optionalMoney(field string, m *commonv1.Money) (notification.Money, error) {
	if m == nil {
		return notification.Money{}, nil
	}
	return money(field, m)
}

var reasons = map[orderingv1.EndReason]notification.Reason{
	orderingv1.EndReason_END_REASON_OUT_OF_STOCK:      notification.ReasonOutOfStock,
	orderingv1.EndReason_END_REASON_PAYMENT_DECLINED:  notification.ReasonPaymentDeclined,
	orderingv1.EndReason_END_REASON_PAYMENT_FAILED:    notification.ReasonPaymentFailed,
	orderingv1.EndReason_END_REASON_DEADLINE_EXCEEDED: notification.ReasonDeadlineExceeded,
	orderingv1.EndReason_END_REASON_CUSTOMER_REQUEST:  notification.ReasonCustomerRequest,
	orderingv1.EndReason_END_REASON_OPERATOR_REQUEST:  notification.ReasonOperatorRequest,
}

func reason(code orderingv1.EndReason) notification.Reason {
	if r, ok := reasons[code]; ok {
		return r
	}
	return notification.ReasonOther
}

func text(s string, limit int) string { return notification.Clean(s, limit) }

func order(ctx context.Context, n Notifier, ref app.EventRef, env *orderingv1.OrderEvent, fallback time.Time) (app.Outcome, error) {
	var (
		notice notification.Notice
		err    error
	)
	switch ev := env.GetEvent().(type) {
	case *orderingv1.OrderEvent_OrderPlaced:
		return orderPlaced(ctx, n, ref, ev.OrderPlaced, fallback)
	case *orderingv1.OrderEvent_OrderConfirmed:
		e := ev.OrderConfirmed
		notice = notification.Notice{Kind: notification.KindOrderConfirmed, OrderID: e.GetOrderId(), OccurredAt: at(e.GetOccurredAt(), fallback)}
		notice.Total, err = optionalMoney("total", e.GetTotal())
	case *orderingv1.OrderEvent_OrderShipped:
		e := ev.OrderShipped
		notice = notification.Notice{Kind: notification.KindOrderShipped, OrderID: e.GetOrderId(),
			Carrier: text(e.GetCarrier(), notification.MaxCarrierLength), TrackingNumber: text(e.GetTrackingNumber(), notification.MaxTrackingLength),
			OccurredAt: at(e.GetOccurredAt(), fallback)}
	case *orderingv1.OrderEvent_OrderCompleted:
		e := ev.OrderCompleted
		notice = notification.Notice{Kind: notification.KindOrderCompleted, OrderID: e.GetOrderId(), OccurredAt: at(e.GetOccurredAt(), fallback)}
		notice.Total, err = optionalMoney("total", e.GetTotal())
	case *orderingv1.OrderEvent_OrderRejected:
		e := ev.OrderRejected
		notice = notification.Notice{Kind: notification.KindOrderRejected, OrderID: e.GetOrderId(), Reason: reason(e.GetCode()),
			Detail: text(e.GetReason(), notification.MaxReasonLength), OccurredAt: at(e.GetOccurredAt(), fallback)}
	case *orderingv1.OrderEvent_OrderCancelled:
		e := ev.OrderCancelled
		notice = notification.Notice{Kind: notification.KindOrderCancelled, OrderID: e.GetOrderId(), Reason: reason(e.GetCode()),
			Detail: text(e.GetReason(), notification.MaxReasonLength), Refund: e.GetRefund(), OccurredAt: at(e.GetOccurredAt(), fallback)}
		notice.Total, err = optionalMoney("total", e.GetTotal())
	case nil:
		return 0, malformed("an OrderEvent without an event")
	default:
		return 0, nil // a saga step the customer is not told about
	}
	if err != nil {
		return 0, err
	}
	return n.Notify(ctx, ref, notice)
}

func orderPlaced(ctx context.Context, n Notifier, ref app.EventRef, e *orderingv1.OrderPlaced, fallback time.Time) (app.Outcome, error) {
	r, err := notification.NewRecipient(e.GetOrderId(), e.GetCustomerId(), e.GetCustomerEmail(), e.GetShippingAddress().GetName())
	if err != nil {
		return 0, fmt.Errorf("notification kafka: recipient of OrderPlaced: %w", err)
	}
	notice := notification.Notice{Kind: notification.KindOrderReceived, OrderID: e.GetOrderId(), OccurredAt: at(e.GetPlacedAt(), fallback)}
	if notice.Total, err = money("total", e.GetTotal()); err != nil {
		return 0, err
	}
	if len(e.GetLines()) > notification.MaxLines {
		return 0, malformed("OrderPlaced of %s has %d lines", e.GetOrderId(), len(e.GetLines()))
	}
	for i, l := range e.GetLines() {
		price, err := money(fmt.Sprintf("lines[%d].unit_price", i), l.GetUnitPrice())
		if err != nil {
			return 0, err
		}
		notice.Lines = append(notice.Lines, notification.Line{SKU: l.GetSku(), Name: text(l.GetName(), notification.MaxNameLength),
			Quantity: int64(l.GetQuantity()), UnitPrice: price})
	}
	return n.OrderPlaced(ctx, ref, r, notice)
}

func payment(ctx context.Context, n Notifier, ref app.EventRef, env *paymentv1.PaymentEvent, fallback time.Time) (app.Outcome, error) {
	switch ev := env.GetEvent().(type) {
	case *paymentv1.PaymentEvent_PaymentRefunded:
		e := ev.PaymentRefunded
		id := e.GetRefundId()
		if id == "" {
			id = e.GetReference()
		}
		if id == "" {
			return 0, malformed("PaymentRefunded of order %q names neither its refund nor its reference", e.GetOrderId())
		}
		amount, err := money("amount", e.GetAmount())
		if err != nil {
			return 0, err
		}
		return n.Notify(ctx, ref, notification.Notice{Kind: notification.KindRefundIssued, OrderID: e.GetOrderId(), Ref: id,
			Amount: amount, OccurredAt: at(e.GetOccurredAt(), fallback)})
	case nil:
		return 0, malformed("a PaymentEvent without an event")
	default:
		return 0, nil
	}
}

func shipment(ctx context.Context, n Notifier, ref app.EventRef, env *shippingv1.ShipmentEvent, fallback time.Time) (app.Outcome, error) {
	switch ev := env.GetEvent().(type) {
	case *shippingv1.ShipmentEvent_ShipmentDelivered:
		e := ev.ShipmentDelivered
		return n.Notify(ctx, ref, notification.Notice{Kind: notification.KindOrderDelivered, OrderID: e.GetOrderId(),
			Carrier: text(e.GetCarrier(), notification.MaxCarrierLength), TrackingNumber: text(e.GetTrackingNumber(), notification.MaxTrackingLength),
			OccurredAt: at(e.GetOccurredAt(), fallback)})
	case nil:
		return 0, malformed("a ShipmentEvent without an event")
	default:
		return 0, nil
	}
}
