package auth

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. The HTTP edge maps them (StatusOf does it for this
// package's own middleware): ErrMissingToken, ErrInvalidToken and
// ErrUnauthenticated are 401, ErrInsufficientScope and ErrForbidden are 403,
// ErrKeysUnavailable is 503 (it is also marked retryable with package
// fault).
var (
	// ErrMissingToken: the request carries no bearer token.
	ErrMissingToken = errors.New("auth: missing bearer token")
	// ErrInvalidToken: the token is malformed, not signed by a trusted key,
	// expired, or issued by or for someone else. Every rejection of a token
	// wraps it; the message says why, for logs, never for clients.
	ErrInvalidToken = errors.New("auth: invalid token")
	// ErrUnauthenticated: an operation needs a principal and the context
	// has none.
	ErrUnauthenticated = errors.New("auth: unauthenticated")
	// ErrInsufficientScope: the token lacks a scope the operation requires.
	ErrInsufficientScope = errors.New("auth: insufficient scope")
	// ErrForbidden: the principal may not act on this object.
	ErrForbidden = errors.New("auth: forbidden")
	// ErrKeysUnavailable: the issuer's signing keys could not be fetched,
	// so no token can be checked right now.
	ErrKeysUnavailable = errors.New("auth: signing keys unavailable")
)

// ScopeError is the typed form of ErrInsufficientScope: it names the scopes
// that would have satisfied the operation (the first alternative of its
// security requirements).
type ScopeError struct {
	Required []string
}

func (e *ScopeError) Error() string {
	return fmt.Sprintf("auth: insufficient scope: need %s", strings.Join(e.Required, " "))
}

// Unwrap makes errors.Is(err, ErrInsufficientScope) true.
func (e *ScopeError) Unwrap() error { return ErrInsufficientScope }

func invalid(reason string, err error) error {
	if err == nil {
		return fmt.Errorf("%w: %s", ErrInvalidToken, reason)
	}
	return fmt.Errorf("%w: %s: %w", ErrInvalidToken, reason, err)
}
