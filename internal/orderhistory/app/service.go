// Package app holds the order history's use cases — record the saga's
// events into the read model, read a customer's orders and one order's
// timeline, and rebuild the read model from the event log into a new
// generation — and the ports they need (Repository, Generations,
// EventLog).
//
// Callers of the queries are identified by the principal in the context
// (auth.PrincipalFrom). A customer sees only their own orders; an order of
// another customer is reported as orderhistory.ErrNotFound, like one that
// does not exist or is not projected yet, so order IDs cannot be probed.
// Holders of orders:admin or agora:admin read any order.
package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/agoracommerce/agora/internal/orderhistory"
	"github.com/agoracommerce/agora/internal/platform/auth"
)

// Page sizes of Orders.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// Config tunes the Service. The zero value is valid.
type Config struct {
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Service runs the order history's use cases. Safe for concurrent use.
type Service struct {
	repo Repository
	gens Generations
	now  func() time.Time
}

// New returns the Service over its ports.
func New(repo Repository, gens Generations, cfg Config) (*Service, error) {
	if repo == nil || gens == nil {
		return nil, errors.New("orderhistory app: a Repository and Generations are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{repo: repo, gens: gens, now: cfg.Now}, nil
}

// Record adds entries to the active generation of the read model. Invalid
// entries fail the whole call with orderhistory.ErrInvalid and record
// nothing; an entry already recorded changes nothing.
func (s *Service) Record(ctx context.Context, entries ...orderhistory.Entry) (added int, err error) {
	if len(entries) == 0 {
		return 0, nil
	}
	for _, e := range entries {
		if err := e.Validate(); err != nil {
			return 0, fmt.Errorf("record %s %s: %w", e.Type, e.EventID, err)
		}
	}
	added, err = s.repo.Record(ctx, Active, entries)
	if err != nil {
		return 0, fmt.Errorf("record %d entries: %w", len(entries), err)
	}
	return added, nil
}

// Order returns the history of orderID if the caller may read it: the
// customer who placed it, or an operator (orders:admin, agora:admin).
// Errors: orderhistory.ErrInvalid for a malformed ID; orderhistory.ErrNotFound
// for an unknown order, one not placed yet, or another customer's;
// auth.ErrUnauthenticated without a caller.
func (s *Service) Order(ctx context.Context, orderID string) (*orderhistory.History, error) {
	if _, ok := auth.PrincipalFrom(ctx); !ok {
		return nil, auth.ErrUnauthenticated
	}
	if err := orderhistory.ValidateOrderID(orderID); err != nil {
		return nil, err
	}
	h, err := s.repo.History(ctx, orderID)
	if err != nil {
		return nil, fmt.Errorf("order history of %s: %w", orderID, err)
	}
	sum := h.Summary()
	if !sum.Placed {
		return nil, fmt.Errorf("order history of %s: not placed yet: %w", orderID, orderhistory.ErrNotFound)
	}
	if err := auth.RequireOwner(ctx, sum.CustomerID, auth.ScopeOrdersAdmin); err != nil {
		if errors.Is(err, auth.ErrForbidden) {
			return nil, fmt.Errorf("order history of %s: %w", orderID, orderhistory.ErrNotFound)
		}
		return nil, err
	}
	return h, nil
}

// OrdersPage is one page of a customer's orders.
type OrdersPage struct {
	Orders []orderhistory.Summary
	// Next continues the list; nil on the last page.
	Next *Cursor
}

// Orders returns a page of the caller's own orders, newest placed first,
// with the given status ("" for all), after the cursor (nil for the
// first page); limit 0 means DefaultPageSize. Errors:
// orderhistory.ErrInvalid for a bad status or limit;
// auth.ErrUnauthenticated without a caller.
func (s *Service) Orders(ctx context.Context, status orderhistory.Status, after *Cursor, limit int) (OrdersPage, error) {
	p, ok := auth.PrincipalFrom(ctx)
	if !ok {
		return OrdersPage{}, auth.ErrUnauthenticated
	}
	if status != "" && !status.Valid() {
		return OrdersPage{}, fmt.Errorf("%w: unknown status %q", orderhistory.ErrInvalid, status)
	}
	if limit == 0 {
		limit = DefaultPageSize
	}
	if limit < 1 || limit > MaxPageSize {
		return OrdersPage{}, fmt.Errorf("%w: limit must be 1-%d", orderhistory.ErrInvalid, MaxPageSize)
	}
	orders, err := s.repo.List(ctx, ListQuery{CustomerID: p.Subject, Status: status, After: after, Limit: limit + 1})
	if err != nil {
		return OrdersPage{}, fmt.Errorf("list orders of %s: %w", p.Subject, err)
	}
	page := OrdersPage{Orders: orders}
	if len(orders) > limit {
		page.Orders = orders[:limit]
		last := page.Orders[limit-1]
		page.Next = &Cursor{PlacedAt: last.PlacedAt, OrderID: last.OrderID}
	}
	return page, nil
}
