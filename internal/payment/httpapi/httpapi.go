// Package httpapi serves the payment service's REST API
// (api/openapi/payment.v1.yaml) over the generated strict server: it calls
// the app's use cases, checks that the caller owns the payment (or is an
// operator), turns domain values into the API's JSON, and maps domain
// errors to RFC 9457 problems in one place (Problems and mapErrors).
package httpapi

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"

	paymentapi "github.com/agoracommerce/agora/gen/openapi/payment"
	"github.com/agoracommerce/agora/internal/payment"
	"github.com/agoracommerce/agora/internal/payment/app"
	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/httpserver"
	"github.com/agoracommerce/agora/internal/platform/idempotency"
	"github.com/agoracommerce/agora/internal/platform/problem"
)

// Problem types of the payment API. Clients may switch on them.
const (
	TypePaymentNotFound          = problem.TypeBase + "payment/payment-not-found"
	TypeInvalidState             = problem.TypeBase + "payment/invalid-state"
	TypeRefundExceedsCaptured    = problem.TypeBase + "payment/refund-exceeds-captured"
	TypeCurrencyMismatch         = problem.TypeBase + "payment/currency-mismatch"
	TypeGatewayRejected          = problem.TypeBase + "payment/gateway-rejected"
	TypeDuplicateRefundReference = problem.TypeBase + "payment/duplicate-refund-reference"
)

// Problems returns the payment service's one mapping from errors to
// problems, for httpserver.Config.Problems. Validation errors naming a
// field and the object-level refusals are turned into problems by
// mapErrors before they reach it.
func Problems() (*problem.Mapper, error) {
	return problem.NewMapper(
		problem.Rule{Err: payment.ErrNotFound, Status: http.StatusNotFound, Type: TypePaymentNotFound,
			Title: "Payment not found", Detail: "no payment has this ID"},
		problem.Rule{Err: payment.ErrInvalidTransition, Status: http.StatusConflict, Type: TypeInvalidState,
			Title: "Operation not allowed", Detail: "the payment's status does not allow this operation (only captured payments are refunded)"},
		problem.Rule{Err: payment.ErrRefundExceedsCaptured, Status: http.StatusConflict, Type: TypeRefundExceedsCaptured,
			Title: "Refund exceeds captured amount", Detail: "the refunds of a payment cannot exceed what was captured"},
		problem.Rule{Err: payment.ErrDuplicateOperation, Status: http.StatusConflict, Type: TypeDuplicateRefundReference,
			Title: "Duplicate refund reference", Detail: "a refund with this reference was made for another amount"},
		problem.Rule{Err: payment.ErrCurrencyMismatch, Status: http.StatusUnprocessableEntity, Type: TypeCurrencyMismatch,
			Title: "Currency mismatch", Detail: "the amount is not in the payment's currency"},
		problem.Rule{Err: payment.ErrConflict, Status: http.StatusConflict, Type: problem.TypeConflict,
			Title: "Conflict", Detail: "a concurrent change won; retry the request"},
		problem.Rule{Err: app.ErrGatewayRejected, Status: http.StatusBadGateway, Type: TypeGatewayRejected,
			Title: "Payment gateway rejected the request", Detail: "the payment gateway refused the operation"},
		problem.Rule{Err: app.ErrGatewayUnavailable, Status: http.StatusServiceUnavailable, Type: problem.TypeUnavailable,
			Title: "Service unavailable", Detail: "the payment gateway is temporarily unavailable; retry the request with the same Idempotency-Key"},
		problem.Rule{Err: payment.ErrInvalid, Status: http.StatusBadRequest, Type: problem.TypeValidation,
			Title: "Invalid request", Detail: "the request breaks a rule of payments"},
	)
}

// Document returns the API's OpenAPI document, embedded in the generated
// code, for chassis.Config.HTTP.Document.
func Document() (*openapi3.T, error) {
	doc, err := paymentapi.GetSpec()
	if err != nil {
		return nil, fmt.Errorf("payment httpapi: spec: %w", err)
	}
	return doc, nil
}

// Server implements the generated strict server over the app.
type Server struct {
	svc *app.Service
}

var _ paymentapi.StrictServerInterface = (*Server)(nil)

