// Package httpapi serves the order history's REST API
// (api/openapi/orderhistory.v1.yaml) over the generated strict server: it
// calls the app's queries (which decide who sees what), turns histories
// into the API's JSON, and maps errors to RFC 9457 problems in one place
// (Problems).
package httpapi

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	orderhistoryapi "github.com/agoracommerce/agora/gen/openapi/orderhistory"
	"github.com/agoracommerce/agora/internal/orderhistory"
	"github.com/agoracommerce/agora/internal/orderhistory/app"
	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/httpserver"
	"github.com/agoracommerce/agora/internal/platform/problem"
)

// TypeOrderNotFound is the problem type of an order the caller cannot see.
const TypeOrderNotFound = problem.TypeBase + "order-history/order-not-found"

// Problems returns the order history's one mapping from errors to
// problems, for httpserver.Config.Problems.
func Problems() (*problem.Mapper, error) {
	return problem.NewMapper(
		problem.Rule{Err: orderhistory.ErrNotFound, Status: http.StatusNotFound, Type: TypeOrderNotFound,
			Title: "Order not found", Detail: "you have no order with this ID, or it is not in the order history yet"},
		problem.Rule{Err: orderhistory.ErrInvalid, Status: http.StatusBadRequest, Type: problem.TypeValidation,
			Title: "Invalid request", Detail: "the request breaks a rule of the order history"},
		problem.Rule{Err: auth.ErrUnauthenticated, Status: http.StatusUnauthorized, Type: problem.TypeUnauthorized,
			Title: "Unauthorized", Detail: "sign in as the customer the orders belong to"},
	)
}

// Document returns the API's OpenAPI document, embedded in the generated
// code, for chassis.Config.HTTP.Document.
func Document() (*openapi3.T, error) {
	doc, err := orderhistoryapi.GetSpec()
	if err != nil {
		return nil, fmt.Errorf("orderhistory httpapi: spec: %w", err)
	}
	return doc, nil
}

// Server implements the generated strict server over the app.
type Server struct {
	svc *app.Service
}

var _ orderhistoryapi.StrictServerInterface = (*Server)(nil)

// New returns the Server over svc.
func New(svc *app.Service) (*Server, error) {
	if svc == nil {
		return nil, errors.New("orderhistory httpapi: an app.Service is required")
	}
	return &Server{svc: svc}, nil
}

// Mount registers the API's operations on srv's router (a server built by
// chassis.NewHTTP over Document and Problems), answering binding errors
// and handler errors with srv's problems.
func (s *Server) Mount(srv *httpserver.Server) {
	strict := orderhistoryapi.NewStrictHandlerWithOptions(s, nil, orderhistoryapi.StrictHTTPServerOptions{
		RequestErrorHandlerFunc:  srv.RequestErrorHandler,
		ResponseErrorHandlerFunc: srv.ResponseErrorHandler,
	})
	orderhistoryapi.HandlerWithOptions(strict, orderhistoryapi.ChiServerOptions{BaseRouter: srv.Router(), ErrorHandlerFunc: srv.RequestErrorHandler})
}

// ListOrderHistory implements orderhistoryapi.StrictServerInterface.
func (s *Server) ListOrderHistory(ctx context.Context, req orderhistoryapi.ListOrderHistoryRequestObject) (orderhistoryapi.ListOrderHistoryResponseObject, error) {
	var status orderhistory.Status
	if req.Params.Status != nil {
		status = orderhistory.Status(*req.Params.Status)
	}
	limit := app.DefaultPageSize
	if req.Params.Limit != nil {
		limit = *req.Params.Limit
	}
	var after *app.Cursor
	if req.Params.Cursor != nil {
		c, err := decodeCursor(*req.Params.Cursor)
		if err != nil {
			return nil, problem.Validation("the cursor is not one this API returned",
				problem.FieldError{Parameter: "cursor", In: "query", Detail: "unknown cursor"})
		}
		after = &c
	}
	page, err := s.svc.Orders(ctx, status, after, limit)
	if err != nil {
		return nil, err
	}
	out := orderhistoryapi.OrderHistoryPage{Items: make([]orderhistoryapi.OrderSummary, 0, len(page.Orders))}
	for _, sum := range page.Orders {
		out.Items = append(out.Items, summaryJSON(sum))
	}
	if page.Next != nil {
		c := encodeCursor(*page.Next)
		out.NextCursor = &c
	}
	return orderhistoryapi.ListOrderHistory200JSONResponse(out), nil
}

