// Package app holds the shipping service's use cases — request an order's
// shipment, cancel it before it leaves, move it along as the carrier
// reports, and let a carrier that schedules its own steps advance due
// shipments — and the ports they need: a Repository and a Carrier.
package app

import (
	"context"
	"time"

	"github.com/agoracommerce/agora/internal/shipping"
)

// Repository keeps shipments. Every method that changes a shipment writes
// its events (shipping.Event) to the outbox in the same transaction, or
// changes nothing. Implementations are safe for concurrent use.
type Repository interface {
	// Create stores a new shipment with its events. When the order already
	// has a shipment it returns that one with created false and writes
	// nothing, so there is never more than one shipment per order.
	Create(ctx context.Context, sh shipping.Shipment) (stored shipping.Shipment, created bool, err error)
	// Shipment returns the shipment with id, or shipping.ErrNotFound.
	Shipment(ctx context.Context, id string) (shipping.Shipment, error)
	// ShipmentOfOrder returns the order's shipment, or shipping.ErrNotFound.
	ShipmentOfOrder(ctx context.Context, orderID string) (shipping.Shipment, error)
	// Update loads the shipment, applies fn and, when fn changed it, stores
	// the new state with its events, all in one transaction that fails
	// when a concurrent change stored first (fn then runs again on the new
	// state). Errors: shipping.ErrNotFound, fn's errors,
	// shipping.ErrConflict when retries ran out.
	Update(ctx context.Context, id string, fn func(*shipping.Shipment) error) (shipping.Shipment, error)
	// Due returns up to limit IDs of shipments whose next step is
	// scheduled at or before now, the earliest first.
	Due(ctx context.Context, now time.Time, limit int) ([]string, error)
}

// LabelRequest is what a carrier needs to label a shipment.
type LabelRequest struct {
	ShipmentID string
	OrderID    string
	Address    shipping.Address
	Lines      []shipping.Line
}

// Carrier is the company that carries shipments. Implementations are safe
// for concurrent use; errors worth retrying are marked with
// fault.Retryable.
type Carrier interface {
	// CreateLabel books the shipment and returns its label. Calling it
	// again for the same shipment ID returns the same label.
	CreateLabel(ctx context.Context, req LabelRequest) (shipping.Label, error)
	// VoidLabel cancels a label of a shipment that has not been picked up.
	// Voiding a voided label succeeds.
	VoidLabel(ctx context.Context, label shipping.Label) error
	// NextStepAt returns when a shipment that entered status at since is
	// due to take its next step, for carriers that move shipments on a
	// schedule (the simulated carrier); ok is false when the carrier
	// schedules nothing for that status.
	NextStepAt(status shipping.Status, since time.Time) (at time.Time, ok bool)
}
