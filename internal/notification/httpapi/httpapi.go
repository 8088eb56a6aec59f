// Package httpapi serves the notification REST API
// (api/openapi/notification.v1.yaml) over the generated strict server: it
// calls the app's use cases, lets customers read only their own messages,
// turns messages and mailbox emails into the API's JSON, and maps domain
// errors to RFC 9457 problems in one place (Problems).
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/getkin/kin-openapi/openapi3"
	openapi_types "github.com/oapi-codegen/runtime/types"

	notificationapi "github.com/agoracommerce/agora/gen/openapi/notification"
	"github.com/agoracommerce/agora/internal/notification"
	"github.com/agoracommerce/agora/internal/notification/app"
	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/httpserver"
	"github.com/agoracommerce/agora/internal/platform/problem"
)

// Problem types of the notification API.
const (
	TypeMessageNotFound = problem.TypeBase + "notification/message-not-found"
	TypeMailboxDisabled = problem.TypeBase + "notification/mailbox-disabled"
)

// Problems returns the one mapping from the notification errors to
// problems.
func Problems() (*problem.Mapper, error) {
	return problem.NewMapper(
		problem.Rule{Err: notification.ErrNotFound, Status: http.StatusNotFound, Type: TypeMessageNotFound,
			Title: "Message not found", Detail: "no message has this ID"},
		problem.Rule{Err: app.ErrMailboxDisabled, Status: http.StatusNotFound, Type: TypeMailboxDisabled,
			Title: "Mailbox not enabled", Detail: "this service sends email through a provider and keeps no local mailbox"},
		problem.Rule{Err: notification.ErrInvalid, Status: http.StatusBadRequest, Type: problem.TypeValidation,
			Title: "Invalid request", Detail: "the request breaks a rule of notification"},
	)
}

// Document returns the API's OpenAPI document, embedded in the generated
// code, for the chassis.
func Document() (*openapi3.T, error) {
	doc, err := notificationapi.GetSpec()
	if err != nil {
		return nil, fmt.Errorf("notification httpapi: spec: %w", err)
	}
	return doc, nil
}

// Server implements the generated strict server over the app.
type Server struct {
	svc *app.Service
}

var _ notificationapi.StrictServerInterface = (*Server)(nil)

// New returns the Server over svc.
func New(svc *app.Service) (*Server, error) {
	if svc == nil {
		return nil, errors.New("notification httpapi: an app.Service is required")
	}
	return &Server{svc: svc}, nil
}

// Mount registers the API's operations on srv's router (a server built by
// the chassis over Document and Problems), answering binding errors and
// handler errors with srv's problems.
func Mount(srv *httpserver.Server, s *Server) {
	strict := notificationapi.NewStrictHandlerWithOptions(s, []notificationapi.StrictMiddlewareFunc{mapErrors},
		notificationapi.StrictHTTPServerOptions{
			RequestErrorHandlerFunc:  srv.RequestErrorHandler,
			ResponseErrorHandlerFunc: srv.ResponseErrorHandler,
		})
	notificationapi.HandlerWithOptions(strict, notificationapi.ChiServerOptions{BaseRouter: srv.Router(), ErrorHandlerFunc: srv.RequestErrorHandler})
}

// mapErrors turns a cursor the API did not issue into a validation problem
// naming the parameter; every other error goes on to the Mapper.
func mapErrors(f notificationapi.StrictHandlerFunc, _ string) notificationapi.StrictHandlerFunc {
	return func(ctx context.Context, w http.ResponseWriter, r *http.Request, req any) (any, error) {
		resp, err := f(ctx, w, r, req)
		if errors.Is(err, notification.ErrInvalidCursor) {
			return nil, problem.Validation("the cursor is not one this listing issued",
				problem.FieldError{Parameter: "cursor", In: "query", Detail: "pass the next_cursor of the previous page with the same filters"})
		}
		return resp, err
	}
}

func page(cursor *string, limit *int) app.PageQuery {
	q := app.PageQuery{Limit: app.DefaultPageSize}
	if cursor != nil {
		q.Cursor = *cursor
	}
	if limit != nil {
		q.Limit = *limit
	}
	return q
}

func optional[T comparable](v T) *T {
	var zero T
	if v == zero {
		return nil
	}
	return &v
}

func messageID(id string) (openapi_types.UUID, error) {
	var u openapi_types.UUID
	if err := u.UnmarshalText([]byte(id)); err != nil {
		return u, fmt.Errorf("notification httpapi: message ID %q: %w", id, err)
	}
	return u, nil
}

