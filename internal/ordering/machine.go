package ordering

import (
	"fmt"
	"strings"
	"time"
	"unicode"
)

// Trigger is what moves an order through the saga: a participant's
// answer, a passed deadline or a cancellation.
type Trigger string

// The triggers of the state machine.
const (
	TriggerStockReserved     Trigger = "StockReserved"
	TriggerStockRejected     Trigger = "StockRejected"
	TriggerPaymentAuthorized Trigger = "PaymentAuthorized"
	TriggerPaymentDeclined   Trigger = "PaymentDeclined"
	TriggerPaymentFailed     Trigger = "PaymentFailed"
	TriggerShipmentShipped   Trigger = "ShipmentShipped"
	TriggerPaymentCaptured   Trigger = "PaymentCaptured"
	TriggerPaymentRefunded   Trigger = "PaymentRefunded"
	TriggerDeadlinePassed    Trigger = "DeadlinePassed"
	TriggerCustomerCancel    Trigger = "CustomerCancel"
	TriggerOperatorCancel    Trigger = "OperatorCancel"
)

// Triggers returns every trigger.
func Triggers() []Trigger {
	return []Trigger{
		TriggerStockReserved, TriggerStockRejected, TriggerPaymentAuthorized, TriggerPaymentDeclined, TriggerPaymentFailed,
		TriggerShipmentShipped, TriggerPaymentCaptured, TriggerPaymentRefunded, TriggerDeadlinePassed,
		TriggerCustomerCancel, TriggerOperatorCancel,
	}
}

// The states an order can be in.
var (
	reserving   = State{StatusPending, StepReservingStock}
	authorizing = State{StatusPending, StepAuthorizingPayment}
	shipping    = State{StatusConfirmed, StepShipping}
	capturing   = State{StatusShipped, StepCapturingPayment}
	completed   = State{StatusCompleted, StepDone}
	rejected    = State{StatusRejected, StepDone}
	cancelled   = State{StatusCancelled, StepDone}
)

// States returns every state an order can be in.
func States() []State {
	return []State{reserving, authorizing, shipping, capturing, completed, rejected, cancelled}
}

// effect is what a row of the machine does besides moving the order.
type effect int

const (
	// ignore changes nothing and publishes nothing: a late answer in a
	// final state, or a repeated answer of a step already passed.
	ignore effect = iota
	// requestPayment publishes PaymentRequested and forgets the token.
	requestPayment
	// confirm records the payment and publishes OrderConfirmed.
	confirm
	// ship records the shipment and publishes OrderShipped.
	ship
	// reship publishes OrderShipped again, to retry the capture.
	reship
	// complete publishes OrderCompleted.
	complete
	// reject records the end reason and publishes OrderRejected.
	reject
	// cancel records the end reason and publishes OrderCancelled.
	cancel
	// markRefunded records that payment refunded the order; it publishes
	// nothing.
	markRefunded
)

// rule is one row of the machine: the next state, the effect, and for
// rejections and cancellations the end code and whether to refund.
type rule struct {
	next   State
	effect effect
	code   EndCode
	refund bool
}

// stay is the explicit row of a trigger that is legitimate but changes
// nothing.
var stay = rule{effect: ignore}