// GetOrderHistory implements orderhistoryapi.StrictServerInterface. The
// ETag changes with every recorded step: a history only ever grows.
func (s *Server) GetOrderHistory(ctx context.Context, req orderhistoryapi.GetOrderHistoryRequestObject) (orderhistoryapi.GetOrderHistoryResponseObject, error) {
	h, err := s.svc.Order(ctx, req.OrderId)
	if err != nil {
		return nil, err
	}
	sum := h.Summary()
	tag := httpserver.ETag(strconv.Itoa(sum.Entries) + "." + strconv.FormatInt(sum.UpdatedAt.UnixMicro(), 10))
	if httpserver.IfNoneMatchHeader(req.Params.IfNoneMatch, tag) {
		return orderhistoryapi.GetOrderHistory304Response{Headers: orderhistoryapi.GetOrderHistory304ResponseHeaders{ETag: &tag}}, nil
	}
	body := orderhistoryapi.OrderHistory{Summary: summaryJSON(sum), Timeline: []orderhistoryapi.TimelineEntry{}}
	timeline := h.Timeline()
	if len(timeline) > orderhistory.MaxEntriesShown {
		timeline = timeline[len(timeline)-orderhistory.MaxEntriesShown:]
	}
	for _, e := range timeline {
		body.Timeline = append(body.Timeline, entryJSON(e))
	}
	return orderhistoryapi.GetOrderHistory200JSONResponse{Body: body, Headers: orderhistoryapi.GetOrderHistory200ResponseHeaders{ETag: &tag}}, nil
}

func moneyJSON(m orderhistory.Money) orderhistoryapi.Money {
	return orderhistoryapi.Money{AmountMinor: m.Amount, Currency: m.Currency}
}

func optionalMoney(m orderhistory.Money) *orderhistoryapi.Money {
	if m.IsZero() {
		return nil
	}
	out := moneyJSON(m)
	return &out
}

func optional[T comparable](v T) *T {
	var zero T
	if v == zero {
		return nil
	}
	return &v
}

func summaryJSON(s orderhistory.Summary) orderhistoryapi.OrderSummary {
	out := orderhistoryapi.OrderSummary{
		OrderId: s.OrderID, CustomerId: s.CustomerID, Status: orderhistoryapi.OrderStatus(s.Status),
		Lines: make([]orderhistoryapi.OrderLine, 0, len(s.Lines)), Total: moneyJSON(s.Total), Refunded: moneyJSON(s.Refunded),
		PlacedAt: s.PlacedAt, UpdatedAt: s.UpdatedAt,
	}
	for _, l := range s.Lines {
		out.Lines = append(out.Lines, orderhistoryapi.OrderLine{Sku: l.SKU, ProductId: optional(l.ProductID), Name: optional(l.Name),
			Quantity: l.Quantity, UnitPrice: moneyJSON(l.UnitPrice)})
	}
	if s.TrackingNumber != "" {
		out.Tracking = &orderhistoryapi.Tracking{Carrier: optional(s.Carrier), TrackingNumber: s.TrackingNumber}
	}
	if s.Status == orderhistory.StatusRejected || s.Status == orderhistory.StatusCancelled {
		code := s.EndReason.Code
		if code == "" {
			code = orderhistory.EndUnspecified
		}
		out.EndReason = &orderhistoryapi.EndReason{Code: orderhistoryapi.EndReasonCode(code), Reason: optional(s.EndReason.Reason)}
	}
	return out
}

func entryJSON(e orderhistory.Entry) orderhistoryapi.TimelineEntry {
	f := e.Facts
	return orderhistoryapi.TimelineEntry{
		EventId: e.EventID, Type: string(e.Type), Service: orderhistoryapi.TimelineEntryService(e.Source()),
		OccurredAt: e.OccurredAt, Description: e.Description(),
		Facts: orderhistoryapi.Facts{
			Amount: optionalMoney(f.Amount), RefundedTotal: optionalMoney(f.RefundedTotal), Carrier: optional(f.Carrier),
			TrackingNumber: optional(f.TrackingNumber), Reason: optional(f.Reason), Code: optional(string(f.Code)),
			PaymentId: optional(f.PaymentID), ShipmentId: optional(f.ShipmentID), Quantity: optional(f.Quantity), Refund: optional(f.Refund),
		},
	}
}

// A cursor is base64url("<placed_at in µs>:<order ID>").
func encodeCursor(c app.Cursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.PlacedAt.UnixMicro(), 10) + ":" + c.OrderID))
}

func decodeCursor(raw string) (app.Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil {
		return app.Cursor{}, fmt.Errorf("cursor: %w", err)
	}
	at, id, ok := strings.Cut(string(b), ":")
	if !ok {
		return app.Cursor{}, errors.New("cursor: no separator")
	}
	micros, err := strconv.ParseInt(at, 10, 64)
	if err != nil {
		return app.Cursor{}, fmt.Errorf("cursor: %w", err)
	}
	if err := orderhistory.ValidateOrderID(id); err != nil {
		return app.Cursor{}, fmt.Errorf("cursor: %w", err)
	}
	return app.Cursor{PlacedAt: time.UnixMicro(micros).UTC(), OrderID: id}, nil
}
