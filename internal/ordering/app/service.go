// Package app holds the ordering service's use cases — place an order from
// a cart, read and list a customer's orders, cancel an order, move orders
// through the checkout saga on the participants' answers, and compensate
// the orders whose saga step passed its deadline — and the ports they need:
// the Repository of orders and the Carts of the cart service.
//
// Callers of the API use cases are identified by the principal in the
// context (auth.PrincipalFrom). A customer reaches their own orders;
// holders of orders:admin or agora:admin reach every order
// (auth.RequireOwner), and their cancellations are an operator's.
package app

import (
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/agoracommerce/agora/internal/ordering"
)

// Defaults of Config.
const (
	DefaultExpiryBatch = 100
	DefaultPageSize    = 20
	MaxPageSize        = 100
)

// Config tunes the Service.
type Config struct {
	// Policy times the saga: the deadline of each step and how long
	// inventory holds the stock. Required.
	Policy ordering.Policy
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// NewID returns a new order ID; UUIDv7 (time-ordered, so IDs sort
	// newest last) when nil.
	NewID func() (uuid.UUID, error)
	// ExpiryBatch bounds the orders one DueDeadlines query returns;
	// DefaultExpiryBatch when 0.
	ExpiryBatch int
}

// Validate reports a bad setting.
func (c Config) Validate() error {
	if err := c.Policy.Validate(); err != nil {
		return fmt.Errorf("ordering app: %w", err)
	}
	if c.ExpiryBatch < 0 {
		return errors.New("ordering app: ExpiryBatch must not be negative")
	}
	return nil
}

// Service runs the ordering use cases. Safe for concurrent use.
type Service struct {
	orders Repository
	carts  Carts
	policy ordering.Policy
	now    func() time.Time
	newID  func() (uuid.UUID, error)
	batch  int
}

// New returns the Service over its ports.
func New(orders Repository, carts Carts, cfg Config) (*Service, error) {
	if orders == nil || carts == nil {
		return nil, errors.New("ordering app: a Repository and Carts are required")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.NewID == nil {
		cfg.NewID = uuid.NewV7
	}
	if cfg.ExpiryBatch == 0 {
		cfg.ExpiryBatch = DefaultExpiryBatch
	}
	return &Service{orders: orders, carts: carts, policy: cfg.Policy, now: cfg.Now, newID: cfg.NewID, batch: cfg.ExpiryBatch}, nil
}

// Policy returns the saga's timing.
func (s *Service) Policy() ordering.Policy { return s.policy }
