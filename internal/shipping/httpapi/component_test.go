package httpapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/chassis/chassistest"
	"github.com/agoracommerce/agora/internal/platform/httpserver"
	"github.com/agoracommerce/agora/internal/platform/kafkatest"
	"github.com/agoracommerce/agora/internal/platform/outbox"
	"github.com/agoracommerce/agora/internal/platform/problem"
	"github.com/agoracommerce/agora/internal/platform/sqldb/sqldbtest"
	"github.com/agoracommerce/agora/internal/shipping"
	"github.com/agoracommerce/agora/internal/shipping/app"
	"github.com/agoracommerce/agora/internal/shipping/httpapi"
	"github.com/agoracommerce/agora/internal/shipping/simcarrier"
	"github.com/agoracommerce/agora/internal/shipping/sqlstore"
)

// service is the shipping HTTP edge as the process assembles it: the
// chassis over the spec, the real SQLite store, the simulated carrier
// (moving nothing on its own) and a development issuer.
type service struct {
	edge *chassistest.Edge
	svc  *app.Service
}

func newService(t *testing.T) *service {
	t.Helper()
	ctx := context.Background()
	db := sqldbtest.SQLite(t)
	ob, err := outbox.NewStore(ctx, db)
	require.NoError(t, err)
	store, err := sqlstore.New(ctx, db, ob, kafkatest.Codec(t))
	require.NoError(t, err)
	carrier, err := simcarrier.New(simcarrier.Config{})
	require.NoError(t, err)
	svc, err := app.New(store, carrier, app.Config{})
	require.NoError(t, err)
	doc, err := httpapi.Document()
	require.NoError(t, err)
	problems, err := httpapi.Problems()
	require.NoError(t, err)
	api, err := httpapi.New(svc)
	require.NoError(t, err)
	edge := chassistest.NewEdge(t, doc, problems, func(srv *httpserver.Server) { httpapi.Mount(srv, api) })
	return &service{edge: edge, svc: svc}
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
func (s *service) do(t *testing.T, method, target string, headers ...string) response {
	t.Helper()
	r := s.edge.Do(t, method, target, "", headers...)
	return response{status: r.Status, header: r.Header, body: r.Body, problem: r.Problem}
}

func requireProblem(t *testing.T, res response, status int, typ string) {
	t.Helper()
	require.Equal(t, status, res.status, "problem %+v", res.problem)
	require.Equal(t, typ, res.problem.Type)
}

var (
	addr  = shipping.Address{Name: "Ada Lovelace", Line1: "12 Market Street", City: "Amsterdam", PostalCode: "1012 AB", Country: "NL"}
	lines = []shipping.Line{{SKU: "TSHIRT-RED-M", Quantity: 2}}
)

const unknownID = "01936f0e-8c4a-7b2e-9d41-6a3c2b1f0e77"

func TestReadShipments(t *testing.T) {
	t.Parallel()
	s := newService(t)
	sh, err := s.svc.RequestShipment(context.Background(), "order-1", "customer-1", addr, lines)
	require.NoError(t, err)
	owner := s.token(t, "customer-1", auth.CustomerScopes()...)
	stranger := s.token(t, "customer-2", auth.CustomerScopes()...)
	admin := s.token(t, "admin-1", auth.AdminScopes()...)
	ops := s.token(t, "ops-1", auth.ScopeShippingRead, auth.ScopeShippingWrite)
	noScope := s.token(t, "customer-1", auth.ScopeCatalogRead)
	path := "/v1/shipments/" + sh.ID()

	t.Run("get", func(t *testing.T) {
		requireProblem(t, s.do(t, "GET", path), 401, problem.TypeUnauthorized)
		requireProblem(t, s.do(t, "GET", path, "Authorization", noScope), 403, auth.TypeInsufficientScope)
		requireProblem(t, s.do(t, "GET", path, "Authorization", stranger), 403, problem.TypeForbidden)
		requireProblem(t, s.do(t, "GET", "/v1/shipments/"+unknownID, "Authorization", admin), 404, httpapi.TypeShipmentNotFound)
		res := s.do(t, "GET", "/v1/shipments/not-a-uuid", "Authorization", admin)
		requireProblem(t, res, 400, problem.TypeValidation)
		require.Equal(t, "shipmentId", res.problem.Errors[0].Parameter)

		for _, tok := range []string{owner, admin, ops} {
			res := s.do(t, "GET", path, "Authorization", tok)
			require.Equal(t, 200, res.status, "%+v", res.problem)
			require.Equal(t, `"1"`, res.header.Get("ETag"))
			require.Equal(t, "label_created", res.body["status"])
			require.Equal(t, map[string]any{"carrier": simcarrier.DefaultName, "tracking_number": simcarrier.TrackingNumber(sh.ID()),
				"label_id": "SIM-LBL-" + sh.ID()}, res.body["tracking"])
			require.Equal(t, map[string]any{"name": "Ada Lovelace", "line1": "12 Market Street", "city": "Amsterdam",
				"postal_code": "1012 AB", "country": "NL"}, res.body["address"])
			require.Equal(t, []any{map[string]any{"sku": "TSHIRT-RED-M", "quantity": float64(2)}}, res.body["lines"])
		}
		res = s.do(t, "GET", path, "Authorization", owner, "If-None-Match", `"1"`)
		require.Equal(t, 304, res.status)
		require.Equal(t, `"1"`, res.header.Get("ETag"))
	})

	t.Run("list by order", func(t *testing.T) {
		requireProblem(t, s.do(t, "GET", "/v1/shipments?order_id=order-1"), 401, problem.TypeUnauthorized)
		res := s.do(t, "GET", "/v1/shipments", "Authorization", owner)
		requireProblem(t, res, 400, problem.TypeValidation)
		require.Equal(t, "order_id", res.problem.Errors[0].Parameter)
		requireProblem(t, s.do(t, "GET", "/v1/shipments?order_id=-bad", "Authorization", owner), 400, problem.TypeValidation)
		requireProblem(t, s.do(t, "GET", "/v1/shipments?order_id=order-1", "Authorization", stranger), 403, problem.TypeForbidden)
		requireProblem(t, s.do(t, "GET", "/v1/shipments?order_id=order-1", "Authorization", noScope), 403, auth.TypeInsufficientScope)

		res = s.do(t, "GET", "/v1/shipments?order_id=order-404", "Authorization", stranger)
		require.Equal(t, 200, res.status)
		require.Equal(t, []any{}, res.body["items"])
		for _, tok := range []string{owner, admin} {
			res = s.do(t, "GET", "/v1/shipments?order_id=order-1", "Authorization", tok)
			require.Equal(t, 200, res.status)
			items := res.body["items"].([]any)
			require.Len(t, items, 1)
			require.Equal(t, sh.ID(), items[0].(map[string]any)["id"])
		}
	})
}

func TestAdvanceShipment(t *testing.T) {
	t.Parallel()
	s := newService(t)
	sh, err := s.svc.RequestShipment(context.Background(), "order-1", "customer-1", addr, lines)
	require.NoError(t, err)
	owner := s.token(t, "customer-1", auth.CustomerScopes()...)
	ops := s.token(t, "ops-1", auth.ScopeShippingRead, auth.ScopeShippingWrite)
	path := "/v1/shipments/" + sh.ID() + "/advance"

	requireProblem(t, s.do(t, "POST", path), 401, problem.TypeUnauthorized)
	requireProblem(t, s.do(t, "POST", path, "Authorization", owner), 403, auth.TypeInsufficientScope)
	requireProblem(t, s.do(t, "POST", "/v1/shipments/"+unknownID+"/advance", "Authorization", ops), 404, httpapi.TypeShipmentNotFound)
	requireProblem(t, s.do(t, "POST", "/v1/shipments/"+unknownID+"/advance", "Authorization", ops, "If-Match", `"1"`), 404,
		httpapi.TypeShipmentNotFound)
	requireProblem(t, s.do(t, "POST", path, "Authorization", ops, "If-Match", `"7"`), 412, problem.TypePreconditionFailed)

	res := s.do(t, "POST", path, "Authorization", ops, "If-Match", `"1"`, "Idempotency-Key", "step-1")
	require.Equal(t, 200, res.status, "%+v", res.problem)
	require.Equal(t, "in_transit", res.body["status"])
	require.Equal(t, `"2"`, res.header.Get("ETag"))
	require.NotEmpty(t, res.body["shipped_at"])
	// A retry with the same key replays the step instead of taking another.
	res = s.do(t, "POST", path, "Authorization", ops, "If-Match", `"1"`, "Idempotency-Key", "step-1")
	require.Equal(t, 200, res.status)
	require.Equal(t, "in_transit", res.body["status"])

	res = s.do(t, "POST", path, "Authorization", ops)
	require.Equal(t, 200, res.status)
	require.Equal(t, "delivered", res.body["status"])
	require.Equal(t, `"3"`, res.header.Get("ETag"))
	require.NotEmpty(t, res.body["delivered_at"])
	requireProblem(t, s.do(t, "POST", path, "Authorization", ops), 409, httpapi.TypeInvalidTransition)

	cancelled, err := s.svc.RequestShipment(context.Background(), "order-2", "customer-1", addr, lines)
	require.NoError(t, err)
	_, err = s.svc.CancelShipment(context.Background(), "order-2")
	require.NoError(t, err)
	requireProblem(t, s.do(t, "POST", "/v1/shipments/"+cancelled.ID()+"/advance", "Authorization", ops), 409, httpapi.TypeInvalidTransition)
	res = s.do(t, "GET", "/v1/shipments/"+cancelled.ID(), "Authorization", owner)
	require.Equal(t, 200, res.status)
	require.Equal(t, "cancelled", res.body["status"])
	require.NotEmpty(t, res.body["cancelled_at"])
}
