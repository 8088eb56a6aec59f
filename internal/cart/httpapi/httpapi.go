// Package httpapi serves the cart's REST API (api/openapi/cart.v1.yaml)
// over the generated strict server: it calls the app's use cases, turns
// carts into the API's JSON, and maps domain errors to RFC 9457 problems
// in one place (Problems). The object-level checks (a customer reaches
// only their own carts) are made by the app from the request's principal.
package httpapi

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"

	cartapi "github.com/agoracommerce/agora/gen/openapi/cart"
	"github.com/agoracommerce/agora/internal/cart"
	"github.com/agoracommerce/agora/internal/cart/app"
	"github.com/agoracommerce/agora/internal/platform/chassis"
	"github.com/agoracommerce/agora/internal/platform/httpserver"
	"github.com/agoracommerce/agora/internal/platform/problem"
)

// BearerScheme is the security scheme of the spec that carries JWTs.
const BearerScheme = "bearerAuth"

// API implements the generated strict server over the app.
type API struct {
	svc *app.Service
}

var _ cartapi.StrictServerInterface = (*API)(nil)

// New returns the API over svc.
func New(svc *app.Service) (*API, error) {
	if svc == nil {
		return nil, errors.New("cart httpapi: an app.Service is required")
	}
	return &API{svc: svc}, nil
}

// Document returns the cart's OpenAPI document, embedded at generation
// time, for httpserver.Config.Document.
func Document() (*openapi3.T, error) {
	doc, err := cartapi.GetSpec()
	if err != nil {
		return nil, fmt.Errorf("cart httpapi: spec: %w", err)
	}
	return doc, nil
}

// Mount registers the API's operations on srv's router (a server built by
// chassis.NewHTTP over Document and Problems).
func (a *API) Mount(srv *httpserver.Server) {
	strict := cartapi.NewStrictHandlerWithOptions(a, []cartapi.StrictMiddlewareFunc{mapErrors},
		cartapi.StrictHTTPServerOptions{
			RequestErrorHandlerFunc:  srv.RequestErrorHandler,
			ResponseErrorHandlerFunc: srv.ResponseErrorHandler,
		})
	cartapi.HandlerWithOptions(strict, cartapi.ChiServerOptions{BaseRouter: srv.Router(), ErrorHandlerFunc: srv.RequestErrorHandler})
}

// NewHTTP assembles the cart's HTTP edge: it sets cfg's document, problem
// mapper and bearer scheme when unset, builds the server with
// chassis.NewHTTP and mounts the API on it. deps needs a Verifier (every
// operation is secured) and an Idempotency store (cart creation and adding
// lines take keys).
func NewHTTP(cfg chassis.Config, deps chassis.Deps, svc *app.Service) (*httpserver.Server, error) {
	a, err := New(svc)
	if err != nil {
		return nil, err
	}
	if cfg.HTTP.Spec == nil && cfg.HTTP.Document == nil {
		if cfg.HTTP.Document, err = Document(); err != nil {
			return nil, err
		}
	}
	if cfg.HTTP.Problems == nil {
		if cfg.HTTP.Problems, err = Problems(); err != nil {
			return nil, fmt.Errorf("cart httpapi: %w", err)
		}
	}
	if len(cfg.BearerSchemes) == 0 {
		cfg.BearerSchemes = []string{BearerScheme}
	}
	srv, err := chassis.NewHTTP(cfg, deps)
	if err != nil {
		return nil, fmt.Errorf("cart httpapi: %w", err)
	}
	a.Mount(srv)
	return srv, nil
}

// etag is the entity tag of a cart version.
func etag(c *cart.Cart) *string {
	tag := httpserver.ETag(strconv.FormatInt(c.Version(), 10))
	return &tag
}

// ifMatch is the precondition of an optional If-Match header value.
func ifMatch(header *string) app.Precondition {
	if header == nil {
		return nil
	}
	return func(version int64) error {
		return httpserver.CheckIfMatchHeader(header, httpserver.ETag(strconv.FormatInt(version, 10)), false)
	}
}

func money(m cart.Money) cartapi.Money {
	return cartapi.Money{AmountMinor: m.Amount(), Currency: m.Currency()}
}

func cartJSON(v app.View) cartapi.Cart {
	c := v.Cart
	out := cartapi.Cart{
		Id: c.ID(), CustomerId: c.CustomerID(), Status: cartapi.CartStatus(c.Status()), Currency: c.Currency(),
		Lines: make([]cartapi.Line, 0, len(v.Priced.Lines)), ItemCount: v.Priced.Items, Total: money(v.Priced.Total),
		Version: c.Version(), CreatedAt: c.CreatedAt(), UpdatedAt: c.UpdatedAt(),
	}
	if id := c.OrderID(); id != "" {
		out.OrderId = &id
	}
	if !v.ExpiresAt.IsZero() {
		at := v.ExpiresAt
		out.ExpiresAt = &at
	}
	for _, l := range v.Priced.Lines {
		line := cartapi.Line{
			ProductId: l.ProductID, Sku: l.SKU, Name: l.Name, Quantity: l.Quantity, UnitPrice: money(l.UnitPrice),
			Available: l.Available, LineTotal: money(l.Total), AddedAt: l.AddedAt,
		}
		if !l.Current.IsZero() {
			cur := money(l.Current)
			line.CurrentPrice = &cur
		}
		out.Lines = append(out.Lines, line)
	}
	return out
}

