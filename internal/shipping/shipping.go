// Package shipping is the domain of Agora's shipping service: one shipment
// per order, labelled by a carrier with a tracking number, that moves
// through an explicit state machine (label_created, in_transit, delivered,
// or cancelled before it leaves), and the events these changes publish. It
// has no storage, messaging, carrier or HTTP code.
package shipping

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"github.com/google/uuid"
)

// Errors of the shipping domain. Adapters wrap them; the HTTP edge maps
// them to problems in one place.
var (
	// ErrNotFound: no shipment has the ID, or the order has no shipment.
	ErrNotFound = errors.New("shipping: not found")
	// ErrInvalid: an input breaks a rule of its own (bad address, no
	// lines, ...). Errors wrapping it say which rule.
	ErrInvalid = errors.New("shipping: invalid")
	// ErrInvalidTransition: the shipment's status cannot move to the
	// requested one; a *TransitionError says which.
	ErrInvalidTransition = errors.New("shipping: invalid status transition")
	// ErrVersionMismatch: a conditional change expected another version of
	// the shipment.
	ErrVersionMismatch = errors.New("shipping: shipment version mismatch")
	// ErrConflict: a concurrent change won; the operation may be retried.
	ErrConflict = errors.New("shipping: concurrent change")
)

// Limits of the inputs the domain accepts.
const (
	MaxOrderIDLength    = 64
	MaxCustomerIDLength = 128
	MaxSKULength        = 64
	MaxLines            = 100
	MaxQuantity         = 1_000_000
	MaxAddressField     = 100
	MaxPostalCode       = 20
	MaxCarrierLength    = 64
	MaxTrackingLength   = 64
	MaxLabelIDLength    = 128
)

var (
	orderIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]*$`)
	skuPattern     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	countryPattern = regexp.MustCompile(`^[A-Z]{2}$`)
)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// ValidateShipmentID checks a shipment ID (a UUID).
func ValidateShipmentID(id string) error {
	if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
		return invalid("shipment ID %q is not a UUID", id)
	}
	return nil
}

// ValidateOrderID checks an order ID.
func ValidateOrderID(id string) error {
	if len(id) == 0 || len(id) > MaxOrderIDLength || !orderIDPattern.MatchString(id) {
		return invalid("order ID %q must be 1-%d letters, digits, '.', '_', ':' or '-'", id, MaxOrderIDLength)
	}
	return nil
}

// ValidateCustomerID checks a customer ID.
func ValidateCustomerID(id string) error {
	if err := text("customer ID", id, 1, MaxCustomerIDLength); err != nil {
		return err
	}
	if strings.TrimSpace(id) != id {
		return invalid("customer ID has surrounding spaces")
	}
	return nil
}

// text checks that v has min-max bytes and no control characters.
func text(field, v string, minLen, maxLen int) error {
	if len(v) < minLen || len(v) > maxLen {
		return invalid("%s must be %d-%d bytes", field, minLen, maxLen)
	}
	if strings.IndexFunc(v, unicode.IsControl) >= 0 {
		return invalid("%s has control characters", field)
	}
	return nil
}

// Address is where a shipment goes.
type Address struct {
	Name       string
	Line1      string
	Line2      string
	City       string
	Region     string
	PostalCode string
	// Country is an ISO 3166-1 alpha-2 code.
	Country string
}

// Validate checks every field of the address.
func (a Address) Validate() error {
	fields := []struct {
		name, v  string
		min, max int
	}{
		{"address name", a.Name, 1, MaxAddressField},
		{"address line1", a.Line1, 1, MaxAddressField},
		{"address line2", a.Line2, 0, MaxAddressField},
		{"address city", a.City, 1, MaxAddressField},
		{"address region", a.Region, 0, MaxAddressField},
		{"address postal code", a.PostalCode, 1, MaxPostalCode},
	}
	for _, f := range fields {
		if err := text(f.name, f.v, f.min, f.max); err != nil {
			return err
		}
	}
	if !countryPattern.MatchString(a.Country) {
		return invalid("address country %q must be an ISO 3166-1 alpha-2 code", a.Country)
	}
	return nil
}

// Line is one SKU of a shipment.
type Line struct {
	SKU      string
	Quantity int64
}

// ValidateLines checks 1-MaxLines lines with valid SKUs, each once, and
// quantities of 1-MaxQuantity.
func ValidateLines(lines []Line) error {
	if len(lines) == 0 || len(lines) > MaxLines {
		return invalid("a shipment needs 1-%d lines", MaxLines)
	}
	seen := make(map[string]bool, len(lines))
	for _, l := range lines {
		if len(l.SKU) == 0 || len(l.SKU) > MaxSKULength || !skuPattern.MatchString(l.SKU) {
			return invalid("sku %q must be 1-%d letters, digits, '.', '_' or '-'", l.SKU, MaxSKULength)
		}
		if seen[l.SKU] {
			return invalid("sku %q is on more than one line", l.SKU)
		}
		seen[l.SKU] = true
		if l.Quantity < 1 || l.Quantity > MaxQuantity {
			return invalid("quantity of %s must be 1-%d", l.SKU, MaxQuantity)
		}
	}
	return nil
}

// Label is what a carrier returns when it accepts a shipment: its name,
// the tracking number customers follow, and its reference of the label.
type Label struct {
	Carrier        string
	TrackingNumber string
	LabelID        string
}

// Validate checks that every part of the label is set and bounded.
func (l Label) Validate() error {
	if err := text("carrier", l.Carrier, 1, MaxCarrierLength); err != nil {
		return err
	}
	if err := text("tracking number", l.TrackingNumber, 1, MaxTrackingLength); err != nil {
		return err
	}
	return text("label ID", l.LabelID, 1, MaxLabelIDLength)
}
