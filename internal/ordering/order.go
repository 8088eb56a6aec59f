package ordering

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Status is where an order stands for its customer.
type Status string

// The statuses of an order. REJECTED and CANCELLED are final; COMPLETED is
// final unless an operator cancels the order (to refund it).
const (
	StatusPending   Status = "PENDING"
	StatusConfirmed Status = "CONFIRMED"
	StatusShipped   Status = "SHIPPED"
	StatusCompleted Status = "COMPLETED"
	StatusRejected  Status = "REJECTED"
	StatusCancelled Status = "CANCELLED"
)

// Statuses returns every status, in the order of the saga.
func Statuses() []Status {
	return []Status{StatusPending, StatusConfirmed, StatusShipped, StatusCompleted, StatusRejected, StatusCancelled}
}

// Step is the step of the checkout saga an order waits in.
type Step string

// The steps of the saga. Every step but StepDone has a deadline.
const (
	StepReservingStock     Step = "reserving_stock"
	StepAuthorizingPayment Step = "authorizing_payment"
	StepShipping           Step = "shipping"
	StepCapturingPayment   Step = "capturing_payment"
	StepDone               Step = "done"
)

// State is an order's place in the saga: its status and step together.
type State struct {
	Status Status
	Step   Step
}

func (s State) String() string { return string(s.Status) + "/" + string(s.Step) }

// EndCode says why an order was rejected or cancelled.
type EndCode string

// The end codes.
const (
	EndOutOfStock       EndCode = "OUT_OF_STOCK"
	EndPaymentDeclined  EndCode = "PAYMENT_DECLINED"
	EndPaymentFailed    EndCode = "PAYMENT_FAILED"
	EndDeadlineExceeded EndCode = "DEADLINE_EXCEEDED"
	EndCustomerRequest  EndCode = "CUSTOMER_REQUEST"
	EndOperatorRequest  EndCode = "OPERATOR_REQUEST"
)

// EndReason is why an order was rejected or cancelled: its code and a
// human-readable message.
type EndReason struct {
	Code    EndCode
	Message string
}

// Limits of an order's values.
const (
	MaxLines                = 100
	MaxQuantity             = 10_000
	MaxSKULength            = 64
	MaxNameLength           = 200
	MaxCustomerIDLength     = 128
	MaxPaymentTokenLength   = 64
	MaxPaymentIDLength      = 64
	MaxShipmentIDLength     = 64
	MaxCarrierLength        = 64
	MaxTrackingNumberLength = 128
)

// Line is one product of an order at the unit price the customer saw.
type Line struct {
	ProductID uuid.UUID
	SKU       string
	Name      string
	Quantity  int64
	UnitPrice Money
}

// Total returns Quantity times UnitPrice.
func (l Line) Total() (Money, error) { return l.UnitPrice.Times(l.Quantity) }

func (l Line) validate(i int, currency string) error {
	field := fmt.Sprintf("/lines/%d", i)
	switch {
	case l.ProductID == uuid.Nil:
		return invalid(field+"/product_id", "is required")
	case l.SKU == "" || len(l.SKU) > MaxSKULength:
		return invalid(field+"/sku", fmt.Sprintf("must be 1-%d bytes", MaxSKULength))
	case l.Quantity < 1 || l.Quantity > MaxQuantity:
		return invalid(field+"/quantity", fmt.Sprintf("must be 1-%d", MaxQuantity))
	case l.UnitPrice.IsZero():
		return invalid(field+"/unit_price", "is required")
	case l.UnitPrice.Currency() != currency:
		return fmt.Errorf("%w: line %d is in %s, the order in %s", ErrCurrencyMismatch, i, l.UnitPrice.Currency(), currency)
	}
	return checkText(field+"/name", l.Name, false, MaxNameLength)
}

