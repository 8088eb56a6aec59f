// Package app holds the inventory service's use cases — receive and adjust
// stock, reserve an order's lines all or nothing, release, commit and
// expire reservations — and the port they need from storage.
package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/agoracommerce/agora/internal/inventory"
)

// Repository keeps stock levels and reservations. Every method that
// changes state writes the events of the change (inventory.Event) to the
// outbox in the same transaction, or changes nothing. Implementations are
// safe for concurrent use, and never oversell: a reservation takes stock
// only through a conditional write that fails when the warehouse's
// available stock is lower than the quantity.
type Repository interface {
	// Stock returns the stock of sku, or inventory.ErrNotFound.
	Stock(ctx context.Context, sku string) (inventory.Stock, error)
	// ListStock returns up to limit SKUs' stock in SKU order, starting after
	// the SKU after ("" for the first page).
	ListStock(ctx context.Context, after string, limit int) ([]inventory.Stock, error)
	// Receive adds r.Quantity on hand, creating the SKU or warehouse when
	// new, and returns the stock after the change.
	Receive(ctx context.Context, r inventory.Receipt) (inventory.Stock, error)
	// Adjust sets a warehouse's stock on hand. Errors:
	// inventory.ErrNotFound (unknown SKU), inventory.ErrVersionMismatch,
	// inventory.ErrBelowReserved.
	Adjust(ctx context.Context, a inventory.Adjustment) (inventory.Stock, error)
	// SetThreshold sets the SKU's low-stock threshold. Errors:
	// inventory.ErrNotFound, inventory.ErrVersionMismatch.
	SetThreshold(ctx context.Context, c inventory.ThresholdChange) (inventory.Stock, error)
	// Reserve holds every line of req or none, and decides an order once.
	// When the order already has a reservation it returns that one with
	// created false and changes nothing. When a line lacks stock it
	// remembers the rejection, writes only a ReservationRejected event and
	// returns a *inventory.ShortageError; reserving a rejected order again
	// returns the same *inventory.ShortageError and writes nothing, even
	// when the stock has arrived since.
	Reserve(ctx context.Context, req inventory.ReservationRequest) (r inventory.Reservation, created bool, err error)
	// Reservation returns the order's reservation, or inventory.ErrNotFound.
	Reservation(ctx context.Context, orderID string) (inventory.Reservation, error)
	// UpdateReservation loads the order's reservation, applies fn and, when
	// fn changed it, stores the new state, applies its level deltas
	// (inventory.Reservation.Deltas) and writes its events, all in one
	// transaction. fn may run more than once when a concurrent change
	// wins. Errors: inventory.ErrNotFound, fn's errors.
	UpdateReservation(ctx context.Context, orderID string, fn func(*inventory.Reservation) error) (inventory.Reservation, error)
	// ExpiredReservations returns up to limit IDs of active reservations
	// whose expiry is not after now, the oldest expiry first.
	ExpiredReservations(ctx context.Context, now time.Time, limit int) ([]string, error)
}

// Config tunes the Service. The zero value is valid.
type Config struct {
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// ExpiryBatch bounds the reservations one ExpireReservations round
	// releases per query; DefaultExpiryBatch when 0.
	ExpiryBatch int
}

// DefaultExpiryBatch is Config.ExpiryBatch's default.
const DefaultExpiryBatch = 100

// Validate reports a bad setting.
func (c Config) Validate() error {
	if c.ExpiryBatch < 0 {
		return errors.New("inventory app: ExpiryBatch must not be negative")
	}
	return nil
}

// Service runs the inventory's use cases. Safe for concurrent use.
type Service struct {
	repo        Repository
	now         func() time.Time
	expiryBatch int
}

