package app

import (
	"context"
	"fmt"

	"github.com/agoracommerce/agora/internal/payment"
)

// MaxRefundReferenceLength bounds a refund's reference.
const MaxRefundReferenceLength = 255

// Refund pays back amount of the order's captured payment. reference
// identifies the refund request (an Idempotency-Key, a cancellation ID):
// a refund is made once per (payment, reference), so a retry with the same
// reference returns the payment without paying back again. Refunds never
// exceed what was captured. Errors: payment.ErrNotFound, payment.ErrInvalid,
// payment.ErrInvalidTransition (not captured), payment.ErrCurrencyMismatch,
// payment.ErrRefundExceedsCaptured, payment.ErrDuplicateOperation (the
// reference was used for another amount), ErrGatewayUnavailable
// (retryable), ErrGatewayRejected.
func (s *Service) Refund(ctx context.Context, orderID string, amount payment.Money, reason, reference string) (payment.Payment, error) {
	p, err := s.PaymentByOrder(ctx, orderID)
	if err != nil {
		return payment.Payment{}, err
	}
	return s.refund(ctx, p, amount, reason, reference)
}

// RefundPayment is Refund for the payment with id.
func (s *Service) RefundPayment(ctx context.Context, id string, amount payment.Money, reason, reference string) (payment.Payment, error) {
	p, err := s.Payment(ctx, id)
	if err != nil {
		return payment.Payment{}, err
	}
	return s.refund(ctx, p, amount, reason, reference)
}

func (s *Service) refund(ctx context.Context, p payment.Payment, amount payment.Money, reason, reference string) (payment.Payment, error) {
	if reference == "" || len(reference) > MaxRefundReferenceLength {
		return payment.Payment{}, &payment.ValidationError{Field: "/reference", Reason: fmt.Sprintf("must be 1-%d bytes", MaxRefundReferenceLength)}
	}
	if reason == "" || len(reason) > payment.MaxReasonLength {
		return payment.Payment{}, &payment.ValidationError{Field: "/reason", Reason: fmt.Sprintf("must be 1-%d bytes", payment.MaxReasonLength)}
	}
	ref := payment.Reference(p.ID(), payment.OpRefund, reference)
	if op, done := p.Operation(payment.OpRefund, ref); done {
		if op.Amount != amount {
			return payment.Payment{}, fmt.Errorf("refund %s: %w: it was for %s", ref, payment.ErrDuplicateOperation, op.Amount)
		}
		return p, nil
	}
	if err := p.CheckRefund(amount); err != nil {
		return payment.Payment{}, fmt.Errorf("refund payment %s: %w", p.ID(), err)
	}
	res, err := s.call(ctx, ref, func(ctx context.Context) (GatewayResult, error) {
		return s.gateway.Refund(ctx, OperationRequest{Reference: ref, AuthorizationID: p.AuthorizationID(), Amount: amount})
	})
	if err != nil {
		return payment.Payment{}, fmt.Errorf("refund payment %s: %w", p.ID(), err)
	}
	out, err := s.repo.Update(ctx, p.ID(), func(p *payment.Payment) error {
		if _, done := p.Operation(payment.OpRefund, ref); done {
			return nil
		}
		return p.Refund(ref, res.ID, amount, reason, s.now())
	})
	if err != nil {
		return payment.Payment{}, fmt.Errorf("refund payment %s: %w", p.ID(), err)
	}
	return out, nil
}
