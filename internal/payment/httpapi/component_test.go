package httpapi_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/payment"
	"github.com/agoracommerce/agora/internal/payment/app"
	"github.com/agoracommerce/agora/internal/payment/httpapi"
	"github.com/agoracommerce/agora/internal/payment/simgateway"
	"github.com/agoracommerce/agora/internal/payment/sqlstore"
	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/chassis/chassistest"
	"github.com/agoracommerce/agora/internal/platform/httpserver"
	"github.com/agoracommerce/agora/internal/platform/idempotency"
	"github.com/agoracommerce/agora/internal/platform/kafkatest"
	"github.com/agoracommerce/agora/internal/platform/outbox"
	"github.com/agoracommerce/agora/internal/platform/problem"
	"github.com/agoracommerce/agora/internal/platform/resilience"
	"github.com/agoracommerce/agora/internal/platform/sqldb/sqldbtest"
)

// service is the payment service's HTTP edge as the process assembles it:
// the chassis over the spec, the real SQLite store, the simulated gateway,
// a development issuer.
type service struct {
	edge *chassistest.Edge
	svc  *app.Service
	gw   *simgateway.Gateway
}

func newService(t *testing.T) *service {
	t.Helper()
	ctx := context.Background()
	db := sqldbtest.SQLite(t)
	ob, err := outbox.NewStore(ctx, db)
	require.NoError(t, err)
	store, err := sqlstore.New(ctx, db, ob, kafkatest.Codec(t))
	require.NoError(t, err)
	gw, err := simgateway.New(simgateway.Config{})
	require.NoError(t, err)
	svc, err := app.New(store, gw, app.Config{Gateway: resilience.Policy{InitialInterval: time.Millisecond, MaxInterval: time.Millisecond}})
	require.NoError(t, err)
	doc, err := httpapi.Document()
	require.NoError(t, err)
	problems, err := httpapi.Problems()
	require.NoError(t, err)
	api, err := httpapi.New(svc)
	require.NoError(t, err)
	edge := chassistest.NewEdge(t, doc, problems, func(srv *httpserver.Server) { httpapi.Mount(srv, api) })
	return &service{edge: edge, svc: svc, gw: gw}
}

func (s *service) token(t *testing.T, subject string, scopes ...string) string {
	t.Helper()
	return s.edge.Token(t, subject, scopes...)
}

type response struct {
	status  int
	header  http.Header
	body    map[string]any
	problem problem.Details
}

// do sends one request; headers are name/value pairs, empty values skipped.
func (s *service) do(t *testing.T, method, target, body string, headers ...string) response {
	t.Helper()
	r := s.edge.Do(t, method, target, body, headers...)
	return response{status: r.Status, header: r.Header, body: r.Body, problem: r.Problem}
}

func requireProblem(t *testing.T, res response, status int, typ string) {
	t.Helper()
	require.Equal(t, status, res.status, "problem %+v", res.problem)
	require.Equal(t, typ, res.problem.Type)
}

func (s *service) authorize(t *testing.T, orderID, customerID string, amount int64, capture bool) payment.Payment {
	t.Helper()
	m, err := payment.NewMoney(amount, "EUR")
	require.NoError(t, err)
	p, err := s.svc.AuthorizeForOrder(context.Background(), orderID, customerID, m, simgateway.TokenApprove)
	require.NoError(t, err)
	if capture {
		p, err = s.svc.Capture(context.Background(), orderID)
		require.NoError(t, err)
	}
	return p
}

const unknownID = "01927d3c-5e1a-7b3e-9a51-2f6f0c1d2e3f"

