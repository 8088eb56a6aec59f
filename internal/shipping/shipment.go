package shipping

import (
	"slices"
	"time"
)

// Request is a validated request to ship an order: what the checkout saga
// asks for once the order is confirmed.
type Request struct {
	ShipmentID string
	OrderID    string
	CustomerID string
	Address    Address
	Lines      []Line
	At         time.Time
}

// NewRequest validates a shipment request; id is the new shipment's ID.
func NewRequest(id, orderID, customerID string, address Address, lines []Line, at time.Time) (Request, error) {
	if err := ValidateShipmentID(id); err != nil {
		return Request{}, err
	}
	if err := ValidateOrderID(orderID); err != nil {
		return Request{}, err
	}
	if err := ValidateCustomerID(customerID); err != nil {
		return Request{}, err
	}
	if err := address.Validate(); err != nil {
		return Request{}, err
	}
	if err := ValidateLines(lines); err != nil {
		return Request{}, err
	}
	return Request{ShipmentID: id, OrderID: orderID, CustomerID: customerID, Address: address, Lines: cloneLines(lines), At: at}, nil
}

// Shipment is an order's shipment. There is at most one per order.
type Shipment struct {
	s       Snapshot
	dirty   bool
	pending []Event
}

// Snapshot is the whole state of a shipment, as adapters store it.
type Snapshot struct {
	ID         string
	OrderID    string
	CustomerID string
	Status     Status
	Label      Label
	Address    Address
	Lines      []Line
	// NextStepAt is when the carrier is due to move the shipment on; zero
	// when nothing is scheduled.
	NextStepAt  time.Time
	ShippedAt   time.Time
	DeliveredAt time.Time
	CancelledAt time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// Version counts the stored changes; 0 before the shipment is first
	// stored.
	Version int64
}

// NewShipment returns the shipment of req labelled by the carrier, in
// status label_created, with its ShipmentCreated event pending.
func NewShipment(req Request, label Label) (Shipment, error) {
	if err := label.Validate(); err != nil {
		return Shipment{}, err
	}
	sh := Shipment{s: Snapshot{
		ID: req.ShipmentID, OrderID: req.OrderID, CustomerID: req.CustomerID, Status: StatusLabelCreated,
		Label: label, Address: req.Address, Lines: cloneLines(req.Lines), CreatedAt: req.At, UpdatedAt: req.At,
	}, dirty: true}
	sh.pending = append(sh.pending, ShipmentCreated{ShipmentID: req.ShipmentID, OrderID: req.OrderID, CustomerID: req.CustomerID,
		Label: label, Address: req.Address, Lines: cloneLines(req.Lines), OccurredAt: req.At})
	return sh, nil
}

// RestoreShipment rebuilds a shipment from storage, checking that the
// snapshot is one the domain could have produced.
func RestoreShipment(s Snapshot) (Shipment, error) {
	if err := ValidateShipmentID(s.ID); err != nil {
		return Shipment{}, err
	}
	if err := ValidateOrderID(s.OrderID); err != nil {
		return Shipment{}, err
	}
	if !s.Status.Valid() {
		return Shipment{}, invalid("shipment status %q", s.Status)
	}
	if s.Version < 1 {
		return Shipment{}, invalid("shipment version %d", s.Version)
	}
	if s.Status.Final() && !s.NextStepAt.IsZero() {
		return Shipment{}, invalid("a %s shipment has a next step", s.Status)
	}
	s.Lines = cloneLines(s.Lines)
	return Shipment{s: s}, nil
}

// Snapshot returns the shipment's state.
func (sh *Shipment) Snapshot() Snapshot {
	s := sh.s
	s.Lines = cloneLines(s.Lines)
	return s
}

// ID is the shipment's ID.
func (sh *Shipment) ID() string { return sh.s.ID }

// OrderID is the order the shipment belongs to.
func (sh *Shipment) OrderID() string { return sh.s.OrderID }

// CustomerID is the customer who placed the order; the shipment's owner.
func (sh *Shipment) CustomerID() string { return sh.s.CustomerID }

// Status is where the shipment is.
func (sh *Shipment) Status() Status { return sh.s.Status }

// Label is the carrier's label: carrier, tracking number and label ID.
func (sh *Shipment) Label() Label { return sh.s.Label }

