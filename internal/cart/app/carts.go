package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/agoracommerce/agora/internal/cart"
	"github.com/agoracommerce/agora/internal/platform/auth"
)

// customer returns the signed-in caller's ID.
func customer(ctx context.Context) (string, error) {
	p, ok := auth.PrincipalFrom(ctx)
	if !ok || p.Subject == "" {
		return "", auth.ErrUnauthenticated
	}
	return p.Subject, nil
}

// canRead is the object-level check of reads: the owner and agora:admin
// holders pass; anybody else learns nothing (cart.ErrNotFound).
func canRead(ctx context.Context, c *cart.Cart) error {
	err := auth.RequireOwner(ctx, c.CustomerID())
	if errors.Is(err, auth.ErrForbidden) {
		return fmt.Errorf("cart %s: %w", c.ID(), cart.ErrNotFound)
	}
	return err
}

// canChange is the object-level check of changes: only the owner passes;
// an admin who may read the cart gets cart.ErrForbidden.
func canChange(ctx context.Context, c *cart.Cart) error {
	if err := canRead(ctx, c); err != nil {
		return err
	}
	if p, _ := auth.PrincipalFrom(ctx); p.Subject != c.CustomerID() {
		return fmt.Errorf("cart %s: %w", c.ID(), cart.ErrForbidden)
	}
	return nil
}

// visible hides abandoned carts from the API.
func visible(c *cart.Cart) error {
	if c.Status() == cart.StatusAbandoned {
		return fmt.Errorf("cart %s: %w", c.ID(), cart.ErrNotFound)
	}
	return nil
}

// CreateCart opens an empty cart in currency for the signed-in customer.
func (s *Service) CreateCart(ctx context.Context, currency string) (View, error) {
	who, err := customer(ctx)
	if err != nil {
		return View{}, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return View{}, fmt.Errorf("create cart: %w", err)
	}
	c, err := cart.New(id, who, currency, s.now())
	if err != nil {
		return View{}, err
	}
	if err := s.carts.Create(ctx, c); err != nil {
		return View{}, fmt.Errorf("create cart: %w", err)
	}
	return s.view(ctx, c)
}

// Cart returns a cart the caller may read, at current prices.
func (s *Service) Cart(ctx context.Context, id uuid.UUID) (View, error) {
	c, err := s.carts.Cart(ctx, id)
	if err != nil {
		return View{}, fmt.Errorf("get cart: %w", err)
	}
	if err := canRead(ctx, c); err != nil {
		return View{}, err
	}
	if err := visible(c); err != nil {
		return View{}, err
	}
	return s.view(ctx, c)
}

// Page is one page of a listing; Next is the ID to continue after
// (uuid.Nil on the last page).
type Page struct {
	Items []View
	Next  uuid.UUID
}

// MyCarts lists the signed-in customer's carts that are not abandoned, in
// creation order, limit (1-MaxPageSize; 0 for DefaultPageSize) at a time
// after the cart ID after.
func (s *Service) MyCarts(ctx context.Context, after uuid.UUID, limit int) (Page, error) {
	who, err := customer(ctx)
	if err != nil {
		return Page{}, err
	}
	if limit == 0 {
		limit = DefaultPageSize
	}
	if limit < 1 || limit > MaxPageSize {
		return Page{}, &cart.ValidationError{Field: "limit", Reason: fmt.Sprintf("must be 1-%d", MaxPageSize)}
	}
	cs, err := s.carts.Carts(ctx, who, after, limit+1)
	if err != nil {
		return Page{}, fmt.Errorf("list carts: %w", err)
	}
	var out Page
	if len(cs) > limit {
		cs = cs[:limit]
		out.Next = cs[limit-1].ID()
	}
	out.Items = make([]View, 0, len(cs))
	for _, c := range cs {
		v, err := s.view(ctx, c)
		if err != nil {
			return Page{}, err
		}
		out.Items = append(out.Items, v)
	}
	return out, nil
}

// Precondition decides, from the version of the cart as the change is
// about to apply, whether it may apply (nil) or not (its error, such as a
// 412 problem for an If-Match that no longer matches). A nil Precondition
// always passes.
type Precondition func(version int64) error

