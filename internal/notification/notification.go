// Package notification is the domain of Agora's notification service: the
// messages customers get about their orders (order received, confirmed,
// shipped, delivered, completed, rejected, cancelled, refund issued), the
// recipient of each order, the rendering of a message from its templates,
// and the life of a message from pending to sent or failed with the events
// that publishes. It has no storage, messaging, email provider or HTTP code.
//
// A message is identified by its order, its kind and, for kinds an order
// may get more than once (refunds), a reference: MessageID derives a UUID
// from them, so the same notice rendered twice is the same message and is
// sent at most once.
package notification

import (
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Errors of the notification domain. Adapters wrap them; the HTTP edge maps
// them to problems in one place.
var (
	// ErrNotFound: no message has the ID.
	ErrNotFound = errors.New("notification: not found")
	// ErrInvalid: an input breaks a rule of its own. Errors wrapping it say
	// which rule.
	ErrInvalid = errors.New("notification: invalid")
	// ErrUnknownRecipient: the order's recipient is not known yet (its
	// OrderPlaced has not been applied). Worth retrying: it usually arrives
	// moments later.
	ErrUnknownRecipient = errors.New("notification: unknown recipient")
	// ErrInvalidTransition: the message's status does not allow the change.
	ErrInvalidTransition = errors.New("notification: invalid status transition")
	// ErrNotDue: the message is not due to be sent yet.
	ErrNotDue = errors.New("notification: message not due")
	// ErrConflict: a concurrent change won; the operation may be retried.
	ErrConflict = errors.New("notification: concurrent change")
	// ErrInvalidCursor: a pagination cursor this service did not issue (or
	// issued for another listing).
	ErrInvalidCursor = errors.New("notification: invalid cursor")
)

// Limits of the inputs the domain accepts.
const (
	MaxOrderIDLength    = 64
	MaxCustomerIDLength = 128
	MaxEmailLength      = 254
	MaxRefLength        = 128
	MaxNameLength       = 100
	MaxSKULength        = 64
	MaxLines            = 100
	MaxQuantity         = 1_000_000
	MaxCarrierLength    = 64
	MaxTrackingLength   = 64
	// MaxReasonLength bounds free-text explanations kept and shown (in
	// runes); longer texts are cut.
	MaxReasonLength = 300
	// MaxSubjectLength bounds a rendered subject (in runes).
	MaxSubjectLength = 200
)

var (
	orderIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]*$`)
	skuPattern     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
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
	if len(id) == 0 || len(id) > MaxCustomerIDLength || strings.TrimSpace(id) != id || hasControl(id) || !utf8.ValidString(id) {
		return invalid("customer ID must be 1-%d bytes without surrounding spaces or control characters", MaxCustomerIDLength)
	}
	return nil
}

// ValidateMessageID checks a message ID (a UUID).
func ValidateMessageID(id string) error {
	if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
		return invalid("message ID %q is not a UUID", id)
	}
	return nil
}

// ValidateEmail checks a bare email address (no display name), as
// addresses are stored and compared.
func ValidateEmail(addr string) error {
	if len(addr) < 3 || len(addr) > MaxEmailLength || hasControl(addr) {
		return invalid("email address must be 3-%d bytes without control characters", MaxEmailLength)
	}
	parsed, err := mail.ParseAddress(addr)
	if err != nil || parsed.Address != addr || parsed.Name != "" || !strings.Contains(addr, "@") {
		return invalid("%q is not a bare email address", addr)
	}
	return nil
}

func hasControl(s string) bool { return strings.IndexFunc(s, unicode.IsControl) >= 0 }

// Clean makes free text from other services fit for a message: invalid
// UTF-8 and control characters become spaces, runs of spaces collapse,
// and the text is cut to max runes.
func Clean(s string, max int) string {
	s = strings.ToValidUTF8(s, " ")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if max < 2 {
		return ""
	}
	if utf8.RuneCountInString(s) > max {
		runes := []rune(s)
		s = strings.TrimSpace(string(runes[:max-1])) + "…"
	}
	return s
}

// Recipient is who an order's messages go to, learned when the order is
// placed and kept for the order's later messages.
type Recipient struct {
	OrderID    string
	CustomerID string
	Email      string
	// Name greets the customer; may be empty.
	Name string
}

// NewRecipient validates a recipient; the name is cleaned.
func NewRecipient(orderID, customerID, email, name string) (Recipient, error) {
	r := Recipient{OrderID: orderID, CustomerID: customerID, Email: email, Name: Clean(name, MaxNameLength)}
	return r, r.Validate()
}

// Validate checks every field of the recipient.
func (r Recipient) Validate() error {
	if err := ValidateOrderID(r.OrderID); err != nil {
		return err
	}
	if err := ValidateCustomerID(r.CustomerID); err != nil {
		return err
	}
	if err := ValidateEmail(r.Email); err != nil {
		return err
	}
	if Clean(r.Name, MaxNameLength) != r.Name {
		return invalid("recipient name is not clean text of up to %d characters", MaxNameLength)
	}
	return nil
}
