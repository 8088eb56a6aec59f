// Package httpapi serves the inventory's REST API (api/openapi/inventory.v1.yaml)
// over the generated strict server: it calls the app's use cases, turns
// domain values into the API's JSON, and maps domain errors to RFC 9457
// problems in one place (Problems).
package httpapi

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/getkin/kin-openapi/openapi3"

	inventoryapi "github.com/agoracommerce/agora/gen/openapi/inventory"
	"github.com/agoracommerce/agora/internal/inventory"
	"github.com/agoracommerce/agora/internal/inventory/app"
	"github.com/agoracommerce/agora/internal/platform/httpserver"
	"github.com/agoracommerce/agora/internal/platform/problem"
)

// Problem types of the inventory API.
const (
	TypeStockNotFound       = problem.TypeBase + "inventory/stock-not-found"
	TypeReservationNotFound = problem.TypeBase + "inventory/reservation-not-found"
	TypeBelowReserved       = problem.TypeBase + "inventory/below-reserved"
	TypeOutOfStock          = problem.TypeBase + "inventory/out-of-stock"
	TypeReservationClosed   = problem.TypeBase + "inventory/reservation-closed"
)

// errReservationNotFound tells a missing reservation from missing stock.
var errReservationNotFound = errors.New("reservation not found")

// Problems returns the one mapping from the inventory's errors to problems.
func Problems() (*problem.Mapper, error) {
	return problem.NewMapper(
		problem.Rule{Err: errReservationNotFound, Status: http.StatusNotFound, Type: TypeReservationNotFound,
			Title: "Reservation not found", Detail: "this order has no stock reservation"},
		problem.Rule{Err: inventory.ErrNotFound, Status: http.StatusNotFound, Type: TypeStockNotFound,
			Title: "Stock not found", Detail: "no stock is kept for this SKU"},
		problem.Rule{Err: inventory.ErrVersionMismatch, Status: http.StatusPreconditionFailed, Type: problem.TypePreconditionFailed,
			Title: "Precondition failed", Detail: "the stock has changed since it was read; fetch it again and retry"},
		problem.Rule{Err: inventory.ErrBelowReserved, Status: http.StatusConflict, Type: TypeBelowReserved,
			Title: "Stock on hand below reserved", Detail: "the warehouse has more stock reserved than the new on-hand quantity"},
		problem.Rule{Err: inventory.ErrOutOfStock, Status: http.StatusConflict, Type: TypeOutOfStock,
			Title: "Out of stock", Detail: "some lines lack available stock"},
		problem.Rule{Err: inventory.ErrReservationClosed, Status: http.StatusConflict, Type: TypeReservationClosed,
			Title: "Reservation closed", Detail: "the reservation was already released or committed"},
		problem.Rule{Err: inventory.ErrConflict, Status: http.StatusConflict, Type: problem.TypeConflict,
			Title: "Conflict", Detail: "a concurrent change won; retry the request"},
		problem.Rule{Err: inventory.ErrInvalid, Status: http.StatusBadRequest, Type: problem.TypeValidation,
			Title: "Invalid request", Detail: "the request breaks a rule of the inventory"},
	)
}

// Document returns the API's OpenAPI document, embedded in the generated
// code, for chassis.Config.HTTP.Document.
func Document() (*openapi3.T, error) {
	doc, err := inventoryapi.GetSpec()
	if err != nil {
		return nil, fmt.Errorf("inventory httpapi: spec: %w", err)
	}
	return doc, nil
}

// Server implements the generated strict server over the app.
type Server struct {
	svc *app.Service
}

var _ inventoryapi.StrictServerInterface = (*Server)(nil)

// New returns the Server over svc.
func New(svc *app.Service) (*Server, error) {
	if svc == nil {
		return nil, errors.New("inventory httpapi: an app.Service is required")
	}
	return &Server{svc: svc}, nil
}

