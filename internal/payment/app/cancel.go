package app

import (
	"context"
	"fmt"

	"github.com/agoracommerce/agora/internal/payment"
)

// CancelReference is the refund reference CancelForOrder pays a captured
// order back under: one per order, so the refund is made once however
// often the cancellation arrives.
func CancelReference(orderID string) string { return "cancel-" + orderID }

// CancelForOrder undoes the order's payment when the order is cancelled or
// rejected (the checkout saga's compensation), deciding from the payment's
// own state:
//
//   - pending or authorized: the authorization is voided (Void, which
//     first resolves a pending one at the gateway);
//   - captured or partially refunded: what was captured and is not
//     refunded yet is refunded under CancelReference(orderID), once;
//   - declined, failed, voided or refunded: nothing is left to undo and
//     the payment comes back unchanged.
//
// It is idempotent: a repeated cancellation changes nothing more and
// calls the gateway with the same references, so nothing is released or
// paid back twice. Errors: payment.ErrNotFound (the order has no payment:
// nothing to undo), payment.ErrInvalid (bad order ID or reason),
// ErrGatewayUnavailable (retryable), ErrGatewayRejected.
func (s *Service) CancelForOrder(ctx context.Context, orderID, reason string) (payment.Payment, error) {
	p, err := s.PaymentByOrder(ctx, orderID)
	if err != nil {
		return payment.Payment{}, err
	}
	switch p.Status() {
	case payment.StatusPending, payment.StatusAuthorized:
		return s.Void(ctx, orderID, reason)
	case payment.StatusCaptured, payment.StatusPartiallyRefunded:
		ref := CancelReference(orderID)
		if _, done := p.Operation(payment.OpRefund, payment.Reference(p.ID(), payment.OpRefund, ref)); done {
			return p, nil
		}
		out, err := s.refund(ctx, p, p.Refundable(), reason, ref)
		if err != nil {
			return payment.Payment{}, fmt.Errorf("cancel order %s: %w", orderID, err)
		}
		return out, nil
	}
	return p, nil
}
