package app

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/agoracommerce/agora/internal/ordering"
	"github.com/agoracommerce/agora/internal/platform/auth"
)

// PlaceOrder is a checkout request.
type PlaceOrder struct {
	CartID       uuid.UUID
	PaymentToken string
	Address      ordering.Address
	// Email is where notifications go; the token's email claim when
	// empty.
	Email string
}

// caller returns the signed-in principal.
func caller(ctx context.Context) (*auth.Principal, error) {
	p, ok := auth.PrincipalFrom(ctx)
	if !ok || p.Subject == "" {
		return nil, auth.ErrUnauthenticated
	}
	return p, nil
}

// PlaceOrder checks the caller's cart out as a new PENDING order and
// starts the saga (OrderPlaced goes to the outbox with the order). It
// reads the cart from the cart service with the caller's own bearer token
// and takes the cart's lines at their unit prices. Errors:
// auth.ErrUnauthenticated, ordering.ErrInvalid, ordering.ErrEmailRequired,
// ordering.ErrCartNotFound, ordering.ErrCartForbidden,
// ordering.ErrCartNotOpen, ordering.ErrCartEmpty,
// ordering.ErrLinesUnavailable, ordering.ErrCartOrdered (the cart already
// became an order), ordering.ErrOverflow, ErrCartsUnavailable (retryable).
func (s *Service) PlaceOrder(ctx context.Context, req PlaceOrder) (*ordering.Order, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	// The request's own values are checked before the cart is read.
	if err := ordering.CheckPaymentToken(req.PaymentToken); err != nil {
		return nil, err
	}
	if err := req.Address.Validate(); err != nil {
		return nil, err
	}
	email := req.Email
	if email == "" {
		email = claimedEmail(p)
	}
	if email == "" {
		return nil, ordering.ErrEmailRequired
	}
	if err := ordering.CheckEmail(email); err != nil {
		return nil, err
	}
	cart, err := s.carts.Cart(ctx, req.CartID, p.Token)
	if err != nil {
		return nil, fmt.Errorf("place order: read cart %s: %w", req.CartID, err)
	}
	if cart.ID != req.CartID {
		return nil, fmt.Errorf("place order: the cart service answered cart %s for %s: %w", cart.ID, req.CartID, ordering.ErrCartNotFound)
	}
	id, err := s.newID()
	if err != nil {
		return nil, fmt.Errorf("place order: new ID: %w", err)
	}
	o, evs, err := ordering.Place(ordering.Checkout{
		OrderID: id, CustomerID: p.Subject, Cart: cart, PaymentToken: req.PaymentToken, Address: req.Address, Email: email,
	}, s.now(), s.policy)
	if err != nil {
		return nil, fmt.Errorf("place order: %w", err)
	}
	if err := s.orders.Create(ctx, o, evs); err != nil {
		return nil, fmt.Errorf("place order: %w", err)
	}
	return o, nil
}

// claimedEmail returns the token's email claim when it is a usable
// address, "" otherwise.
func claimedEmail(p *auth.Principal) string {
	email, _ := p.Claims["email"].(string)
	if ordering.CheckEmail(email) != nil {
		return ""
	}
	return email
}
