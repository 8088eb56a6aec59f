package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/agoracommerce/agora/internal/shipping"
)

// RequestShipment ships a confirmed order: the carrier labels it and the
// shipment starts in label_created, scheduled for its first step when the
// carrier moves shipments on its own. An order has one shipment: when it
// already has one, that one is returned and nothing changes, so a
// redelivered request ships once.
func (s *Service) RequestShipment(ctx context.Context, orderID, customerID string, address shipping.Address, lines []shipping.Line) (shipping.Shipment, error) {
	id, err := s.newID()
	if err != nil {
		return shipping.Shipment{}, fmt.Errorf("request shipment of order %s: new ID: %w", orderID, err)
	}
	now := s.now()
	req, err := shipping.NewRequest(id, orderID, customerID, address, lines, now)
	if err != nil {
		return shipping.Shipment{}, err
	}
	existing, err := s.repo.ShipmentOfOrder(ctx, orderID)
	switch {
	case err == nil:
		return existing, nil
	case !errors.Is(err, shipping.ErrNotFound):
		return shipping.Shipment{}, fmt.Errorf("request shipment of order %s: %w", orderID, err)
	}
	label, err := s.carrier.CreateLabel(ctx, LabelRequest{ShipmentID: id, OrderID: orderID, Address: req.Address, Lines: req.Lines})
	if err != nil {
		return shipping.Shipment{}, fmt.Errorf("request shipment of order %s: create label: %w", orderID, err)
	}
	sh, err := shipping.NewShipment(req, label)
	if err != nil {
		return shipping.Shipment{}, fmt.Errorf("request shipment of order %s: carrier label: %w", orderID, err)
	}
	if err := s.schedule(&sh, now); err != nil {
		return shipping.Shipment{}, err
	}
	stored, created, err := s.repo.Create(ctx, sh)
	if err != nil {
		return shipping.Shipment{}, fmt.Errorf("request shipment of order %s: %w", orderID, err)
	}
	if !created {
		// A concurrent request shipped the order first: give this label back.
		if err := s.carrier.VoidLabel(ctx, label); err != nil {
			return shipping.Shipment{}, fmt.Errorf("request shipment of order %s: void duplicate label: %w", orderID, err)
		}
	}
	return stored, nil
}

// CancelShipment cancels the order's shipment before it is in transit and
// voids its label. Cancelling a cancelled shipment only voids the label
// again (carriers accept that), so a retried cancellation is safe; a
// shipment in transit or delivered is a *shipping.TransitionError.
func (s *Service) CancelShipment(ctx context.Context, orderID string) (shipping.Shipment, error) {
	existing, err := s.ShipmentOfOrder(ctx, orderID)
	if err != nil {
		return shipping.Shipment{}, fmt.Errorf("cancel shipment: %w", err)
	}
	sh, err := s.repo.Update(ctx, existing.ID(), func(sh *shipping.Shipment) error {
		return sh.Cancel(s.now())
	})
	if err != nil {
		return shipping.Shipment{}, fmt.Errorf("cancel shipment of order %s: %w", orderID, err)
	}
	if err := s.carrier.VoidLabel(ctx, sh.Label()); err != nil {
		return shipping.Shipment{}, fmt.Errorf("cancel shipment of order %s: void label: %w", orderID, err)
	}
	return sh, nil
}

// Advance moves the shipment to its next status now, as the carrier would
// report it (operators use it with the simulated carrier). ifVersion, when
// not 0, makes it conditional on the shipment's version
// (shipping.ErrVersionMismatch). A final shipment is a
// *shipping.TransitionError.
func (s *Service) Advance(ctx context.Context, id string, ifVersion int64) (shipping.Shipment, error) {
	if err := shipping.ValidateShipmentID(id); err != nil {
		return shipping.Shipment{}, err
	}
	sh, err := s.repo.Update(ctx, id, func(sh *shipping.Shipment) error {
		if ifVersion != 0 && sh.Version() != ifVersion {
			return shipping.ErrVersionMismatch
		}
		return s.step(sh)
	})
	if err != nil {
		return shipping.Shipment{}, fmt.Errorf("advance shipment %s: %w", id, err)
	}
	return sh, nil
}

// step advances sh now and schedules its following step.
func (s *Service) step(sh *shipping.Shipment) error {
	now := s.now()
	if err := sh.Advance(now); err != nil {
		return err
	}
	return s.schedule(sh, now)
}

// AdvanceDue moves every shipment whose next step is scheduled at or
// before now one step on, and returns how many it moved. A shipment moved
// or cancelled meanwhile is left alone. It stops at the first storage
// error (the next round picks up the rest) and when ctx ends.
func (s *Service) AdvanceDue(ctx context.Context, now time.Time) (int, error) {
	moved := 0
	for {
		ids, err := s.repo.Due(ctx, now, s.dueBatch)
		if err != nil {
			return moved, fmt.Errorf("advance due shipments: %w", err)
		}
		progress := 0
		for _, id := range ids {
			if err := ctx.Err(); err != nil {
				return moved, err
			}
			changed := false
			_, err := s.repo.Update(ctx, id, func(sh *shipping.Shipment) error {
				changed = false
				if !sh.Due(now) || sh.Status().Final() {
					return nil
				}
				changed = true
				return s.step(sh)
			})
			switch {
			case errors.Is(err, shipping.ErrNotFound):
				continue
			case err != nil:
				return moved, fmt.Errorf("advance shipment %s: %w", id, err)
			}
			if changed {
				moved++
				progress++
			}
		}
		if len(ids) < s.dueBatch || progress == 0 {
			return moved, nil
		}
	}
}