func notificationJSON(m notification.Message) (notificationapi.Notification, error) {
	id, err := messageID(m.ID())
	if err != nil {
		return notificationapi.Notification{}, err
	}
	c := m.Content()
	return notificationapi.Notification{
		Id: id, OrderId: m.OrderID(), CustomerId: m.CustomerID(), Kind: notificationapi.MessageKind(m.Kind()),
		Channel: notificationapi.NotificationChannelEmail, To: openapi_types.Email(m.To()),
		Subject: c.Subject, Text: c.Text, Html: c.HTML, Status: notificationapi.MessageStatus(m.Status()),
		Attempts:      int32(min(m.Attempts(), 1<<31-1)), // #nosec G115 -- clamped to the int32 range
		NextAttemptAt: optional(m.NextAttemptAt()), CreatedAt: m.CreatedAt(), SentAt: optional(m.SentAt()), FailedAt: optional(m.FailedAt()),
	}, nil
}

func mailboxJSON(m app.MailboxMessage) (notificationapi.MailboxMessage, error) {
	id, err := messageID(m.ID)
	if err != nil {
		return notificationapi.MailboxMessage{}, err
	}
	out := notificationapi.MailboxMessage{Id: id, OrderId: optional(m.OrderID), To: openapi_types.Email(m.To), Subject: m.Subject,
		Text: m.Text, Html: m.HTML, ReceivedAt: m.ReceivedAt}
	if m.Kind != "" {
		kind := notificationapi.MessageKind(m.Kind)
		out.Kind = &kind
	}
	return out, nil
}

// ListNotifications implements notificationapi.StrictServerInterface: the
// caller's own messages.
func (s *Server) ListNotifications(ctx context.Context, req notificationapi.ListNotificationsRequestObject) (notificationapi.ListNotificationsResponseObject, error) {
	p, ok := auth.PrincipalFrom(ctx)
	if !ok {
		return nil, auth.ErrUnauthenticated
	}
	got, err := s.svc.Notifications(ctx, p.Subject, page(req.Params.Cursor, req.Params.Limit))
	if err != nil {
		return nil, err
	}
	out := notificationapi.NotificationPage{Items: []notificationapi.Notification{}, NextCursor: optional(got.NextCursor)}
	for _, m := range got.Items {
		body, err := notificationJSON(m)
		if err != nil {
			return nil, err
		}
		out.Items = append(out.Items, body)
	}
	return notificationapi.ListNotifications200JSONResponse(out), nil
}

// GetNotification implements notificationapi.StrictServerInterface: the
// customer the message is for, an Agora admin or an operator with
// notifications:read.
func (s *Server) GetNotification(ctx context.Context, req notificationapi.GetNotificationRequestObject) (notificationapi.GetNotificationResponseObject, error) {
	m, err := s.svc.Notification(ctx, req.MessageId.String())
	if err != nil {
		return nil, err
	}
	if err := auth.RequireOwner(ctx, m.CustomerID(), auth.ScopeNotifications); err != nil {
		d, _ := auth.ProblemOf(err)
		return nil, &d
	}
	body, err := notificationJSON(m)
	if err != nil {
		return nil, err
	}
	return notificationapi.GetNotification200JSONResponse(body), nil
}

// ListMailboxMessages implements notificationapi.StrictServerInterface.
func (s *Server) ListMailboxMessages(ctx context.Context, req notificationapi.ListMailboxMessagesRequestObject) (notificationapi.ListMailboxMessagesResponseObject, error) {
	to := ""
	if req.Params.To != nil {
		to = string(*req.Params.To)
	}
	got, err := s.svc.MailboxMessages(ctx, to, page(req.Params.Cursor, req.Params.Limit))
	if err != nil {
		return nil, err
	}
	out := notificationapi.MailboxPage{Items: []notificationapi.MailboxMessage{}, NextCursor: optional(got.NextCursor)}
	for _, m := range got.Items {
		body, err := mailboxJSON(m)
		if err != nil {
			return nil, err
		}
		out.Items = append(out.Items, body)
	}
	return notificationapi.ListMailboxMessages200JSONResponse(out), nil
}

// GetMailboxMessage implements notificationapi.StrictServerInterface.
func (s *Server) GetMailboxMessage(ctx context.Context, req notificationapi.GetMailboxMessageRequestObject) (notificationapi.GetMailboxMessageResponseObject, error) {
	m, err := s.svc.MailboxMessage(ctx, req.MessageId.String())
	if err != nil {
		return nil, err
	}
	body, err := mailboxJSON(m)
	if err != nil {
		return nil, err
	}
	return notificationapi.GetMailboxMessage200JSONResponse(body), nil
}
