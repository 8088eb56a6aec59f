package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/agoracommerce/agora/internal/shipping"
)

// Config tunes the Service. The zero value is valid.
type Config struct {
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// NewID returns a new shipment ID; a UUIDv7 when nil.
	NewID func() (string, error)
	// DueBatch bounds the shipments one AdvanceDue round loads per query;
	// DefaultDueBatch when 0.
	DueBatch int
}

// DefaultDueBatch is Config.DueBatch's default.
const DefaultDueBatch = 100

// Validate reports a bad setting.
func (c Config) Validate() error {
	if c.DueBatch < 0 {
		return errors.New("shipping app: DueBatch must not be negative")
	}
	return nil
}

// Service runs the shipping use cases. Safe for concurrent use.
type Service struct {
	repo     Repository
	carrier  Carrier
	now      func() time.Time
	newID    func() (string, error)
	dueBatch int
}

// New returns the Service over repo and carrier.
func New(repo Repository, carrier Carrier, cfg Config) (*Service, error) {
	if repo == nil || carrier == nil {
		return nil, errors.New("shipping app: a Repository and a Carrier are required")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.NewID == nil {
		cfg.NewID = func() (string, error) {
			id, err := uuid.NewV7()
			return id.String(), err
		}
	}
	if cfg.DueBatch == 0 {
		cfg.DueBatch = DefaultDueBatch
	}
	return &Service{repo: repo, carrier: carrier, now: cfg.Now, newID: cfg.NewID, dueBatch: cfg.DueBatch}, nil
}

// Shipment returns the shipment with id.
func (s *Service) Shipment(ctx context.Context, id string) (shipping.Shipment, error) {
	if err := shipping.ValidateShipmentID(id); err != nil {
		return shipping.Shipment{}, err
	}
	sh, err := s.repo.Shipment(ctx, id)
	if err != nil {
		return shipping.Shipment{}, fmt.Errorf("get shipment: %w", err)
	}
	return sh, nil
}

// ShipmentOfOrder returns the order's shipment, or shipping.ErrNotFound.
func (s *Service) ShipmentOfOrder(ctx context.Context, orderID string) (shipping.Shipment, error) {
	if err := shipping.ValidateOrderID(orderID); err != nil {
		return shipping.Shipment{}, err
	}
	sh, err := s.repo.ShipmentOfOrder(ctx, orderID)
	if err != nil {
		return shipping.Shipment{}, fmt.Errorf("get shipment of order %s: %w", orderID, err)
	}
	return sh, nil
}

// schedule sets the shipment's next step as the carrier plans it from
// since (nothing for a final status or a carrier without a schedule).
func (s *Service) schedule(sh *shipping.Shipment, since time.Time) error {
	at, ok := s.carrier.NextStepAt(sh.Status(), since)
	if !ok || sh.Status().Final() {
		at = time.Time{}
	}
	return sh.Schedule(at)
}
