// Package resilience makes Agora's calls to other systems survive transient
// failure: retries with exponential backoff and jitter for errors that are
// worth retrying (fault.IsRetryable), a timeout per attempt, a circuit
// breaker per target that fails fast while the target is down, and metrics
// for all of it.
//
// Do wraps any call; Transport (and NewClient) wrap outbound HTTP with the
// HTTP rules for what may be retried: only idempotent requests, and only on
// connection errors, timeouts, 429 and 502/503/504, honouring Retry-After.
package resilience

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/agoracommerce/agora/internal/platform/fault"
)

// Defaults applied to the zero fields of a Policy.
const (
	DefaultMaxAttempts         = 3
	DefaultInitialInterval     = 100 * time.Millisecond
	DefaultMaxInterval         = 2 * time.Second
	DefaultMultiplier          = 2.0
	DefaultRandomizationFactor = 0.5
	DefaultMaxElapsedTime      = 10 * time.Second
	DefaultAttemptTimeout      = 5 * time.Second
)

// Policy says how a call is retried. Zero fields take the Default values
// above. A Policy is a plain value; Breaker and Metrics point to shared,
// concurrency-safe state.
type Policy struct {
	// Target names what is called (a host, a dependency); it labels the
	// metrics.
	Target string
	// MaxAttempts bounds the attempts, the first one included; 1 disables
	// retries.
	MaxAttempts int
	// InitialInterval, Multiplier and MaxInterval shape the exponential
	// backoff between attempts; RandomizationFactor spreads each wait
	// uniformly over ±factor of it (jitter).
	InitialInterval     time.Duration
	MaxInterval         time.Duration
	Multiplier          float64
	RandomizationFactor float64
	// MaxElapsedTime bounds the whole call, waits included: no attempt
	// starts after it (nor a wait that would end after it).
	MaxElapsedTime time.Duration
	// AttemptTimeout bounds each attempt.
	AttemptTimeout time.Duration
	// Breaker, when set, guards every attempt.
	Breaker *Breaker
	// Metrics, when set, records attempts and retries.
	Metrics *Metrics
}

// Validate reports whether the policy is usable.
func (p Policy) Validate() error {
	var errs []error
	if p.MaxAttempts < 0 {
		errs = append(errs, fmt.Errorf("max attempts %d is negative", p.MaxAttempts))
	}
	for name, d := range map[string]time.Duration{
		"initial interval": p.InitialInterval, "max interval": p.MaxInterval,
		"max elapsed time": p.MaxElapsedTime, "attempt timeout": p.AttemptTimeout,
	} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("%s %s is negative", name, d))
		}
	}
	if p.Multiplier != 0 && p.Multiplier < 1 {
		errs = append(errs, fmt.Errorf("multiplier %v is below 1", p.Multiplier))
	}
	if p.RandomizationFactor < 0 || p.RandomizationFactor > 1 {
		errs = append(errs, fmt.Errorf("randomization factor %v is not between 0 and 1", p.RandomizationFactor))
	}
	if err := errors.Join(errs...); err != nil {
		return fault.Permanent(fmt.Errorf("resilience: policy: %w", err))
	}
	return nil
}

func (p Policy) withDefaults() Policy {
	if p.MaxAttempts == 0 {
		p.MaxAttempts = DefaultMaxAttempts
	}
	if p.InitialInterval == 0 {
		p.InitialInterval = DefaultInitialInterval
	}
	if p.MaxInterval == 0 {
		p.MaxInterval = DefaultMaxInterval
	}
	if p.Multiplier == 0 {
		p.Multiplier = DefaultMultiplier
	}
	if p.RandomizationFactor == 0 {
		p.RandomizationFactor = DefaultRandomizationFactor
	}
	if p.MaxElapsedTime == 0 {
		p.MaxElapsedTime = DefaultMaxElapsedTime
	}
	if p.AttemptTimeout == 0 {
		p.AttemptTimeout = DefaultAttemptTimeout
	}
	return p
}

// RetryAfter marks err as retryable and asks for a wait of at least d before
// the next attempt instead of the backoff interval (an HTTP Retry-After, a
// throttling hint). A wait that would end after MaxElapsedTime ends the
// retries.
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &retryAfterError{err: fault.Retryable(err), after: &backoff.RetryAfterError{Duration: d}}
}

type retryAfterError struct {
	err   error
	after *backoff.RetryAfterError
}

func (e *retryAfterError) Error() string   { return e.err.Error() }
func (e *retryAfterError) Unwrap() []error { return []error{e.err, e.after} }

// Do calls op until it succeeds, returns an error that is not retryable
// (fault.IsRetryable), or the policy's attempts or time run out; ctx
// cancellation stops it at once. Each attempt gets a context bounded by
// AttemptTimeout. With a Breaker, an open breaker fails the call at once
// with an error matching ErrOpen, marked retryable for the caller's own
// retry (a Kafka consumer's, say): Do itself does not wait for the breaker.
//
// The error returned is op's last error, wrapped with the number of
// attempts and keeping its marks, or the policy's validation error.
func Do(ctx context.Context, p Policy, op func(ctx context.Context) error) error {
	if op == nil {
		return fault.Permanent(errors.New("resilience: nil operation"))
	}
	return do(ctx, p, func(actx context.Context, cancel context.CancelFunc) error {
		defer cancel()
		return op(actx)
	})
}

// do is Do with ownership of each attempt's cancel function handed to op,
// so an HTTP response body can outlive the attempt function.
func do(ctx context.Context, p Policy, op func(ctx context.Context, cancel context.CancelFunc) error) error {
	if err := p.Validate(); err != nil {
		return err
	}
	p = p.withDefaults()
	b := &backoff.ExponentialBackOff{
		InitialInterval:     p.InitialInterval,
		RandomizationFactor: p.RandomizationFactor,
		Multiplier:          p.Multiplier,
		MaxInterval:         p.MaxInterval,
	}
	attempts := 0
	var last error
	attempt := func() (struct{}, error) {
		attempts++
		actx, cancel := context.WithTimeout(ctx, p.AttemptTimeout)
		call := func() error { return op(actx, cancel) }
		var err error
		if p.Breaker != nil {
			err = p.Breaker.execute(call)
		} else {
			err = call()
		}
		p.Metrics.attempt(ctx, p.Target, err)
		last = err
		switch {
		case err == nil:
			return struct{}{}, nil
		case errors.Is(err, ErrOpen):
			return struct{}{}, backoff.Permanent(err)
		case ctx.Err() == nil && fault.IsRetryable(err):
			return struct{}{}, err
		default:
			return struct{}{}, backoff.Permanent(err)
		}
	}
	_, err := backoff.Retry(ctx, attempt,
		backoff.WithBackOff(b),
		backoff.WithMaxTries(uint(p.MaxAttempts)), // #nosec G115 -- validated non-negative
		backoff.WithMaxElapsedTime(p.MaxElapsedTime),
		backoff.WithNotify(func(error, time.Duration) { p.Metrics.retry(ctx, p.Target) }),
	)
	if err == nil {
		return nil
	}
	if cause := context.Cause(ctx); cause != nil {
		// The caller gave up: report that, not the attempt's own error,
		// so that the result is not marked retryable.
		return fmt.Errorf("resilience: %s: after %d attempts: %w (last attempt: %v)", p.Target, attempts, cause, last)
	}
	return fmt.Errorf("resilience: %s: after %d attempts: %w", p.Target, attempts, last)
}
