package catalog

import (
	"errors"
	"fmt"
)

// Sentinel errors of the catalog. Adapters wrap them; the HTTP edge maps
// them to problems in one place.
var (
	// ErrProductNotFound: no product has the ID.
	ErrProductNotFound = errors.New("catalog: product not found")
	// ErrCategoryNotFound: a product names a category that does not exist.
	ErrCategoryNotFound = errors.New("catalog: category not found")
	// ErrDuplicateSKU: another product already has the SKU.
	ErrDuplicateSKU = errors.New("catalog: duplicate SKU")
	// ErrDuplicateCategory: another category already has the slug.
	ErrDuplicateCategory = errors.New("catalog: duplicate category slug")
	// ErrArchived: the product is archived, which is final.
	ErrArchived = errors.New("catalog: product is archived")
	// ErrInvalidTransition: the status change goes against the life of a
	// product (draft -> active -> archived).
	ErrInvalidTransition = errors.New("catalog: invalid status transition")
	// ErrInvalidCursor: a pagination cursor was not issued by this service
	// or no longer applies.
	ErrInvalidCursor = errors.New("catalog: invalid cursor")
	// ErrInvalid: a value breaks an invariant; the error is a
	// *ValidationError naming the field.
	ErrInvalid = errors.New("catalog: invalid value")
)

// ValidationError names the field that breaks an invariant, as a JSON
// pointer into the product's or category's representation (for example
// "/price/currency" or "/attributes/color"). errors.Is(err, ErrInvalid)
// holds for it.
type ValidationError struct {
	Field  string
	Reason string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("catalog: invalid %s: %s", e.Field, e.Reason)
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

func invalid(field, reason string) error {
	return &ValidationError{Field: field, Reason: reason}
}
