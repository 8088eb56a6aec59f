package payment

import "time"

// Event is a domain event of a payment, keyed by the payment's ID.
type Event interface {
	Key() string
	isEvent()
}

// Header names the payment, order and customer of an event.
type Header struct {
	PaymentID  string
	OrderID    string
	CustomerID string
}

// Key implements Event for every event embedding Header.
func (h Header) Key() string { return h.PaymentID }

// PaymentAuthorized: the gateway holds the amount.
type PaymentAuthorized struct {
	Header
	Amount          Money
	AuthorizationID string
	OccurredAt      time.Time
}

// PaymentDeclined: the gateway refused the authorization.
type PaymentDeclined struct {
	Header
	Amount     Money
	Reason     string
	OccurredAt time.Time
}

// PaymentCaptured: the authorized amount was charged.
type PaymentCaptured struct {
	Header
	Amount     Money
	CaptureID  string
	OccurredAt time.Time
}

// PaymentVoided: the authorization was released.
type PaymentVoided struct {
	Header
	Amount     Money
	Reason     string
	OccurredAt time.Time
}

// PaymentRefunded: part or all of the captured amount was paid back.
type PaymentRefunded struct {
	Header
	Amount        Money
	TotalRefunded Money
	RefundID      string
	Reference     string
	Reason        string
	OccurredAt    time.Time
}

// PaymentFailed: the authorization failed for a reason other than a
// decline.
type PaymentFailed struct {
	Header
	Amount     Money
	Reason     string
	OccurredAt time.Time
}

func (PaymentAuthorized) isEvent() {}
func (PaymentDeclined) isEvent()   {}
func (PaymentCaptured) isEvent()   {}
func (PaymentVoided) isEvent()     {}
func (PaymentRefunded) isEvent()   {}
func (PaymentFailed) isEvent()     {}