// New returns the Service over repo.
func New(repo Repository, cfg Config) (*Service, error) {
	if repo == nil {
		return nil, errors.New("inventory app: a Repository is required")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ExpiryBatch == 0 {
		cfg.ExpiryBatch = DefaultExpiryBatch
	}
	return &Service{repo: repo, now: cfg.Now, expiryBatch: cfg.ExpiryBatch}, nil
}

// Stock returns the stock of sku.
func (s *Service) Stock(ctx context.Context, sku string) (inventory.Stock, error) {
	if err := inventory.ValidateSKU(sku); err != nil {
		return inventory.Stock{}, err
	}
	st, err := s.repo.Stock(ctx, sku)
	if err != nil {
		return inventory.Stock{}, fmt.Errorf("get stock: %w", err)
	}
	return st, nil
}

// MaxPage bounds ListStock's limit.
const MaxPage = 100

// ListStock returns a page of stock in SKU order after the SKU after, and
// the SKU to continue after ("" on the last page).
func (s *Service) ListStock(ctx context.Context, after string, limit int) (page []inventory.Stock, next string, err error) {
	if limit < 1 || limit > MaxPage {
		return nil, "", fmt.Errorf("%w: limit %d must be 1-%d", inventory.ErrInvalid, limit, MaxPage)
	}
	if after != "" {
		if err := inventory.ValidateSKU(after); err != nil {
			return nil, "", err
		}
	}
	page, err = s.repo.ListStock(ctx, after, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("list stock: %w", err)
	}
	if len(page) > limit {
		page = page[:limit]
		next = page[limit-1].SKU()
	}
	return page, next, nil
}

// ReceiveStock adds received stock to a warehouse.
func (s *Service) ReceiveStock(ctx context.Context, sku, warehouse string, quantity int64, note string) (inventory.Stock, error) {
	r := inventory.Receipt{SKU: sku, Warehouse: warehouse, Quantity: quantity, Note: note, At: s.now()}
	if err := r.Validate(); err != nil {
		return inventory.Stock{}, err
	}
	st, err := s.repo.Receive(ctx, r)
	if err != nil {
		return inventory.Stock{}, fmt.Errorf("receive stock: %w", err)
	}
	return st, nil
}

// AdjustStock sets a warehouse's stock on hand to a counted value;
// ifVersion, when not 0, makes it conditional on the SKU's version.
func (s *Service) AdjustStock(ctx context.Context, sku, warehouse string, onHand int64, reason inventory.AdjustmentReason, note string, ifVersion int64) (inventory.Stock, error) {
	a := inventory.Adjustment{SKU: sku, Warehouse: warehouse, OnHand: onHand, Reason: reason, Note: note, IfVersion: ifVersion, At: s.now()}
	if err := a.Validate(); err != nil {
		return inventory.Stock{}, err
	}
	st, err := s.repo.Adjust(ctx, a)
	if err != nil {
		return inventory.Stock{}, fmt.Errorf("adjust stock: %w", err)
	}
	return st, nil
}

// SetLowStockThreshold sets the SKU's low-stock threshold; ifVersion, when
// not 0, makes it conditional on the SKU's version.
func (s *Service) SetLowStockThreshold(ctx context.Context, sku string, threshold, ifVersion int64) (inventory.Stock, error) {
	c := inventory.ThresholdChange{SKU: sku, Threshold: threshold, IfVersion: ifVersion, At: s.now()}
	if err := c.Validate(); err != nil {
		return inventory.Stock{}, err
	}
	st, err := s.repo.SetThreshold(ctx, c)
	if err != nil {
		return inventory.Stock{}, fmt.Errorf("set low-stock threshold: %w", err)
	}
	return st, nil
}

// Reservation returns the order's reservation.
func (s *Service) Reservation(ctx context.Context, orderID string) (inventory.Reservation, error) {
	if err := inventory.ValidateOrderID(orderID); err != nil {
		return inventory.Reservation{}, err
	}
	r, err := s.repo.Reservation(ctx, orderID)
	if err != nil {
		return inventory.Reservation{}, fmt.Errorf("get reservation: %w", err)
	}
	return r, nil
}
