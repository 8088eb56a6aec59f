// Package cart is the domain of Agora's cart service: a customer's carts
// and their lines, the money arithmetic of their totals, and the cart's own
// copy of the catalog's products (the read model its prices come from). It
// has no storage, messaging or HTTP code.
package cart

import (
	"errors"
	"fmt"
)

// Errors of the cart domain. Adapters wrap them; the HTTP edge maps them to
// problems in one place.
var (
	// ErrNotFound: no cart has the ID (or the caller may not see it).
	ErrNotFound = errors.New("cart: not found")
	// ErrLineNotFound: the cart has no line for the product.
	ErrLineNotFound = errors.New("cart: line not found")
	// ErrProductNotFound: the read model knows no product with the ID.
	ErrProductNotFound = errors.New("cart: product not found")
	// ErrProductUnavailable: the product is not on sale (archived or still
	// a draft), so it cannot be added.
	ErrProductUnavailable = errors.New("cart: product not on sale")
	// ErrCurrencyMismatch: the product is priced in another currency than
	// the cart.
	ErrCurrencyMismatch = errors.New("cart: currency mismatch")
	// ErrClosed: the cart was checked out, expired or abandoned and takes
	// no more changes.
	ErrClosed = errors.New("cart: cart is closed")
	// ErrFull: the cart has MaxLines lines already.
	ErrFull = errors.New("cart: cart is full")
	// ErrEmpty: an empty cart cannot be checked out.
	ErrEmpty = errors.New("cart: cart is empty")
	// ErrForbidden: the caller may read the cart but not change it.
	ErrForbidden = errors.New("cart: change not allowed")
	// ErrConflict: a concurrent change won; the operation may be retried.
	ErrConflict = errors.New("cart: concurrent change")
	// ErrOverflow: an amount does not fit in int64 minor units.
	ErrOverflow = errors.New("cart: amount overflow")
	// ErrInvalid: a value breaks a rule; the error is a *ValidationError
	// naming the field.
	ErrInvalid = errors.New("cart: invalid value")
)

// ValidationError names the value that breaks a rule, as a JSON pointer
// into the request's representation ("/quantity") or a parameter name.
// errors.Is(err, ErrInvalid) holds for it.
type ValidationError struct {
	Field  string
	Reason string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("cart: invalid %s: %s", e.Field, e.Reason)
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

func invalid(field, reason string) error {
	return &ValidationError{Field: field, Reason: reason}
}