// New returns the Server over svc.
func New(svc *app.Service) (*Server, error) {
	if svc == nil {
		return nil, errors.New("payment httpapi: an app.Service is required")
	}
	return &Server{svc: svc}, nil
}

// Mount registers the API's operations on srv's router (a server built by
// chassis.NewHTTP over Document and Problems), answering binding errors
// and handler errors with srv's problems.
func Mount(srv *httpserver.Server, s *Server) {
	strict := paymentapi.NewStrictHandlerWithOptions(s, []paymentapi.StrictMiddlewareFunc{mapErrors}, paymentapi.StrictHTTPServerOptions{
		RequestErrorHandlerFunc:  srv.RequestErrorHandler,
		ResponseErrorHandlerFunc: srv.ResponseErrorHandler,
	})
	paymentapi.HandlerWithOptions(strict, paymentapi.ChiServerOptions{BaseRouter: srv.Router(), ErrorHandlerFunc: srv.RequestErrorHandler})
}

// mapErrors turns the errors naming a field into validation problems and
// the object-level refusals into 401/403; every other error goes on to the
// Mapper of Problems.
func mapErrors(f paymentapi.StrictHandlerFunc, _ string) paymentapi.StrictHandlerFunc {
	return func(ctx context.Context, w http.ResponseWriter, r *http.Request, req any) (any, error) {
		resp, err := f(ctx, w, r, req)
		if err == nil {
			return resp, nil
		}
		var ve *payment.ValidationError
		switch {
		case errors.As(err, &ve):
			return nil, problem.Validation("the request breaks a rule of payments", problem.FieldError{Pointer: ve.Field, Detail: ve.Reason})
		case errors.Is(err, auth.ErrForbidden), errors.Is(err, auth.ErrUnauthenticated):
			d, h := auth.ProblemOf(err)
			for name, values := range h {
				w.Header()[name] = values
			}
			return nil, &d
		}
		return nil, err
	}
}

// adminScopes pass the ownership check of every payment.
var adminScopes = []string{auth.ScopePaymentsAdmin}

func isAdmin(ctx context.Context) bool {
	p, ok := auth.PrincipalFrom(ctx)
	return ok && (p.HasScope(auth.ScopeAdmin) || p.HasScope(auth.ScopePaymentsAdmin))
}

func etag(p payment.Payment) *string {
	tag := httpserver.ETag(strconv.FormatInt(p.Version(), 10))
	return &tag
}

func money(m payment.Money) paymentapi.Money {
	return paymentapi.Money{AmountMinor: m.Amount(), Currency: m.Currency()}
}

func paymentJSON(p payment.Payment) (paymentapi.Payment, error) {
	id, err := uuid.Parse(p.ID())
	if err != nil {
		return paymentapi.Payment{}, fmt.Errorf("payment httpapi: payment ID %q: %w", p.ID(), err)
	}
	out := paymentapi.Payment{
		Id: id, OrderId: p.OrderID(), CustomerId: p.CustomerID(), Status: paymentapi.PaymentStatus(p.Status()),
		Amount: money(p.Amount()), Captured: money(p.Captured()), Refunded: money(p.Refunded()),
		Operations: []paymentapi.Operation{}, Version: p.Version(), CreatedAt: p.CreatedAt(), UpdatedAt: p.UpdatedAt(),
	}
	if r := p.FailureReason(); r != "" {
		out.FailureReason = &r
	}
	for _, op := range p.Operations() {
		o := paymentapi.Operation{Kind: paymentapi.OperationKind(op.Kind), Reference: op.Reference, Amount: money(op.Amount),
			GatewayId: op.GatewayID, OccurredAt: op.OccurredAt}
		if op.Reason != "" {
			reason := op.Reason
			o.Reason = &reason
		}
		out.Operations = append(out.Operations, o)
	}
	return out, nil
}

