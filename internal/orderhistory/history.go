package orderhistory

import (
	"slices"
	"time"
)

// Summary is an order as its customer sees it in the list: computed from
// the order's timeline by History.Summary.
type Summary struct {
	OrderID    string
	CustomerID string
	// Placed reports whether the order.placed entry is there; until it
	// is, the order is not visible and the other fields are partial.
	Placed bool
	// Status is empty until an ordering entry sets it.
	Status   Status
	Lines    []Line
	Total    Money
	Refunded Money
	// Carrier and TrackingNumber are the shipment's, once known.
	Carrier        string
	TrackingNumber string
	// EndReason is set for rejected and cancelled orders.
	EndReason EndReason
	PlacedAt  time.Time
	// UpdatedAt is when the latest recorded step happened.
	UpdatedAt time.Time
	// Entries is how many entries the timeline has; it grows with every
	// recorded step, so it versions the history.
	Entries int
}

// History is one order's timeline and the summary it implies. The zero
// value is not usable; use NewHistory.
type History struct {
	orderID string
	entries []Entry // sorted by occurred_at, then event ID
	ids     map[string]bool
}

// NewHistory returns the history of orderID made of entries (in any
// order; a repeated event ID counts once). Every entry must be valid and
// of orderID.
func NewHistory(orderID string, entries ...Entry) (*History, error) {
	if err := ValidateOrderID(orderID); err != nil {
		return nil, err
	}
	h := &History{orderID: orderID, ids: make(map[string]bool, len(entries))}
	for _, e := range entries {
		if _, err := h.Add(e); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// OrderID returns the order's ID.
func (h *History) OrderID() string { return h.orderID }

// Add records e unless an entry with its event ID is there; added says
// whether it did. e must be valid and of the history's order.
func (h *History) Add(e Entry) (added bool, err error) {
	if err := e.Validate(); err != nil {
		return false, err
	}
	if e.OrderID != h.orderID {
		return false, invalid("entry %s is of order %s, not %s", e.EventID, e.OrderID, h.orderID)
	}
	if h.ids[e.EventID] {
		return false, nil
	}
	h.ids[e.EventID] = true
	e.Lines = cloneLines(e.Lines)
	// Times are kept to the microsecond, as stores keep them, so that a
	// history reads back exactly as it was built.
	e.OccurredAt = e.OccurredAt.UTC().Truncate(time.Microsecond)
	i, _ := slices.BinarySearchFunc(h.entries, e, compareEntries)
	h.entries = slices.Insert(h.entries, i, e)
	return true, nil
}

// Has reports whether the history has an entry of eventID.
func (h *History) Has(eventID string) bool { return h.ids[eventID] }

// Timeline returns the entries, oldest first (ties by event ID).
func (h *History) Timeline() []Entry {
	out := make([]Entry, len(h.entries))
	for i, e := range h.entries {
		e.Lines = cloneLines(e.Lines)
		out[i] = e
	}
	return out
}

// Visible reports whether the order can be shown: its order.placed entry
// is there.
func (h *History) Visible() bool { return h.Summary().Placed }

// Summary folds the timeline into the order's summary. The status comes
// from ordering's entries only, in timeline order; order.placed sets
// pending only when no later ordering step did (it cannot move an order
// back). Tracking is the latest one any entry names; the refunded amount
// the highest running total of payment.refunded; UpdatedAt the time of
// the latest entry.
func (h *History) Summary() Summary {
	s := Summary{OrderID: h.orderID, Entries: len(h.entries)}
	var refunded Money
	for _, e := range h.entries {
		f := e.Facts
		s.UpdatedAt = maxTime(s.UpdatedAt, e.OccurredAt)
		if s.CustomerID == "" { // until order.placed names the customer
			s.CustomerID = e.CustomerID
		}
		if f.TrackingNumber != "" {
			s.Carrier, s.TrackingNumber = f.Carrier, f.TrackingNumber
		}
		switch e.Type {
		case OrderPlaced:
			s.Placed = true
			s.CustomerID = e.CustomerID
			s.Lines = cloneLines(e.Lines)
			s.Total = f.Amount
			s.PlacedAt = e.OccurredAt
			if s.Status == "" {
				s.Status = StatusPending
			}
		case OrderConfirmed:
			s.Status = StatusConfirmed
		case OrderShipped:
			s.Status = StatusShipped
		case OrderCompleted:
			s.Status = StatusCompleted
		case OrderRejected:
			s.Status = StatusRejected
			s.EndReason = EndReason{Code: f.Code, Reason: f.Reason}
		case OrderCancelled:
			s.Status = StatusCancelled
			s.EndReason = EndReason{Code: f.Code, Reason: f.Reason}
		case PaymentRefunded:
			total := f.RefundedTotal
			if total.IsZero() {
				total = f.Amount
			}
			if refunded.IsZero() || total.Amount > refunded.Amount {
				refunded = total
			}
		}
	}
	s.Refunded = refunded
	if s.Refunded.IsZero() {
		s.Refunded = Money{Currency: s.Total.Currency}
	}
	return s
}

// cloneLines copies lines; no lines is nil.
func cloneLines(lines []Line) []Line {
	if len(lines) == 0 {
		return nil
	}
	return slices.Clone(lines)
}
