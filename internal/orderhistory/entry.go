package orderhistory

import (
	"fmt"
	"strings"
	"time"
)

// EntryType is what a timeline entry records, as <aggregate>.<step>.
type EntryType string

// The entry types, one per saga step event the projection reads.
const (
	OrderPlaced           EntryType = "order.placed"
	OrderPaymentRequested EntryType = "order.payment_requested"
	OrderConfirmed        EntryType = "order.confirmed"
	OrderShipped          EntryType = "order.shipped"
	OrderCompleted        EntryType = "order.completed"
	OrderRejected         EntryType = "order.rejected"
	OrderCancelled        EntryType = "order.cancelled"

	StockReserved       EntryType = "stock.reserved"
	ReservationRejected EntryType = "stock.reservation_rejected"
	StockReleased       EntryType = "stock.released"
	StockCommitted      EntryType = "stock.committed"
	PaymentAuthorized   EntryType = "payment.authorized"
	PaymentDeclined     EntryType = "payment.declined"
	PaymentFailed       EntryType = "payment.failed"
	PaymentCaptured     EntryType = "payment.captured"
	PaymentVoided       EntryType = "payment.voided"
	PaymentRefunded     EntryType = "payment.refunded"
	ShipmentCreated     EntryType = "shipment.created"
	ShipmentShipped     EntryType = "shipment.shipped"
	ShipmentDelivered   EntryType = "shipment.delivered"
	ShipmentCancelled   EntryType = "shipment.cancelled"
)

// Source is the service an entry's event came from.
type Source string

// The services whose events the projection reads.
const (
	SourceOrdering  Source = "ordering"
	SourceInventory Source = "inventory"
	SourcePayment   Source = "payment"
	SourceShipping  Source = "shipping"
)

var sources = map[EntryType]Source{
	OrderPlaced: SourceOrdering, OrderPaymentRequested: SourceOrdering, OrderConfirmed: SourceOrdering,
	OrderShipped: SourceOrdering, OrderCompleted: SourceOrdering, OrderRejected: SourceOrdering, OrderCancelled: SourceOrdering,
	StockReserved: SourceInventory, ReservationRejected: SourceInventory, StockReleased: SourceInventory, StockCommitted: SourceInventory,
	PaymentAuthorized: SourcePayment, PaymentDeclined: SourcePayment, PaymentFailed: SourcePayment, PaymentCaptured: SourcePayment,
	PaymentVoided: SourcePayment, PaymentRefunded: SourcePayment,
	ShipmentCreated: SourceShipping, ShipmentShipped: SourceShipping, ShipmentDelivered: SourceShipping, ShipmentCancelled: SourceShipping,
}

// EntryTypes lists every entry type.
func EntryTypes() []EntryType {
	out := make([]EntryType, 0, len(sources))
	for t := range sources {
		out = append(out, t)
	}
	return out
}

// Source returns the service entries of type t come from ("" for an
// unknown type).
func (t EntryType) Source() Source { return sources[t] }

// Valid reports whether t is a known entry type.
func (t EntryType) Valid() bool { return sources[t] != "" }

// Facts are the key facts of a step; each is zero when the step has none.
type Facts struct {
	// Amount is the money the step is about: the order's total, the
	// amount requested, authorized, captured, voided or refunded.
	Amount Money
	// RefundedTotal is everything refunded so far (payment.refunded).
	RefundedTotal  Money
	Carrier        string
	TrackingNumber string
	// Reason is a human-readable reason (a decline code, why stock was
	// released, why the order ended).
	Reason string
	// Code is the end code of order.rejected and order.cancelled.
	Code       EndCode
	PaymentID  string
	ShipmentID string
	// Quantity is the number of units a stock step moved or missed.
	Quantity int64
	// Refund is set on an order.cancelled that asks for a refund.
	Refund bool
}

// Entry is one step of an order's timeline, recorded from one event.
// Entries are values; Validate checks one before it is stored.
type Entry struct {
	// EventID is the ID of the event (its ce_id); an order's timeline has
	// one entry per event ID.
	EventID    string
	OrderID    string
	Type       EntryType
	OccurredAt time.Time
	// CustomerID is the customer the event names, when it names one.
	CustomerID string
	Facts      Facts
	// Lines are the order's lines (order.placed only).
	Lines []Line
}

// Source is the service the entry's event came from.
func (e Entry) Source() Source { return e.Type.Source() }

