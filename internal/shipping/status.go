package shipping

import (
	"fmt"
	"slices"
)

// Status is where a shipment is in its life.
type Status string

// The statuses of a shipment. A shipment starts with its label created,
// goes in transit when the carrier picks it up and ends delivered; it can
// be cancelled only before it is in transit. Delivered and cancelled are
// final.
const (
	StatusLabelCreated Status = "label_created"
	StatusInTransit    Status = "in_transit"
	StatusDelivered    Status = "delivered"
	StatusCancelled    Status = "cancelled"
)

// Statuses lists every status in the order a shipment goes through them.
func Statuses() []Status {
	return []Status{StatusLabelCreated, StatusInTransit, StatusDelivered, StatusCancelled}
}

// transitions is the whole state machine: the statuses each status may
// move to. A status missing from it is final.
var transitions = map[Status][]Status{
	StatusLabelCreated: {StatusInTransit, StatusCancelled},
	StatusInTransit:    {StatusDelivered},
}

// Valid reports whether s is one of the statuses.
func (s Status) Valid() bool { return slices.Contains(Statuses(), s) }

// Final reports whether a shipment in s can no longer change.
func (s Status) Final() bool { return len(transitions[s]) == 0 }

// Next is the status the carrier moves a shipment in s to next; ok is
// false when s is final.
func (s Status) Next() (next Status, ok bool) {
	switch s {
	case StatusLabelCreated:
		return StatusInTransit, true
	case StatusInTransit:
		return StatusDelivered, true
	}
	return "", false
}

// CanTransition reports whether a shipment may move from one status to
// another.
func CanTransition(from, to Status) bool { return slices.Contains(transitions[from], to) }

// TransitionError is a refused status change. It wraps
// ErrInvalidTransition.
type TransitionError struct {
	From, To Status
}

func (e *TransitionError) Error() string {
	if e.To == "" {
		return fmt.Sprintf("shipping: a %s shipment has no next status", e.From)
	}
	return fmt.Sprintf("shipping: a %s shipment cannot become %s", e.From, e.To)
}

// Unwrap makes errors.Is(err, ErrInvalidTransition) hold.
func (e *TransitionError) Unwrap() error { return ErrInvalidTransition }