// sumLines checks lines (one currency, at most MaxLines) and returns their
// total.
func sumLines(lines []Line) (Money, error) {
	if len(lines) == 0 || len(lines) > MaxLines {
		return Money{}, invalid("/lines", fmt.Sprintf("must have 1-%d lines", MaxLines))
	}
	currency := lines[0].UnitPrice.Currency()
	if err := CheckCurrency(currency); err != nil {
		return Money{}, err
	}
	total := Money{currency: currency}
	seen := make(map[uuid.UUID]bool, len(lines))
	for i, l := range lines {
		if err := l.validate(i, currency); err != nil {
			return Money{}, err
		}
		if seen[l.ProductID] {
			return Money{}, invalid(fmt.Sprintf("/lines/%d/product_id", i), "appears on two lines")
		}
		seen[l.ProductID] = true
		lt, err := l.Total()
		if err != nil {
			return Money{}, err
		}
		if total, err = total.Add(lt); err != nil {
			return Money{}, err
		}
	}
	if total.Amount() <= 0 {
		return Money{}, invalid("/total", "must be positive")
	}
	return total, nil
}

func checkID(field, v string, required bool, max int) error {
	if (required && v == "") || len(v) > max || strings.IndexFunc(v, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
		return invalid(field, fmt.Sprintf("must be 1-%d printable ASCII characters", max))
	}
	return nil
}

// Order is the ordering service's aggregate: what a customer bought from
// one cart, where it goes, and how far its checkout saga got. Its fields
// change only through Place and Apply, which follow the state machine.
// Version grows by one with every stored change; it is the order's ETag.
// Not safe for concurrent use.
type Order struct {
	id                   uuid.UUID
	customerID           string
	cartID               uuid.UUID
	state                State
	lines                []Line
	total                Money
	address              Address
	email                string
	paymentToken         string
	paymentID            string
	shipmentID           string
	carrier              string
	trackingNumber       string
	endReason            EndReason
	refunded             bool
	version              int64
	createdAt            time.Time
	updatedAt            time.Time
	deadline             time.Time
	reservationExpiresAt time.Time
}

// Snapshot is an order's full stored state.
type Snapshot struct {
	ID         uuid.UUID
	CustomerID string
	CartID     uuid.UUID
	Status     Status
	Step       Step
	Lines      []Line
	Address    Address
	Email      string
	// PaymentToken is kept only until payment is asked to authorize.
	PaymentToken         string
	PaymentID            string
	ShipmentID           string
	Carrier              string
	TrackingNumber       string
	EndReason            EndReason
	Refunded             bool
	Version              int64
	CreatedAt            time.Time
	UpdatedAt            time.Time
	DeadlineAt           time.Time
	ReservationExpiresAt time.Time
}

// Restore rebuilds a stored order and checks that its state is one the
// machine can reach.
func Restore(s Snapshot) (*Order, error) {
	if s.ID == uuid.Nil || s.CartID == uuid.Nil || s.Version < 1 {
		return nil, invalid("/id", "a stored order needs an ID, a cart ID and a version")
	}
	if err := checkID("/customer_id", s.CustomerID, true, MaxCustomerIDLength); err != nil {
		return nil, err
	}
	state := State{s.Status, s.Step}
	if _, ok := machine[state]; !ok {
		return nil, invalid("/status", "unknown state "+state.String())
	}
	total, err := sumLines(s.Lines)
	if err != nil {
		return nil, err
	}
	if err := s.Address.Validate(); err != nil {
		return nil, err
	}
	if err := CheckEmail(s.Email); err != nil {
		return nil, err
	}
	reserving := state == State{StatusPending, StepReservingStock}
	switch {
	case reserving != (s.PaymentToken != ""):
		return nil, invalid("/payment_token", "is kept exactly while the stock is being reserved")
	case (s.Step == StepDone) != s.DeadlineAt.IsZero():
		return nil, invalid("/deadline_at", "is set exactly while a step is under way")
	case (s.Status == StatusRejected || s.Status == StatusCancelled) != (s.EndReason.Code != ""):
		return nil, invalid("/end_reason", "is set exactly for rejected and cancelled orders")
	case s.Refunded && s.Status != StatusCancelled:
		return nil, invalid("/refunded", "only a cancelled order is refunded")
	}
	for _, f := range []struct {
		field, v string
		max      int
	}{
		{"/payment_token", s.PaymentToken, MaxPaymentTokenLength}, {"/payment_id", s.PaymentID, MaxPaymentIDLength},
		{"/shipment_id", s.ShipmentID, MaxShipmentIDLength}, {"/carrier", s.Carrier, MaxCarrierLength},
		{"/tracking_number", s.TrackingNumber, MaxTrackingNumberLength},
	} {
		if err := checkID(f.field, f.v, false, f.max); err != nil {
			return nil, err
		}
	}
	return &Order{
		id: s.ID, customerID: s.CustomerID, cartID: s.CartID, state: state, lines: slices.Clone(s.Lines), total: total,
		address: s.Address, email: s.Email, paymentToken: s.PaymentToken, paymentID: s.PaymentID, shipmentID: s.ShipmentID,
		carrier: s.Carrier, trackingNumber: s.TrackingNumber, endReason: s.EndReason, refunded: s.Refunded,
		version: s.Version, createdAt: s.CreatedAt, updatedAt: s.UpdatedAt, deadline: s.DeadlineAt,
		reservationExpiresAt: s.ReservationExpiresAt,
	}, nil
}

