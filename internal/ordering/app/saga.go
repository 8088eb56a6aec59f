package app

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/agoracommerce/agora/internal/ordering"
)

// PaymentAnswer is what payment's events tell about an order.
type PaymentAnswer struct {
	OrderID   uuid.UUID
	PaymentID string
	// Amount is what was authorized (PaymentAuthorized); zero when the
	// event does not say.
	Amount ordering.Money
	// Reason is the decline code or failure reason.
	Reason string
}

// ShipmentAnswer is what shipping's events tell about an order.
type ShipmentAnswer struct {
	OrderID        uuid.UUID
	ShipmentID     string
	Carrier        string
	TrackingNumber string
}

// The saga's event handlers apply one participant's answer to its order,
// once per key: the change, its events and the key are stored in one
// transaction, and a key seen before changes nothing. An answer the state
// machine ignores (late, or repeated) changes nothing either. Errors:
// ordering.ErrNotFound, ordering.ErrInvalidTransition,
// ordering.ErrInvalid (all permanent: the same event can never apply),
// and the repository's (retryable) storage errors.

// OnStockReserved: inventory holds every line of the order.
func (s *Service) OnStockReserved(ctx context.Context, key DedupeKey, orderID uuid.UUID) error {
	return s.answer(ctx, key, orderID, ordering.Signal{Trigger: ordering.TriggerStockReserved})
}

// OnReservationRejected: inventory could not reserve the order; reason
// names the short lines.
func (s *Service) OnReservationRejected(ctx context.Context, key DedupeKey, orderID uuid.UUID, reason string) error {
	return s.answer(ctx, key, orderID, ordering.Signal{Trigger: ordering.TriggerStockRejected, Reason: reason})
}

// OnPaymentAuthorized: payment holds the order's total.
func (s *Service) OnPaymentAuthorized(ctx context.Context, key DedupeKey, a PaymentAnswer) error {
	return s.answer(ctx, key, a.OrderID, ordering.Signal{Trigger: ordering.TriggerPaymentAuthorized, PaymentID: a.PaymentID, Amount: a.Amount})
}

// OnPaymentDeclined: the gateway declined the authorization.
func (s *Service) OnPaymentDeclined(ctx context.Context, key DedupeKey, a PaymentAnswer) error {
	return s.answer(ctx, key, a.OrderID, ordering.Signal{Trigger: ordering.TriggerPaymentDeclined, PaymentID: a.PaymentID, Reason: a.Reason})
}

// OnPaymentFailed: the authorization failed for good.
func (s *Service) OnPaymentFailed(ctx context.Context, key DedupeKey, a PaymentAnswer) error {
	return s.answer(ctx, key, a.OrderID, ordering.Signal{Trigger: ordering.TriggerPaymentFailed, PaymentID: a.PaymentID, Reason: a.Reason})
}

// OnPaymentCaptured: the authorized total was charged.
func (s *Service) OnPaymentCaptured(ctx context.Context, key DedupeKey, a PaymentAnswer) error {
	return s.answer(ctx, key, a.OrderID, ordering.Signal{Trigger: ordering.TriggerPaymentCaptured, PaymentID: a.PaymentID})
}

// OnPaymentRefunded: payment paid captured money back.
func (s *Service) OnPaymentRefunded(ctx context.Context, key DedupeKey, a PaymentAnswer) error {
	return s.answer(ctx, key, a.OrderID, ordering.Signal{Trigger: ordering.TriggerPaymentRefunded, PaymentID: a.PaymentID})
}

// OnShipmentShipped: the carrier picked the order's shipment up.
func (s *Service) OnShipmentShipped(ctx context.Context, key DedupeKey, a ShipmentAnswer) error {
	return s.answer(ctx, key, a.OrderID, ordering.Signal{Trigger: ordering.TriggerShipmentShipped, ShipmentID: a.ShipmentID,
		Carrier: a.Carrier, TrackingNumber: a.TrackingNumber})
}

func (s *Service) answer(ctx context.Context, key DedupeKey, orderID uuid.UUID, sig ordering.Signal) error {
	_, err := s.orders.Update(ctx, orderID, key, func(o *ordering.Order) ([]ordering.Event, error) {
		return o.Apply(sig, s.now(), s.policy.Deadlines)
	})
	if err != nil {
		return fmt.Errorf("order %s on %s: %w", orderID, sig.Trigger, err)
	}
	return nil
}
