// Package kafka holds the inventory service's event consumers. Orders
// takes the inventory's part in the checkout saga from the ordering
// service's topic (ordering.orders.v1, envelope agora.ordering.v1.OrderEvent):
//
//   - OrderPlaced reserves the order's lines until reservation_expires_at
//     (the use case publishes StockReserved or ReservationRejected);
//   - OrderShipped commits the reservation (StockCommitted);
//   - OrderRejected and OrderCancelled release the reservation when it is
//     still held (StockReleased); an order without one, or whose
//     reservation was already released or committed, is left alone;
//   - every other order event passes without effect.
//
// Handling is idempotent without an inbox: the use cases are keyed by
// order ID and decide an order once (one reservation or one rejection per
// order; releasing or committing twice changes nothing), so a redelivered
// or repeated event has one effect and publishes its answer at most once.
//
// Commit and expiry: ordering keeps reservation_expires_at beyond its own
// deadlines, so a shipped order's reservation is normally still active. A
// reservation past its expiry that the expiry job has not released yet is
// still held and is committed. One the job already released cannot be
// committed any more (its stock may be held by other orders since): that
// OrderShipped fails permanently and goes to the dead-letter topic with
// the reason, for an operator to settle the stock by hand.
//
// An OrderPlaced handled only after its reservation_expires_at (a consumer
// that lagged longer than the reservation's life) holds nothing and
// answers nothing: ordering's own reservation deadline, far shorter, has
// rejected the order by then.
package kafka

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	orderingv1 "github.com/agoracommerce/agora/gen/proto/agora/ordering/v1"
	"github.com/agoracommerce/agora/internal/inventory"
	"github.com/agoracommerce/agora/internal/platform/consumer"
	"github.com/agoracommerce/agora/internal/platform/contract"
	"github.com/agoracommerce/agora/internal/platform/fault"
	"github.com/agoracommerce/agora/internal/platform/logging"
)

// OrdersTopic is the ordering service's topic; OrdersGroup the inventory's
// consumer group on it.
const (
	OrdersTopic = "ordering.orders.v1"
	OrdersGroup = "inventory.orders"
)

// Reservations are the use cases the consumer drives; *app.Service
// implements them.
type Reservations interface {
	ReserveForOrder(ctx context.Context, orderID string, lines []inventory.Line, expiresAt time.Time) (inventory.Reservation, error)
	Commit(ctx context.Context, orderID string) (inventory.Reservation, error)
	Release(ctx context.Context, orderID, reason string) (inventory.Reservation, error)
	Reservation(ctx context.Context, orderID string) (inventory.Reservation, error)
}

// Contracts declares what the inventory reads from the topics it consumes.
func Contracts() []contract.Reads {
	return []contract.Reads{{
		Consumer: OrdersGroup,
		Topic:    OrdersTopic,
		Events: map[string][]string{
			"agora.ordering.v1.OrderPlaced": {
				"order_id string", "lines.sku string", "lines.quantity int32",
				"reservation_expires_at message google.protobuf.Timestamp",
			},
			"agora.ordering.v1.OrderShipped":   {"order_id string"},
			"agora.ordering.v1.OrderRejected":  {"order_id string", "code enum agora.ordering.v1.EndReason"},
			"agora.ordering.v1.OrderCancelled": {"order_id string", "code enum agora.ordering.v1.EndReason"},
		},
	}}
}

// orders is the handler of order events.
type orders struct {
	app Reservations
	log *zap.Logger
}

// Orders returns the consumer.Handler of order events over app; log (nil
// for none) records the events that are deliberately left without effect.
// A record that is not an OrderEvent, or an event with missing or invalid
// fields, fails permanently (to the dead-letter topic with the reason);
// storage errors stay retryable.
func Orders(app Reservations, log *zap.Logger) (consumer.Handler, error) {
	if app == nil {
		return nil, errors.New("inventory kafka: Reservations are required")
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
		return fault.Permanent(fmt.Errorf("inventory kafka: %s is not an ordering OrderEvent", m.Event.ProtoReflect().Descriptor().FullName()))
	}
	switch ev := env.GetEvent().(type) {
	case *orderingv1.OrderEvent_OrderPlaced:
		return h.placed(ctx, ev.OrderPlaced)
	case *orderingv1.OrderEvent_OrderShipped:
		return h.shipped(ctx, ev.OrderShipped)
	case *orderingv1.OrderEvent_OrderRejected:
		return h.release(ctx, ev.OrderRejected.GetOrderId(), "order rejected", ev.OrderRejected.GetCode())
	case *orderingv1.OrderEvent_OrderCancelled:
		return h.release(ctx, ev.OrderCancelled.GetOrderId(), "order cancelled", ev.OrderCancelled.GetCode())
	case nil:
		if len(env.ProtoReflect().GetUnknown()) > 0 {
			return nil // an event type newer than this build: not for the inventory
		}
		return fault.Permanent(errors.New("inventory kafka: OrderEvent without an event"))
	default:
		return nil
	}
}

