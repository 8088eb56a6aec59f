package httpapi_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/inventory"
	"github.com/agoracommerce/agora/internal/inventory/app"
	"github.com/agoracommerce/agora/internal/inventory/httpapi"
	"github.com/agoracommerce/agora/internal/inventory/sqlstore"
	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/chassis/chassistest"
	"github.com/agoracommerce/agora/internal/platform/httpserver"
	"github.com/agoracommerce/agora/internal/platform/idempotency"
	"github.com/agoracommerce/agora/internal/platform/kafkatest"
	"github.com/agoracommerce/agora/internal/platform/outbox"
	"github.com/agoracommerce/agora/internal/platform/problem"
	"github.com/agoracommerce/agora/internal/platform/sqldb/sqldbtest"
)

// service is the inventory's HTTP edge as the process assembles it: the
// chassis over the spec, the real SQLite store, a development issuer.
type service struct {
	edge   *chassistest.Edge
	svc    *app.Service
	outbox *outbox.Store
}

func newService(t *testing.T) *service {
	t.Helper()
	ctx := context.Background()
	db := sqldbtest.SQLite(t)
	ob, err := outbox.NewStore(ctx, db)
	require.NoError(t, err)
	store, err := sqlstore.New(ctx, db, ob, kafkatest.Codec(t))
	require.NoError(t, err)
	svc, err := app.New(store, app.Config{})
	require.NoError(t, err)
	doc, err := httpapi.Document()
	require.NoError(t, err)
	problems, err := httpapi.Problems()
	require.NoError(t, err)
	api, err := httpapi.New(svc)
	require.NoError(t, err)
	edge := chassistest.NewEdge(t, doc, problems, func(srv *httpserver.Server) { httpapi.Mount(srv, api) })
	return &service{edge: edge, svc: svc, outbox: ob}
}

