package shipping

import (
	"slices"
	"time"
)

// Event is a domain event of a shipment. Key is the shipment ID, so that
// one shipment's events stay in order.
type Event interface {
	Key() string
	isEvent()
}

// ShipmentCreated: the carrier labelled an order's shipment.
type ShipmentCreated struct {
	ShipmentID string
	OrderID    string
	CustomerID string
	Label      Label
	Address    Address
	Lines      []Line
	OccurredAt time.Time
}

// ShipmentShipped: the carrier picked the shipment up; it is in transit.
type ShipmentShipped struct {
	ShipmentID string
	OrderID    string
	Label      Label
	OccurredAt time.Time
}

// ShipmentDelivered: the carrier delivered the shipment.
type ShipmentDelivered struct {
	ShipmentID string
	OrderID    string
	Label      Label
	OccurredAt time.Time
}

// ShipmentCancelled: the shipment was cancelled before it left.
type ShipmentCancelled struct {
	ShipmentID string
	OrderID    string
	Label      Label
	OccurredAt time.Time
}

// Key implements Event.
func (e ShipmentCreated) Key() string { return e.ShipmentID }

// Key implements Event.
func (e ShipmentShipped) Key() string { return e.ShipmentID }

// Key implements Event.
func (e ShipmentDelivered) Key() string { return e.ShipmentID }

// Key implements Event.
func (e ShipmentCancelled) Key() string { return e.ShipmentID }

func (ShipmentCreated) isEvent()   {}
func (ShipmentShipped) isEvent()   {}
func (ShipmentDelivered) isEvent() {}
func (ShipmentCancelled) isEvent() {}

func cloneLines(lines []Line) []Line { return slices.Clone(lines) }
