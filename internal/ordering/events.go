package ordering

import (
	"time"

	"github.com/google/uuid"
)

// Event is a domain event of an order, keyed by the order's ID. Each is a
// step of the checkout saga that other services act on.
type Event interface {
	Key() uuid.UUID
	OccurredAt() time.Time
	isEvent()
}

// OrderPlaced starts the saga: inventory reserves the lines until
// ReservationExpiresAt, and the cart is checked out.
type OrderPlaced struct {
	OrderID              uuid.UUID
	CustomerID           string
	CartID               uuid.UUID
	Lines                []Line
	Total                Money
	Email                string
	Address              Address
	ReservationExpiresAt time.Time
	At                   time.Time
}

// PaymentRequested asks payment to authorize Amount with PaymentToken.
type PaymentRequested struct {
	OrderID      uuid.UUID
	CustomerID   string
	Amount       Money
	PaymentToken string
	At           time.Time
}

// OrderConfirmed: stock reserved and payment authorized; shipping creates
// the shipment.
type OrderConfirmed struct {
	OrderID    uuid.UUID
	CustomerID string
	Lines      []Line
	Address    Address
	Total      Money
	PaymentID  string
	At         time.Time
}

// OrderShipped: the carrier has the parcel; payment captures and inventory
// commits the stock. It is published again when the capture's deadline
// passes, to retry the idempotent capture.
type OrderShipped struct {
	OrderID        uuid.UUID
	CustomerID     string
	ShipmentID     string
	Carrier        string
	TrackingNumber string
	At             time.Time
}

// OrderCompleted: shipped and paid.
type OrderCompleted struct {
	OrderID    uuid.UUID
	CustomerID string
	Total      Money
	At         time.Time
}

// OrderRejected: the order could not be confirmed and nothing was charged.
// Step is the step the saga was in.
type OrderRejected struct {
	OrderID    uuid.UUID
	CustomerID string
	Code       EndCode
	Reason     string
	Step       Step
	At         time.Time
}

// OrderCancelled: every participant undoes its part; Refund asks payment
// to refund a captured amount. Step is the step the saga was in.
type OrderCancelled struct {
	OrderID    uuid.UUID
	CustomerID string
	Code       EndCode
	Reason     string
	Step       Step
	Refund     bool
	Total      Money
	At         time.Time
}

func (e OrderPlaced) Key() uuid.UUID      { return e.OrderID }
func (e PaymentRequested) Key() uuid.UUID { return e.OrderID }
func (e OrderConfirmed) Key() uuid.UUID   { return e.OrderID }
func (e OrderShipped) Key() uuid.UUID     { return e.OrderID }
func (e OrderCompleted) Key() uuid.UUID   { return e.OrderID }
func (e OrderRejected) Key() uuid.UUID    { return e.OrderID }
func (e OrderCancelled) Key() uuid.UUID   { return e.OrderID }

func (e OrderPlaced) OccurredAt() time.Time      { return e.At }
func (e PaymentRequested) OccurredAt() time.Time { return e.At }
func (e OrderConfirmed) OccurredAt() time.Time   { return e.At }
func (e OrderShipped) OccurredAt() time.Time     { return e.At }
func (e OrderCompleted) OccurredAt() time.Time   { return e.At }
func (e OrderRejected) OccurredAt() time.Time    { return e.At }
func (e OrderCancelled) OccurredAt() time.Time   { return e.At }

func (OrderPlaced) isEvent()      {}
func (PaymentRequested) isEvent() {}
func (OrderConfirmed) isEvent()   {}
func (OrderShipped) isEvent()     {}
func (OrderCompleted) isEvent()   {}
func (OrderRejected) isEvent()    {}
func (OrderCancelled) isEvent()   {}
