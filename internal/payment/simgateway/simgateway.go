// Package simgateway is a simulated payment gateway for local runs and
// tests: an in-memory processor whose test payment tokens behave
// deterministically.
//
//	tok_approve             approves
//	tok_decline             declines (code "declined")
//	tok_insufficient_funds  declines (code "insufficient_funds")
//	tok_processor_error     fails with a retryable processor error the
//	                        first Config.ProcessorErrors calls of each
//	                        operation, then succeeds
//	tok_timeout             performs the first call of each operation but
//	                        answers with an unknown outcome (a timeout);
//	                        Lookup by reference then finds it
//
// Any other token is declined with code "invalid_token". Capture, void
// and refund of an authorization behave as its token says. Like a real
// processor it keeps every operation by reference: calling an operation
// again with a reference it has performed returns the first result and
// performs nothing, so retries never charge twice. It also keeps each
// authorization's own rules: captured at most once, never after a void,
// refunds not above the captured amount.
package simgateway

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/google/uuid"

	"github.com/agoracommerce/agora/internal/payment"
	"github.com/agoracommerce/agora/internal/payment/app"
	"github.com/agoracommerce/agora/internal/platform/fault"
)

// Test tokens.
const (
	TokenApprove           = "tok_approve"
	TokenDecline           = "tok_decline"
	TokenInsufficientFunds = "tok_insufficient_funds"
	TokenProcessorError    = "tok_processor_error"
	TokenTimeout           = "tok_timeout"
)

// DefaultProcessorErrors is Config.ProcessorErrors' default.
const DefaultProcessorErrors = 2

// ErrProcessor is the simulated transient processor failure; errors
// matching it are marked retryable.
var ErrProcessor = errors.New("simgateway: processor error")

// ErrRejected is matched by the permanent refusals of requests that break
// an authorization's rules (unknown authorization, second capture, capture
// after void, refund above captured, currency mismatch).
var ErrRejected = errors.New("simgateway: request rejected")

// Config tunes the Gateway. The zero value is valid.
type Config struct {
	// ProcessorErrors is how many calls of each operation of a
	// tok_processor_error authorization fail before one succeeds;
	// DefaultProcessorErrors when 0, none when negative.
	ProcessorErrors int
}

// Operation is a performed operation, as Performed lists them.
type Operation struct {
	Kind      payment.OperationKind
	Reference string
	ID        string
	Amount    payment.Money
	// DeclineCode is set for a declined authorization.
	DeclineCode string
}

type authorization struct {
	token    string
	amount   payment.Money
	captured int64
	refunded int64
	voided   bool
}

// Gateway is the simulated gateway. Safe for concurrent use.
type Gateway struct {
	processorErrors int

	mu        sync.Mutex
	ops       map[string]Operation // by reference
	order     []string             // references in the order performed
	auths     map[string]*authorization
	failures  map[string]int // processor errors returned, by reference
	timedOut  map[string]bool
	callCount int
}

var _ app.PaymentGateway = (*Gateway)(nil)

// New returns an empty Gateway.
func New(cfg Config) (*Gateway, error) {
	n := cfg.ProcessorErrors
	switch {
	case n == 0:
		n = DefaultProcessorErrors
	case n < 0:
		n = 0
	}
	return &Gateway{processorErrors: n, ops: map[string]Operation{}, auths: map[string]*authorization{},
		failures: map[string]int{}, timedOut: map[string]bool{}}, nil
}

// Performed returns the operations performed, in order; each reference
// appears once however often it was called.
func (g *Gateway) Performed() []Operation {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]Operation, 0, len(g.order))
	for _, ref := range g.order {
		out = append(out, g.ops[ref])
	}
	return out
}

// Calls returns how many operation calls (Lookup excluded) the gateway
// has answered.
func (g *Gateway) Calls() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.callCount
}

func newID(prefix string) (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", fault.Retryable(fmt.Errorf("simgateway: id: %w", err))
	}
	return prefix + "_" + id.String(), nil
}

func result(op Operation) (app.GatewayResult, error) {
	if op.DeclineCode != "" {
		return app.GatewayResult{}, &app.DeclineError{Code: op.DeclineCode}
	}
	return app.GatewayResult{ID: op.ID}, nil
}

