package resilience

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/agoracommerce/agora/internal/platform/fault"
)

// ErrOpen is matched (errors.Is) by the error of a call refused because its
// target's breaker is open (or half-open with its trial calls in flight).
// Such errors are marked retryable.
var ErrOpen = errors.New("circuit breaker open")

// State is a breaker's state.
type State string

// Breaker states.
const (
	StateClosed   State = "closed"
	StateHalfOpen State = "half-open"
	StateOpen     State = "open"
)

// Defaults applied to the zero fields of a BreakerConfig.
const (
	DefaultFailureThreshold = 5
	DefaultOpenTimeout      = 30 * time.Second
)

// BreakerConfig configures a Breaker. Zero fields take the defaults.
type BreakerConfig struct {
	// Name identifies the target; it labels the metrics.
	Name string
	// FailureThreshold is the number of consecutive failures that opens the
	// breaker.
	FailureThreshold uint32
	// OpenTimeout is how long the breaker stays open before it lets trial
	// calls through (half-open).
	OpenTimeout time.Duration
	// HalfOpenRequests is the number of trial calls allowed while half-open;
	// that many successes close the breaker, one failure reopens it. Zero
	// means 1.
	HalfOpenRequests uint32
	// Metrics, when set, records state changes and exposes the state.
	Metrics *Metrics
	// OnStateChange, when set, is called on every state change.
	OnStateChange func(name string, from, to State)
}

// Breaker is a circuit breaker for one target. A call fails when its error
// is retryable (the target is unhealthy: timeouts, refused connections) or
// is a StatusError with a 5xx code; other errors, such as a 4xx answer or
// a 429, count as successes, and the caller's own cancellation is ignored. It is safe for concurrent use.
type Breaker struct {
	name string
	cb   *gobreaker.CircuitBreaker[struct{}]
}

// NewBreaker returns a closed breaker.
func NewBreaker(cfg BreakerConfig) (*Breaker, error) {
	if cfg.Name == "" {
		return nil, errors.New("resilience: breaker name is required")
	}
	if cfg.OpenTimeout < 0 {
		return nil, fmt.Errorf("resilience: breaker %s: open timeout %s is negative", cfg.Name, cfg.OpenTimeout)
	}
	threshold := cfg.FailureThreshold
	if threshold == 0 {
		threshold = DefaultFailureThreshold
	}
	timeout := cfg.OpenTimeout
	if timeout == 0 {
		timeout = DefaultOpenTimeout
	}
	b := &Breaker{name: cfg.Name}
	b.cb = gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        cfg.Name,
		MaxRequests: cfg.HalfOpenRequests,
		Timeout:     timeout,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= threshold },
		IsSuccessful: func(err error) bool {
			var se *StatusError
			if errors.As(err, &se) {
				return se.Code < 500
			}
			return err == nil || !fault.IsRetryable(err)
		},
		IsExcluded: func(err error) bool { return errors.Is(err, context.Canceled) },
		OnStateChange: func(name string, from, to gobreaker.State) {
			cfg.Metrics.transition(name, state(from), state(to))
			if cfg.OnStateChange != nil {
				cfg.OnStateChange(name, state(from), state(to))
			}
		},
	})
	cfg.Metrics.register(b)
	return b, nil
}

// Name returns the breaker's target name.
func (b *Breaker) Name() string { return b.name }

// State returns the current state; an open breaker whose timeout has passed
// reports half-open.
func (b *Breaker) State() State { return state(b.cb.State()) }

func (b *Breaker) execute(call func() error) error {
	_, err := b.cb.Execute(func() (struct{}, error) { return struct{}{}, call() })
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		return fault.Retryable(fmt.Errorf("%s: %w", b.name, ErrOpen))
	}
	return err
}

func state(s gobreaker.State) State {
	switch s {
	case gobreaker.StateOpen:
		return StateOpen
	case gobreaker.StateHalfOpen:
		return StateHalfOpen
	default:
		return StateClosed
	}
}
