package app

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/agoracommerce/agora/internal/ordering"
)

// DedupeKey names one consumed event: the consumer group that handles it
// and the event's ID. An Update with a key applies the event at most once:
// the key is recorded (in the inbox) in the same transaction as the
// change. API calls pass the zero key.
type DedupeKey struct {
	Group   string
	EventID string
}

// IsZero reports whether k names no event.
func (k DedupeKey) IsZero() bool { return k == DedupeKey{} }

// Due is an order whose current step passed its deadline, as
// Repository.DueDeadlines found it.
type Due struct {
	ID         uuid.UUID
	Step       ordering.Step
	DeadlineAt time.Time
}

// ListQuery selects a page of a customer's orders.
type ListQuery struct {
	// Before is the ID the page starts below (orders are listed newest
	// first, by their time-ordered IDs); uuid.Nil for the first page.
	Before uuid.UUID
	// Status keeps only orders in this status; "" for every status.
	Status ordering.Status
	// Limit bounds the page; positive.
	Limit int
}

// Repository keeps orders. Every change writes the events it returns to
// the outbox in the same transaction, or changes nothing. The operations
// map onto one conditional write each (or one multi-item transaction, such
// as DynamoDB's TransactWriteItems: the order item conditional on its
// version, the inbox item conditional on its absence, the outbox items),
// so a key-value store can implement the port as well as SQL.
// Implementations are safe for concurrent use.
type Repository interface {
	// Create stores a new order (ordering.Place) with its events. A cart
	// becomes at most one order: when the order's cart already has one,
	// Create stores nothing and returns ordering.ErrCartOrdered.
	Create(ctx context.Context, o *ordering.Order, events []ordering.Event) error
	// Get returns the order with id, or ordering.ErrNotFound.
	Get(ctx context.Context, id uuid.UUID) (*ordering.Order, error)
	// Update loads the order with id, runs fn on it and, when fn changed
	// it (its version moved), stores it with the events fn returned, in
	// one transaction that never overwrites a concurrent change. With a
	// non-zero key it first records the key; when the key was recorded
	// before (a redelivered event), it runs no fn, changes nothing and
	// returns the order as stored. A failing fn changes nothing, the key
	// included. fn may run more than once when a concurrent change wins.
	// It returns the order as stored. Errors: ordering.ErrNotFound, fn's
	// errors.
	Update(ctx context.Context, id uuid.UUID, key DedupeKey, fn func(*ordering.Order) ([]ordering.Event, error)) (*ordering.Order, error)
	// ListByCustomer returns up to q.Limit orders of customer matching q,
	// newest first.
	ListByCustomer(ctx context.Context, customer string, q ListQuery) ([]*ordering.Order, error)
	// DueDeadlines returns up to limit orders whose step deadline is at or
	// before now, the longest overdue first.
	DueDeadlines(ctx context.Context, now time.Time, limit int) ([]Due, error)
}

// Carts reads carts from the cart service. Implementations are safe for
// concurrent use.
type Carts interface {
	// Cart returns cart id as the cart service shows it to the caller
	// whose bearer token is token, so the cart's own ownership rules
	// apply. Errors: ordering.ErrCartNotFound, ordering.ErrCartForbidden,
	// and errors wrapping ErrCartsUnavailable (retryable) when the cart
	// service cannot answer.
	Cart(ctx context.Context, id uuid.UUID, token string) (ordering.Cart, error)
}

// ErrCartsUnavailable: the cart service did not answer in time, kept
// failing, or its circuit breaker is open. Errors wrapping it are marked
// retryable; the checkout may be retried later with the same
// Idempotency-Key.
var ErrCartsUnavailable = errors.New("ordering app: the cart service is unavailable")
