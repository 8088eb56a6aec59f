// Package fault is Agora's one error taxonomy: every error is either
// retryable (a transient condition worth another attempt: a timeout, a
// dropped connection, a throttled or unavailable dependency) or permanent
// (bad input, a broken invariant, an unknown schema: trying again cannot
// help). HTTP clients, Kafka consumers and outbox relays all decide with
// IsRetryable whether to retry, and the consumer runtime dead-letters what
// is permanent.
//
// Mark an error where its nature is known, and keep wrapping it with %w:
//
//	return fault.Retryable(fmt.Errorf("charge card: %w", err))
//	errors.Is(err, fault.ErrRetryable) // true through any number of wraps
package fault

import (
	"context"
	"errors"
	"net"
)

// Sentinels that marked errors match with errors.Is.
var (
	ErrRetryable = errors.New("retryable")
	ErrPermanent = errors.New("permanent")
)

type marked struct {
	err  error
	kind error
}

func (m *marked) Error() string { return m.err.Error() }

func (m *marked) Unwrap() []error { return []error{m.err, m.kind} }

// Retryable marks err as transient. It returns nil for a nil err.
func Retryable(err error) error {
	if err == nil {
		return nil
	}
	return &marked{err: err, kind: ErrRetryable}
}

// Permanent marks err as one that no retry can fix. It returns nil for a nil
// err.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &marked{err: err, kind: ErrPermanent}
}

// IsRetryable reports whether another attempt may succeed. An explicit mark
// decides (the outermost one wins when both are present: marks are found
// depth-first, so wrapping a permanent error as retryable makes it
// retryable); without one, deadline expiry and network timeouts count as
// retryable and everything else as permanent. Cancellation of the caller's
// own context is never retryable.
func IsRetryable(err error) bool {
	if err == nil {
		return false
	}
	for e := err; e != nil; {
		if m, ok := e.(*marked); ok {
			return m.kind == ErrRetryable
		}
		switch u := e.(type) {
		case interface{ Unwrap() error }:
			e = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, inner := range u.Unwrap() {
				if errors.Is(inner, ErrRetryable) || errors.Is(inner, ErrPermanent) {
					return IsRetryable(inner)
				}
			}
			e = nil
		default:
			e = nil
		}
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// IsPermanent reports whether err is not worth retrying; it is the negation of
// IsRetryable for a non-nil error.
func IsPermanent(err error) bool { return err != nil && !IsRetryable(err) }
