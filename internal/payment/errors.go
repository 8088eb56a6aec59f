package payment

import (
	"errors"
	"fmt"
)

// Errors of the payment domain. Adapters wrap them; the HTTP edge maps
// them to problems in one place.
var (
	// ErrNotFound: no payment has the ID, or the order has no payment.
	ErrNotFound = errors.New("payment: not found")
	// ErrInvalid: a value breaks a rule of its own; the error is a
	// *ValidationError naming the field.
	ErrInvalid = errors.New("payment: invalid value")
	// ErrCurrencyMismatch: an amount is not in the payment's currency.
	ErrCurrencyMismatch = errors.New("payment: currency mismatch")
	// ErrInvalidTransition: the operation does not apply to the payment's
	// status (capturing a voided authorization, refunding before capture,
	// voiding after capture...). Errors wrapping it name both.
	ErrInvalidTransition = errors.New("payment: operation not allowed in this status")
	// ErrRefundExceedsCaptured: the refund would pay back more than was
	// captured and not yet refunded.
	ErrRefundExceedsCaptured = errors.New("payment: refund exceeds the captured amount")
	// ErrDuplicateOperation: an operation with the same kind and reference
	// was already applied to the payment.
	ErrDuplicateOperation = errors.New("payment: duplicate operation")
	// ErrOrderMismatch: the order already has a payment with other terms
	// (another customer or amount).
	ErrOrderMismatch = errors.New("payment: the order's payment has other terms")
	// ErrConflict: a concurrent change won; the operation may be retried.
	ErrConflict = errors.New("payment: concurrent change")
)

// ValidationError names the field that breaks a rule, as a JSON pointer
// into the request (for example "/amount/currency"). errors.Is(err,
// ErrInvalid) holds for it.
type ValidationError struct {
	Field  string
	Reason string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("payment: invalid %s: %s", e.Field, e.Reason)
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

func invalid(field, reason string) error {
	return &ValidationError{Field: field, Reason: reason}
}

func transition(op OperationKind, s Status) error {
	return fmt.Errorf("%w: cannot %s a %s payment", ErrInvalidTransition, op, s)
}
