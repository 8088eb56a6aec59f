package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/notification"
	"github.com/agoracommerce/agora/internal/notification/app"
	"github.com/agoracommerce/agora/internal/notification/httpapi"
	"github.com/agoracommerce/agora/internal/notification/mailbox"
	"github.com/agoracommerce/agora/internal/notification/sqlstore"
	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/chassis/chassistest"
	"github.com/agoracommerce/agora/internal/platform/httpserver"
	"github.com/agoracommerce/agora/internal/platform/inbox"
	"github.com/agoracommerce/agora/internal/platform/kafkatest"
	"github.com/agoracommerce/agora/internal/platform/outbox"
	"github.com/agoracommerce/agora/internal/platform/problem"
	"github.com/agoracommerce/agora/internal/platform/sqldb/sqldbtest"
)

// service is the notification HTTP edge as the process assembles it: the
// chassis over the spec, the real SQLite store and local mailbox, and a
// development issuer. Its neighbours' events are faked by calling the use
// cases the consumer drives.
type service struct {
	edge  *chassistest.Edge
	svc   *app.Service
	clock time.Time
}

func newService(t *testing.T, withMailbox bool) *service {
	t.Helper()
	ctx := context.Background()
	db := sqldbtest.SQLite(t)
	ob, err := outbox.NewStore(ctx, db)
	require.NoError(t, err)
	in, err := inbox.NewStore(ctx, db)
	require.NoError(t, err)
	store, err := sqlstore.New(ctx, db, ob, in, kafkatest.Codec(t))
	require.NoError(t, err)
	box, err := mailbox.New(ctx, db, mailbox.Config{})
	require.NoError(t, err)
	s := &service{clock: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	cfg := app.Config{Now: func() time.Time { return s.clock }}
	if withMailbox {
		cfg.Mailbox = box
	}
	s.svc, err = app.New(store, box, cfg)
	require.NoError(t, err)
	doc, err := httpapi.Document()
	require.NoError(t, err)
	problems, err := httpapi.Problems()
	require.NoError(t, err)
	api, err := httpapi.New(s.svc)
	require.NoError(t, err)
	s.edge = chassistest.NewEdge(t, doc, problems, func(srv *httpserver.Server) { httpapi.Mount(srv, api) })
	return s
}

func (s *service) token(t *testing.T, subject string, scopes ...string) string {
	t.Helper()
	return s.edge.Token(t, subject, scopes...)
}

func (s *service) do(t *testing.T, target string, headers ...string) chassistest.Response {
	t.Helper()
	return s.edge.Do(t, http.MethodGet, target, "", headers...)
}

func eur(t *testing.T, amount int64) notification.Money {
	t.Helper()
	m, err := notification.NewMoney(amount, "EUR")
	require.NoError(t, err)
	return m
}

// place fakes ordering's OrderPlaced and OrderShipped for an order of
// customer, a minute apart, and returns the two message IDs, newest first.
func (s *service) place(t *testing.T, orderID, customer string) []string {
	t.Helper()
	ctx := context.Background()
	r, err := notification.NewRecipient(orderID, customer, customer+"@example.com", "")
	require.NoError(t, err)
	_, err = s.svc.OrderPlaced(ctx, app.EventRef{Group: "g", ID: uuid.NewString()}, r, notification.Notice{
		Kind: notification.KindOrderReceived, OrderID: orderID, OccurredAt: s.clock, Total: eur(t, 899),
		Lines: []notification.Line{{SKU: "MUG-1", Name: "Mug", Quantity: 1, UnitPrice: eur(t, 899)}}})
	require.NoError(t, err)
	s.clock = s.clock.Add(time.Minute)
	_, err = s.svc.Notify(ctx, app.EventRef{Group: "g", ID: uuid.NewString()}, notification.Notice{
		Kind: notification.KindOrderShipped, OrderID: orderID, OccurredAt: s.clock, Carrier: "agora-sim", TrackingNumber: "AG1"})
	require.NoError(t, err)
	s.clock = s.clock.Add(time.Minute)
	return []string{notification.MessageID(orderID, notification.KindOrderShipped, ""), notification.MessageID(orderID, notification.KindOrderReceived, "")}
}

func ids(t *testing.T, res chassistest.Response) []string {
	t.Helper()
	require.Equal(t, http.StatusOK, res.Status, "%+v", res.Problem)
	var out []string
	for _, item := range res.Body["items"].([]any) {
		out = append(out, item.(map[string]any)["id"].(string))
	}
	return out
}

func TestCustomerNotifications(t *testing.T) {
	t.Parallel()
	s := newService(t, true)
	ada := s.place(t, "order-1", "customer-1")
	ada = append(s.place(t, "order-2", "customer-1"), ada...)
	bob := s.place(t, "order-3", "customer-2")
	_, err := s.svc.Dispatch(context.Background())
	require.NoError(t, err)

	owner := s.token(t, "customer-1", auth.CustomerScopes()...)
	stranger := s.token(t, "customer-2", auth.CustomerScopes()...)
	admin := s.token(t, "admin-1", auth.AdminScopes()...)
	ops := s.token(t, "ops-1", auth.ScopeNotifications)
	noScope := s.token(t, "customer-1", auth.ScopeCatalogRead)

	t.Run("list", func(t *testing.T) {
		chassistest.RequireProblem(t, s.do(t, "/v1/notifications"), http.StatusUnauthorized, problem.TypeUnauthorized)
		chassistest.RequireProblem(t, s.do(t, "/v1/notifications", "Authorization", noScope), http.StatusForbidden, auth.TypeInsufficientScope)
		require.Equal(t, ada, ids(t, s.do(t, "/v1/notifications", "Authorization", owner)), "own messages, newest first")
		require.Equal(t, bob, ids(t, s.do(t, "/v1/notifications", "Authorization", stranger)))
		require.Empty(t, ids(t, s.do(t, "/v1/notifications", "Authorization", admin)), "an operator has no messages of their own")

		var got []string
		target := "/v1/notifications?limit=3"
		for {
			res := s.do(t, target, "Authorization", owner)
			got = append(got, ids(t, res)...)
			next, ok := res.Body["next_cursor"].(string)
			if !ok {
				break
			}
			target = "/v1/notifications?limit=3&cursor=" + url.QueryEscape(next)
		}
		require.Equal(t, ada, got)

		first := s.do(t, "/v1/notifications?limit=1", "Authorization", owner)
		cursor := url.QueryEscape(first.Body["next_cursor"].(string))
		res := s.do(t, "/v1/notifications?cursor="+cursor, "Authorization", stranger)
		chassistest.RequireProblem(t, res, http.StatusBadRequest, problem.TypeValidation)
		require.Equal(t, "cursor", res.Problem.Errors[0].Parameter, "a cursor of another customer")
		chassistest.RequireProblem(t, s.do(t, "/v1/notifications?cursor=nope", "Authorization", owner), http.StatusBadRequest, problem.TypeValidation)
		res = s.do(t, "/v1/notifications?limit=0", "Authorization", owner)
		chassistest.RequireProblem(t, res, http.StatusBadRequest, problem.TypeValidation)
		require.Equal(t, "limit", res.Problem.Errors[0].Parameter)
		chassistest.RequireProblem(t, s.do(t, "/v1/notifications?limit=101", "Authorization", owner), http.StatusBadRequest, problem.TypeValidation)
	})

	t.Run("get", func(t *testing.T) {
		path := "/v1/notifications/" + ada[0]
		chassistest.RequireProblem(t, s.do(t, path), http.StatusUnauthorized, problem.TypeUnauthorized)
		chassistest.RequireProblem(t, s.do(t, path, "Authorization", noScope), http.StatusForbidden, auth.TypeInsufficientScope)
		chassistest.RequireProblem(t, s.do(t, path, "Authorization", stranger), http.StatusForbidden, problem.TypeForbidden)
		chassistest.RequireProblem(t, s.do(t, "/v1/notifications/"+uuid.NewString(), "Authorization", admin), http.StatusNotFound,
			httpapi.TypeMessageNotFound)
		res := s.do(t, "/v1/notifications/not-a-uuid", "Authorization", owner)
		chassistest.RequireProblem(t, res, http.StatusBadRequest, problem.TypeValidation)
		require.Equal(t, "message_id", res.Problem.Errors[0].Parameter)

		for _, tok := range []string{owner, admin, ops} {
			res := s.do(t, path, "Authorization", tok)
			require.Equal(t, http.StatusOK, res.Status, "%+v", res.Problem)
			b := res.Body
			require.Equal(t, ada[0], b["id"])
			require.Equal(t, "order-2", b["order_id"])
			require.Equal(t, "customer-1", b["customer_id"])
			require.Equal(t, "order_shipped", b["kind"])
			require.Equal(t, "email", b["channel"])
			require.Equal(t, "customer-1@example.com", b["to"])
			require.Equal(t, "Your order order-2 is on its way", b["subject"])
			require.Contains(t, b["text"], "Tracking number: AG1")
			require.Contains(t, b["html"], "<strong>AG1</strong>")
			require.Equal(t, "sent", b["status"])
			require.EqualValues(t, 1, b["attempts"])
			require.NotEmpty(t, b["sent_at"])
			require.NotContains(t, b, "next_attempt_at")
			require.NotContains(t, b, "failed_at")
		}
	})
}

func TestPendingNotification(t *testing.T) {
	t.Parallel()
	s := newService(t, true)
	id := s.place(t, "order-1", "customer-1")[0]
	res := s.do(t, "/v1/notifications/"+id, "Authorization", s.token(t, "customer-1", auth.CustomerScopes()...))
	require.Equal(t, http.StatusOK, res.Status)
	require.Equal(t, "pending", res.Body["status"])
	require.EqualValues(t, 0, res.Body["attempts"])
	require.NotEmpty(t, res.Body["next_attempt_at"])
	require.NotContains(t, res.Body, "sent_at")
}

func TestMailbox(t *testing.T) {
	t.Parallel()
	s := newService(t, true)
	ada := s.place(t, "order-1", "customer-1")
	bob := s.place(t, "order-2", "customer-2")
	s.clock = s.clock.Add(time.Minute)
	_, err := s.svc.Dispatch(context.Background())
	require.NoError(t, err)

	ops := s.token(t, "ops-1", auth.ScopeNotifications)
	customer := s.token(t, "customer-1", auth.CustomerScopes()...)
	admin := s.token(t, "admin-1", auth.AdminScopes()...)

	chassistest.RequireProblem(t, s.do(t, "/v1/mailbox/messages"), http.StatusUnauthorized, problem.TypeUnauthorized)
	chassistest.RequireProblem(t, s.do(t, "/v1/mailbox/messages", "Authorization", customer), http.StatusForbidden, auth.TypeInsufficientScope)
	chassistest.RequireProblem(t, s.do(t, "/v1/mailbox/messages/"+ada[0], "Authorization", customer), http.StatusForbidden,
		auth.TypeInsufficientScope)

	listed := s.do(t, "/v1/mailbox/messages", "Authorization", ops)
	all := ids(t, listed)
	for _, item := range listed.Body["items"].([]any) {
		require.Contains(t, []any{"order-1", "order-2"}, item.(map[string]any)["order_id"])
	}
	require.ElementsMatch(t, append(append([]string{}, ada...), bob...), all)
	require.ElementsMatch(t, ada, ids(t, s.do(t, "/v1/mailbox/messages?to=Customer-1%40example.com", "Authorization", admin)))
	require.Empty(t, ids(t, s.do(t, "/v1/mailbox/messages?to=eve%40example.com", "Authorization", ops)))
	chassistest.RequireProblem(t, s.do(t, "/v1/mailbox/messages?to=nobody", "Authorization", ops), http.StatusBadRequest, problem.TypeValidation)

	page := s.do(t, "/v1/mailbox/messages?limit=3", "Authorization", ops)
	require.Len(t, ids(t, page), 3)
	next := url.QueryEscape(page.Body["next_cursor"].(string))
	require.Len(t, ids(t, s.do(t, "/v1/mailbox/messages?limit=3&cursor="+next, "Authorization", ops)), 1)
	res := s.do(t, "/v1/mailbox/messages?to=customer-2%40example.com&cursor="+next, "Authorization", ops)
	chassistest.RequireProblem(t, res, http.StatusBadRequest, problem.TypeValidation)
	require.Equal(t, "cursor", res.Problem.Errors[0].Parameter)

	res = s.do(t, "/v1/mailbox/messages/"+ada[1], "Authorization", ops)
	require.Equal(t, http.StatusOK, res.Status, "%+v", res.Problem)
	require.Equal(t, ada[1], res.Body["id"])
	require.Equal(t, "order-1", res.Body["order_id"])
	require.Equal(t, "order_received", res.Body["kind"])
	require.Equal(t, "customer-1@example.com", res.Body["to"])
	require.Equal(t, "We received your order order-1", res.Body["subject"])
	require.Contains(t, res.Body["text"], "1 x Mug (MUG-1) at EUR 8.99: EUR 8.99")
	require.Contains(t, res.Body["html"], "<!DOCTYPE html>")
	require.NotEmpty(t, res.Body["received_at"])
	chassistest.RequireProblem(t, s.do(t, "/v1/mailbox/messages/"+uuid.NewString(), "Authorization", ops), http.StatusNotFound,
		httpapi.TypeMessageNotFound)
	chassistest.RequireProblem(t, s.do(t, "/v1/mailbox/messages/nope", "Authorization", ops), http.StatusBadRequest, problem.TypeValidation)
}

func TestMailboxDisabled(t *testing.T) {
	t.Parallel()
	s := newService(t, false)
	ops := s.token(t, "ops-1", auth.ScopeNotifications)
	chassistest.RequireProblem(t, s.do(t, "/v1/mailbox/messages", "Authorization", ops), http.StatusNotFound, httpapi.TypeMailboxDisabled)
	chassistest.RequireProblem(t, s.do(t, "/v1/mailbox/messages/"+uuid.NewString(), "Authorization", ops), http.StatusNotFound,
		httpapi.TypeMailboxDisabled)
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	_, err := httpapi.New(nil)
	require.Error(t, err)
	_, err = httpapi.Problems()
	require.NoError(t, err)
}