// GetPayment implements paymentapi.StrictServerInterface.
func (s *Server) GetPayment(ctx context.Context, req paymentapi.GetPaymentRequestObject) (paymentapi.GetPaymentResponseObject, error) {
	p, err := s.svc.Payment(ctx, req.PaymentId.String())
	if err != nil {
		return nil, err
	}
	if err := auth.RequireOwner(ctx, p.CustomerID(), adminScopes...); err != nil {
		return nil, err
	}
	tag := etag(p)
	if httpserver.IfNoneMatchHeader(req.Params.IfNoneMatch, *tag) {
		return paymentapi.GetPayment304Response{Headers: paymentapi.GetPayment304ResponseHeaders{ETag: tag}}, nil
	}
	body, err := paymentJSON(p)
	if err != nil {
		return nil, err
	}
	return paymentapi.GetPayment200JSONResponse{Body: body, Headers: paymentapi.GetPayment200ResponseHeaders{ETag: tag}}, nil
}

// ListPayments implements paymentapi.StrictServerInterface.
func (s *Server) ListPayments(ctx context.Context, req paymentapi.ListPaymentsRequestObject) (paymentapi.ListPaymentsResponseObject, error) {
	out := paymentapi.PaymentPage{Items: []paymentapi.Payment{}}
	if req.Params.OrderId != nil {
		p, err := s.svc.PaymentByOrder(ctx, *req.Params.OrderId)
		switch {
		case errors.Is(err, payment.ErrNotFound):
			return paymentapi.ListPayments200JSONResponse(out), nil
		case err != nil:
			return nil, err
		}
		if err := auth.RequireOwner(ctx, p.CustomerID(), adminScopes...); err != nil {
			return nil, err
		}
		body, err := paymentJSON(p)
		if err != nil {
			return nil, err
		}
		out.Items = append(out.Items, body)
		return paymentapi.ListPayments200JSONResponse(out), nil
	}
	limit := 20
	if req.Params.Limit != nil {
		limit = *req.Params.Limit
	}
	before := ""
	if req.Params.Cursor != nil {
		raw, err := base64.RawURLEncoding.DecodeString(*req.Params.Cursor)
		if err != nil || uuid.Validate(string(raw)) != nil {
			return nil, problem.Validation("the cursor is not one this API returned",
				problem.FieldError{Parameter: "cursor", In: "query", Detail: "unknown cursor"})
		}
		before = string(raw)
	}
	customer := ""
	if !isAdmin(ctx) {
		p, ok := auth.PrincipalFrom(ctx)
		if !ok {
			return nil, auth.ErrUnauthenticated
		}
		customer = p.Subject
	}
	page, next, err := s.svc.ListPayments(ctx, customer, before, limit)
	if err != nil {
		return nil, err
	}
	for _, p := range page {
		body, err := paymentJSON(p)
		if err != nil {
			return nil, err
		}
		out.Items = append(out.Items, body)
	}
	if next != "" {
		c := base64.RawURLEncoding.EncodeToString([]byte(next))
		out.NextCursor = &c
	}
	return paymentapi.ListPayments200JSONResponse(out), nil
}

// RefundPayment implements paymentapi.StrictServerInterface. The refund's
// reference is the request's Idempotency-Key, scoped to the payment.
func (s *Server) RefundPayment(ctx context.Context, req paymentapi.RefundPaymentRequestObject) (paymentapi.RefundPaymentResponseObject, error) {
	if req.Body == nil {
		return nil, problem.MalformedBody("the request needs a JSON body")
	}
	if req.Params.IdempotencyKey == nil {
		return nil, problem.Validation("this operation requires an Idempotency-Key",
			problem.FieldError{Parameter: idempotency.KeyHeader, In: "header", Detail: "required"})
	}
	amount, err := payment.NewMoney(req.Body.Amount.AmountMinor, req.Body.Amount.Currency)
	if err != nil {
		var ve *payment.ValidationError
		if errors.As(err, &ve) {
			ve.Field = "/amount" + ve.Field
		}
		return nil, err
	}
	p, err := s.svc.RefundPayment(ctx, req.PaymentId.String(), amount, req.Body.Reason, *req.Params.IdempotencyKey)
	if err != nil {
		return nil, err
	}
	body, err := paymentJSON(p)
	if err != nil {
		return nil, err
	}
	return paymentapi.RefundPayment200JSONResponse{Body: body, Headers: paymentapi.RefundPayment200ResponseHeaders{ETag: etag(p)}}, nil
}