// perform runs the common part of every operation under g.mu: replay by
// reference, the token's simulated faults, then do.
func (g *Gateway) perform(ctx context.Context, ref, token string, do func() (Operation, error)) (app.GatewayResult, error) {
	if err := ctx.Err(); err != nil {
		return app.GatewayResult{}, err
	}
	if ref == "" {
		return app.GatewayResult{}, fault.Permanent(fmt.Errorf("%w: a reference is required", ErrRejected))
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.callCount++
	if op, ok := g.ops[ref]; ok {
		return result(op)
	}
	if token == TokenProcessorError && g.failures[ref] < g.processorErrors {
		g.failures[ref]++
		return app.GatewayResult{}, fault.Retryable(fmt.Errorf("%w (%s, attempt %d)", ErrProcessor, ref, g.failures[ref]))
	}
	op, err := do()
	if err != nil {
		return app.GatewayResult{}, err
	}
	op.Reference = ref
	g.ops[ref] = op
	g.order = append(g.order, ref)
	if token == TokenTimeout && !g.timedOut[ref] {
		g.timedOut[ref] = true
		return app.GatewayResult{}, fault.Retryable(fmt.Errorf("simgateway: %s: %w: %w", ref, app.ErrOutcomeUnknown, context.DeadlineExceeded))
	}
	return result(op)
}

// Authorize implements app.PaymentGateway.
func (g *Gateway) Authorize(ctx context.Context, req app.AuthorizeRequest) (app.GatewayResult, error) {
	return g.perform(ctx, req.Reference, req.Token, func() (Operation, error) {
		if req.Amount.IsZero() {
			return Operation{}, fault.Permanent(fmt.Errorf("%w: zero amount", ErrRejected))
		}
		op := Operation{Kind: payment.OpAuthorize, Amount: req.Amount}
		switch req.Token {
		case TokenApprove, TokenProcessorError, TokenTimeout:
			id, err := newID("auth")
			if err != nil {
				return Operation{}, err
			}
			op.ID = id
			g.auths[id] = &authorization{token: req.Token, amount: req.Amount}
		case TokenDecline:
			op.DeclineCode = "declined"
		case TokenInsufficientFunds:
			op.DeclineCode = "insufficient_funds"
		default:
			op.DeclineCode = "invalid_token"
		}
		return op, nil
	})
}

// authorization returns the authorization a request names; g.mu is held.
func (g *Gateway) authorization(req app.OperationRequest) (*authorization, error) {
	a, ok := g.auths[req.AuthorizationID]
	if !ok {
		return nil, fault.Permanent(fmt.Errorf("%w: unknown authorization %q", ErrRejected, req.AuthorizationID))
	}
	if req.Amount.Currency() != a.amount.Currency() || req.Amount.IsZero() {
		return nil, fault.Permanent(fmt.Errorf("%w: amount %s for an authorization of %s", ErrRejected, req.Amount, a.amount))
	}
	return a, nil
}

// token returns the token of the authorization a request names ("" when
// unknown, which perform treats as no fault).
func (g *Gateway) token(id string) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if a, ok := g.auths[id]; ok {
		return a.token
	}
	return ""
}

// Capture implements app.PaymentGateway.
func (g *Gateway) Capture(ctx context.Context, req app.OperationRequest) (app.GatewayResult, error) {
	return g.perform(ctx, req.Reference, g.token(req.AuthorizationID), func() (Operation, error) {
		a, err := g.authorization(req)
		if err != nil {
			return Operation{}, err
		}
		switch {
		case a.voided:
			return Operation{}, fault.Permanent(fmt.Errorf("%w: authorization %s is voided", ErrRejected, req.AuthorizationID))
		case a.captured > 0:
			return Operation{}, fault.Permanent(fmt.Errorf("%w: authorization %s is already captured", ErrRejected, req.AuthorizationID))
		case req.Amount.Amount() > a.amount.Amount():
			return Operation{}, fault.Permanent(fmt.Errorf("%w: capture of %s above the authorized %s", ErrRejected, req.Amount, a.amount))
		}
		id, err := newID("cap")
		if err != nil {
			return Operation{}, err
		}
		a.captured = req.Amount.Amount()
		return Operation{Kind: payment.OpCapture, ID: id, Amount: req.Amount}, nil
	})
}

// Void implements app.PaymentGateway.
func (g *Gateway) Void(ctx context.Context, req app.OperationRequest) (app.GatewayResult, error) {
	return g.perform(ctx, req.Reference, g.token(req.AuthorizationID), func() (Operation, error) {
		a, err := g.authorization(req)
		if err != nil {
			return Operation{}, err
		}
		if a.captured > 0 || a.voided {
			return Operation{}, fault.Permanent(fmt.Errorf("%w: authorization %s is captured or voided", ErrRejected, req.AuthorizationID))
		}
		id, err := newID("void")
		if err != nil {
			return Operation{}, err
		}
		a.voided = true
		return Operation{Kind: payment.OpVoid, ID: id, Amount: req.Amount}, nil
	})
}

// Refund implements app.PaymentGateway.
func (g *Gateway) Refund(ctx context.Context, req app.OperationRequest) (app.GatewayResult, error) {
	return g.perform(ctx, req.Reference, g.token(req.AuthorizationID), func() (Operation, error) {
		a, err := g.authorization(req)
		if err != nil {
			return Operation{}, err
		}
		if a.refunded+req.Amount.Amount() > a.captured {
			return Operation{}, fault.Permanent(fmt.Errorf("%w: refund of %s above the %d captured and not refunded", ErrRejected, req.Amount, a.captured-a.refunded))
		}
		id, err := newID("ref")
		if err != nil {
			return Operation{}, err
		}
		a.refunded += req.Amount.Amount()
		return Operation{Kind: payment.OpRefund, ID: id, Amount: req.Amount}, nil
	})
}

// Lookup implements app.PaymentGateway.
func (g *Gateway) Lookup(ctx context.Context, reference string) (app.GatewayResult, error) {
	if err := ctx.Err(); err != nil {
		return app.GatewayResult{}, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	op, ok := g.ops[reference]
	if !ok {
		return app.GatewayResult{}, fmt.Errorf("simgateway: %s: %w", reference, app.ErrOperationNotFound)
	}
	return result(op)
}
