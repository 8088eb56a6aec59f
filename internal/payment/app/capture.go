package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/agoracommerce/agora/internal/payment"
)

// Capture charges the order's authorized amount. It is idempotent: a
// payment already captured (or refunded since) comes back unchanged, and
// the gateway reference is the same on every call, so the amount is
// charged once. Errors: payment.ErrNotFound, payment.ErrInvalidTransition
// (not authorized: pending, declined, failed or voided),
// ErrGatewayUnavailable (retryable), ErrGatewayRejected.
func (s *Service) Capture(ctx context.Context, orderID string) (payment.Payment, error) {
	p, err := s.PaymentByOrder(ctx, orderID)
	if err != nil {
		return payment.Payment{}, err
	}
	if captured(p) {
		return p, nil
	}
	if p.Status() != payment.StatusAuthorized {
		return payment.Payment{}, fmt.Errorf("capture order %s: %w: payment is %s", orderID, payment.ErrInvalidTransition, p.Status())
	}
	ref := payment.Reference(p.ID(), payment.OpCapture, "")
	res, err := s.call(ctx, ref, func(ctx context.Context) (GatewayResult, error) {
		return s.gateway.Capture(ctx, OperationRequest{Reference: ref, AuthorizationID: p.AuthorizationID(), Amount: p.Held()})
	})
	if err != nil {
		return payment.Payment{}, fmt.Errorf("capture order %s: %w", orderID, err)
	}
	id := p.ID()
	p, err = s.repo.Update(ctx, id, func(p *payment.Payment) error {
		if captured(*p) {
			return nil
		}
		return p.Capture(res.ID, s.now())
	})
	if err != nil {
		return payment.Payment{}, fmt.Errorf("capture order %s: %w", orderID, err)
	}
	return p, nil
}

func captured(p payment.Payment) bool {
	switch p.Status() {
	case payment.StatusCaptured, payment.StatusPartiallyRefunded, payment.StatusRefunded:
		return true
	}
	return false
}

// Void releases the order's authorization without a charge (the checkout
// saga's compensation). It is idempotent, and a payment that holds nothing
// (declined, failed, voided) comes back unchanged. A payment still pending
// is first resolved by looking its authorization up at the gateway: when
// the gateway authorized it, the authorization is recorded and voided;
// when it has no record, the payment is marked failed (and an
// authorization still in flight that lands later is voided at once by the
// AuthorizeForOrder call that made it). Errors:
// payment.ErrNotFound, payment.ErrInvalidTransition (already captured: a
// refund is needed), ErrGatewayUnavailable (retryable), ErrGatewayRejected.
func (s *Service) Void(ctx context.Context, orderID, reason string) (payment.Payment, error) {
	p, err := s.PaymentByOrder(ctx, orderID)
	if err != nil {
		return payment.Payment{}, err
	}
	if p.Status() == payment.StatusPending {
		if p, err = s.resolvePending(ctx, p, reason); err != nil {
			return payment.Payment{}, fmt.Errorf("void order %s: %w", orderID, err)
		}
	}
	switch p.Status() {
	case payment.StatusDeclined, payment.StatusFailed, payment.StatusVoided:
		return p, nil
	case payment.StatusAuthorized:
	default:
		return payment.Payment{}, fmt.Errorf("void order %s: %w: payment is %s", orderID, payment.ErrInvalidTransition, p.Status())
	}
	ref := payment.Reference(p.ID(), payment.OpVoid, "")
	res, err := s.call(ctx, ref, func(ctx context.Context) (GatewayResult, error) {
		return s.gateway.Void(ctx, OperationRequest{Reference: ref, AuthorizationID: p.AuthorizationID(), Amount: p.Held()})
	})
	if err != nil {
		return payment.Payment{}, fmt.Errorf("void order %s: %w", orderID, err)
	}
	id := p.ID()
	p, err = s.repo.Update(ctx, id, func(p *payment.Payment) error {
		if p.Status() == payment.StatusVoided {
			return nil
		}
		return p.Void(res.ID, reason, s.now())
	})
	if err != nil {
		return payment.Payment{}, fmt.Errorf("void order %s: %w", orderID, err)
	}
	return p, nil
}

// resolvePending settles a pending payment from the gateway's record of
// its authorization.
func (s *Service) resolvePending(ctx context.Context, p payment.Payment, reason string) (payment.Payment, error) {
	ref := payment.Reference(p.ID(), payment.OpAuthorize, "")
	res, err := s.call(ctx, ref, func(ctx context.Context) (GatewayResult, error) { return s.gateway.Lookup(ctx, ref) })
	if errors.Is(err, ErrOperationNotFound) {
		return s.repo.Update(ctx, p.ID(), func(p *payment.Payment) error {
			if p.Status() != payment.StatusPending {
				return nil
			}
			return p.Fail("voided before the gateway authorized it: "+reason, s.now())
		})
	}
	return s.settleAuthorization(ctx, p.ID(), res, err)
}