// Mount registers the API's operations on srv's router (a server built by
// chassis.NewHTTP over Document and Problems), answering binding errors
// and handler errors with srv's problems.
func Mount(srv *httpserver.Server, s *Server) {
	strict := inventoryapi.NewStrictHandlerWithOptions(s, nil, inventoryapi.StrictHTTPServerOptions{
		RequestErrorHandlerFunc:  srv.RequestErrorHandler,
		ResponseErrorHandlerFunc: srv.ResponseErrorHandler,
	})
	inventoryapi.HandlerWithOptions(strict, inventoryapi.ChiServerOptions{BaseRouter: srv.Router(), ErrorHandlerFunc: srv.RequestErrorHandler})
}

func etag(st inventory.Stock) *string {
	tag := httpserver.ETag(strconv.FormatInt(st.Version(), 10))
	return &tag
}

func stockJSON(st inventory.Stock) inventoryapi.Stock {
	out := inventoryapi.Stock{
		Sku: st.SKU(), OnHand: st.OnHand(), Reserved: st.Reserved(), Available: st.Available(),
		LowStockThreshold: st.LowStockThreshold(), Version: st.Version(), UpdatedAt: st.UpdatedAt(),
		Warehouses: []inventoryapi.WarehouseStock{},
	}
	for _, l := range st.Levels() {
		out.Warehouses = append(out.Warehouses, inventoryapi.WarehouseStock{
			WarehouseId: l.Warehouse(), OnHand: l.OnHand(), Reserved: l.Reserved(), Available: l.Available()})
	}
	return out
}

// ifVersion turns an If-Match header into the version the change is
// conditional on (0 when absent): it checks the header against the
// current ETag, and the store then makes the change only at that version,
// so a change between this read and the write is refused too.
func (s *Server) ifVersion(ctx context.Context, sku string, ifMatch *string) (int64, error) {
	if ifMatch == nil {
		return 0, nil
	}
	current, err := s.svc.Stock(ctx, sku)
	switch {
	case errors.Is(err, inventory.ErrNotFound):
		return 0, httpserver.CheckIfMatchHeader(ifMatch, "", false)
	case err != nil:
		return 0, err
	}
	if err := httpserver.CheckIfMatchHeader(ifMatch, *etag(current), false); err != nil {
		return 0, err
	}
	return current.Version(), nil
}

// GetStock implements inventoryapi.StrictServerInterface.
func (s *Server) GetStock(ctx context.Context, req inventoryapi.GetStockRequestObject) (inventoryapi.GetStockResponseObject, error) {
	st, err := s.svc.Stock(ctx, req.Sku)
	if err != nil {
		return nil, err
	}
	tag := etag(st)
	if httpserver.IfNoneMatchHeader(req.Params.IfNoneMatch, *tag) {
		return inventoryapi.GetStock304Response{Headers: inventoryapi.GetStock304ResponseHeaders{ETag: tag}}, nil
	}
	return inventoryapi.GetStock200JSONResponse{Body: stockJSON(st), Headers: inventoryapi.GetStock200ResponseHeaders{ETag: tag}}, nil
}

// ListStock implements inventoryapi.StrictServerInterface.
func (s *Server) ListStock(ctx context.Context, req inventoryapi.ListStockRequestObject) (inventoryapi.ListStockResponseObject, error) {
	limit := 20
	if req.Params.Limit != nil {
		limit = *req.Params.Limit
	}
	after := ""
	if req.Params.Cursor != nil {
		raw, err := base64.RawURLEncoding.DecodeString(*req.Params.Cursor)
		if err != nil || inventory.ValidateSKU(string(raw)) != nil {
			return nil, problem.Validation("the cursor is not one this API returned",
				problem.FieldError{Parameter: "cursor", In: "query", Detail: "unknown cursor"})
		}
		after = string(raw)
	}
	page, next, err := s.svc.ListStock(ctx, after, limit)
	if err != nil {
		return nil, err
	}
	out := inventoryapi.StockPage{Items: make([]inventoryapi.Stock, 0, len(page))}
	for _, st := range page {
		out.Items = append(out.Items, stockJSON(st))
	}
	if next != "" {
		c := base64.RawURLEncoding.EncodeToString([]byte(next))
		out.NextCursor = &c
	}
	return inventoryapi.ListStock200JSONResponse(out), nil
}

