package cart

import (
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
)

// Status is where a cart is in its life. Open carts take changes; the
// others are final.
type Status string

// The states of a cart.
const (
	StatusOpen       Status = "open"
	StatusCheckedOut Status = "checked_out"
	StatusExpired    Status = "expired"
	StatusAbandoned  Status = "abandoned"
)

// Limits of a cart.
const (
	MaxLines          = 50
	MaxQuantity       = 99
	MaxCustomerLength = 256
	MaxOrderIDLength  = 64
)

// Line is one product of a cart with the unit price it was added at.
type Line struct {
	ProductID uuid.UUID
	SKU       string
	Name      string
	Quantity  int64
	UnitPrice Money
	AddedAt   time.Time
}

// Cart is the cart service's aggregate: the lines a customer collected,
// in one currency. Version grows by one with every stored change; it is
// the cart's ETag and the basis of optimistic concurrency. Not safe for
// concurrent use.
type Cart struct {
	id        uuid.UUID
	customer  string
	currency  string
	status    Status
	orderID   string
	lines     []Line
	version   int64
	createdAt time.Time
	updatedAt time.Time

	pending []Event
}

// CheckQuantity checks a line quantity.
func CheckQuantity(q int64) error {
	if q < 1 || q > MaxQuantity {
		return invalid("/quantity", fmt.Sprintf("must be 1-%d", MaxQuantity))
	}
	return nil
}

func checkCustomer(customer string) error {
	if customer == "" || len(customer) > MaxCustomerLength {
		return invalid("/customer_id", "must be 1-256 bytes")
	}
	return nil
}

// New opens an empty cart of customer in currency, at version 1, with its
// CartCreated event pending.
func New(id uuid.UUID, customer, currency string, now time.Time) (*Cart, error) {
	if id == uuid.Nil {
		return nil, invalid("/id", "is required")
	}
	if err := checkCustomer(customer); err != nil {
		return nil, err
	}
	if err := CheckCurrency(currency); err != nil {
		return nil, err
	}
	now = now.UTC().Truncate(time.Microsecond)
	c := &Cart{id: id, customer: customer, currency: currency, status: StatusOpen, version: 1, createdAt: now, updatedAt: now}
	c.pending = append(c.pending, CartCreated{CartID: id, CustomerID: customer, Currency: currency, Version: 1, At: now})
	return c, nil
}