func (h *orders) placed(ctx context.Context, e *orderingv1.OrderPlaced) error {
	if e.GetOrderId() == "" {
		return fault.Permanent(errors.New("inventory kafka: OrderPlaced without order_id"))
	}
	if !e.GetReservationExpiresAt().IsValid() {
		return fault.Permanent(fmt.Errorf("inventory kafka: OrderPlaced %s without a valid reservation_expires_at", e.GetOrderId()))
	}
	lines := make([]inventory.Line, len(e.GetLines()))
	for i, l := range e.GetLines() {
		lines[i] = inventory.Line{SKU: l.GetSku(), Quantity: int64(l.GetQuantity())}
	}
	_, err := h.app.ReserveForOrder(ctx, e.GetOrderId(), lines, e.GetReservationExpiresAt().AsTime())
	switch {
	case err == nil, errors.Is(err, inventory.ErrOutOfStock):
		return nil // answered with StockReserved or ReservationRejected
	case errors.Is(err, inventory.ErrExpiryPassed):
		logging.FromContext(ctx, h.log).Warn("order placed past its reservation expiry; nothing reserved",
			zap.String("order_id", e.GetOrderId()), zap.Error(err))
		return nil
	case errors.Is(err, inventory.ErrInvalid):
		return fault.Permanent(fmt.Errorf("inventory kafka: OrderPlaced %s: %w", e.GetOrderId(), err))
	}
	return fmt.Errorf("inventory kafka: OrderPlaced %s: %w", e.GetOrderId(), err)
}

func (h *orders) shipped(ctx context.Context, e *orderingv1.OrderShipped) error {
	id := e.GetOrderId()
	if id == "" {
		return fault.Permanent(errors.New("inventory kafka: OrderShipped without order_id"))
	}
	_, err := h.app.Commit(ctx, id)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, inventory.ErrReservationClosed):
		reason := "unknown"
		if r, rerr := h.app.Reservation(ctx, id); rerr == nil && r.Reason() != "" {
			reason = r.Reason()
		}
		return fault.Permanent(fmt.Errorf("inventory kafka: order %s shipped, but its reservation was released (reason: %s) and cannot be committed; settle the stock by hand: %w",
			id, reason, err))
	case errors.Is(err, inventory.ErrNotFound):
		return fault.Permanent(fmt.Errorf("inventory kafka: order %s shipped without a stock reservation: %w", id, err))
	case errors.Is(err, inventory.ErrInvalid):
		return fault.Permanent(fmt.Errorf("inventory kafka: OrderShipped %s: %w", id, err))
	}
	return fmt.Errorf("inventory kafka: OrderShipped %s: %w", id, err)
}

// release gives back the order's reservation if it is still held.
func (h *orders) release(ctx context.Context, id, what string, code orderingv1.EndReason) error {
	if id == "" {
		return fault.Permanent(fmt.Errorf("inventory kafka: %s without order_id", what))
	}
	_, err := h.app.Release(ctx, id, what+": "+reasonCode(code))
	switch {
	case err == nil:
		return nil
	case errors.Is(err, inventory.ErrNotFound), errors.Is(err, inventory.ErrReservationClosed):
		return nil // nothing held: never reserved (rejected), or committed with the shipment
	case errors.Is(err, inventory.ErrInvalid):
		return fault.Permanent(fmt.Errorf("inventory kafka: %s %s: %w", what, id, err))
	}
	return fmt.Errorf("inventory kafka: %s %s: %w", what, id, err)
}

// reasonCode spells an end reason the way release reasons carry it, e.g.
// "out_of_stock".
func reasonCode(code orderingv1.EndReason) string {
	return strings.ToLower(strings.TrimPrefix(code.String(), "END_REASON_"))
}
