// Package kafka holds the shipping service's event consumers. Orders takes
// the shipping's part in the checkout saga from the ordering service's
// topic (ordering.orders.v1, envelope agora.ordering.v1.OrderEvent):
//
//   - OrderConfirmed requests the order's shipment (the carrier labels it;
//     ShipmentCreated is published, and the carrier later reports it
//     shipped and delivered);
//   - OrderCancelled and OrderRejected cancel the order's shipment while
//     it has not left (ShipmentCancelled, the label voided); an order
//     without a shipment is left alone;
//   - every other order event passes without effect.
//
// A shipment that is already in transit or delivered when its order is
// cancelled stays as it is: the parcel is with the carrier, shipping does
// not recall it, and the cancellation's money side (the refund) is the
// payment service's. The handler logs it and succeeds.
//
// Handling is idempotent without an inbox: an order has one shipment, so a
// redelivered OrderConfirmed returns the existing shipment and publishes
// nothing; cancelling a cancelled shipment changes nothing and only voids
// its label again, which carriers accept (so a cancellation that failed
// after the state change finishes on its retry).
package kafka

import (
	"context"
	"errors"
	"fmt"

	"go.uber.org/zap"

	orderingv1 "github.com/agoracommerce/agora/gen/proto/agora/ordering/v1"
	"github.com/agoracommerce/agora/internal/platform/consumer"
	"github.com/agoracommerce/agora/internal/platform/contract"
	"github.com/agoracommerce/agora/internal/platform/fault"
	"github.com/agoracommerce/agora/internal/platform/logging"
	"github.com/agoracommerce/agora/internal/shipping"
)

// OrdersTopic is the ordering service's topic; OrdersGroup the shipping's
// consumer group on it.
const (
	OrdersTopic = "ordering.orders.v1"
	OrdersGroup = "shipping.orders"
)

// Shipments are the use cases the consumer drives; *app.Service
// implements them.
type Shipments interface {
	RequestShipment(ctx context.Context, orderID, customerID string, address shipping.Address, lines []shipping.Line) (shipping.Shipment, error)
	ShipmentOfOrder(ctx context.Context, orderID string) (shipping.Shipment, error)
	CancelShipment(ctx context.Context, orderID string) (shipping.Shipment, error)
}

// Contracts declares what the shipping service reads from the topics it
// consumes.
func Contracts() []contract.Reads {
	return []contract.Reads{{
		Consumer: OrdersGroup,
		Topic:    OrdersTopic,
		Events: map[string][]string{
			"agora.ordering.v1.OrderConfirmed": {
				"order_id string", "customer_id string", "lines.sku string", "lines.quantity int32",
				"shipping_address message agora.ordering.v1.Address",
				"shipping_address.name string", "shipping_address.line1 string", "shipping_address.line2 string",
				"shipping_address.city string", "shipping_address.region string", "shipping_address.postal_code string",
				"shipping_address.country string",
			},
			"agora.ordering.v1.OrderRejected":  {"order_id string"},
			"agora.ordering.v1.OrderCancelled": {"order_id string"},
		},
	}}
}

type orders struct {
	app Shipments
	log *zap.Logger
}

// Orders returns the consumer.Handler of order events over app; log (nil
// for none) records the cancellations that come after the shipment left.
// A record that is not an OrderEvent, or an event with missing or invalid
// fields, fails permanently (to the dead-letter topic with the reason);
// storage and retryable carrier errors stay retryable.
func Orders(app Shipments, log *zap.Logger) (consumer.Handler, error) {
	if app == nil {
		return nil, errors.New("shipping kafka: Shipments are required")
	}
	if log == nil {
		log = zap.NewNop()
	}
	h := &orders{app: app, log: log}
	return h.handle, nil
}

