// Package ordering is the domain of Agora's ordering service: the order a
// customer's cart becomes at checkout, the money arithmetic of its total,
// and the checkout saga the order orchestrates, written as an explicit state
// machine (machine.go) of every allowed (status, step, trigger) and what it
// leads to. It has no storage, messaging or HTTP code: adapters restore
// orders, apply the saga's triggers to them and publish the events the
// transitions return.
package ordering

import (
	"errors"
	"fmt"
)

// Errors of the ordering domain. Adapters wrap them; the HTTP edge maps
// them to problems in one place, and the saga consumer dead-letters the
// permanent ones.
var (
	// ErrNotFound: no order has the ID.
	ErrNotFound = errors.New("ordering: order not found")
	// ErrInvalid: a value breaks a rule; the error is a *ValidationError
	// naming the field.
	ErrInvalid = errors.New("ordering: invalid value")
	// ErrInvalidTransition: the state machine has no row for the trigger
	// in the order's state; the error is a *TransitionError naming both.
	ErrInvalidTransition = errors.New("ordering: transition not allowed")
	// ErrOverflow: an amount does not fit in int64 minor units.
	ErrOverflow = errors.New("ordering: amount overflow")
	// ErrCurrencyMismatch: amounts of different currencies met.
	ErrCurrencyMismatch = errors.New("ordering: currency mismatch")
	// ErrConflict: a concurrent change won; the operation may be retried.
	ErrConflict = errors.New("ordering: concurrent change")

	// ErrEmailRequired: the checkout names no email address and the
	// caller's token has none either.
	ErrEmailRequired = errors.New("ordering: an email address is required")
	// ErrCartNotFound: the cart service knows no such cart for the caller.
	ErrCartNotFound = errors.New("ordering: cart not found")
	// ErrCartForbidden: the cart is another customer's, or the cart service
	// refused the caller access to it.
	ErrCartForbidden = errors.New("ordering: the cart is not the caller's")
	// ErrCartNotOpen: the cart was checked out, expired or abandoned.
	ErrCartNotOpen = errors.New("ordering: the cart is not open")
	// ErrCartEmpty: the cart has no lines.
	ErrCartEmpty = errors.New("ordering: the cart is empty")
	// ErrLinesUnavailable: a line of the cart is no longer on sale.
	ErrLinesUnavailable = errors.New("ordering: lines of the cart are not available")
	// ErrCartOrdered: the cart already became an order (one order per
	// cart).
	ErrCartOrdered = errors.New("ordering: the cart already became an order")
)

// ValidationError names the value that breaks a rule, as a JSON pointer
// into the request's representation ("/shipping_address/country") or a
// parameter name. errors.Is(err, ErrInvalid) holds for it.
type ValidationError struct {
	Field  string
	Reason string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("ordering: invalid %s: %s", e.Field, e.Reason)
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

func invalid(field, reason string) error {
	return &ValidationError{Field: field, Reason: reason}
}

// TransitionError is a trigger the state machine does not allow in a
// state. errors.Is(err, ErrInvalidTransition) holds for it.
type TransitionError struct {
	State   State
	Trigger Trigger
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("ordering: %s is not allowed for an order %s in step %s", e.Trigger, e.State.Status, e.State.Step)
}

// Unwrap makes errors.Is(err, ErrInvalidTransition) true.
func (e *TransitionError) Unwrap() error { return ErrInvalidTransition }
