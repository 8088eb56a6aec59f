// Package kafka holds the payment service's event consumers. Orders takes
// the payment's part in the checkout saga from the ordering service's
// topic (ordering.orders.v1, envelope agora.ordering.v1.OrderEvent):
//
//   - OrderPaymentRequested authorizes the amount on the order's payment
//     token; the use case publishes PaymentAuthorized, PaymentDeclined (a
//     decline is an answer, not an error) or PaymentFailed;
//   - OrderShipped captures the authorized amount (PaymentCaptured);
//   - OrderCancelled and OrderRejected undo the payment from its own
//     state: an authorization not captured is voided (PaymentVoided), a
//     captured amount is refunded in full (PaymentRefunded), anything else
//     is left alone;
//   - every other order event passes without effect.
//
// Money is never charged twice and no answer is published twice, without
// an inbox: there is one payment per order, every gateway operation
// carries a reference per (payment, operation) that the gateway keeps,
// and the use cases return a payment already authorized, captured,
// voided or refunded unchanged. A gateway that keeps failing transiently
// makes the handler's error retryable, so the consumer retries in place
// with backoff (and resumes the same gateway operation).
package kafka

import (
	"context"
	"errors"
	"fmt"
	"strings"

	orderingv1 "github.com/agoracommerce/agora/gen/proto/agora/ordering/v1"
	"github.com/agoracommerce/agora/internal/payment"
	"github.com/agoracommerce/agora/internal/platform/consumer"
	"github.com/agoracommerce/agora/internal/platform/contract"
	"github.com/agoracommerce/agora/internal/platform/fault"
)

// OrdersTopic is the ordering service's topic; OrdersGroup the payment's
// consumer group on it.
const (
	OrdersTopic = "ordering.orders.v1"
	OrdersGroup = "payment.orders"
)

// Payments are the use cases the consumer drives; *app.Service implements
// them.
type Payments interface {
	AuthorizeForOrder(ctx context.Context, orderID, customerID string, amount payment.Money, paymentToken string) (payment.Payment, error)
	Capture(ctx context.Context, orderID string) (payment.Payment, error)
	CancelForOrder(ctx context.Context, orderID, reason string) (payment.Payment, error)
}

// Contracts declares what the payment service reads from the topics it
// consumes.
func Contracts() []contract.Reads {
	return []contract.Reads{{
		Consumer: OrdersGroup,
		Topic:    OrdersTopic,
		Events: map[string][]string{
			"agora.ordering.v1.OrderPaymentRequested": {
				"order_id string", "customer_id string", "amount message agora.common.v1.Money",
				"amount.amount_minor int64", "amount.currency string", "payment_token string",
			},
			"agora.ordering.v1.OrderShipped":   {"order_id string"},
			"agora.ordering.v1.OrderRejected":  {"order_id string", "code enum agora.ordering.v1.EndReason"},
			"agora.ordering.v1.OrderCancelled": {"order_id string", "code enum agora.ordering.v1.EndReason"},
		},
	}}
}

// Orders returns the consumer.Handler of order events over app. A record
// that is not an OrderEvent, or an event with missing or invalid fields
// (or other terms than the order's payment already has), fails
// permanently (to the dead-letter topic with the reason); storage errors
// and an unavailable gateway stay retryable.
func Orders(app Payments) (consumer.Handler, error) {
	if app == nil {
		return nil, errors.New("payment kafka: Payments are required")
	}
	return func(ctx context.Context, m *consumer.Message) error {
		env, ok := m.Event.(*orderingv1.OrderEvent)
		if !ok {
			return fault.Permanent(fmt.Errorf("payment kafka: %s is not an ordering OrderEvent", m.Event.ProtoReflect().Descriptor().FullName()))
		}
		switch ev := env.GetEvent().(type) {
		case *orderingv1.OrderEvent_OrderPaymentRequested:
			return authorize(ctx, app, ev.OrderPaymentRequested)
		case *orderingv1.OrderEvent_OrderShipped:
			return capture(ctx, app, ev.OrderShipped.GetOrderId())
		case *orderingv1.OrderEvent_OrderRejected:
			return cancel(ctx, app, ev.OrderRejected.GetOrderId(), "order rejected", ev.OrderRejected.GetCode())
		case *orderingv1.OrderEvent_OrderCancelled:
			return cancel(ctx, app, ev.OrderCancelled.GetOrderId(), "order cancelled", ev.OrderCancelled.GetCode())
		case nil:
			if len(env.ProtoReflect().GetUnknown()) > 0 {
				return nil // an event type newer than this build: not for payment
			}
			return fault.Permanent(errors.New("payment kafka: OrderEvent without an event"))
		default:
			return nil
		}
	}, nil
}