// change runs fn on a cart the caller owns, after pre, and returns the cart
// as stored at current prices.
func (s *Service) change(ctx context.Context, op string, id uuid.UUID, pre Precondition, fn func(*cart.Cart) error) (View, error) {
	c, err := s.carts.Update(ctx, id, func(c *cart.Cart) error {
		if err := canChange(ctx, c); err != nil {
			return err
		}
		if err := visible(c); err != nil {
			return err
		}
		if pre != nil {
			if err := pre(c.Version()); err != nil {
				return err
			}
		}
		return fn(c)
	})
	if err != nil {
		return View{}, fmt.Errorf("%s: %w", op, err)
	}
	return s.view(ctx, c)
}

// AddLine puts quantity of a product in the caller's cart at the
// product's current price (from the read model), and reports whether a new
// line was made (false: the quantity was added to the product's line).
// Errors: cart.ErrNotFound, cart.ErrProductNotFound,
// cart.ErrProductUnavailable, cart.ErrCurrencyMismatch, cart.ErrClosed,
// cart.ErrFull, cart.ErrInvalid, cart.ErrForbidden.
func (s *Service) AddLine(ctx context.Context, id, product uuid.UUID, quantity int64) (v View, added bool, err error) {
	if err := cart.CheckQuantity(quantity); err != nil {
		return View{}, false, err
	}
	p, err := s.products.Product(ctx, product)
	if err != nil {
		return View{}, false, fmt.Errorf("add line: %w", err)
	}
	v, err = s.change(ctx, "add line", id, nil, func(c *cart.Cart) error {
		added, err = c.Add(p, quantity, s.now())
		return err
	})
	return v, added, err
}

// UpdateLine sets the quantity of a line of the caller's cart, when pre
// passes. Errors: cart.ErrNotFound, cart.ErrLineNotFound, cart.ErrClosed,
// cart.ErrInvalid, cart.ErrForbidden, pre's errors.
func (s *Service) UpdateLine(ctx context.Context, id, product uuid.UUID, quantity int64, pre Precondition) (View, error) {
	if err := cart.CheckQuantity(quantity); err != nil {
		return View{}, err
	}
	return s.change(ctx, "update line", id, pre, func(c *cart.Cart) error {
		return c.SetQuantity(product, quantity, s.now())
	})
}

// RemoveLine takes a product off the caller's cart, when pre passes.
// Errors: cart.ErrNotFound, cart.ErrLineNotFound, cart.ErrClosed,
// cart.ErrForbidden, pre's errors.
func (s *Service) RemoveLine(ctx context.Context, id, product uuid.UUID, pre Precondition) (View, error) {
	return s.change(ctx, "remove line", id, pre, func(c *cart.Cart) error {
		return c.Remove(product, s.now())
	})
}

// AbandonCart deletes the caller's open cart. Abandoning it again
// succeeds; a checked-out or expired cart is cart.ErrClosed.
func (s *Service) AbandonCart(ctx context.Context, id uuid.UUID) error {
	_, err := s.carts.Update(ctx, id, func(c *cart.Cart) error {
		if err := canChange(ctx, c); err != nil {
			return err
		}
		return c.Abandon(s.now())
	})
	if err != nil {
		return fmt.Errorf("abandon cart: %w", err)
	}
	return nil
}

// MarkCheckedOut closes the cart as the order orderID; the ordering
// service's checkout calls it (through an event consumer) once the order
// exists. It checks no caller: it is not exposed over HTTP. Marking the
// same order again changes nothing. Errors: cart.ErrNotFound,
// cart.ErrClosed, cart.ErrEmpty, cart.ErrInvalid.
func (s *Service) MarkCheckedOut(ctx context.Context, id uuid.UUID, orderID string) (*cart.Cart, error) {
	c, err := s.carts.Update(ctx, id, func(c *cart.Cart) error {
		return c.CheckOut(orderID, s.now())
	})
	if err != nil {
		return nil, fmt.Errorf("check out cart %s: %w", id, err)
	}
	return c, nil
}