// State is a cart's full stored state.
type State struct {
	ID         uuid.UUID
	CustomerID string
	Currency   string
	Status     Status
	OrderID    string
	Lines      []Line
	Version    int64
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Restore rebuilds a stored cart, without events.
func Restore(s State) (*Cart, error) {
	if s.ID == uuid.Nil || s.Version < 1 {
		return nil, invalid("/id", "a stored cart needs an ID and a version")
	}
	if err := checkCustomer(s.CustomerID); err != nil {
		return nil, err
	}
	if err := CheckCurrency(s.Currency); err != nil {
		return nil, err
	}
	switch s.Status {
	case StatusOpen, StatusCheckedOut, StatusExpired, StatusAbandoned:
	default:
		return nil, invalid("/status", "unknown cart status")
	}
	for _, l := range s.Lines {
		if err := CheckQuantity(l.Quantity); err != nil {
			return nil, err
		}
		if l.UnitPrice.Currency() != s.Currency {
			return nil, fmt.Errorf("%w: line of %s in %s", ErrCurrencyMismatch, l.ProductID, l.UnitPrice.Currency())
		}
	}
	return &Cart{id: s.ID, customer: s.CustomerID, currency: s.Currency, status: s.Status, orderID: s.OrderID,
		lines: slices.Clone(s.Lines), version: s.Version, createdAt: s.CreatedAt, updatedAt: s.UpdatedAt}, nil
}

// ID returns the cart's ID.
func (c *Cart) ID() uuid.UUID { return c.id }

// CustomerID returns the owner's ID (the subject of their tokens).
func (c *Cart) CustomerID() string { return c.customer }

// Currency returns the currency of every price of the cart.
func (c *Cart) Currency() string { return c.currency }

// Status returns the cart's state.
func (c *Cart) Status() Status { return c.status }

// OrderID returns the order a checked-out cart became.
func (c *Cart) OrderID() string { return c.orderID }

// Lines returns the lines in the order they were added.
func (c *Cart) Lines() []Line { return slices.Clone(c.lines) }

// Version returns the version of this state.
func (c *Cart) Version() int64 { return c.version }

// CreatedAt returns when the cart was opened.
func (c *Cart) CreatedAt() time.Time { return c.createdAt }

// UpdatedAt returns when the cart last changed: its last activity.
func (c *Cart) UpdatedAt() time.Time { return c.updatedAt }

// State returns the cart's state for storage.
func (c *Cart) State() State {
	return State{ID: c.id, CustomerID: c.customer, Currency: c.currency, Status: c.status, OrderID: c.orderID,
		Lines: c.Lines(), Version: c.version, CreatedAt: c.createdAt, UpdatedAt: c.updatedAt}
}

// Line returns the line of product.
func (c *Cart) Line(product uuid.UUID) (Line, bool) {
	i := c.lineIndex(product)
	if i < 0 {
		return Line{}, false
	}
	return c.lines[i], true
}

func (c *Cart) lineIndex(product uuid.UUID) int {
	return slices.IndexFunc(c.lines, func(l Line) bool { return l.ProductID == product })
}

func (c *Cart) open() error {
	if c.status != StatusOpen {
		return fmt.Errorf("%w: cart %s is %s", ErrClosed, c.id, c.status)
	}
	return nil
}

// change moves the cart to its next version at now and records ev.
func (c *Cart) change(now time.Time, ev func(version int64, at time.Time) Event) {
	now = now.UTC().Truncate(time.Microsecond)
	if now.Before(c.updatedAt) {
		now = c.updatedAt
	}
	c.version++
	c.updatedAt = now
	c.pending = append(c.pending, ev(c.version, now))
}

// Add puts quantity of p in the cart at p's current price. A product
// already on the cart gets the quantity added to its line, which keeps the
// price it was first added at; added reports whether a new line was made.
// Errors: ErrClosed, ErrProductUnavailable, ErrCurrencyMismatch, ErrFull,
// ErrInvalid (the quantity, alone or with the line's).
func (c *Cart) Add(p Product, quantity int64, now time.Time) (added bool, err error) {
	if err := c.open(); err != nil {
		return false, err
	}
	if err := CheckQuantity(quantity); err != nil {
		return false, err
	}
	if !p.OnSale() {
		return false, fmt.Errorf("%w: product %s is %s", ErrProductUnavailable, p.ID, p.Status)
	}
	if p.Price.Currency() != c.currency {
		return false, fmt.Errorf("%w: product %s is priced in %s, the cart is in %s", ErrCurrencyMismatch, p.ID, p.Price.Currency(), c.currency)
	}
	if i := c.lineIndex(p.ID); i >= 0 {
		return false, c.SetQuantity(p.ID, c.lines[i].Quantity+quantity, now)
	}
	if len(c.lines) >= MaxLines {
		return false, fmt.Errorf("%w: %d lines", ErrFull, MaxLines)
	}
	line := Line{ProductID: p.ID, SKU: p.SKU, Name: p.Name, Quantity: quantity, UnitPrice: p.Price,
		AddedAt: now.UTC().Truncate(time.Microsecond)}
	c.lines = append(c.lines, line)
	c.change(now, func(v int64, at time.Time) Event {
		c.lines[len(c.lines)-1].AddedAt = at
		return LineAdded{CartID: c.id, CustomerID: c.customer, Line: c.lines[len(c.lines)-1], Version: v, At: at}
	})
	return true, nil
}

// SetQuantity sets the quantity of product's line. Setting the quantity it
// has changes nothing. Errors: ErrClosed, ErrLineNotFound, ErrInvalid.
func (c *Cart) SetQuantity(product uuid.UUID, quantity int64, now time.Time) error {
	if err := c.open(); err != nil {
		return err
	}
	if err := CheckQuantity(quantity); err != nil {
		return err
	}
	i := c.lineIndex(product)
	if i < 0 {
		return fmt.Errorf("%w: product %s", ErrLineNotFound, product)
	}
	prev := c.lines[i].Quantity
	if prev == quantity {
		return nil
	}
	c.lines[i].Quantity = quantity
	c.change(now, func(v int64, at time.Time) Event {
		return LineUpdated{CartID: c.id, CustomerID: c.customer, Line: c.lines[i], PreviousQuantity: prev, Version: v, At: at}
	})
	return nil
}

// Remove takes product's line off the cart. Errors: ErrClosed,
// ErrLineNotFound.
func (c *Cart) Remove(product uuid.UUID, now time.Time) error {
	if err := c.open(); err != nil {
		return err
	}
	i := c.lineIndex(product)
	if i < 0 {
		return fmt.Errorf("%w: product %s", ErrLineNotFound, product)
	}
	line := c.lines[i]
	c.lines = slices.Delete(c.lines, i, i+1)
	c.change(now, func(v int64, at time.Time) Event {
		return LineRemoved{CartID: c.id, CustomerID: c.customer, Line: line, Version: v, At: at}
	})
	return nil
}

// Abandon closes an open cart at the customer's request. Abandoning an
// abandoned cart changes nothing; a checked-out or expired one is
// ErrClosed.
func (c *Cart) Abandon(now time.Time) error {
	if c.status == StatusAbandoned {
		return nil
	}
	if err := c.open(); err != nil {
		return err
	}
	c.status = StatusAbandoned
	c.change(now, func(v int64, at time.Time) Event {
		return CartAbandoned{CartID: c.id, CustomerID: c.customer, Version: v, At: at}
	})
	return nil
}

// Total sums the lines at the unit prices they were added at.
func (c *Cart) Total() (Money, error) {
	total := Money{currency: c.currency}
	for _, l := range c.lines {
		lt, err := l.UnitPrice.Times(l.Quantity)
		if err != nil {
			return Money{}, err
		}
		if total, err = total.Add(lt); err != nil {
			return Money{}, err
		}
	}
	return total, nil
}

// CheckOut closes the cart as the order orderID. Checking out again for
// the same order changes nothing; for another order, or when the cart is
// expired or abandoned, it is ErrClosed. An empty cart is ErrEmpty.
func (c *Cart) CheckOut(orderID string, now time.Time) error {
	if orderID == "" || len(orderID) > MaxOrderIDLength {
		return invalid("/order_id", "must be 1-64 bytes")
	}
	if c.status == StatusCheckedOut && c.orderID == orderID {
		return nil
	}
	if err := c.open(); err != nil {
		return err
	}
	if len(c.lines) == 0 {
		return fmt.Errorf("%w: cart %s", ErrEmpty, c.id)
	}
	total, err := c.Total()
	if err != nil {
		return err
	}
	c.status, c.orderID = StatusCheckedOut, orderID
	c.change(now, func(v int64, at time.Time) Event {
		return CartCheckedOut{CartID: c.id, CustomerID: c.customer, OrderID: orderID, Lines: c.Lines(), Total: total, Version: v, At: at}
	})
	return nil
}

// Idle reports whether an open cart has not changed since idleSince (its
// last change is at or before it).
func (c *Cart) Idle(idleSince time.Time) bool {
	return c.status == StatusOpen && !c.updatedAt.After(idleSince)
}

// Expire closes an open cart that is idle since idleSince, and reports
// whether it did: a cart that changed after idleSince, or is closed, is
// left alone.
func (c *Cart) Expire(idleSince, now time.Time) bool {
	if !c.Idle(idleSince) {
		return false
	}
	last := c.updatedAt
	c.status = StatusExpired
	c.change(now, func(v int64, at time.Time) Event {
		return CartExpired{CartID: c.id, CustomerID: c.customer, LastActivityAt: last, Version: v, At: at}
	})
	return true
}

// Changed reports whether the cart has changes not yet stored.
func (c *Cart) Changed() bool { return len(c.pending) > 0 }

// Events returns the events of the changes not yet stored, oldest first.
func (c *Cart) Events() []Event { return slices.Clone(c.pending) }

// Stored clears the pending events; adapters call it once they stored the
// changes (and their events).
func (c *Cart) Stored() { c.pending = nil }