func authorize(ctx context.Context, app Payments, e *orderingv1.OrderPaymentRequested) error {
	id := e.GetOrderId()
	if id == "" {
		return fault.Permanent(errors.New("payment kafka: OrderPaymentRequested without order_id"))
	}
	if e.GetAmount() == nil {
		return fault.Permanent(fmt.Errorf("payment kafka: OrderPaymentRequested %s without an amount", id))
	}
	amount, err := payment.NewMoney(e.GetAmount().GetAmountMinor(), e.GetAmount().GetCurrency())
	if err != nil {
		return fault.Permanent(fmt.Errorf("payment kafka: OrderPaymentRequested %s: amount: %w", id, err))
	}
	_, err = app.AuthorizeForOrder(ctx, id, e.GetCustomerId(), amount, e.GetPaymentToken())
	switch {
	case err == nil:
		return nil // answered with PaymentAuthorized, PaymentDeclined or PaymentFailed
	case errors.Is(err, payment.ErrInvalid), errors.Is(err, payment.ErrOrderMismatch):
		return fault.Permanent(fmt.Errorf("payment kafka: OrderPaymentRequested %s: %w", id, err))
	}
	return fmt.Errorf("payment kafka: OrderPaymentRequested %s: %w", id, err)
}

func capture(ctx context.Context, app Payments, id string) error {
	if id == "" {
		return fault.Permanent(errors.New("payment kafka: OrderShipped without order_id"))
	}
	_, err := app.Capture(ctx, id)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, payment.ErrNotFound):
		return fault.Permanent(fmt.Errorf("payment kafka: order %s shipped without a payment: %w", id, err))
	case errors.Is(err, payment.ErrInvalidTransition):
		return fault.Permanent(fmt.Errorf("payment kafka: order %s shipped, but its payment cannot be captured: %w", id, err))
	case errors.Is(err, payment.ErrInvalid):
		return fault.Permanent(fmt.Errorf("payment kafka: OrderShipped %s: %w", id, err))
	}
	return fmt.Errorf("payment kafka: OrderShipped %s: %w", id, err)
}

func cancel(ctx context.Context, app Payments, id, what string, code orderingv1.EndReason) error {
	if id == "" {
		return fault.Permanent(fmt.Errorf("payment kafka: %s without order_id", what))
	}
	_, err := app.CancelForOrder(ctx, id, what+": "+reasonCode(code))
	switch {
	case err == nil, errors.Is(err, payment.ErrNotFound):
		return nil // undone, or no payment to undo
	case errors.Is(err, payment.ErrInvalid), errors.Is(err, payment.ErrInvalidTransition):
		return fault.Permanent(fmt.Errorf("payment kafka: %s %s: %w", what, id, err))
	}
	return fmt.Errorf("payment kafka: %s %s: %w", what, id, err)
}

// reasonCode spells an end reason the way void and refund reasons carry
// it, e.g. "payment_declined".
func reasonCode(code orderingv1.EndReason) string {
	return strings.ToLower(strings.TrimPrefix(code.String(), "END_REASON_"))
}