// Snapshot returns the order's state for storage.
func (o *Order) Snapshot() Snapshot {
	return Snapshot{
		ID: o.id, CustomerID: o.customerID, CartID: o.cartID, Status: o.state.Status, Step: o.state.Step,
		Lines: o.Lines(), Address: o.address, Email: o.email, PaymentToken: o.paymentToken, PaymentID: o.paymentID,
		ShipmentID: o.shipmentID, Carrier: o.carrier, TrackingNumber: o.trackingNumber, EndReason: o.endReason,
		Refunded: o.refunded, Version: o.version, CreatedAt: o.createdAt, UpdatedAt: o.updatedAt, DeadlineAt: o.deadline,
		ReservationExpiresAt: o.reservationExpiresAt,
	}
}

// ID returns the order's ID.
func (o *Order) ID() uuid.UUID { return o.id }

// CustomerID returns the ID of the customer who placed the order.
func (o *Order) CustomerID() string { return o.customerID }

// CartID returns the cart the order was placed from.
func (o *Order) CartID() uuid.UUID { return o.cartID }

// State returns the order's status and saga step.
func (o *Order) State() State { return o.state }

// Status returns the order's status.
func (o *Order) Status() Status { return o.state.Status }

// Step returns the saga step the order is in.
func (o *Order) Step() Step { return o.state.Step }

// Lines returns the order's lines.
func (o *Order) Lines() []Line { return slices.Clone(o.lines) }

// Total returns the sum of the lines.
func (o *Order) Total() Money { return o.total }

// Address returns where the order is shipped.
func (o *Order) Address() Address { return o.address }

// Email returns where the order's notifications go.
func (o *Order) Email() string { return o.email }

// PaymentID returns the payment that authorized the total ("" before).
func (o *Order) PaymentID() string { return o.paymentID }

// ShipmentID returns the shipment that carries the order ("" before it
// shipped).
func (o *Order) ShipmentID() string { return o.shipmentID }

// Carrier returns the shipment's carrier.
func (o *Order) Carrier() string { return o.carrier }

// TrackingNumber returns the shipment's tracking number.
func (o *Order) TrackingNumber() string { return o.trackingNumber }

// EndReason returns why the order was rejected or cancelled; ok is false
// for any other order.
func (o *Order) EndReason() (r EndReason, ok bool) { return o.endReason, o.endReason.Code != "" }

// Refunded reports whether payment refunded the cancelled order.
func (o *Order) Refunded() bool { return o.refunded }

// Version returns the version of this state.
func (o *Order) Version() int64 { return o.version }

// CreatedAt returns when the order was placed.
func (o *Order) CreatedAt() time.Time { return o.createdAt }

// UpdatedAt returns when the order last changed.
func (o *Order) UpdatedAt() time.Time { return o.updatedAt }

// DeadlineAt returns when the current step times out; zero when the saga
// is done.
func (o *Order) DeadlineAt() time.Time { return o.deadline }

// ReservationExpiresAt returns until when inventory holds the stock.
func (o *Order) ReservationExpiresAt() time.Time { return o.reservationExpiresAt }

// Overdue reports whether the current step's deadline is at or before now.
func (o *Order) Overdue(now time.Time) bool {
	return !o.deadline.IsZero() && !o.deadline.After(now)
}
