package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/agoracommerce/agora/internal/inventory"
)

// ReserveForOrder holds every line of the order until expiresAt, or none:
// when a line lacks stock it returns an error wrapping a
// *inventory.ShortageError (errors.Is(err, inventory.ErrOutOfStock)) and a
// ReservationRejected event is published. An order is decided once:
// reserving an order that already has a reservation returns that
// reservation and holds nothing more, and reserving a rejected order
// returns the same shortage and publishes nothing, so a redelivered
// request reserves (or is rejected) once. An expiresAt that is not after
// now is inventory.ErrExpiryPassed (also inventory.ErrInvalid).
func (s *Service) ReserveForOrder(ctx context.Context, orderID string, lines []inventory.Line, expiresAt time.Time) (inventory.Reservation, error) {
	req, err := inventory.NewReservationRequest(orderID, lines, expiresAt, s.now())
	if err != nil {
		return inventory.Reservation{}, err
	}
	r, _, err := s.repo.Reserve(ctx, req)
	if err != nil {
		return inventory.Reservation{}, fmt.Errorf("reserve order %s: %w", orderID, err)
	}
	return r, nil
}

// Release gives the order's reserved stock back (order cancelled, payment
// failed). Releasing twice is a no-op; releasing a committed reservation is
// inventory.ErrReservationClosed.
func (s *Service) Release(ctx context.Context, orderID, reason string) (inventory.Reservation, error) {
	if err := inventory.ValidateOrderID(orderID); err != nil {
		return inventory.Reservation{}, err
	}
	r, err := s.repo.UpdateReservation(ctx, orderID, func(r *inventory.Reservation) error {
		return r.Release(reason, s.now())
	})
	if err != nil {
		return inventory.Reservation{}, fmt.Errorf("release order %s: %w", orderID, err)
	}
	return r, nil
}

// Commit takes the order's reserved stock out of stock on hand when it
// ships. Committing twice is a no-op; committing a released reservation is
// inventory.ErrReservationClosed.
func (s *Service) Commit(ctx context.Context, orderID string) (inventory.Reservation, error) {
	if err := inventory.ValidateOrderID(orderID); err != nil {
		return inventory.Reservation{}, err
	}
	r, err := s.repo.UpdateReservation(ctx, orderID, func(r *inventory.Reservation) error {
		return r.Commit(s.now())
	})
	if err != nil {
		return inventory.Reservation{}, fmt.Errorf("commit order %s: %w", orderID, err)
	}
	return r, nil
}

// ExpireReservations releases, with reason inventory.ReasonExpired, every
// active reservation whose expiry is not after now, and returns how many it
// released. A reservation committed or released meanwhile is left alone. It
// stops at the first storage error (the next round picks up the rest) and
// when ctx ends.
func (s *Service) ExpireReservations(ctx context.Context, now time.Time) (int, error) {
	released := 0
	for {
		ids, err := s.repo.ExpiredReservations(ctx, now, s.expiryBatch)
		if err != nil {
			return released, fmt.Errorf("expire reservations: %w", err)
		}
		progress := 0
		for _, id := range ids {
			if err := ctx.Err(); err != nil {
				return released, err
			}
			changed := false
			_, err := s.repo.UpdateReservation(ctx, id, func(r *inventory.Reservation) error {
				changed = false
				if !r.Expired(now) {
					return nil
				}
				changed = true
				return r.Release(inventory.ReasonExpired, s.now())
			})
			switch {
			case errors.Is(err, inventory.ErrNotFound):
				continue
			case err != nil:
				return released, fmt.Errorf("expire reservation %s: %w", id, err)
			}
			if changed {
				released++
				progress++
			}
		}
		if len(ids) < s.expiryBatch || progress == 0 {
			return released, nil
		}
	}
}
