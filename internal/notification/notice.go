package notification

import "time"

// Reason says why an order was rejected or cancelled, in the customer's
// terms.
type Reason string

// The reasons an order ends early. ReasonOther uses the notice's Detail.
const (
	ReasonOther            Reason = "other"
	ReasonOutOfStock       Reason = "out_of_stock"
	ReasonPaymentDeclined  Reason = "payment_declined"
	ReasonPaymentFailed    Reason = "payment_failed"
	ReasonDeadlineExceeded Reason = "deadline_exceeded"
	ReasonCustomerRequest  Reason = "customer_request"
	ReasonOperatorRequest  Reason = "operator_request"
)

var explanations = map[Reason]string{
	ReasonOutOfStock:       "some of the items are out of stock",
	ReasonPaymentDeclined:  "the payment was declined",
	ReasonPaymentFailed:    "the payment could not be processed",
	ReasonDeadlineExceeded: "it could not be processed in time",
	ReasonCustomerRequest:  "you asked us to cancel it",
	ReasonOperatorRequest:  "our team cancelled it",
}

// Valid reports whether r is one of the reasons.
func (r Reason) Valid() bool { _, ok := explanations[r]; return ok || r == ReasonOther }

// Line is one item of an order as the customer saw it.
type Line struct {
	SKU       string
	Name      string
	Quantity  int64
	UnitPrice Money
}

// Notice is what one message tells: its kind, the order and the facts of
// that kind. Adapters build it from other services' events.
type Notice struct {
	Kind    Kind
	OrderID string
	// Ref tells apart several messages of one kind for one order: the
	// refund's ID for KindRefundIssued, empty otherwise.
	Ref string
	// Lines and Total: what was ordered (order received). Total also for
	// confirmed, completed and cancelled orders when known.
	Lines []Line
	Total Money
	// Carrier and TrackingNumber: the parcel (order shipped, delivered).
	Carrier        string
	TrackingNumber string
	// Reason and Detail: why the order was rejected or cancelled; Detail
	// is the producer's own words, shown for ReasonOther.
	Reason Reason
	Detail string
	// Refund: a cancelled order's captured payment is paid back.
	Refund bool
	// Amount: the money paid back (refund issued).
	Amount Money
	// OccurredAt is when the event behind the notice happened.
	OccurredAt time.Time
}

// Validate checks the notice has what its kind needs; free text (names,
// details) is expected to have been passed through Clean.
func (n Notice) Validate() error {
	if !n.Kind.Valid() {
		return invalid("message kind %q", n.Kind)
	}
	if err := ValidateOrderID(n.OrderID); err != nil {
		return err
	}
	if len(n.Ref) > MaxRefLength || hasControl(n.Ref) {
		return invalid("reference must be up to %d bytes without control characters", MaxRefLength)
	}
	if (n.Kind == KindRefundIssued) != (n.Ref != "") {
		return invalid("a reference is required for refunds and only for them")
	}
	if n.OccurredAt.IsZero() {
		return invalid("a notice needs the time of its event")
	}
	if !n.Total.IsZero() && n.Total.Amount() < 0 {
		return invalid("a total must not be negative")
	}
	switch n.Kind {
	case KindOrderReceived:
		if err := validateLines(n.Lines); err != nil {
			return err
		}
		if n.Total.IsZero() {
			return invalid("an order received needs its total")
		}
	case KindOrderShipped:
		if n.Carrier == "" || n.TrackingNumber == "" {
			return invalid("an order shipped needs its carrier and tracking number")
		}
	case KindOrderRejected, KindOrderCancelled:
		if !n.Reason.Valid() {
			return invalid("reason %q", n.Reason)
		}
	case KindRefundIssued:
		if n.Amount.IsZero() || n.Amount.Amount() <= 0 {
			return invalid("a refund needs a positive amount")
		}
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{{"carrier", n.Carrier, MaxCarrierLength}, {"tracking number", n.TrackingNumber, MaxTrackingLength}, {"detail", n.Detail, MaxReasonLength}} {
		if Clean(f.v, f.max) != f.v {
			return invalid("%s is not clean text of up to %d characters", f.name, f.max)
		}
	}
	return nil
}

func validateLines(lines []Line) error {
	if len(lines) == 0 || len(lines) > MaxLines {
		return invalid("an order needs 1-%d lines", MaxLines)
	}
	for _, l := range lines {
		if len(l.SKU) == 0 || len(l.SKU) > MaxSKULength || !skuPattern.MatchString(l.SKU) {
			return invalid("sku %q must be 1-%d letters, digits, '.', '_' or '-'", l.SKU, MaxSKULength)
		}
		if l.Quantity < 1 || l.Quantity > MaxQuantity {
			return invalid("quantity of %s must be 1-%d", l.SKU, MaxQuantity)
		}
		if l.UnitPrice.IsZero() || l.UnitPrice.Amount() < 0 {
			return invalid("line %s has no price", l.SKU)
		}
		if Clean(l.Name, MaxNameLength) != l.Name {
			return invalid("name of %s is not clean text of up to %d characters", l.SKU, MaxNameLength)
		}
	}
	return nil
}
