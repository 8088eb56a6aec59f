package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/agoracommerce/agora/internal/payment"
)

// Repository keeps payments. Every method that changes a payment writes
// its new operations, their ledger entries and its events (payment.Event)
// to the outbox in the same transaction, or changes nothing.
// Implementations are safe for concurrent use.
type Repository interface {
	// Create stores p unless its order already has a payment (one payment
	// per order); then it returns that payment with created false and
	// changes nothing.
	Create(ctx context.Context, p payment.Payment) (stored payment.Payment, created bool, err error)
	// Get returns the payment with id, or payment.ErrNotFound.
	Get(ctx context.Context, id string) (payment.Payment, error)
	// ByOrder returns the order's payment, or payment.ErrNotFound.
	ByOrder(ctx context.Context, orderID string) (payment.Payment, error)
	// List returns up to limit payments, newest (highest ID) first, with
	// an ID below before ("" for the first page), of customerID ("" for
	// every customer).
	List(ctx context.Context, customerID, before string, limit int) ([]payment.Payment, error)
	// Update loads the payment, applies fn and, when fn changed it, stores
	// the new state (conditional on the version it loaded), its new
	// operations and ledger entries, and its events, in one transaction.
	// fn may run more than once when a concurrent change wins. Errors:
	// payment.ErrNotFound, fn's errors, payment.ErrConflict when every
	// attempt lost.
	Update(ctx context.Context, id string, fn func(*payment.Payment) error) (payment.Payment, error)
}

// PaymentGateway is the payment processor. Every operation carries a
// reference the gateway keeps it by: calling an operation again with a
// reference it has performed returns the first result and performs
// nothing (so a retry never charges twice). Errors: a *DeclineError for a
// refused authorization; errors marked fault.Retryable for transient
// failures; ErrOutcomeUnknown (retryable) when the call ended without an
// answer and the operation may or may not have been performed — Lookup
// tells which; any other error is permanent. Implementations are safe for
// concurrent use.
type PaymentGateway interface {
	Authorize(ctx context.Context, req AuthorizeRequest) (GatewayResult, error)
	Capture(ctx context.Context, req OperationRequest) (GatewayResult, error)
	Void(ctx context.Context, req OperationRequest) (GatewayResult, error)
	Refund(ctx context.Context, req OperationRequest) (GatewayResult, error)
	// Lookup returns the result of the operation performed with
	// reference: its GatewayResult, its *DeclineError, or
	// ErrOperationNotFound when none was performed.
	Lookup(ctx context.Context, reference string) (GatewayResult, error)
}

// AuthorizeRequest asks the gateway to hold Amount on the payment method
// of Token.
type AuthorizeRequest struct {
	Reference string
	Amount    payment.Money
	// Token is the customer's payment method as tokenized by the gateway.
	Token string
}

// OperationRequest asks for a capture, void or refund of Amount of an
// authorization.
type OperationRequest struct {
	Reference       string
	AuthorizationID string
	Amount          payment.Money
}

// GatewayResult is a performed operation.
type GatewayResult struct {
	// ID is the gateway's ID of the operation.
	ID string
}

// Errors of the gateway port.
var (
	// ErrDeclined is matched by every *DeclineError.
	ErrDeclined = errors.New("payment gateway: declined")
	// ErrOutcomeUnknown: the call ended without an answer (a timeout); the
	// operation may have been performed.
	ErrOutcomeUnknown = errors.New("payment gateway: outcome unknown")
	// ErrOperationNotFound: Lookup found no operation with the reference.
	ErrOperationNotFound = errors.New("payment gateway: no operation with this reference")
	// ErrGatewayUnavailable: the gateway kept failing transiently (or its
	// circuit breaker is open); the use case may be retried later and
	// resumes with the same references. Errors wrapping it are retryable.
	ErrGatewayUnavailable = errors.New("payment gateway unavailable")
	// ErrGatewayRejected: the gateway refused the request itself (not a
	// decline); retrying does not help.
	ErrGatewayRejected = errors.New("payment gateway rejected the request")
)

// DeclineError is the gateway's refusal of an authorization, with its
// decline code (declined, insufficient_funds, ...).
type DeclineError struct {
	Code string
}

func (e *DeclineError) Error() string { return fmt.Sprintf("payment gateway: declined: %s", e.Code) }

// Is makes errors.Is(err, ErrDeclined) true.
func (e *DeclineError) Is(target error) bool { return target == ErrDeclined }
