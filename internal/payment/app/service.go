// Package app holds the payment service's use cases — authorize an
// order's payment, capture, void and refund it through the payment
// gateway, and read payments — and the ports they need: the Repository and
// the PaymentGateway. Every gateway call goes through the platform's
// resilience policy (timeouts, retries of retryable errors only, circuit
// breaker) and carries a reference per (payment, operation), so that
// retries and replays never charge twice.
package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/agoracommerce/agora/internal/platform/fault"
	"github.com/agoracommerce/agora/internal/platform/resilience"
)

// Config tunes the Service. The zero value is valid.
type Config struct {
	// Gateway is the resilience policy of every gateway call (attempts,
	// backoff, per-attempt timeout, breaker); zero fields take the
	// resilience defaults. Target defaults to "payment-gateway".
	Gateway resilience.Policy
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// NewID returns a new payment ID; UUIDv7 when nil.
	NewID func() (string, error)
}

// Validate reports a bad setting.
func (c Config) Validate() error {
	if err := c.Gateway.Validate(); err != nil {
		return fmt.Errorf("payment app: gateway %w", err)
	}
	return nil
}

// Service runs the payment use cases. Safe for concurrent use.
type Service struct {
	repo    Repository
	gateway PaymentGateway
	policy  resilience.Policy
	now     func() time.Time
	newID   func() (string, error)
}

// New returns the Service over repo and gateway.
func New(repo Repository, gateway PaymentGateway, cfg Config) (*Service, error) {
	if repo == nil || gateway == nil {
		return nil, errors.New("payment app: a Repository and a PaymentGateway are required")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Gateway.Target == "" {
		cfg.Gateway.Target = "payment-gateway"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.NewID == nil {
		cfg.NewID = func() (string, error) {
			id, err := uuid.NewV7()
			return id.String(), err
		}
	}
	return &Service{repo: repo, gateway: gateway, policy: cfg.Gateway, now: cfg.Now, newID: cfg.NewID}, nil
}

// call performs one gateway operation under the policy. After an attempt
// ended with an unknown outcome, the next attempt first looks the
// operation up by its reference and performs it only when the gateway has
// no record of it. The error is a *DeclineError, or wraps
// ErrGatewayUnavailable (retryable) or ErrGatewayRejected.
func (s *Service) call(ctx context.Context, reference string, op func(ctx context.Context) (GatewayResult, error)) (GatewayResult, error) {
	var (
		res     GatewayResult
		unknown bool
	)
	err := resilience.Do(ctx, s.policy, func(ctx context.Context) error {
		if unknown {
			r, err := s.gateway.Lookup(ctx, reference)
			switch {
			case err == nil:
				res = r
				return nil
			case !errors.Is(err, ErrOperationNotFound):
				return err
			}
		}
		r, err := op(ctx)
		if err != nil {
			if errors.Is(err, ErrOutcomeUnknown) || errors.Is(err, context.DeadlineExceeded) {
				unknown = true
				return fault.Retryable(err)
			}
			return err
		}
		res = r
		return nil
	})
	var decline *DeclineError
	switch {
	case err == nil:
		return res, nil
	case errors.As(err, &decline):
		return GatewayResult{}, decline
	case ctx.Err() != nil:
		return GatewayResult{}, fmt.Errorf("gateway %s: %w", reference, err)
	case fault.IsRetryable(err):
		return GatewayResult{}, fault.Retryable(fmt.Errorf("%w: %s: %w", ErrGatewayUnavailable, reference, err))
	default:
		return GatewayResult{}, fault.Permanent(fmt.Errorf("%w: %s: %w", ErrGatewayRejected, reference, err))
	}
}