// Validate checks the entry: an event ID, a valid order ID, a known type,
// a time, bounded texts and well-formed money; order.placed also needs
// the customer, the total and valid lines.
func (e Entry) Validate() error {
	if e.EventID == "" {
		return invalid("entry without an event ID")
	}
	if err := checkLen("event ID", e.EventID, MaxIDLength); err != nil {
		return err
	}
	if err := ValidateOrderID(e.OrderID); err != nil {
		return err
	}
	if !e.Type.Valid() {
		return invalid("unknown entry type %q", e.Type)
	}
	if e.OccurredAt.IsZero() {
		return invalid("%s %s without a time", e.Type, e.EventID)
	}
	f := e.Facts
	for field, v := range map[string]string{"customer ID": e.CustomerID, "payment ID": f.PaymentID, "shipment ID": f.ShipmentID} {
		if err := checkLen(field, v, MaxIDLength); err != nil {
			return err
		}
	}
	for field, v := range map[string]string{"carrier": f.Carrier, "tracking number": f.TrackingNumber, "code": string(f.Code)} {
		if err := checkLen(field, v, MaxShortLength); err != nil {
			return err
		}
	}
	if err := checkLen("reason", f.Reason, MaxTextLength); err != nil {
		return err
	}
	for field, m := range map[string]Money{"amount": f.Amount, "refunded total": f.RefundedTotal} {
		if !m.IsZero() {
			if err := m.validate(field); err != nil {
				return err
			}
		}
	}
	if e.Type != OrderPlaced {
		if len(e.Lines) > 0 {
			return invalid("%s carries lines; only order.placed does", e.Type)
		}
		return nil
	}
	if e.CustomerID == "" {
		return invalid("order.placed of %s without a customer", e.OrderID)
	}
	if f.Amount.IsZero() {
		return invalid("order.placed of %s without a total", e.OrderID)
	}
	if len(e.Lines) > MaxLines {
		return invalid("order.placed of %s has more than %d lines", e.OrderID, MaxLines)
	}
	for i, l := range e.Lines {
		if l.SKU == "" || l.Quantity < 1 {
			return invalid("line %d of %s needs a SKU and a positive quantity", i, e.OrderID)
		}
		if err := l.UnitPrice.validate(fmt.Sprintf("line %d unit price", i)); err != nil {
			return err
		}
		for field, v := range map[string]string{"SKU": l.SKU, "product ID": l.ProductID} {
			if err := checkLen(field, v, MaxShortLength); err != nil {
				return err
			}
		}
		if err := checkLen("line name", l.Name, 200); err != nil {
			return err
		}
	}
	return nil
}

// Description tells the step in a short sentence.
func (e Entry) Description() string {
	f := e.Facts
	with := func(s, detail string) string {
		if detail == "" {
			return s
		}
		return s + ": " + detail
	}
	tracking := func(s string) string {
		if f.TrackingNumber == "" {
			return s
		}
		if f.Carrier == "" {
			return s + ", tracking number " + f.TrackingNumber
		}
		return s + " with " + f.Carrier + ", tracking number " + f.TrackingNumber
	}
	var d string
	switch e.Type {
	case OrderPlaced:
		d = fmt.Sprintf("Order placed: %d %s for %s", units(e.Lines), plural(units(e.Lines), "item", "items"), f.Amount)
	case OrderPaymentRequested:
		d = "Payment of " + f.Amount.String() + " requested"
	case OrderConfirmed:
		d = "Order confirmed: stock reserved and payment authorized"
	case OrderShipped:
		d = tracking("Order shipped")
	case OrderCompleted:
		d = "Order completed: shipped and paid"
	case OrderRejected:
		d = with("Order rejected", endText(f))
	case OrderCancelled:
		d = with("Order cancelled", endText(f))
		if f.Refund {
			d += " (refund requested)"
		}
	case StockReserved:
		d = fmt.Sprintf("Stock reserved: %d %s", f.Quantity, plural(f.Quantity, "unit", "units"))
	case ReservationRejected:
		d = with("Stock could not be reserved", f.Reason)
	case StockReleased:
		d = with("Reserved stock released", f.Reason)
	case StockCommitted:
		d = fmt.Sprintf("Reserved stock committed to the shipment: %d %s", f.Quantity, plural(f.Quantity, "unit", "units"))
	case PaymentAuthorized:
		d = "Payment of " + f.Amount.String() + " authorized"
	case PaymentDeclined:
		d = with("Payment of "+f.Amount.String()+" declined", f.Reason)
	case PaymentFailed:
		d = with("Payment of "+f.Amount.String()+" failed", f.Reason)
	case PaymentCaptured:
		d = "Payment of " + f.Amount.String() + " captured"
	case PaymentVoided:
		d = with("Authorization of "+f.Amount.String()+" voided", f.Reason)
	case PaymentRefunded:
		d = f.Amount.String() + " refunded"
		if !f.RefundedTotal.IsZero() && f.RefundedTotal != f.Amount {
			d += " (" + f.RefundedTotal.String() + " in total)"
		}
	case ShipmentCreated:
		d = tracking("Shipment created")
	case ShipmentShipped:
		d = tracking("Parcel handed to the carrier")
	case ShipmentDelivered:
		d = "Parcel delivered"
	case ShipmentCancelled:
		d = "Shipment cancelled before it left"
	default:
		d = string(e.Type)
	}
	return ClipText(d)
}

func endText(f Facts) string {
	if f.Reason != "" {
		return f.Reason
	}
	if f.Code != "" && f.Code != EndUnspecified {
		return strings.ReplaceAll(string(f.Code), "_", " ")
	}
	return ""
}

func units(lines []Line) int64 {
	var n int64
	for _, l := range lines {
		n += int64(l.Quantity)
	}
	return n
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