func TestReadPayments(t *testing.T) {
	t.Parallel()
	s := newService(t)
	p := s.authorize(t, "order-1", "cust-1", 4999, true)
	s.authorize(t, "order-2", "cust-2", 100, false)
	owner := s.token(t, "cust-1", auth.CustomerScopes()...)
	other := s.token(t, "cust-2", auth.CustomerScopes()...)
	noScope := s.token(t, "cust-1", auth.ScopeCatalogRead)
	admin := s.token(t, "ops-1", auth.ScopePaymentsRead, auth.ScopePaymentsAdmin)
	target := "/v1/payments/" + p.ID()

	t.Run("get", func(t *testing.T) {
		requireProblem(t, s.do(t, "GET", target, ""), 401, problem.TypeUnauthorized)
		requireProblem(t, s.do(t, "GET", target, "", "Authorization", noScope), 403, auth.TypeInsufficientScope)
		requireProblem(t, s.do(t, "GET", target, "", "Authorization", other), 403, problem.TypeForbidden)
		requireProblem(t, s.do(t, "GET", "/v1/payments/"+unknownID, "", "Authorization", owner), 404, httpapi.TypePaymentNotFound)
		res := s.do(t, "GET", "/v1/payments/not-a-uuid", "", "Authorization", owner)
		requireProblem(t, res, 400, problem.TypeValidation)
		require.Equal(t, "paymentId", res.problem.Errors[0].Parameter)

		res = s.do(t, "GET", target, "", "Authorization", owner)
		require.Equal(t, 200, res.status, "%+v", res.problem)
		require.Equal(t, `"3"`, res.header.Get("ETag"))
		require.Equal(t, "captured", res.body["status"])
		require.Equal(t, "order-1", res.body["order_id"])
		require.Equal(t, map[string]any{"amount_minor": float64(4999), "currency": "EUR"}, res.body["captured"])
		require.Len(t, res.body["operations"], 2)
		require.Equal(t, 304, s.do(t, "GET", target, "", "Authorization", owner, "If-None-Match", `"3"`).status)
		require.Equal(t, 200, s.do(t, "GET", target, "", "Authorization", admin).status)
	})

	t.Run("by order", func(t *testing.T) {
		res := s.do(t, "GET", "/v1/payments?order_id=order-1", "", "Authorization", owner)
		require.Equal(t, 200, res.status)
		require.Len(t, res.body["items"], 1)
		require.Equal(t, p.ID(), res.body["items"].([]any)[0].(map[string]any)["id"])
		requireProblem(t, s.do(t, "GET", "/v1/payments?order_id=order-1", "", "Authorization", other), 403, problem.TypeForbidden)
		require.Len(t, s.do(t, "GET", "/v1/payments?order_id=order-1", "", "Authorization", admin).body["items"], 1)
		res = s.do(t, "GET", "/v1/payments?order_id=order-404", "", "Authorization", owner)
		require.Equal(t, 200, res.status)
		require.Empty(t, res.body["items"])
		res = s.do(t, "GET", "/v1/payments?order_id=-bad", "", "Authorization", owner)
		requireProblem(t, res, 400, problem.TypeValidation)
		requireProblem(t, s.do(t, "GET", "/v1/payments?order_id=order-1", ""), 401, problem.TypeUnauthorized)
	})

	t.Run("list", func(t *testing.T) {
		s.authorize(t, "order-3", "cust-1", 200, false)
		res := s.do(t, "GET", "/v1/payments", "", "Authorization", owner)
		require.Equal(t, 200, res.status)
		var orders []string
		for _, it := range res.body["items"].([]any) {
			orders = append(orders, it.(map[string]any)["order_id"].(string))
		}
		require.Equal(t, []string{"order-3", "order-1"}, orders, "a customer's own payments, newest first")

		orders = nil
		next := "/v1/payments?limit=2"
		for next != "" {
			res := s.do(t, "GET", next, "", "Authorization", admin)
			require.Equal(t, 200, res.status)
			for _, it := range res.body["items"].([]any) {
				orders = append(orders, it.(map[string]any)["order_id"].(string))
			}
			next = ""
			if c, ok := res.body["next_cursor"].(string); ok {
				next = "/v1/payments?limit=2&cursor=" + c
			}
		}
		require.Equal(t, []string{"order-3", "order-2", "order-1"}, orders, "operators page through every payment")
		requireProblem(t, s.do(t, "GET", "/v1/payments?limit=0", "", "Authorization", admin), 400, problem.TypeValidation)
		res = s.do(t, "GET", "/v1/payments?cursor=Zm9v", "", "Authorization", admin)
		requireProblem(t, res, 400, problem.TypeValidation)
		require.Equal(t, "cursor", res.problem.Errors[0].Parameter)
	})
}