// machine is the checkout saga: every allowed (state, trigger). A pair
// that is missing is not allowed (ErrInvalidTransition).
var machine = map[State]map[Trigger]rule{
	reserving: {
		TriggerStockReserved:  {next: authorizing, effect: requestPayment},
		TriggerStockRejected:  {next: rejected, effect: reject, code: EndOutOfStock},
		TriggerDeadlinePassed: {next: rejected, effect: reject, code: EndDeadlineExceeded},
		TriggerCustomerCancel: {next: cancelled, effect: cancel, code: EndCustomerRequest},
		TriggerOperatorCancel: {next: cancelled, effect: cancel, code: EndOperatorRequest},
	},
	authorizing: {
		TriggerStockReserved:     stay,
		TriggerPaymentAuthorized: {next: shipping, effect: confirm},
		TriggerPaymentDeclined:   {next: cancelled, effect: cancel, code: EndPaymentDeclined},
		TriggerPaymentFailed:     {next: cancelled, effect: cancel, code: EndPaymentFailed},
		TriggerDeadlinePassed:    {next: cancelled, effect: cancel, code: EndDeadlineExceeded},
		TriggerCustomerCancel:    {next: cancelled, effect: cancel, code: EndCustomerRequest},
		TriggerOperatorCancel:    {next: cancelled, effect: cancel, code: EndOperatorRequest},
	},
	shipping: {
		TriggerStockReserved:     stay,
		TriggerPaymentAuthorized: stay,
		TriggerShipmentShipped:   {next: capturing, effect: ship},
		TriggerDeadlinePassed:    {next: cancelled, effect: cancel, code: EndDeadlineExceeded},
		TriggerCustomerCancel:    {next: cancelled, effect: cancel, code: EndCustomerRequest},
		TriggerOperatorCancel:    {next: cancelled, effect: cancel, code: EndOperatorRequest},
	},
	capturing: {
		TriggerStockReserved:     stay,
		TriggerPaymentAuthorized: stay,
		TriggerShipmentShipped:   stay,
		TriggerPaymentCaptured:   {next: completed, effect: complete},
		TriggerDeadlinePassed:    {next: capturing, effect: reship},
		TriggerOperatorCancel:    {next: cancelled, effect: cancel, code: EndOperatorRequest, refund: true},
	},
	completed: {
		TriggerStockReserved:     stay,
		TriggerPaymentAuthorized: stay,
		TriggerShipmentShipped:   stay,
		TriggerPaymentCaptured:   stay,
		// A refund an operator made through the payment API; the order
		// stays completed.
		TriggerPaymentRefunded: stay,
		TriggerDeadlinePassed:  stay,
		TriggerOperatorCancel:  {next: cancelled, effect: cancel, code: EndOperatorRequest, refund: true},
	},
	rejected: {
		// Inventory answered after the reserving deadline rejected the
		// order; the rejection already asks it to release.
		TriggerStockReserved:  stay,
		TriggerStockRejected:  stay,
		TriggerDeadlinePassed: stay,
	},
	cancelled: {
		// Late answers of whichever step the order was cancelled in: the
		// cancellation already asks every participant to undo its part.
		TriggerStockReserved:     stay,
		TriggerStockRejected:     stay,
		TriggerPaymentAuthorized: stay,
		TriggerPaymentDeclined:   stay,
		TriggerPaymentFailed:     stay,
		TriggerShipmentShipped:   stay,
		TriggerPaymentCaptured:   stay,
		TriggerPaymentRefunded:   {next: cancelled, effect: markRefunded},
		TriggerDeadlinePassed:    stay,
		TriggerCustomerCancel:    stay,
		TriggerOperatorCancel:    stay,
	},
}

// Signal is one trigger with what it tells about the order.
type Signal struct {
	Trigger Trigger
	// PaymentID names the payment of payment triggers; required with
	// PaymentAuthorized.
	PaymentID string
	// Amount is what a PaymentAuthorized authorized; when set it must be
	// the order's total.
	Amount Money
	// ShipmentID, Carrier and TrackingNumber describe the shipment of a
	// ShipmentShipped; the ID is required.
	ShipmentID     string
	Carrier        string
	TrackingNumber string
	// Reason explains a rejection or cancellation (a decline code, the
	// short lines, the customer's words); it goes into the end reason.
	Reason string
}

// check checks what s tells about o for a row that changes o.
func (s Signal) check(o *Order) error {
	switch s.Trigger {
	case TriggerPaymentAuthorized:
		if err := checkID("/payment_id", s.PaymentID, true, MaxPaymentIDLength); err != nil {
			return err
		}
		if !s.Amount.IsZero() && s.Amount != o.total {
			return invalid("/amount", fmt.Sprintf("payment authorized %s for an order of %s", s.Amount, o.total))
		}
	case TriggerShipmentShipped:
		for _, f := range []struct {
			field, v string
			required bool
			max      int
		}{
			{"/shipment_id", s.ShipmentID, true, MaxShipmentIDLength},
			{"/carrier", s.Carrier, false, MaxCarrierLength},
			{"/tracking_number", s.TrackingNumber, false, MaxTrackingNumberLength},
		} {
			if err := checkID(f.field, f.v, f.required, f.max); err != nil {
				return err
			}
		}
	case TriggerPaymentCaptured, TriggerPaymentRefunded:
		if s.PaymentID != "" && o.paymentID != "" && s.PaymentID != o.paymentID {
			return invalid("/payment_id", fmt.Sprintf("payment %s is not the order's payment %s", s.PaymentID, o.paymentID))
		}
	case TriggerCustomerCancel, TriggerOperatorCancel:
		if err := checkText("/reason", s.Reason, false, 200); err != nil {
			return err
		}
	}
	return nil
}

