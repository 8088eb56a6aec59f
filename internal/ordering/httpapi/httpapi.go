// Package httpapi serves the ordering service's REST API
// (api/openapi/ordering.v1.yaml) over the generated strict server: it calls
// the app's use cases, turns orders into the API's JSON (never showing the
// payment token), and maps domain errors to RFC 9457 problems in one place
// (Problems and mapErrors). The object-level checks (a customer reaches
// only their own orders) are made by the app from the request's principal.
package httpapi

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"

	orderingapi "github.com/agoracommerce/agora/gen/openapi/ordering"
	"github.com/agoracommerce/agora/internal/ordering"
	"github.com/agoracommerce/agora/internal/ordering/app"
	"github.com/agoracommerce/agora/internal/platform/httpserver"
	"github.com/agoracommerce/agora/internal/platform/problem"
)

// API implements the generated strict server over the app.
type API struct {
	svc *app.Service
}

var _ orderingapi.StrictServerInterface = (*API)(nil)

// New returns the API over svc.
func New(svc *app.Service) (*API, error) {
	if svc == nil {
		return nil, errors.New("ordering httpapi: an app.Service is required")
	}
	return &API{svc: svc}, nil
}

// Document returns the ordering OpenAPI document, embedded at generation
// time, for httpserver.Config.Document.
func Document() (*openapi3.T, error) {
	doc, err := orderingapi.GetSpec()
	if err != nil {
		return nil, fmt.Errorf("ordering httpapi: spec: %w", err)
	}
	return doc, nil
}

// Mount registers the API's operations on srv's router (a server built by
// chassis.NewHTTP over Document and Problems).
func (a *API) Mount(srv *httpserver.Server) {
	strict := orderingapi.NewStrictHandlerWithOptions(a, []orderingapi.StrictMiddlewareFunc{mapErrors},
		orderingapi.StrictHTTPServerOptions{
			RequestErrorHandlerFunc:  srv.RequestErrorHandler,
			ResponseErrorHandlerFunc: srv.ResponseErrorHandler,
		})
	orderingapi.HandlerWithOptions(strict, orderingapi.ChiServerOptions{BaseRouter: srv.Router(), ErrorHandlerFunc: srv.RequestErrorHandler})
}

// etag is the entity tag of an order version.
func etag(o *ordering.Order) *string {
	tag := httpserver.ETag(strconv.FormatInt(o.Version(), 10))
	return &tag
}

