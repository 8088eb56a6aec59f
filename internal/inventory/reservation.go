package inventory

import (
	"slices"
	"time"
)

// ReservationStatus is where a reservation is in its life.
type ReservationStatus string

// The states of a reservation. Active holds stock; released gave it back;
// committed took it out of stock on hand (shipped). Released and committed
// are final.
const (
	StatusActive    ReservationStatus = "active"
	StatusReleased  ReservationStatus = "released"
	StatusCommitted ReservationStatus = "committed"
)

// ReasonExpired is the release reason of a reservation that passed its
// expiry.
const ReasonExpired = "expired"

// Reservation holds an order's lines in warehouses. There is at most one per
// order: reserving an order again returns the existing reservation.
type Reservation struct {
	orderID     string
	status      ReservationStatus
	reason      string
	allocations []Allocation
	expiresAt   time.Time
	createdAt   time.Time
	updatedAt   time.Time
	version     int64

	pending []Event
}

// NewReservation returns the active reservation of req over the planned
// allocations, with its StockReserved event pending.
func NewReservation(req ReservationRequest, allocations []Allocation) Reservation {
	r := Reservation{
		orderID: req.OrderID, status: StatusActive, allocations: slices.Clone(allocations),
		expiresAt: req.ExpiresAt, createdAt: req.At, updatedAt: req.At,
	}
	r.pending = append(r.pending, StockReserved{OrderID: r.orderID, Allocations: r.Allocations(), ExpiresAt: r.expiresAt, OccurredAt: req.At})
	return r
}

// RestoreReservation rebuilds a reservation from storage.
func RestoreReservation(orderID string, status ReservationStatus, reason string, allocations []Allocation,
	expiresAt, createdAt, updatedAt time.Time, version int64) (Reservation, error) {
	if err := ValidateOrderID(orderID); err != nil {
		return Reservation{}, err
	}
	switch status {
	case StatusActive, StatusReleased, StatusCommitted:
	default:
		return Reservation{}, invalid("reservation status %q", status)
	}
	return Reservation{orderID: orderID, status: status, reason: reason, allocations: slices.Clone(allocations),
		expiresAt: expiresAt, createdAt: createdAt, updatedAt: updatedAt, version: version}, nil
}

// OrderID is the order the reservation belongs to.
func (r *Reservation) OrderID() string { return r.orderID }

// Status is the reservation's state.
func (r *Reservation) Status() ReservationStatus { return r.status }

// Reason says why a released reservation was released.
func (r *Reservation) Reason() string { return r.reason }

// Allocations are the held quantities per SKU and warehouse.
func (r *Reservation) Allocations() []Allocation { return slices.Clone(r.allocations) }

// ExpiresAt is when an active reservation is released unless committed.
func (r *Reservation) ExpiresAt() time.Time { return r.expiresAt }

// CreatedAt is when the stock was reserved.
func (r *Reservation) CreatedAt() time.Time { return r.createdAt }

// UpdatedAt is when the reservation last changed.
func (r *Reservation) UpdatedAt() time.Time { return r.updatedAt }

// Version counts the reservation's stored changes (optimistic
// concurrency); 0 before it is first stored.
func (r *Reservation) Version() int64 { return r.version }

// Expired reports whether an active reservation is past its expiry at now.
func (r *Reservation) Expired(now time.Time) bool {
	return r.status == StatusActive && !now.Before(r.expiresAt)
}

// Release gives the held stock back. Releasing a released reservation
// again changes nothing; releasing a committed one is ErrReservationClosed.
func (r *Reservation) Release(reason string, now time.Time) error {
	switch r.status {
	case StatusReleased:
		return nil
	case StatusCommitted:
		return ErrReservationClosed
	}
	if reason == "" || len(reason) > MaxNoteLength {
		return invalid("release reason must be 1-%d bytes", MaxNoteLength)
	}
	r.status, r.reason, r.updatedAt = StatusReleased, reason, now
	r.pending = append(r.pending, StockReleased{OrderID: r.orderID, Allocations: r.Allocations(), Reason: reason, OccurredAt: now})
	return nil
}

// Commit takes the held stock out of stock on hand (the order shipped).
// Committing again changes nothing; committing a released reservation is
// ErrReservationClosed.
func (r *Reservation) Commit(now time.Time) error {
	switch r.status {
	case StatusCommitted:
		return nil
	case StatusReleased:
		return ErrReservationClosed
	}
	r.status, r.updatedAt = StatusCommitted, now
	r.pending = append(r.pending, StockCommitted{OrderID: r.orderID, Allocations: r.Allocations(), OccurredAt: now})
	return nil
}

// Changed reports whether the reservation has changes not yet stored.
func (r *Reservation) Changed() bool { return len(r.pending) > 0 }

// Events returns the events of the changes not yet stored.
func (r *Reservation) Events() []Event { return slices.Clone(r.pending) }

// Stored clears the pending events and moves to the next version; adapters
// call it after they stored the changes.
func (r *Reservation) Stored() {
	if len(r.pending) > 0 {
		r.version++
	}
	r.pending = nil
}

// LevelDelta is how a transition changes one warehouse's level.
type LevelDelta struct {
	SKU       string
	Warehouse string
	OnHand    int64
	Reserved  int64
}

// Deltas returns the level changes of the transition into the current
// status: releasing lowers reserved; committing lowers on hand and
// reserved alike (available stays). Sorted by SKU, then warehouse.
func (r *Reservation) Deltas() []LevelDelta {
	out := make([]LevelDelta, 0, len(r.allocations))
	for _, a := range r.allocations {
		d := LevelDelta{SKU: a.SKU, Warehouse: a.Warehouse}
		switch r.status {
		case StatusActive:
			d.Reserved = a.Quantity
		case StatusReleased:
			d.Reserved = -a.Quantity
		case StatusCommitted:
			d.OnHand, d.Reserved = -a.Quantity, -a.Quantity
		}
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b LevelDelta) int {
		if a.SKU != b.SKU {
			if a.SKU < b.SKU {
				return -1
			}
			return 1
		}
		switch {
		case a.Warehouse < b.Warehouse:
			return -1
		case a.Warehouse > b.Warehouse:
			return 1
		}
		return 0
	})
	return out
}