// Address is where the shipment goes.
func (sh *Shipment) Address() Address { return sh.s.Address }

// Lines are the shipped SKUs and quantities.
func (sh *Shipment) Lines() []Line { return cloneLines(sh.s.Lines) }

// NextStepAt is when the carrier is due to move the shipment on; zero when
// nothing is scheduled.
func (sh *Shipment) NextStepAt() time.Time { return sh.s.NextStepAt }

// ShippedAt is when the shipment went in transit; zero before.
func (sh *Shipment) ShippedAt() time.Time { return sh.s.ShippedAt }

// DeliveredAt is when the shipment was delivered; zero before.
func (sh *Shipment) DeliveredAt() time.Time { return sh.s.DeliveredAt }

// CancelledAt is when the shipment was cancelled; zero unless cancelled.
func (sh *Shipment) CancelledAt() time.Time { return sh.s.CancelledAt }

// CreatedAt is when the label was created.
func (sh *Shipment) CreatedAt() time.Time { return sh.s.CreatedAt }

// UpdatedAt is when the shipment last changed.
func (sh *Shipment) UpdatedAt() time.Time { return sh.s.UpdatedAt }

// Version identifies this state of the shipment (its ETag).
func (sh *Shipment) Version() int64 { return sh.s.Version }

// Due reports whether the carrier's next step is scheduled at or before
// now.
func (sh *Shipment) Due(now time.Time) bool {
	return !sh.s.NextStepAt.IsZero() && !now.Before(sh.s.NextStepAt)
}

// Schedule sets when the carrier is due to move the shipment on; the zero
// time clears it. A final shipment takes no schedule.
func (sh *Shipment) Schedule(at time.Time) error {
	if sh.s.Status.Final() && !at.IsZero() {
		return &TransitionError{From: sh.s.Status}
	}
	if !at.Equal(sh.s.NextStepAt) {
		sh.s.NextStepAt, sh.dirty = at, true
	}
	return nil
}

// Advance moves the shipment to its next status (label_created to
// in_transit to delivered), clearing its schedule. A final shipment cannot
// advance: *TransitionError.
func (sh *Shipment) Advance(now time.Time) error {
	next, ok := sh.s.Status.Next()
	if !ok {
		return &TransitionError{From: sh.s.Status}
	}
	return sh.transition(next, now)
}

// Cancel cancels a shipment that has not left yet. Cancelling a cancelled
// shipment changes nothing; once in transit it is a *TransitionError.
func (sh *Shipment) Cancel(now time.Time) error {
	if sh.s.Status == StatusCancelled {
		return nil
	}
	return sh.transition(StatusCancelled, now)
}

// transition applies one edge of the state machine and records its event.
func (sh *Shipment) transition(to Status, now time.Time) error {
	if !CanTransition(sh.s.Status, to) {
		return &TransitionError{From: sh.s.Status, To: to}
	}
	s := &sh.s
	s.Status, s.UpdatedAt, s.NextStepAt = to, now, time.Time{}
	var ev Event
	switch to {
	case StatusInTransit:
		s.ShippedAt = now
		ev = ShipmentShipped{ShipmentID: s.ID, OrderID: s.OrderID, Label: s.Label, OccurredAt: now}
	case StatusDelivered:
		s.DeliveredAt = now
		ev = ShipmentDelivered{ShipmentID: s.ID, OrderID: s.OrderID, Label: s.Label, OccurredAt: now}
	case StatusCancelled:
		s.CancelledAt = now
		ev = ShipmentCancelled{ShipmentID: s.ID, OrderID: s.OrderID, Label: s.Label, OccurredAt: now}
	}
	sh.pending = append(sh.pending, ev)
	sh.dirty = true
	return nil
}

// Changed reports whether the shipment has changes not yet stored.
func (sh *Shipment) Changed() bool { return sh.dirty }

// Events returns the events of the changes not yet stored.
func (sh *Shipment) Events() []Event { return slices.Clone(sh.pending) }

// Stored clears the pending changes and moves to the next version;
// adapters call it after they stored the changes.
func (sh *Shipment) Stored() {
	if sh.dirty {
		sh.s.Version++
	}
	sh.dirty, sh.pending = false, nil
}
