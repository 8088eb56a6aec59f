package inventory

import "time"

// Event is a domain event of the inventory. Key is the aggregate it is
// ordered by: the SKU for stock events, the order ID for reservation events.
type Event interface {
	Key() string
	isEvent()
}

// StockReceived: stock arrived in a warehouse.
type StockReceived struct {
	SKU        string
	Quantity   int64
	Level      Level
	Note       string
	OccurredAt time.Time
}

// StockAdjusted: a warehouse's stock on hand was set to a counted value.
type StockAdjusted struct {
	SKU            string
	PreviousOnHand int64
	Level          Level
	Reason         AdjustmentReason
	Note           string
	OccurredAt     time.Time
}

// StockReserved: every line of an order is held.
type StockReserved struct {
	OrderID     string
	Allocations []Allocation
	ExpiresAt   time.Time
	OccurredAt  time.Time
}

// ReservationRejected: an order could not be reserved; nothing was held.
type ReservationRejected struct {
	OrderID    string
	Short      []Shortage
	OccurredAt time.Time
}

// StockReleased: an order's reservation was given back.
type StockReleased struct {
	OrderID     string
	Allocations []Allocation
	Reason      string
	OccurredAt  time.Time
}

// StockCommitted: an order's reserved stock left with its shipment.
type StockCommitted struct {
	OrderID     string
	Allocations []Allocation
	OccurredAt  time.Time
}

// LowStock: a SKU's available stock dropped below its threshold.
type LowStock struct {
	SKU        string
	Available  int64
	Threshold  int64
	OccurredAt time.Time
}

// Key implements Event.
func (e StockReceived) Key() string { return e.SKU }

// Key implements Event.
func (e StockAdjusted) Key() string { return e.SKU }

// Key implements Event.
func (e StockReserved) Key() string { return e.OrderID }

// Key implements Event.
func (e ReservationRejected) Key() string { return e.OrderID }

// Key implements Event.
func (e StockReleased) Key() string { return e.OrderID }

// Key implements Event.
func (e StockCommitted) Key() string { return e.OrderID }

// Key implements Event.
func (e LowStock) Key() string { return e.SKU }

func (StockReceived) isEvent()       {}
func (StockAdjusted) isEvent()       {}
func (StockReserved) isEvent()       {}
func (ReservationRejected) isEvent() {}
func (StockReleased) isEvent()       {}
func (StockCommitted) isEvent()      {}
func (LowStock) isEvent()            {}
