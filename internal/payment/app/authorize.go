package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/agoracommerce/agora/internal/payment"
)

// MaxTokenLength bounds a payment token.
const MaxTokenLength = 256

// AuthorizeForOrder authorizes amount for the order on the payment method
// of paymentToken. There is one payment per order: a repeated call returns
// the order's payment as it is once the gateway has answered (authorized,
// declined or failed), and resumes the same authorization (same gateway
// reference, so never a second hold) while it is pending. A decline is an
// outcome, not an error: the payment comes back declined. Errors:
// payment.ErrInvalid, payment.ErrOrderMismatch (the order's payment has
// another customer or amount), ErrGatewayUnavailable (retryable; the
// payment stays pending).
func (s *Service) AuthorizeForOrder(ctx context.Context, orderID, customerID string, amount payment.Money, paymentToken string) (payment.Payment, error) {
	if paymentToken == "" || len(paymentToken) > MaxTokenLength {
		return payment.Payment{}, &payment.ValidationError{Field: "/payment_token", Reason: fmt.Sprintf("must be 1-%d bytes", MaxTokenLength)}
	}
	id, err := s.newID()
	if err != nil {
		return payment.Payment{}, fmt.Errorf("authorize: new ID: %w", err)
	}
	fresh, err := payment.New(id, orderID, customerID, amount, s.now())
	if err != nil {
		return payment.Payment{}, err
	}
	p, created, err := s.repo.Create(ctx, fresh)
	if err != nil {
		return payment.Payment{}, fmt.Errorf("authorize: %w", err)
	}
	if !created && (p.CustomerID() != customerID || p.Amount() != amount) {
		return payment.Payment{}, fmt.Errorf("authorize order %s: %w", orderID, payment.ErrOrderMismatch)
	}
	if p.Status() != payment.StatusPending {
		return p, nil
	}
	ref := payment.Reference(p.ID(), payment.OpAuthorize, "")
	res, callErr := s.call(ctx, ref, func(ctx context.Context) (GatewayResult, error) {
		return s.gateway.Authorize(ctx, AuthorizeRequest{Reference: ref, Amount: amount, Token: paymentToken})
	})
	return s.settleAuthorization(ctx, p.ID(), res, callErr)
}

// settleAuthorization records the gateway's answer to a pending payment's
// authorization; a payment no longer pending (settled concurrently) is
// left as it is.
func (s *Service) settleAuthorization(ctx context.Context, id string, res GatewayResult, callErr error) (payment.Payment, error) {
	var decline *DeclineError
	var apply func(p *payment.Payment) error
	switch {
	case callErr == nil:
		apply = func(p *payment.Payment) error { return p.Authorize(res.ID, s.now()) }
	case errors.As(callErr, &decline):
		apply = func(p *payment.Payment) error { return p.Decline(decline.Code, s.now()) }
	case errors.Is(callErr, ErrGatewayRejected):
		apply = func(p *payment.Payment) error { return p.Fail("gateway rejected the authorization", s.now()) }
	default:
		return payment.Payment{}, fmt.Errorf("authorize: %w", callErr)
	}
	p, err := s.repo.Update(ctx, id, func(p *payment.Payment) error {
		if p.Status() != payment.StatusPending {
			return nil
		}
		return apply(p)
	})
	if err != nil {
		return payment.Payment{}, fmt.Errorf("authorize: %w", err)
	}
	if callErr == nil && p.AuthorizationID() != res.ID {
		// The payment was settled without this authorization (a void
		// that found no authorization at the gateway while this one was
		// in flight): release the hold it would otherwise leave.
		if err := s.releaseOrphan(ctx, p, res.ID); err != nil {
			return payment.Payment{}, fmt.Errorf("authorize: %w", err)
		}
	}
	return p, nil
}

// releaseOrphan voids at the gateway an authorization the payment does not
// record. Its reference differs from the payment's own void.
func (s *Service) releaseOrphan(ctx context.Context, p payment.Payment, authorizationID string) error {
	ref := payment.Reference(p.ID(), payment.OpVoid, "orphan")
	_, err := s.call(ctx, ref, func(ctx context.Context) (GatewayResult, error) {
		return s.gateway.Void(ctx, OperationRequest{Reference: ref, AuthorizationID: authorizationID, Amount: p.Amount()})
	})
	if err != nil {
		return fmt.Errorf("release authorization %s of payment %s: %w", authorizationID, p.ID(), err)
	}
	return nil
}