// ReceiveStock implements inventoryapi.StrictServerInterface.
func (s *Server) ReceiveStock(ctx context.Context, req inventoryapi.ReceiveStockRequestObject) (inventoryapi.ReceiveStockResponseObject, error) {
	if req.Body == nil {
		return nil, problem.MalformedBody("the request needs a JSON body")
	}
	st, err := s.svc.ReceiveStock(ctx, req.Sku, req.Body.WarehouseId, req.Body.Quantity, deref(req.Body.Note))
	if err != nil {
		return nil, err
	}
	return inventoryapi.ReceiveStock200JSONResponse{Body: stockJSON(st), Headers: inventoryapi.ReceiveStock200ResponseHeaders{ETag: etag(st)}}, nil
}

// AdjustStock implements inventoryapi.StrictServerInterface.
func (s *Server) AdjustStock(ctx context.Context, req inventoryapi.AdjustStockRequestObject) (inventoryapi.AdjustStockResponseObject, error) {
	if req.Body == nil {
		return nil, problem.MalformedBody("the request needs a JSON body")
	}
	version, err := s.ifVersion(ctx, req.Sku, req.Params.IfMatch)
	if err != nil {
		return nil, err
	}
	st, err := s.svc.AdjustStock(ctx, req.Sku, req.Body.WarehouseId, req.Body.OnHand,
		inventory.AdjustmentReason(req.Body.Reason), deref(req.Body.Note), version)
	if err != nil {
		return nil, err
	}
	return inventoryapi.AdjustStock200JSONResponse{Body: stockJSON(st), Headers: inventoryapi.AdjustStock200ResponseHeaders{ETag: etag(st)}}, nil
}

// SetLowStockThreshold implements inventoryapi.StrictServerInterface.
func (s *Server) SetLowStockThreshold(ctx context.Context, req inventoryapi.SetLowStockThresholdRequestObject) (inventoryapi.SetLowStockThresholdResponseObject, error) {
	if req.Body == nil {
		return nil, problem.MalformedBody("the request needs a JSON body")
	}
	version, err := s.ifVersion(ctx, req.Sku, req.Params.IfMatch)
	if err != nil {
		return nil, err
	}
	st, err := s.svc.SetLowStockThreshold(ctx, req.Sku, req.Body.LowStockThreshold, version)
	if err != nil {
		return nil, err
	}
	return inventoryapi.SetLowStockThreshold200JSONResponse{Body: stockJSON(st),
		Headers: inventoryapi.SetLowStockThreshold200ResponseHeaders{ETag: etag(st)}}, nil
}

// GetReservation implements inventoryapi.StrictServerInterface.
func (s *Server) GetReservation(ctx context.Context, req inventoryapi.GetReservationRequestObject) (inventoryapi.GetReservationResponseObject, error) {
	r, err := s.svc.Reservation(ctx, req.OrderId)
	if errors.Is(err, inventory.ErrNotFound) {
		return nil, fmt.Errorf("%w: %w", errReservationNotFound, err)
	}
	if err != nil {
		return nil, err
	}
	out := inventoryapi.Reservation{
		OrderId: r.OrderID(), Status: inventoryapi.ReservationStatus(r.Status()), Allocations: []inventoryapi.Allocation{},
		ExpiresAt: r.ExpiresAt(), CreatedAt: r.CreatedAt(), UpdatedAt: r.UpdatedAt(),
	}
	if r.Status() == inventory.StatusReleased {
		reason := r.Reason()
		out.ReleaseReason = &reason
	}
	for _, a := range r.Allocations() {
		out.Allocations = append(out.Allocations, inventoryapi.Allocation{Sku: a.SKU, WarehouseId: a.Warehouse, Quantity: a.Quantity})
	}
	return inventoryapi.GetReservation200JSONResponse(out), nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
