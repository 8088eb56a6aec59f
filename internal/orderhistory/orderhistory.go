// Package orderhistory is the domain of the order history service: the
// read model (CQRS) of a customer's orders that the checkout saga's events
// leave behind. An order's History is the set of its timeline entries —
// one per saga step event, keyed by the event's ID — and its Summary
// (status, lines, total, tracking, refunds, end reason) is a pure function
// of that set. Recording an event twice, or events of different services
// in any order, therefore leads to the same history, which is what makes
// the projection idempotent and rebuildable from the event log.
//
// The status is taken from ordering's events only, applied in their order
// (by occurred_at, then by event ID, which is time-ordered), so a replayed
// or redriven old event never moves an order back. An order is visible
// once its order.placed entry is there; entries that arrive before it are
// kept and count from then on.
package orderhistory

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Errors of the order history.
var (
	// ErrNotFound: no visible order has this ID (or the caller may not
	// see it).
	ErrNotFound = errors.New("order not found")
	// ErrInvalid: an entry or a query breaks a rule of the read model.
	ErrInvalid = errors.New("invalid order history input")
)

// Status is an order's status as ordering's events tell it.
type Status string

// The statuses of an order.
const (
	StatusPending   Status = "PENDING"
	StatusConfirmed Status = "CONFIRMED"
	StatusShipped   Status = "SHIPPED"
	StatusCompleted Status = "COMPLETED"
	StatusRejected  Status = "REJECTED"
	StatusCancelled Status = "CANCELLED"
)

// Statuses lists every status.
func Statuses() []Status {
	return []Status{StatusPending, StatusConfirmed, StatusShipped, StatusCompleted, StatusRejected, StatusCancelled}
}

// Valid reports whether s is one of Statuses.
func (s Status) Valid() bool { return slices.Contains(Statuses(), s) }

// EndCode says why an order was rejected or cancelled.
type EndCode string

// The end codes of rejected and cancelled orders.
const (
	EndUnspecified      EndCode = "unspecified"
	EndOutOfStock       EndCode = "out_of_stock"
	EndPaymentDeclined  EndCode = "payment_declined"
	EndPaymentFailed    EndCode = "payment_failed"
	EndDeadlineExceeded EndCode = "deadline_exceeded"
	EndCustomerRequest  EndCode = "customer_request"
	EndOperatorRequest  EndCode = "operator_request"
)

// EndReason is why an order ended without being completed.
type EndReason struct {
	Code   EndCode
	Reason string // human-readable
}

// Money is an amount in the minor unit of an ISO 4217 currency. The zero
// value (no currency) means "none".
type Money struct {
	Amount   int64
	Currency string
}

var currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)

// IsZero reports whether m is the zero value (no amount given).
func (m Money) IsZero() bool { return m == Money{} }

func (m Money) validate(field string) error {
	if !currencyPattern.MatchString(m.Currency) {
		return invalid("%s: currency %q is not an ISO 4217 code", field, m.Currency)
	}
	return nil
}

// minorDigits are the currencies whose minor unit is not a hundredth.
var minorDigits = map[string]int{
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
	"RWF": 0, "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}

// String formats m for people, e.g. "39.98 EUR".
func (m Money) String() string {
	digits, ok := minorDigits[m.Currency]
	if !ok {
		digits = 2
	}
	sign, a := "", m.Amount
	if a < 0 {
		sign, a = "-", -a
	}
	if digits == 0 {
		return fmt.Sprintf("%s%d %s", sign, a, m.Currency)
	}
	unit := int64(1)
	for range digits {
		unit *= 10
	}
	return fmt.Sprintf("%s%d.%0*d %s", sign, a/unit, digits, a%unit, m.Currency)
}

// Line is one SKU of an order at the price the customer saw.
type Line struct {
	SKU       string
	ProductID string
	Name      string
	Quantity  int32
	UnitPrice Money
}

var orderIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$`)

// ValidateOrderID checks an order ID: 1-64 characters of letters, digits
// and . _ : - starting with a letter or digit.
func ValidateOrderID(id string) error {
	if !orderIDPattern.MatchString(id) {
		return invalid("order ID %q is not 1-64 letters, digits, '.', '_', ':' or '-'", id)
	}
	return nil
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// Limits of the strings an entry keeps.
const (
	MaxIDLength     = 128
	MaxTextLength   = 500
	MaxShortLength  = 64
	MaxLines        = 1000
	MaxEntriesShown = 10000
)

func checkLen(field, v string, max int) error {
	if len(v) > max {
		return invalid("%s is longer than %d bytes", field, max)
	}
	return nil
}

func clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	s = s[:max]
	for len(s) > 0 && !utf8Start(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return strings.TrimSpace(s)
}

func utf8Start(b byte) bool { return b < 0x80 || b >= 0xC0 }

// ClipText shortens a free text (a reason) to what an entry keeps.
func ClipText(s string) string {
	if len(s) <= MaxTextLength {
		return s
	}
	return clip(s, MaxTextLength-3) + "..."
}

// compareTime orders by time, then by event ID (time-ordered UUIDs), so
// that entries of one instant still have one order.
func compareEntries(a, b Entry) int {
	if c := a.OccurredAt.Compare(b.OccurredAt); c != 0 {
		return c
	}
	return strings.Compare(a.EventID, b.EventID)
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