func money(m ordering.Money) orderingapi.Money {
	return orderingapi.Money{AmountMinor: m.Amount(), Currency: m.Currency()}
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func addressJSON(a ordering.Address) orderingapi.Address {
	return orderingapi.Address{Name: a.Name, Line1: a.Line1, Line2: optional(a.Line2), City: a.City, Region: optional(a.Region),
		PostalCode: a.PostalCode, Country: a.Country}
}

func orderJSON(o *ordering.Order) (orderingapi.Order, error) {
	lines := o.Lines()
	out := orderingapi.Order{
		Id: o.ID(), CustomerId: o.CustomerID(), CartId: o.CartID(), Status: orderingapi.OrderStatus(o.Status()),
		Step: orderingapi.SagaStep(o.Step()), Lines: make([]orderingapi.OrderLine, 0, len(lines)), Total: money(o.Total()),
		ShippingAddress: addressJSON(o.Address()), Email: o.Email(), PaymentId: optional(o.PaymentID()),
		ShipmentId: optional(o.ShipmentID()), TrackingNumber: optional(o.TrackingNumber()), Carrier: optional(o.Carrier()),
		Refunded: o.Refunded(), Version: o.Version(), CreatedAt: o.CreatedAt(), UpdatedAt: o.UpdatedAt(),
	}
	for _, l := range lines {
		lt, err := l.Total()
		if err != nil {
			return orderingapi.Order{}, fmt.Errorf("ordering httpapi: line total of order %s: %w", o.ID(), err)
		}
		out.Lines = append(out.Lines, orderingapi.OrderLine{ProductId: l.ProductID, Sku: l.SKU, Name: l.Name, Quantity: l.Quantity,
			UnitPrice: money(l.UnitPrice), LineTotal: money(lt)})
	}
	if r, ok := o.EndReason(); ok {
		out.EndReason = &orderingapi.EndReason{Code: orderingapi.EndReasonCode(r.Code), Message: r.Message}
	}
	if d := o.DeadlineAt(); !d.IsZero() {
		out.DeadlineAt = &d
	}
	return out, nil
}

func location(o *ordering.Order) *string {
	l := "/v1/orders/" + o.ID().String()
	return &l
}

// ListOrders implements orderingapi.StrictServerInterface.
func (a *API) ListOrders(ctx context.Context, req orderingapi.ListOrdersRequestObject) (orderingapi.ListOrdersResponseObject, error) {
	q := app.ListQuery{}
	if req.Params.Limit != nil {
		q.Limit = *req.Params.Limit
	}
	if req.Params.Status != nil {
		q.Status = ordering.Status(*req.Params.Status)
	}
	if req.Params.Cursor != nil {
		raw, err := base64.RawURLEncoding.DecodeString(*req.Params.Cursor)
		if err == nil {
			q.Before, err = uuid.FromBytes(raw)
		}
		if err != nil {
			return nil, problem.Validation("the cursor is not one this API returned",
				problem.FieldError{Parameter: "cursor", In: "query", Detail: "pass the next_cursor of the previous page"})
		}
	}
	page, err := a.svc.MyOrders(ctx, q)
	if err != nil {
		return nil, err
	}
	out := orderingapi.OrderPage{Items: make([]orderingapi.Order, 0, len(page.Items))}
	for _, o := range page.Items {
		body, err := orderJSON(o)
		if err != nil {
			return nil, err
		}
		out.Items = append(out.Items, body)
	}
	if page.Next != uuid.Nil {
		c := base64.RawURLEncoding.EncodeToString(page.Next[:])
		out.NextCursor = &c
	}
	return orderingapi.ListOrders200JSONResponse(out), nil
}

// PlaceOrder implements orderingapi.StrictServerInterface. The
// idempotency middleware has claimed the request's key before it runs.
func (a *API) PlaceOrder(ctx context.Context, req orderingapi.PlaceOrderRequestObject) (orderingapi.PlaceOrderResponseObject, error) {
	if req.Body == nil {
		return nil, problem.MalformedBody("the request needs a JSON body")
	}
	b := req.Body
	in := app.PlaceOrder{CartID: b.CartId, PaymentToken: b.PaymentToken, Address: ordering.Address{
		Name: b.ShippingAddress.Name, Line1: b.ShippingAddress.Line1, City: b.ShippingAddress.City,
		PostalCode: b.ShippingAddress.PostalCode, Country: b.ShippingAddress.Country,
	}}
	if b.ShippingAddress.Line2 != nil {
		in.Address.Line2 = *b.ShippingAddress.Line2
	}
	if b.ShippingAddress.Region != nil {
		in.Address.Region = *b.ShippingAddress.Region
	}
	if b.Email != nil {
		in.Email = string(*b.Email)
	}
	o, err := a.svc.PlaceOrder(ctx, in)
	if err != nil {
		return nil, err
	}
	body, err := orderJSON(o)
	if err != nil {
		return nil, err
	}
	return orderingapi.PlaceOrder201JSONResponse{Body: body, Headers: orderingapi.PlaceOrder201ResponseHeaders{ETag: etag(o), Location: location(o)}}, nil
}

// GetOrder implements orderingapi.StrictServerInterface.
func (a *API) GetOrder(ctx context.Context, req orderingapi.GetOrderRequestObject) (orderingapi.GetOrderResponseObject, error) {
	o, err := a.svc.Order(ctx, req.OrderId)
	if err != nil {
		return nil, err
	}
	tag := etag(o)
	if httpserver.IfNoneMatchHeader(req.Params.IfNoneMatch, *tag) {
		return orderingapi.GetOrder304Response{Headers: orderingapi.GetOrder304ResponseHeaders{ETag: tag}}, nil
	}
	body, err := orderJSON(o)
	if err != nil {
		return nil, err
	}
	return orderingapi.GetOrder200JSONResponse{Body: body, Headers: orderingapi.GetOrder200ResponseHeaders{ETag: tag}}, nil
}

// CancelOrder implements orderingapi.StrictServerInterface.
func (a *API) CancelOrder(ctx context.Context, req orderingapi.CancelOrderRequestObject) (orderingapi.CancelOrderResponseObject, error) {
	if req.Body == nil {
		return nil, problem.MalformedBody("the request needs a JSON body")
	}
	reason := ""
	if req.Body.Reason != nil {
		reason = *req.Body.Reason
	}
	o, err := a.svc.CancelOrder(ctx, req.OrderId, reason)
	if err != nil {
		return nil, err
	}
	body, err := orderJSON(o)
	if err != nil {
		return nil, err
	}
	return orderingapi.CancelOrder200JSONResponse{Body: body, Headers: orderingapi.CancelOrder200ResponseHeaders{ETag: etag(o)}}, nil
}