// ListCarts implements cartapi.StrictServerInterface.
func (a *API) ListCarts(ctx context.Context, req cartapi.ListCartsRequestObject) (cartapi.ListCartsResponseObject, error) {
	limit := 0
	if req.Params.Limit != nil {
		limit = *req.Params.Limit
	}
	after := uuid.Nil
	if req.Params.Cursor != nil {
		raw, err := base64.RawURLEncoding.DecodeString(*req.Params.Cursor)
		if err == nil {
			after, err = uuid.FromBytes(raw)
		}
		if err != nil {
			return nil, problem.Validation("the cursor is not one this API returned",
				problem.FieldError{Parameter: "cursor", In: "query", Detail: "pass the next_cursor of the previous page"})
		}
	}
	page, err := a.svc.MyCarts(ctx, after, limit)
	if err != nil {
		return nil, err
	}
	out := cartapi.CartPage{Items: make([]cartapi.Cart, 0, len(page.Items))}
	for _, v := range page.Items {
		out.Items = append(out.Items, cartJSON(v))
	}
	if page.Next != uuid.Nil {
		c := base64.RawURLEncoding.EncodeToString(page.Next[:])
		out.NextCursor = &c
	}
	return cartapi.ListCarts200JSONResponse(out), nil
}

// CreateCart implements cartapi.StrictServerInterface.
func (a *API) CreateCart(ctx context.Context, req cartapi.CreateCartRequestObject) (cartapi.CreateCartResponseObject, error) {
	if req.Body == nil {
		return nil, problem.MalformedBody("the request needs a JSON body")
	}
	v, err := a.svc.CreateCart(ctx, req.Body.Currency)
	if err != nil {
		return nil, err
	}
	return cartapi.CreateCart201JSONResponse{Body: cartJSON(v), Headers: cartapi.CreateCart201ResponseHeaders{
		ETag: etag(v.Cart), Location: ptr("/v1/carts/" + v.Cart.ID().String())}}, nil
}

// GetCart implements cartapi.StrictServerInterface.
func (a *API) GetCart(ctx context.Context, req cartapi.GetCartRequestObject) (cartapi.GetCartResponseObject, error) {
	v, err := a.svc.Cart(ctx, req.CartId)
	if err != nil {
		return nil, err
	}
	return cartapi.GetCart200JSONResponse{Body: cartJSON(v), Headers: cartapi.GetCart200ResponseHeaders{ETag: etag(v.Cart)}}, nil
}

// AbandonCart implements cartapi.StrictServerInterface.
func (a *API) AbandonCart(ctx context.Context, req cartapi.AbandonCartRequestObject) (cartapi.AbandonCartResponseObject, error) {
	if err := a.svc.AbandonCart(ctx, req.CartId); err != nil {
		return nil, err
	}
	return cartapi.AbandonCart204Response{}, nil
}

// AddLine implements cartapi.StrictServerInterface.
func (a *API) AddLine(ctx context.Context, req cartapi.AddLineRequestObject) (cartapi.AddLineResponseObject, error) {
	if req.Body == nil {
		return nil, problem.MalformedBody("the request needs a JSON body")
	}
	v, added, err := a.svc.AddLine(ctx, req.CartId, req.Body.ProductId, req.Body.Quantity)
	if err != nil {
		return nil, err
	}
	if added {
		return cartapi.AddLine201JSONResponse{Body: cartJSON(v), Headers: cartapi.AddLine201ResponseHeaders{
			ETag: etag(v.Cart), Location: ptr("/v1/carts/" + v.Cart.ID().String() + "/lines/" + req.Body.ProductId.String())}}, nil
	}
	return cartapi.AddLine200JSONResponse{Body: cartJSON(v), Headers: cartapi.AddLine200ResponseHeaders{ETag: etag(v.Cart)}}, nil
}

// UpdateLine implements cartapi.StrictServerInterface.
func (a *API) UpdateLine(ctx context.Context, req cartapi.UpdateLineRequestObject) (cartapi.UpdateLineResponseObject, error) {
	if req.Body == nil {
		return nil, problem.MalformedBody("the request needs a JSON body")
	}
	v, err := a.svc.UpdateLine(ctx, req.CartId, req.ProductId, req.Body.Quantity, ifMatch(req.Params.IfMatch))
	if err != nil {
		return nil, err
	}
	return cartapi.UpdateLine200JSONResponse{Body: cartJSON(v), Headers: cartapi.UpdateLine200ResponseHeaders{ETag: etag(v.Cart)}}, nil
}

// RemoveLine implements cartapi.StrictServerInterface.
func (a *API) RemoveLine(ctx context.Context, req cartapi.RemoveLineRequestObject) (cartapi.RemoveLineResponseObject, error) {
	v, err := a.svc.RemoveLine(ctx, req.CartId, req.ProductId, ifMatch(req.Params.IfMatch))
	if err != nil {
		return nil, err
	}
	return cartapi.RemoveLine200JSONResponse{Body: cartJSON(v), Headers: cartapi.RemoveLine200ResponseHeaders{ETag: etag(v.Cart)}}, nil
}

func ptr[T any](v T) *T { return &v }
