package cart

import (
	"time"

	"github.com/google/uuid"
)

// Event is a domain event of a cart, keyed by the cart's ID. Version is the
// cart's version after the change.
type Event interface {
	Key() uuid.UUID
	OccurredAt() time.Time
	isEvent()
}

// CartCreated: a customer opened an empty cart.
type CartCreated struct {
	CartID     uuid.UUID
	CustomerID string
	Currency   string
	Version    int64
	At         time.Time
}

// LineAdded: a product was put in the cart on a new line.
type LineAdded struct {
	CartID     uuid.UUID
	CustomerID string
	Line       Line
	Version    int64
	At         time.Time
}

// LineUpdated: a line's quantity changed from PreviousQuantity.
type LineUpdated struct {
	CartID           uuid.UUID
	CustomerID       string
	Line             Line
	PreviousQuantity int64
	Version          int64
	At               time.Time
}

// LineRemoved: a line was taken off the cart.
type LineRemoved struct {
	CartID     uuid.UUID
	CustomerID string
	Line       Line
	Version    int64
	At         time.Time
}

// CartCheckedOut: the cart became the order OrderID.
type CartCheckedOut struct {
	CartID     uuid.UUID
	CustomerID string
	OrderID    string
	Lines      []Line
	Total      Money
	Version    int64
	At         time.Time
}

// CartExpired: the open cart was idle since LastActivityAt for too long.
type CartExpired struct {
	CartID         uuid.UUID
	CustomerID     string
	LastActivityAt time.Time
	Version        int64
	At             time.Time
}

// CartAbandoned: the customer deleted the open cart.
type CartAbandoned struct {
	CartID     uuid.UUID
	CustomerID string
	Version    int64
	At         time.Time
}

func (e CartCreated) Key() uuid.UUID    { return e.CartID }
func (e LineAdded) Key() uuid.UUID      { return e.CartID }
func (e LineUpdated) Key() uuid.UUID    { return e.CartID }
func (e LineRemoved) Key() uuid.UUID    { return e.CartID }
func (e CartCheckedOut) Key() uuid.UUID { return e.CartID }
func (e CartExpired) Key() uuid.UUID    { return e.CartID }
func (e CartAbandoned) Key() uuid.UUID  { return e.CartID }

func (e CartCreated) OccurredAt() time.Time    { return e.At }
func (e LineAdded) OccurredAt() time.Time      { return e.At }
func (e LineUpdated) OccurredAt() time.Time    { return e.At }
func (e LineRemoved) OccurredAt() time.Time    { return e.At }
func (e CartCheckedOut) OccurredAt() time.Time { return e.At }
func (e CartExpired) OccurredAt() time.Time    { return e.At }
func (e CartAbandoned) OccurredAt() time.Time  { return e.At }

func (CartCreated) isEvent()    {}
func (LineAdded) isEvent()      {}
func (LineUpdated) isEvent()    {}
func (LineRemoved) isEvent()    {}
func (CartCheckedOut) isEvent() {}
func (CartExpired) isEvent()    {}
func (CartAbandoned) isEvent()  {}
