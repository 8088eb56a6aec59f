// Package app holds the cart service's use cases — open, read, list,
// fill, change and abandon a customer's carts, check a cart out, expire
// idle carts, and keep the read model of the catalog's products — and the
// ports they need from storage.
//
// Callers are identified by the principal in the context
// (auth.PrincipalFrom). A customer reaches only their own carts: another
// customer's cart is reported as cart.ErrNotFound (404), so that cart IDs
// cannot be probed. Holders of agora:admin may read any cart
// (auth.RequireOwner) but change only their own (cart.ErrForbidden).
package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/agoracommerce/agora/internal/cart"
)

// Repository keeps carts. Every method that changes a cart writes the
// cart's pending events (cart.Event) to the outbox in the same
// transaction, or changes nothing. Implementations are safe for concurrent
// use.
type Repository interface {
	// Create stores a new cart (cart.New) with its events.
	Create(ctx context.Context, c *cart.Cart) error
	// Cart returns the cart with id, or cart.ErrNotFound.
	Cart(ctx context.Context, id uuid.UUID) (*cart.Cart, error)
	// Carts returns up to limit carts of customer that are not abandoned,
	// in ID order, after the ID after (uuid.Nil for the first page).
	Carts(ctx context.Context, customer string, after uuid.UUID, limit int) ([]*cart.Cart, error)
	// Update loads the cart, applies fn and, when fn changed it, stores the
	// new state and its events, all in one transaction that never
	// overwrites a concurrent change (concurrent updates of one cart apply
	// one after the other; an adapter that cannot order them may run fn
	// again or fail with cart.ErrConflict). It returns the cart as stored.
	// Errors: cart.ErrNotFound, fn's errors.
	Update(ctx context.Context, id uuid.UUID, fn func(*cart.Cart) error) (*cart.Cart, error)
	// IdleCarts returns up to limit IDs of open carts that have not changed
	// after idleSince, the longest idle first.
	IdleCarts(ctx context.Context, idleSince time.Time, limit int) ([]uuid.UUID, error)
}

// Products is the read model of the catalog's products the cart prices
// from. Implementations are safe for concurrent use.
type Products interface {
	// Product returns the product with id, or cart.ErrProductNotFound.
	Product(ctx context.Context, id uuid.UUID) (cart.Product, error)
	// Products returns the known products among ids.
	Products(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]cart.Product, error)
	// SaveProduct stores p unless the stored version is the same or
	// higher, in one conditional write; applied reports whether it did.
	SaveProduct(ctx context.Context, p cart.Product) (applied bool, err error)
}

// Defaults of Config.
const (
	DefaultIdleTTL     = 7 * 24 * time.Hour
	DefaultExpiryBatch = 100
	DefaultPageSize    = 20
	MaxPageSize        = 100
)

// Config tunes the Service. The zero value is valid.
type Config struct {
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// IdleTTL is how long an open cart may go unchanged before it expires;
	// DefaultIdleTTL when 0.
	IdleTTL time.Duration
	// ExpiryBatch bounds the carts one ExpireCarts query returns;
	// DefaultExpiryBatch when 0.
	ExpiryBatch int
}

// Validate reports a bad setting.
func (c Config) Validate() error {
	if c.IdleTTL < 0 {
		return errors.New("cart app: IdleTTL must not be negative")
	}
	if c.ExpiryBatch < 0 {
		return errors.New("cart app: ExpiryBatch must not be negative")
	}
	return nil
}

// Service runs the cart's use cases. Safe for concurrent use.
type Service struct {
	carts       Repository
	products    Products
	now         func() time.Time
	idleTTL     time.Duration
	expiryBatch int
}

// New returns the Service over its ports.
func New(carts Repository, products Products, cfg Config) (*Service, error) {
	if carts == nil || products == nil {
		return nil, errors.New("cart app: a Repository and a Products read model are required")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.IdleTTL == 0 {
		cfg.IdleTTL = DefaultIdleTTL
	}
	if cfg.ExpiryBatch == 0 {
		cfg.ExpiryBatch = DefaultExpiryBatch
	}
	return &Service{carts: carts, products: products, now: cfg.Now, idleTTL: cfg.IdleTTL, expiryBatch: cfg.ExpiryBatch}, nil
}

// View is a cart as its owner sees it: the cart, its lines at current
// prices, and when it expires if nothing changes (zero unless open).
type View struct {
	Cart      *cart.Cart
	Priced    cart.Priced
	ExpiresAt time.Time
}

// view prices c from the read model.
func (s *Service) view(ctx context.Context, c *cart.Cart) (View, error) {
	lines := c.Lines()
	ids := make([]uuid.UUID, len(lines))
	for i, l := range lines {
		ids[i] = l.ProductID
	}
	var products map[uuid.UUID]cart.Product
	if len(ids) > 0 {
		var err error
		if products, err = s.products.Products(ctx, ids); err != nil {
			return View{}, fmt.Errorf("price cart %s: %w", c.ID(), err)
		}
	}
	priced, err := cart.Price(c, products)
	if err != nil {
		return View{}, fmt.Errorf("price cart %s: %w", c.ID(), err)
	}
	v := View{Cart: c, Priced: priced}
	if c.Status() == cart.StatusOpen {
		v.ExpiresAt = c.UpdatedAt().Add(s.idleTTL)
	}
	return v, nil
}

// IdleTTL returns how long an open cart may go unchanged.
func (s *Service) IdleTTL() time.Duration { return s.idleTTL }
