package app

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/agoracommerce/agora/internal/ordering"
	"github.com/agoracommerce/agora/internal/platform/auth"
)

// Order returns the order with id to its customer or an operator.
// Errors: ordering.ErrNotFound, auth.ErrUnauthenticated, auth.ErrForbidden
// (another customer's order).
func (s *Service) Order(ctx context.Context, id uuid.UUID) (*ordering.Order, error) {
	if _, err := caller(ctx); err != nil {
		return nil, err
	}
	o, err := s.orders.Get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("order %s: %w", id, err)
	}
	if err := auth.RequireOwner(ctx, o.CustomerID(), auth.ScopeOrdersAdmin); err != nil {
		return nil, fmt.Errorf("order %s: %w", id, err)
	}
	return o, nil
}

// Page is one page of orders, newest first; Next is the cursor of the
// next page (uuid.Nil on the last).
type Page struct {
	Items []*ordering.Order
	Next  uuid.UUID
}

// MyOrders lists the caller's orders newest first, q.Limit (1 to
// MaxPageSize; DefaultPageSize when 0) at a time, below q.Before.
// Errors: auth.ErrUnauthenticated, ordering.ErrInvalid (the limit or the
// status).
func (s *Service) MyOrders(ctx context.Context, q ListQuery) (Page, error) {
	p, err := caller(ctx)
	if err != nil {
		return Page{}, err
	}
	if q.Limit == 0 {
		q.Limit = DefaultPageSize
	}
	if q.Limit < 1 || q.Limit > MaxPageSize {
		return Page{}, &ordering.ValidationError{Field: "limit", Reason: fmt.Sprintf("must be 1-%d", MaxPageSize)}
	}
	if q.Status != "" && !knownStatus(q.Status) {
		return Page{}, &ordering.ValidationError{Field: "status", Reason: "is not an order status"}
	}
	limit := q.Limit
	q.Limit++
	os, err := s.orders.ListByCustomer(ctx, p.Subject, q)
	if err != nil {
		return Page{}, fmt.Errorf("list orders: %w", err)
	}
	var out Page
	if len(os) > limit {
		os = os[:limit]
		out.Next = os[limit-1].ID()
	}
	out.Items = os
	return out, nil
}

func knownStatus(st ordering.Status) bool {
	for _, s := range ordering.Statuses() {
		if s == st {
			return true
		}
	}
	return false
}

// isOperator reports whether the caller may act on every order.
func isOperator(p *auth.Principal) bool {
	return p.HasScope(auth.ScopeOrdersAdmin) || p.HasScope(auth.ScopeAdmin)
}

// CancelOrder cancels the order with id for its customer (while PENDING or
// CONFIRMED) or an operator (orders:admin or agora:admin; also SHIPPED or
// COMPLETED, with a refund), with an optional reason. Cancelling a
// cancelled order changes nothing and returns it. Errors:
// ordering.ErrNotFound, auth.ErrUnauthenticated, auth.ErrForbidden,
// ordering.ErrInvalidTransition (a *ordering.TransitionError naming the
// order's status), ordering.ErrInvalid (the reason).
func (s *Service) CancelOrder(ctx context.Context, id uuid.UUID, reason string) (*ordering.Order, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	trigger := ordering.TriggerCustomerCancel
	if isOperator(p) {
		trigger = ordering.TriggerOperatorCancel
	}
	o, err := s.orders.Update(ctx, id, DedupeKey{}, func(o *ordering.Order) ([]ordering.Event, error) {
		if err := auth.RequireOwner(ctx, o.CustomerID(), auth.ScopeOrdersAdmin); err != nil {
			return nil, err
		}
		return o.Apply(ordering.Signal{Trigger: trigger, Reason: reason}, s.now(), s.policy.Deadlines)
	})
	if err != nil {
		return nil, fmt.Errorf("cancel order %s: %w", id, err)
	}
	return o, nil
}