// Apply moves the order by the machine's row for its state and s.Trigger,
// at now, and returns the events to publish. A row that ignores the
// trigger changes nothing and returns no events; every other row bumps the
// version and sets the next step's deadline from d (or clears it when the
// saga is done). Errors: *TransitionError (ErrInvalidTransition) when the
// machine has no row, ErrInvalid when s is incomplete or contradicts the
// order.
func (o *Order) Apply(s Signal, now time.Time, d Deadlines) ([]Event, error) {
	r, ok := machine[o.state][s.Trigger]
	if !ok {
		return nil, &TransitionError{State: o.state, Trigger: s.Trigger}
	}
	if r.effect == ignore || (r.effect == markRefunded && o.refunded) {
		return nil, nil
	}
	if err := s.check(o); err != nil {
		return nil, err
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	now = now.UTC().Truncate(time.Microsecond)
	if now.Before(o.updatedAt) {
		now = o.updatedAt
	}
	prev := o.state
	var ev Event
	switch r.effect {
	case requestPayment:
		ev = PaymentRequested{OrderID: o.id, CustomerID: o.customerID, Amount: o.total, PaymentToken: o.paymentToken, At: now}
		o.paymentToken = ""
	case confirm:
		o.paymentID = s.PaymentID
		ev = OrderConfirmed{OrderID: o.id, CustomerID: o.customerID, Lines: o.Lines(), Address: o.address, Total: o.total,
			PaymentID: o.paymentID, At: now}
	case ship:
		o.shipmentID, o.carrier, o.trackingNumber = s.ShipmentID, s.Carrier, s.TrackingNumber
		ev = o.shipped(now)
	case reship:
		ev = o.shipped(now)
	case complete:
		ev = OrderCompleted{OrderID: o.id, CustomerID: o.customerID, Total: o.total, At: now}
	case reject:
		o.end(r.code, prev.Step, s.Reason)
		ev = OrderRejected{OrderID: o.id, CustomerID: o.customerID, Code: r.code, Reason: o.endReason.Message, Step: prev.Step, At: now}
	case cancel:
		o.end(r.code, prev.Step, s.Reason)
		ev = OrderCancelled{OrderID: o.id, CustomerID: o.customerID, Code: r.code, Reason: o.endReason.Message, Step: prev.Step,
			Refund: r.refund, Total: o.total, At: now}
	case markRefunded:
		o.refunded = true
	}
	o.state = r.next
	o.version++
	o.updatedAt = now
	o.deadline = time.Time{}
	if r.next.Step != StepDone {
		o.deadline = now.Add(d.For(r.next.Step))
	}
	if ev == nil {
		return nil, nil
	}
	return []Event{ev}, nil
}

func (o *Order) shipped(at time.Time) OrderShipped {
	return OrderShipped{OrderID: o.id, CustomerID: o.customerID, ShipmentID: o.shipmentID, Carrier: o.carrier,
		TrackingNumber: o.trackingNumber, At: at}
}

// end records why the order ends, and forgets the payment token.
func (o *Order) end(code EndCode, step Step, detail string) {
	var msg string
	switch code {
	case EndOutOfStock:
		msg = "inventory could not reserve every line"
	case EndPaymentDeclined:
		msg = "the payment was declined"
	case EndPaymentFailed:
		msg = "the payment could not be authorized"
	case EndDeadlineExceeded:
		msg = "the step " + string(step) + " did not finish before its deadline"
	case EndCustomerRequest:
		msg = "cancelled by the customer"
	case EndOperatorRequest:
		msg = "cancelled by an operator"
	}
	if detail = clean(detail); detail != "" && code != EndDeadlineExceeded {
		msg += ": " + detail
	}
	o.endReason = EndReason{Code: code, Message: truncate(msg, maxEndReasonMessageLen)}
	o.paymentToken = ""
}

// clean makes text from other services fit for a message: valid UTF-8,
// control characters as spaces, no surrounding space.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s))
}