func (h *orders) handle(ctx context.Context, m *consumer.Message) error {
	env, ok := m.Event.(*orderingv1.OrderEvent)
	if !ok {
		return fault.Permanent(fmt.Errorf("shipping kafka: %s is not an ordering OrderEvent", m.Event.ProtoReflect().Descriptor().FullName()))
	}
	switch ev := env.GetEvent().(type) {
	case *orderingv1.OrderEvent_OrderConfirmed:
		return h.confirmed(ctx, ev.OrderConfirmed)
	case *orderingv1.OrderEvent_OrderRejected:
		return h.cancel(ctx, ev.OrderRejected.GetOrderId(), "OrderRejected")
	case *orderingv1.OrderEvent_OrderCancelled:
		return h.cancel(ctx, ev.OrderCancelled.GetOrderId(), "OrderCancelled")
	case nil:
		if len(env.ProtoReflect().GetUnknown()) > 0 {
			return nil // an event type newer than this build: not for shipping
		}
		return fault.Permanent(errors.New("shipping kafka: OrderEvent without an event"))
	default:
		return nil
	}
}

func (h *orders) confirmed(ctx context.Context, e *orderingv1.OrderConfirmed) error {
	id := e.GetOrderId()
	if id == "" {
		return fault.Permanent(errors.New("shipping kafka: OrderConfirmed without order_id"))
	}
	a := e.GetShippingAddress()
	if a == nil {
		return fault.Permanent(fmt.Errorf("shipping kafka: OrderConfirmed %s without a shipping address", id))
	}
	address := shipping.Address{Name: a.GetName(), Line1: a.GetLine1(), Line2: a.GetLine2(), City: a.GetCity(),
		Region: a.GetRegion(), PostalCode: a.GetPostalCode(), Country: a.GetCountry()}
	lines := make([]shipping.Line, len(e.GetLines()))
	for i, l := range e.GetLines() {
		lines[i] = shipping.Line{SKU: l.GetSku(), Quantity: int64(l.GetQuantity())}
	}
	_, err := h.app.RequestShipment(ctx, id, e.GetCustomerId(), address, lines)
	switch {
	case err == nil:
		return nil // answered with ShipmentCreated (once per order)
	case errors.Is(err, shipping.ErrInvalid):
		return fault.Permanent(fmt.Errorf("shipping kafka: OrderConfirmed %s: %w", id, err))
	}
	return fmt.Errorf("shipping kafka: OrderConfirmed %s: %w", id, err)
}

// cancel cancels the order's shipment if it has not left.
func (h *orders) cancel(ctx context.Context, id, what string) error {
	if id == "" {
		return fault.Permanent(fmt.Errorf("shipping kafka: %s without order_id", what))
	}
	sh, err := h.app.ShipmentOfOrder(ctx, id)
	switch {
	case errors.Is(err, shipping.ErrNotFound):
		return nil // never shipped
	case errors.Is(err, shipping.ErrInvalid):
		return fault.Permanent(fmt.Errorf("shipping kafka: %s %s: %w", what, id, err))
	case err != nil:
		return fmt.Errorf("shipping kafka: %s %s: %w", what, id, err)
	}
	if !shipping.CanTransition(sh.Status(), shipping.StatusCancelled) && sh.Status() != shipping.StatusCancelled {
		h.left(ctx, sh)
		return nil
	}
	_, err = h.app.CancelShipment(ctx, id)
	switch {
	case err == nil, errors.Is(err, shipping.ErrNotFound):
		return nil
	case errors.Is(err, shipping.ErrInvalidTransition):
		// The carrier picked it up meanwhile.
		if now, err := h.app.ShipmentOfOrder(ctx, id); err == nil {
			sh = now
		}
		h.left(ctx, sh)
		return nil
	}
	return fmt.Errorf("shipping kafka: %s %s: %w", what, id, err)
}

// left logs an order cancelled after its shipment left.
func (h *orders) left(ctx context.Context, sh shipping.Shipment) {
	logging.FromContext(ctx, h.log).Info("order cancelled after its shipment left; the shipment stays",
		zap.String("order_id", sh.OrderID()), zap.String("shipment_id", sh.ID()), zap.String("status", string(sh.Status())))
}