func (s *service) token(t *testing.T, scopes ...string) string {
	t.Helper()
	return s.edge.Token(t, "operator-1", scopes...)
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

func TestStockOperations(t *testing.T) {
	t.Parallel()
	s := newService(t)
	read := s.token(t, auth.ScopeInventoryRead)
	write := s.token(t, auth.ScopeInventoryRead, auth.ScopeInventoryWrite)
	writeOnly := s.token(t, auth.ScopeInventoryWrite)
	customer := s.token(t, auth.CustomerScopes()...)
	receipt := `{"warehouse_id":"ams-1","quantity":10,"note":"PO 1"}`

	t.Run("receive", func(t *testing.T) {
		requireProblem(t, s.do(t, "POST", "/v1/stock/SKU-1/receipts", receipt, "Idempotency-Key", "r-1"), 401, problem.TypeUnauthorized)
		requireProblem(t, s.do(t, "POST", "/v1/stock/SKU-1/receipts", receipt, "Authorization", read, "Idempotency-Key", "r-1"), 403, auth.TypeInsufficientScope)
		requireProblem(t, s.do(t, "POST", "/v1/stock/SKU-1/receipts", receipt, "Authorization", write), 400, problem.TypeValidation)
		res := s.do(t, "POST", "/v1/stock/SKU-1/receipts", `{"warehouse_id":"ams-1","quantity":0}`, "Authorization", write, "Idempotency-Key", "r-0")
		requireProblem(t, res, 400, problem.TypeValidation)
		require.Equal(t, "/quantity", res.problem.Errors[0].Pointer)
		res = s.do(t, "POST", "/v1/stock/SKU-1/receipts", `{"warehouse_id":"ams-1","quantity":1,"extra":1}`, "Authorization", write, "Idempotency-Key", "r-0")
		requireProblem(t, res, 400, problem.TypeValidation)
		res = s.do(t, "POST", "/v1/stock/bad%20sku/receipts", receipt, "Authorization", write, "Idempotency-Key", "r-0")
		requireProblem(t, res, 400, problem.TypeValidation)
		require.Equal(t, "sku", res.problem.Errors[0].Parameter)

		res = s.do(t, "POST", "/v1/stock/SKU-1/receipts", receipt, "Authorization", write, "Idempotency-Key", "r-1")
		require.Equal(t, 200, res.status)
		require.Equal(t, `"1"`, res.header.Get("ETag"))
		require.Equal(t, float64(10), res.body["available"])
		// A retry with the same key replays the response and counts once.
		res = s.do(t, "POST", "/v1/stock/SKU-1/receipts", receipt, "Authorization", write, "Idempotency-Key", "r-1")
		require.Equal(t, 200, res.status)
		require.Equal(t, float64(10), res.body["on_hand"])
		requireProblem(t, s.do(t, "POST", "/v1/stock/SKU-1/receipts", `{"warehouse_id":"ams-1","quantity":2}`,
			"Authorization", write, "Idempotency-Key", "r-1"), 422, idempotency.TypeKeyReused)
	})

	t.Run("get", func(t *testing.T) {
		requireProblem(t, s.do(t, "GET", "/v1/stock/SKU-1", ""), 401, problem.TypeUnauthorized)
		requireProblem(t, s.do(t, "GET", "/v1/stock/SKU-1", "", "Authorization", customer), 403, auth.TypeInsufficientScope)
		requireProblem(t, s.do(t, "GET", "/v1/stock/SKU-1", "", "Authorization", writeOnly), 403, auth.TypeInsufficientScope)
		requireProblem(t, s.do(t, "GET", "/v1/stock/SKU-404", "", "Authorization", read), 404, httpapi.TypeStockNotFound)
		res := s.do(t, "GET", "/v1/stock/SKU-1", "", "Authorization", read)
		require.Equal(t, 200, res.status)
		require.Equal(t, `"1"`, res.header.Get("ETag"))
		require.Equal(t, []any{map[string]any{"warehouse_id": "ams-1", "on_hand": float64(10), "reserved": float64(0), "available": float64(10)}},
			res.body["warehouses"])
		res = s.do(t, "GET", "/v1/stock/SKU-1", "", "Authorization", read, "If-None-Match", `"1"`)
		require.Equal(t, 304, res.status)
		require.Equal(t, `"1"`, res.header.Get("ETag"))
	})

	t.Run("adjust", func(t *testing.T) {
		_, err := s.svc.ReserveForOrder(context.Background(), "order-1", []inventory.Line{{SKU: "SKU-1", Quantity: 4}}, time.Now().Add(time.Hour))
		require.NoError(t, err)
		adjust := func(body, key, ifMatch string) response {
			return s.do(t, "POST", "/v1/stock/SKU-1/adjustments", body, "Authorization", write, "Idempotency-Key", key, "If-Match", ifMatch)
		}
		requireProblem(t, s.do(t, "POST", "/v1/stock/SKU-404/adjustments", `{"warehouse_id":"ams-1","on_hand":1,"reason":"lost"}`,
			"Authorization", write, "Idempotency-Key", "a-404"), 404, httpapi.TypeStockNotFound)
		res := adjust(`{"warehouse_id":"ams-1","on_hand":1,"reason":"stolen"}`, "a-0", "")
		requireProblem(t, res, 400, problem.TypeValidation)
		require.Equal(t, "/reason", res.problem.Errors[0].Pointer)
		requireProblem(t, adjust(`{"warehouse_id":"ams-1","on_hand":3,"reason":"lost"}`, "a-1", ""), 409, httpapi.TypeBelowReserved)
		requireProblem(t, adjust(`{"warehouse_id":"ams-1","on_hand":8,"reason":"damaged"}`, "a-2", `"1"`), 412, problem.TypePreconditionFailed)
		requireProblem(t, s.do(t, "POST", "/v1/stock/SKU-1/adjustments", `{"warehouse_id":"ams-1","on_hand":8,"reason":"damaged"}`,
			"Authorization", read, "Idempotency-Key", "a-3"), 403, auth.TypeInsufficientScope)

		current := s.do(t, "GET", "/v1/stock/SKU-1", "", "Authorization", read).header.Get("ETag")
		require.Equal(t, `"2"`, current, "the reservation changed the stock")
		res = adjust(`{"warehouse_id":"ams-1","on_hand":8,"reason":"damaged","note":"wet"}`, "a-4", current)
		require.Equal(t, 200, res.status, "%+v", res.problem)
		require.Equal(t, `"3"`, res.header.Get("ETag"))
		require.Equal(t, float64(4), res.body["available"])
		res = adjust(`{"warehouse_id":"ams-1","on_hand":9,"reason":"found"}`, "a-5", "")
		require.Equal(t, 200, res.status)
		require.Equal(t, float64(9), res.body["on_hand"])
	})

	t.Run("threshold", func(t *testing.T) {
		put := func(target, body, ifMatch, token string) response {
			return s.do(t, "PUT", target, body, "Authorization", token, "If-Match", ifMatch)
		}
		requireProblem(t, put("/v1/stock/SKU-404/threshold", `{"low_stock_threshold":3}`, "", write), 404, httpapi.TypeStockNotFound)
		requireProblem(t, put("/v1/stock/SKU-1/threshold", `{"low_stock_threshold":-1}`, "", write), 400, problem.TypeValidation)
		requireProblem(t, put("/v1/stock/SKU-1/threshold", `{"low_stock_threshold":3}`, `"1"`, write), 412, problem.TypePreconditionFailed)
		requireProblem(t, put("/v1/stock/SKU-1/threshold", `{"low_stock_threshold":3}`, "", read), 403, auth.TypeInsufficientScope)
		res := put("/v1/stock/SKU-1/threshold", `{"low_stock_threshold":3}`, "*", write)
		require.Equal(t, 200, res.status)
		require.Equal(t, float64(3), res.body["low_stock_threshold"])
	})

	t.Run("reservations", func(t *testing.T) {
		requireProblem(t, s.do(t, "GET", "/v1/reservations/order-1", ""), 401, problem.TypeUnauthorized)
		requireProblem(t, s.do(t, "GET", "/v1/reservations/order-1", "", "Authorization", customer), 403, auth.TypeInsufficientScope)
		requireProblem(t, s.do(t, "GET", "/v1/reservations/order-404", "", "Authorization", read), 404, httpapi.TypeReservationNotFound)
		requireProblem(t, s.do(t, "GET", "/v1/reservations/-bad", "", "Authorization", read), 400, problem.TypeValidation)
		res := s.do(t, "GET", "/v1/reservations/order-1", "", "Authorization", read)
		require.Equal(t, 200, res.status)
		require.Equal(t, "active", res.body["status"])
		require.Equal(t, []any{map[string]any{"sku": "SKU-1", "warehouse_id": "ams-1", "quantity": float64(4)}}, res.body["allocations"])
		_, err := s.svc.Release(context.Background(), "order-1", "cancelled")
		require.NoError(t, err)
		res = s.do(t, "GET", "/v1/reservations/order-1", "", "Authorization", read)
		require.Equal(t, "released", res.body["status"])
		require.Equal(t, "cancelled", res.body["release_reason"])
	})
}

func TestListStockPages(t *testing.T) {
	t.Parallel()
	s := newService(t)
	write := s.token(t, auth.ScopeInventoryWrite)
	read := s.token(t, auth.ScopeInventoryRead)
	for i, sku := range []string{"C-1", "A-1", "B-1"} {
		res := s.do(t, "POST", "/v1/stock/"+sku+"/receipts", `{"warehouse_id":"ams-1","quantity":1}`,
			"Authorization", write, "Idempotency-Key", "k-"+string(rune('a'+i)))
		require.Equal(t, 200, res.status)
	}
	var skus []string
	target := "/v1/stock?limit=2"
	for {
		res := s.do(t, "GET", target, "", "Authorization", read)
		require.Equal(t, 200, res.status)
		for _, it := range res.body["items"].([]any) {
			skus = append(skus, it.(map[string]any)["sku"].(string))
		}
		next, ok := res.body["next_cursor"].(string)
		if !ok {
			break
		}
		target = "/v1/stock?limit=2&cursor=" + next
	}
	require.Equal(t, []string{"A-1", "B-1", "C-1"}, skus)
	requireProblem(t, s.do(t, "GET", "/v1/stock?limit=0", "", "Authorization", read), 400, problem.TypeValidation)
	res := s.do(t, "GET", "/v1/stock?cursor=Zm9v_", "", "Authorization", read)
	requireProblem(t, res, 400, problem.TypeValidation)
	require.Equal(t, "cursor", res.problem.Errors[0].Parameter)
	requireProblem(t, s.do(t, "GET", "/v1/stock", ""), 401, problem.TypeUnauthorized)
}
