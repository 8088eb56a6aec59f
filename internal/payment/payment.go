// Package payment is the domain of Agora's payment service: one payment per
// order, authorized, captured at most once, voided or refunded (never more
// than captured) through a payment gateway, with every operation recorded
// as a balanced movement in the payment's double-entry ledger, and the
// events these changes publish. It has no storage, messaging, gateway or
// HTTP code.
package payment

import (
	"fmt"
	"regexp"
	"slices"
	"time"
)

// Limits of the inputs the domain accepts.
const (
	MaxOrderIDLength    = 64
	MaxCustomerIDLength = 128
	MaxReasonLength     = 200
	MaxReferenceLength  = 320
	MaxGatewayIDLength  = 128
)

var orderIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]*$`)

// ValidateOrderID checks an order ID.
func ValidateOrderID(id string) error {
	if len(id) == 0 || len(id) > MaxOrderIDLength || !orderIDPattern.MatchString(id) {
		return invalid("/order_id", fmt.Sprintf("must be 1-%d letters, digits, '.', '_', ':' or '-'", MaxOrderIDLength))
	}
	return nil
}

// Status is where a payment is in its life.
type Status string

// Statuses of a payment. Pending is the only state before the gateway has
// answered the authorization; declined, failed, voided and refunded are
// final.
const (
	StatusPending           Status = "pending"
	StatusAuthorized        Status = "authorized"
	StatusDeclined          Status = "declined"
	StatusFailed            Status = "failed"
	StatusVoided            Status = "voided"
	StatusCaptured          Status = "captured"
	StatusPartiallyRefunded Status = "partially_refunded"
	StatusRefunded          Status = "refunded"
)

// OperationKind names an operation at the gateway.
type OperationKind string

// The operations of a payment.
const (
	OpAuthorize OperationKind = "authorize"
	OpCapture   OperationKind = "capture"
	OpVoid      OperationKind = "void"
	OpRefund    OperationKind = "refund"
)

// Operation is an operation the gateway performed for the payment. It is
// unique per (payment, kind, reference).
type Operation struct {
	Kind      OperationKind
	Reference string
	Amount    Money
	// GatewayID is the gateway's ID of the operation.
	GatewayID  string
	Reason     string
	OccurredAt time.Time
}

// Reference returns the gateway reference of the payment's operation of
// kind; refunds add their own reference (the request's idempotency key).
// The gateway keeps operations by reference, so a retried operation with
// the same reference is performed once.
func Reference(paymentID string, kind OperationKind, suffix string) string {
	if suffix == "" {
		return paymentID + ":" + string(kind)
	}
	return paymentID + ":" + string(kind) + ":" + suffix
}

// Payment is the payment of one order. Its fields change only through its
// methods, which keep the ledger balanced and record the events of each
// change.
type Payment struct {
	id            string
	orderID       string
	customerID    string
	amount        Money
	status        Status
	failureReason string
	ops           []Operation
	stored        int
	version       int64
	createdAt     time.Time
	updatedAt     time.Time
	events        []Event
}

// New returns a pending payment of amount for the order.
func New(id, orderID, customerID string, amount Money, at time.Time) (Payment, error) {
	if id == "" {
		return Payment{}, invalid("/id", "is required")
	}
	if err := ValidateOrderID(orderID); err != nil {
		return Payment{}, err
	}
	if customerID == "" || len(customerID) > MaxCustomerIDLength {
		return Payment{}, invalid("/customer_id", fmt.Sprintf("must be 1-%d bytes", MaxCustomerIDLength))
	}
	if amount.IsZero() || !isCurrency(amount.Currency()) {
		return Payment{}, invalid("/amount/amount_minor", "must be a positive amount")
	}
	return Payment{id: id, orderID: orderID, customerID: customerID, amount: amount, status: StatusPending,
		version: 1, createdAt: at, updatedAt: at}, nil
}

// Restore rebuilds a payment from storage. It replays the operations to
// check that they are consistent with the status.
func Restore(id, orderID, customerID string, amount Money, status Status, failureReason string,
	ops []Operation, version int64, createdAt, updatedAt time.Time) (Payment, error) {
	p, err := New(id, orderID, customerID, amount, createdAt)
	if err != nil {
		return Payment{}, err
	}
	if version < 1 {
		return Payment{}, invalid("/version", "must be positive")
	}
	for _, op := range ops {
		if op.Amount.Currency() != amount.Currency() {
			return Payment{}, fmt.Errorf("%w: operation %s in %s", ErrCurrencyMismatch, op.Kind, op.Amount.Currency())
		}
	}
	p.status, p.failureReason, p.ops, p.stored = status, failureReason, slices.Clone(ops), len(ops)
	p.version, p.updatedAt = version, updatedAt
	if want := p.derivedStatus(); want != status {
		return Payment{}, invalid("/status", fmt.Sprintf("%s does not match the operations (%s)", status, want))
	}
	return p, nil
}

// ID is the payment's ID.
func (p Payment) ID() string { return p.id }

// OrderID is the order paid.
func (p Payment) OrderID() string { return p.orderID }

// CustomerID is the customer who pays.
func (p Payment) CustomerID() string { return p.customerID }

// Amount is the amount of the order.
func (p Payment) Amount() Money { return p.amount }

// Status is where the payment is in its life.
func (p Payment) Status() Status { return p.status }

// FailureReason says why the payment was declined or failed.
func (p Payment) FailureReason() string { return p.failureReason }

// Version grows with every change; it is the payment's ETag.
func (p Payment) Version() int64 { return p.version }

// CreatedAt is when the payment was created.
func (p Payment) CreatedAt() time.Time { return p.createdAt }

// UpdatedAt is when the payment last changed.
func (p Payment) UpdatedAt() time.Time { return p.updatedAt }

// Operations are the gateway operations applied, oldest first.
func (p Payment) Operations() []Operation { return slices.Clone(p.ops) }

// NewOperations are the operations applied since the payment was restored
// or created; storage adds them (and their ledger entries).
func (p Payment) NewOperations() []Operation { return slices.Clone(p.ops[p.stored:]) }

// Events are the events of the changes since the payment was restored or
// created.
func (p Payment) Events() []Event { return slices.Clone(p.events) }

// Changed reports whether the payment changed since it was restored.
func (p Payment) Changed() bool { return len(p.events) > 0 }

// Operation returns the operation of kind with reference.
func (p Payment) Operation(kind OperationKind, reference string) (Operation, bool) {
	for _, op := range p.ops {
		if op.Kind == kind && op.Reference == reference {
			return op, true
		}
	}
	return Operation{}, false
}

// AuthorizationID is the gateway's ID of the authorization, "" before it.
func (p Payment) AuthorizationID() string {
	for _, op := range p.ops {
		if op.Kind == OpAuthorize {
			return op.GatewayID
		}
	}
	return ""
}

// Ledger returns the ledger entries of the payment's operations: two per
// operation, summing to zero.
func (p Payment) Ledger() []Entry {
	var out []Entry
	for _, op := range p.ops {
		out = append(out, movement(op)...)
	}
	return out
}

// NewEntries are the ledger entries of NewOperations.
func (p Payment) NewEntries() []Entry {
	var out []Entry
	for _, op := range p.ops[p.stored:] {
		out = append(out, movement(op)...)
	}
	return out
}

func (p Payment) balance(a Account) Money {
	return Money{amount: Balances(p.Ledger())[a][p.amount.currency], currency: p.amount.currency}
}

// Held is what the authorization still holds.
func (p Payment) Held() Money { return p.balance(AccountHeld) }

// Captured is the amount captured.
func (p Payment) Captured() Money { return p.sum(OpCapture) }

// Refunded is the amount refunded so far.
func (p Payment) Refunded() Money { return p.sum(OpRefund) }

// Refundable is what was captured and not refunded: the merchant's
// balance.
func (p Payment) Refundable() Money { return p.balance(AccountMerchant) }

func (p Payment) sum(kind OperationKind) Money {
	m := Zero(p.amount.currency)
	for _, op := range p.ops {
		if op.Kind == kind {
			m.amount += op.Amount.amount
		}
	}
	return m
}

// derivedStatus is the status the operations lead to, for the statuses
// operations decide.
func (p Payment) derivedStatus() Status {
	has := func(k OperationKind) bool {
		return slices.ContainsFunc(p.ops, func(op Operation) bool { return op.Kind == k })
	}
	switch {
	case has(OpRefund) && p.Refundable().IsZero():
		return StatusRefunded
	case has(OpRefund):
		return StatusPartiallyRefunded
	case has(OpCapture):
		return StatusCaptured
	case has(OpVoid):
		return StatusVoided
	case has(OpAuthorize):
		return StatusAuthorized
	default:
		// pending, declined and failed have no operation.
		if p.status == StatusDeclined || p.status == StatusFailed {
			return p.status
		}
		return StatusPending
	}
}

func checkGatewayID(id string) error {
	if id == "" || len(id) > MaxGatewayIDLength {
		return invalid("/gateway_id", fmt.Sprintf("must be 1-%d bytes", MaxGatewayIDLength))
	}
	return nil
}

func checkReason(reason string) error {
	if len(reason) > MaxReasonLength {
		return invalid("/reason", fmt.Sprintf("must be at most %d bytes", MaxReasonLength))
	}
	return nil
}

func (p *Payment) apply(op Operation, status Status, ev Event) {
	p.ops = append(p.ops, op)
	p.status = status
	p.version++
	p.updatedAt = op.OccurredAt
	p.events = append(p.events, ev)
}

func (p Payment) header() Header {
	return Header{PaymentID: p.id, OrderID: p.orderID, CustomerID: p.customerID}
}

// Authorize records the gateway's authorization of the whole amount.
func (p *Payment) Authorize(authorizationID string, at time.Time) error {
	if p.status != StatusPending {
		return transition(OpAuthorize, p.status)
	}
	if err := checkGatewayID(authorizationID); err != nil {
		return err
	}
	op := Operation{Kind: OpAuthorize, Reference: Reference(p.id, OpAuthorize, ""), Amount: p.amount, GatewayID: authorizationID, OccurredAt: at}
	p.apply(op, StatusAuthorized, PaymentAuthorized{Header: p.header(), Amount: p.amount, AuthorizationID: authorizationID, OccurredAt: at})
	return nil
}

// Decline records that the gateway refused the authorization.
func (p *Payment) Decline(reason string, at time.Time) error {
	return p.close(StatusDeclined, reason, at)
}

// Fail records that the authorization could not be completed.
func (p *Payment) Fail(reason string, at time.Time) error {
	return p.close(StatusFailed, reason, at)
}

func (p *Payment) close(status Status, reason string, at time.Time) error {
	if p.status != StatusPending {
		return fmt.Errorf("%w: cannot mark a %s payment %s", ErrInvalidTransition, p.status, status)
	}
	if err := checkReason(reason); err != nil {
		return err
	}
	p.status, p.failureReason = status, reason
	p.version++
	p.updatedAt = at
	if status == StatusDeclined {
		p.events = append(p.events, PaymentDeclined{Header: p.header(), Amount: p.amount, Reason: reason, OccurredAt: at})
	} else {
		p.events = append(p.events, PaymentFailed{Header: p.header(), Amount: p.amount, Reason: reason, OccurredAt: at})
	}
	return nil
}

// Capture records the capture of the whole authorized amount. An
// authorization is captured at most once and never after a void.
func (p *Payment) Capture(captureID string, at time.Time) error {
	if p.status != StatusAuthorized {
		return transition(OpCapture, p.status)
	}
	if err := checkGatewayID(captureID); err != nil {
		return err
	}
	held := p.Held()
	op := Operation{Kind: OpCapture, Reference: Reference(p.id, OpCapture, ""), Amount: held, GatewayID: captureID, OccurredAt: at}
	p.apply(op, StatusCaptured, PaymentCaptured{Header: p.header(), Amount: held, CaptureID: captureID, OccurredAt: at})
	return nil
}

// Void records the release of the authorization without a charge.
func (p *Payment) Void(voidID, reason string, at time.Time) error {
	if p.status != StatusAuthorized {
		return transition(OpVoid, p.status)
	}
	if err := checkGatewayID(voidID); err != nil {
		return err
	}
	if err := checkReason(reason); err != nil {
		return err
	}
	held := p.Held()
	op := Operation{Kind: OpVoid, Reference: Reference(p.id, OpVoid, ""), Amount: held, GatewayID: voidID, Reason: reason, OccurredAt: at}
	p.apply(op, StatusVoided, PaymentVoided{Header: p.header(), Amount: held, Reason: reason, OccurredAt: at})
	return nil
}

// CheckRefund reports whether a refund of amount may be made now: the
// payment is captured, the amount positive, in the payment's currency and
// not more than Refundable.
func (p Payment) CheckRefund(amount Money) error {
	if p.status != StatusCaptured && p.status != StatusPartiallyRefunded {
		return transition(OpRefund, p.status)
	}
	if amount.Currency() != p.amount.Currency() {
		return fmt.Errorf("%w: refund in %s of a payment in %s", ErrCurrencyMismatch, amount.Currency(), p.amount.Currency())
	}
	if amount.IsZero() {
		return invalid("/amount/amount_minor", "must be positive")
	}
	if amount.Amount() > p.Refundable().Amount() {
		return fmt.Errorf("%w: %s requested, %s refundable", ErrRefundExceedsCaptured, amount, p.Refundable())
	}
	return nil
}

// Refund records a refund of amount under reference (unique per payment).
func (p *Payment) Refund(reference, refundID string, amount Money, reason string, at time.Time) error {
	if _, dup := p.Operation(OpRefund, reference); dup {
		return fmt.Errorf("%w: refund %s", ErrDuplicateOperation, reference)
	}
	if reference == "" || len(reference) > MaxReferenceLength {
		return invalid("/reference", fmt.Sprintf("must be 1-%d bytes", MaxReferenceLength))
	}
	if err := p.CheckRefund(amount); err != nil {
		return err
	}
	if err := checkGatewayID(refundID); err != nil {
		return err
	}
	if err := checkReason(reason); err != nil {
		return err
	}
	op := Operation{Kind: OpRefund, Reference: reference, Amount: amount, GatewayID: refundID, Reason: reason, OccurredAt: at}
	status := StatusPartiallyRefunded
	if amount.Amount() == p.Refundable().Amount() {
		status = StatusRefunded
	}
	total := Money{amount: p.Refunded().amount + amount.amount, currency: amount.currency}
	p.apply(op, status, PaymentRefunded{Header: p.header(), Amount: amount, TotalRefunded: total, RefundID: refundID,
		Reference: reference, Reason: reason, OccurredAt: at})
	return nil
}
