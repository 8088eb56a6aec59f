// Package httpapi serves the shipping REST API (api/openapi/shipping.v1.yaml)
// over the generated strict server: it calls the app's use cases, checks
// that a caller reads only the shipments of their own orders, turns
// shipments into the API's JSON, and maps domain errors to RFC 9457
// problems in one place (Problems).
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"

	shippingapi "github.com/agoracommerce/agora/gen/openapi/shipping"
	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/httpserver"
	"github.com/agoracommerce/agora/internal/platform/problem"
	"github.com/agoracommerce/agora/internal/shipping"
	"github.com/agoracommerce/agora/internal/shipping/app"
)

// Problem types of the shipping API.
const (
	TypeShipmentNotFound  = problem.TypeBase + "shipping/shipment-not-found"
	TypeInvalidTransition = problem.TypeBase + "shipping/invalid-transition"
)

// Problems returns the one mapping from the shipping errors to problems.
func Problems() (*problem.Mapper, error) {
	return problem.NewMapper(
		problem.Rule{Err: shipping.ErrNotFound, Status: http.StatusNotFound, Type: TypeShipmentNotFound,
			Title: "Shipment not found", Detail: "no shipment has this ID"},
		problem.Rule{Err: shipping.ErrInvalidTransition, Status: http.StatusConflict, Type: TypeInvalidTransition,
			Title: "Invalid status transition", Detail: "the shipment's status does not allow this step"},
		problem.Rule{Err: shipping.ErrVersionMismatch, Status: http.StatusPreconditionFailed, Type: problem.TypePreconditionFailed,
			Title: "Precondition failed", Detail: "the shipment has changed since it was read; fetch it again and retry"},
		problem.Rule{Err: shipping.ErrConflict, Status: http.StatusConflict, Type: problem.TypeConflict,
			Title: "Conflict", Detail: "a concurrent change won; retry the request"},
		problem.Rule{Err: shipping.ErrInvalid, Status: http.StatusBadRequest, Type: problem.TypeValidation,
			Title: "Invalid request", Detail: "the request breaks a rule of shipping"},
	)
}

// Document returns the API's OpenAPI document, embedded in the generated
// code, for chassis.Config.HTTP.Document.
func Document() (*openapi3.T, error) {
	doc, err := shippingapi.GetSpec()
	if err != nil {
		return nil, fmt.Errorf("shipping httpapi: spec: %w", err)
	}
	return doc, nil
}

// Server implements the generated strict server over the app.
type Server struct {
	svc *app.Service
}

var _ shippingapi.StrictServerInterface = (*Server)(nil)

// New returns the Server over svc.
func New(svc *app.Service) (*Server, error) {
	if svc == nil {
		return nil, errors.New("shipping httpapi: an app.Service is required")
	}
	return &Server{svc: svc}, nil
}

// Mount registers the API's operations on srv's router (a server built by
// chassis.NewHTTP over Document and Problems), answering binding errors
// and handler errors with srv's problems.
func Mount(srv *httpserver.Server, s *Server) {
	strict := shippingapi.NewStrictHandlerWithOptions(s, nil, shippingapi.StrictHTTPServerOptions{
		RequestErrorHandlerFunc:  srv.RequestErrorHandler,
		ResponseErrorHandlerFunc: srv.ResponseErrorHandler,
	})
	shippingapi.HandlerWithOptions(strict, shippingapi.ChiServerOptions{BaseRouter: srv.Router(), ErrorHandlerFunc: srv.RequestErrorHandler})
}

// ownerOrOperator is the object-level check of reads: the customer who
// placed the order, an Agora admin, or an operator with shipping:write.
func ownerOrOperator(ctx context.Context, sh shipping.Shipment) error {
	if err := auth.RequireOwner(ctx, sh.CustomerID(), auth.ScopeShippingWrite); err != nil {
		d, _ := auth.ProblemOf(err)
		return &d
	}
	return nil
}

func etag(sh shipping.Shipment) *string {
	tag := httpserver.ETag(strconv.FormatInt(sh.Version(), 10))
	return &tag
}

func optional[T comparable](v T) *T {
	var zero T
	if v == zero {
		return nil
	}
	return &v
}