func TestRefundPayment(t *testing.T) {
	t.Parallel()
	s := newService(t)
	p := s.authorize(t, "order-1", "cust-1", 1000, true)
	uncaptured := s.authorize(t, "order-2", "cust-1", 1000, false)
	admin := s.token(t, "ops-1", auth.ScopePaymentsRead, auth.ScopePaymentsAdmin)
	customer := s.token(t, "cust-1", auth.CustomerScopes()...)
	target := "/v1/payments/" + p.ID() + "/refunds"
	body := `{"amount":{"amount_minor":300,"currency":"EUR"},"reason":"damaged"}`
	refund := func(target, body, key, token string) response {
		return s.do(t, "POST", target, body, "Authorization", token, "Idempotency-Key", key)
	}

	requireProblem(t, s.do(t, "POST", target, body, "Idempotency-Key", "k-0"), 401, problem.TypeUnauthorized)
	requireProblem(t, refund(target, body, "k-0", customer), 403, auth.TypeInsufficientScope)
	requireProblem(t, s.do(t, "POST", target, body, "Authorization", admin), 400, problem.TypeValidation)
	res := refund(target, `{"amount":{"amount_minor":-1,"currency":"EUR"},"reason":"x"}`, "k-0", admin)
	requireProblem(t, res, 400, problem.TypeValidation)
	require.Equal(t, "/amount/amount_minor", res.problem.Errors[0].Pointer)
	requireProblem(t, refund(target, `{"amount":{"amount_minor":1,"currency":"EUR"},"reason":"x","extra":1}`, "k-0", admin), 400, problem.TypeValidation)
	res = refund(target, `{"amount":{"amount_minor":0,"currency":"EUR"},"reason":"x"}`, "k-zero", admin)
	requireProblem(t, res, 400, problem.TypeValidation)
	require.Equal(t, "/amount/amount_minor", res.problem.Errors[0].Pointer)
	requireProblem(t, refund("/v1/payments/"+unknownID+"/refunds", body, "k-404", admin), 404, httpapi.TypePaymentNotFound)
	requireProblem(t, refund("/v1/payments/"+uncaptured.ID()+"/refunds", body, "k-unc", admin), 409, httpapi.TypeInvalidState)
	requireProblem(t, refund(target, `{"amount":{"amount_minor":1,"currency":"USD"},"reason":"x"}`, "k-usd", admin), 422, httpapi.TypeCurrencyMismatch)
	requireProblem(t, refund(target, `{"amount":{"amount_minor":1001,"currency":"EUR"},"reason":"x"}`, "k-big", admin), 409, httpapi.TypeRefundExceedsCaptured)

	res = refund(target, body, "k-1", admin)
	require.Equal(t, 200, res.status, "%+v", res.problem)
	require.Equal(t, "partially_refunded", res.body["status"])
	require.Equal(t, map[string]any{"amount_minor": float64(300), "currency": "EUR"}, res.body["refunded"])
	require.Equal(t, `"4"`, res.header.Get("ETag"))
	// The same key and body replay the response; the money goes back once.
	res = refund(target, body, "k-1", admin)
	require.Equal(t, 200, res.status)
	require.Equal(t, map[string]any{"amount_minor": float64(300), "currency": "EUR"}, res.body["refunded"])
	requireProblem(t, refund(target, `{"amount":{"amount_minor":5,"currency":"EUR"},"reason":"damaged"}`, "k-1", admin), 422, idempotency.TypeKeyReused)

	res = refund(target, `{"amount":{"amount_minor":700,"currency":"EUR"},"reason":"returned"}`, "k-2", admin)
	require.Equal(t, 200, res.status)
	require.Equal(t, "refunded", res.body["status"])
	requireProblem(t, refund(target, `{"amount":{"amount_minor":1,"currency":"EUR"},"reason":"x"}`, "k-3", admin), 409, httpapi.TypeInvalidState)
	refunds := 0
	for _, op := range s.gw.Performed() {
		if op.Kind == payment.OpRefund {
			refunds++
		}
	}
	require.Equal(t, 2, refunds)
}