func shipmentJSON(sh shipping.Shipment) (shippingapi.Shipment, error) {
	id, err := uuid.Parse(sh.ID())
	if err != nil {
		return shippingapi.Shipment{}, fmt.Errorf("shipping httpapi: shipment ID %q: %w", sh.ID(), err)
	}
	a, l := sh.Address(), sh.Label()
	out := shippingapi.Shipment{
		Id: id, OrderId: sh.OrderID(), CustomerId: sh.CustomerID(), Status: shippingapi.ShipmentStatus(sh.Status()),
		Tracking: shippingapi.Tracking{Carrier: l.Carrier, TrackingNumber: l.TrackingNumber, LabelId: l.LabelID,
			NextStepAt: optional(sh.NextStepAt())},
		Address: shippingapi.Address{Name: a.Name, Line1: a.Line1, Line2: optional(a.Line2), City: a.City, Region: optional(a.Region),
			PostalCode: a.PostalCode, Country: a.Country},
		Lines:     []shippingapi.Line{},
		ShippedAt: optional(sh.ShippedAt()), DeliveredAt: optional(sh.DeliveredAt()), CancelledAt: optional(sh.CancelledAt()),
		Version: sh.Version(), CreatedAt: sh.CreatedAt(), UpdatedAt: sh.UpdatedAt(),
	}
	for _, line := range sh.Lines() {
		out.Lines = append(out.Lines, shippingapi.Line{Sku: line.SKU, Quantity: line.Quantity})
	}
	return out, nil
}

// GetShipment implements shippingapi.StrictServerInterface.
func (s *Server) GetShipment(ctx context.Context, req shippingapi.GetShipmentRequestObject) (shippingapi.GetShipmentResponseObject, error) {
	sh, err := s.svc.Shipment(ctx, req.ShipmentId.String())
	if err != nil {
		return nil, err
	}
	if err := ownerOrOperator(ctx, sh); err != nil {
		return nil, err
	}
	tag := etag(sh)
	if httpserver.IfNoneMatchHeader(req.Params.IfNoneMatch, *tag) {
		return shippingapi.GetShipment304Response{Headers: shippingapi.GetShipment304ResponseHeaders{ETag: tag}}, nil
	}
	body, err := shipmentJSON(sh)
	if err != nil {
		return nil, err
	}
	return shippingapi.GetShipment200JSONResponse{Body: body, Headers: shippingapi.GetShipment200ResponseHeaders{ETag: tag}}, nil
}

// ListShipments implements shippingapi.StrictServerInterface.
func (s *Server) ListShipments(ctx context.Context, req shippingapi.ListShipmentsRequestObject) (shippingapi.ListShipmentsResponseObject, error) {
	out := shippingapi.ShipmentList{Items: []shippingapi.Shipment{}}
	sh, err := s.svc.ShipmentOfOrder(ctx, req.Params.OrderId)
	switch {
	case errors.Is(err, shipping.ErrNotFound):
		return shippingapi.ListShipments200JSONResponse(out), nil
	case err != nil:
		return nil, err
	}
	if err := ownerOrOperator(ctx, sh); err != nil {
		return nil, err
	}
	body, err := shipmentJSON(sh)
	if err != nil {
		return nil, err
	}
	out.Items = append(out.Items, body)
	return shippingapi.ListShipments200JSONResponse(out), nil
}

// AdvanceShipment implements shippingapi.StrictServerInterface. If-Match
// is checked against the current ETag, and the app then steps only at that
// version, so a change between this read and the write is refused too.
func (s *Server) AdvanceShipment(ctx context.Context, req shippingapi.AdvanceShipmentRequestObject) (shippingapi.AdvanceShipmentResponseObject, error) {
	id := req.ShipmentId.String()
	var version int64
	if req.Params.IfMatch != nil {
		current, err := s.svc.Shipment(ctx, id)
		if err != nil {
			return nil, err
		}
		if err := httpserver.CheckIfMatchHeader(req.Params.IfMatch, *etag(current), false); err != nil {
			return nil, err
		}
		version = current.Version()
	}
	sh, err := s.svc.Advance(ctx, id, version)
	if err != nil {
		return nil, err
	}
	body, err := shipmentJSON(sh)
	if err != nil {
		return nil, err
	}
	return shippingapi.AdvanceShipment200JSONResponse{Body: body, Headers: shippingapi.AdvanceShipment200ResponseHeaders{ETag: etag(sh)}}, nil
}
