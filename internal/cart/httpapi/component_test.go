package httpapi_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/cart"
	"github.com/agoracommerce/agora/internal/cart/app"
	"github.com/agoracommerce/agora/internal/cart/httpapi"
	"github.com/agoracommerce/agora/internal/cart/sqlstore"
	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/chassis/chassistest"
	"github.com/agoracommerce/agora/internal/platform/idempotency"
	"github.com/agoracommerce/agora/internal/platform/kafkatest"
	"github.com/agoracommerce/agora/internal/platform/outbox"
	"github.com/agoracommerce/agora/internal/platform/problem"
	"github.com/agoracommerce/agora/internal/platform/sqldb/sqldbtest"
)

// service is the cart's HTTP edge as the process assembles it: the
// chassis over the spec, the real SQLite store, a development issuer.
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
	svc, err := app.New(store, store, app.Config{IdleTTL: time.Hour})
	require.NoError(t, err)
	doc, err := httpapi.Document()
	require.NoError(t, err)
	problems, err := httpapi.Problems()
	require.NoError(t, err)
	api, err := httpapi.New(svc)
	require.NoError(t, err)
	return &service{edge: chassistest.NewEdge(t, doc, problems, api.Mount), svc: svc}
}

func (s *service) token(t *testing.T, subject string, scopes ...string) string {
	t.Helper()
	return s.edge.Token(t, subject, scopes...)
}

// product puts a product in the cart's read model, as a catalog event would.
func (s *service) product(t *testing.T, amount int64, currency string, status cart.ProductStatus) string {
	t.Helper()
	m, err := cart.NewMoney(amount, currency)
	require.NoError(t, err)
	p := cart.Product{ID: uuid.Must(uuid.NewV7()), SKU: "SKU-1", Name: "Shirt", Price: m, Status: status, Version: 1, UpdatedAt: time.Now()}
	_, err = s.svc.ApplyProduct(context.Background(), p)
	require.NoError(t, err)
	return p.ID.String()
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

func requirePointer(t *testing.T, res response, pointer string) {
	t.Helper()
	requireProblem(t, res, 400, problem.TypeValidation)
	require.NotEmpty(t, res.problem.Errors)
	require.Equal(t, pointer, res.problem.Errors[0].Pointer)
}

func money(amount int64) map[string]any {
	return map[string]any{"amount_minor": float64(amount), "currency": "EUR"}
}

func TestCartOperations(t *testing.T) {
	t.Parallel()
	s := newService(t)
	alice := s.token(t, "alice", auth.CustomerScopes()...)
	bob := s.token(t, "bob", auth.CustomerScopes()...)
	admin := s.token(t, "ops", auth.AdminScopes()...)
	readOnly := s.token(t, "alice", auth.ScopeCartRead)
	noCart := s.token(t, "alice", auth.ScopeCatalogRead)
	shirt := s.product(t, 1999, "EUR", cart.ProductActive)
	mug := s.product(t, 500, "EUR", cart.ProductActive)
	archived := s.product(t, 900, "EUR", cart.ProductArchived)
	dollars := s.product(t, 900, "USD", cart.ProductActive)

	var id, cartURL string
	t.Run("create", func(t *testing.T) {
		requireProblem(t, s.do(t, "POST", "/v1/carts", `{"currency":"EUR"}`), 401, problem.TypeUnauthorized)
		requireProblem(t, s.do(t, "POST", "/v1/carts", `{"currency":"EUR"}`, "Authorization", readOnly), 403, auth.TypeInsufficientScope)
		requirePointer(t, s.do(t, "POST", "/v1/carts", `{"currency":"eur"}`, "Authorization", alice), "/currency")
		requireProblem(t, s.do(t, "POST", "/v1/carts", `{"currency":"EUR","x":1}`, "Authorization", alice), 400, problem.TypeValidation)
		requireProblem(t, s.do(t, "POST", "/v1/carts", `{`, "Authorization", alice), 400, problem.TypeMalformedBody)

		res := s.do(t, "POST", "/v1/carts", `{"currency":"EUR"}`, "Authorization", alice, "Idempotency-Key", "c-1")
		require.Equal(t, 201, res.status, "%+v", res.problem)
		id = res.body["id"].(string)
		cartURL = "/v1/carts/" + id
		require.Equal(t, cartURL, res.header.Get("Location"))
		require.Equal(t, `"1"`, res.header.Get("ETag"))
		require.Equal(t, "alice", res.body["customer_id"])
		require.Equal(t, "open", res.body["status"])
		require.Equal(t, money(0), res.body["total"])
		require.NotEmpty(t, res.body["expires_at"])
		// A retry with the same key replays the creation; another body is refused.
		again := s.do(t, "POST", "/v1/carts", `{"currency":"EUR"}`, "Authorization", alice, "Idempotency-Key", "c-1")
		require.Equal(t, 201, again.status)
		require.Equal(t, id, again.body["id"])
		requireProblem(t, s.do(t, "POST", "/v1/carts", `{"currency":"USD"}`, "Authorization", alice, "Idempotency-Key", "c-1"), 422, idempotency.TypeKeyReused)
	})

	t.Run("get", func(t *testing.T) {
		requireProblem(t, s.do(t, "GET", cartURL, ""), 401, problem.TypeUnauthorized)
		requireProblem(t, s.do(t, "GET", cartURL, "", "Authorization", noCart), 403, auth.TypeInsufficientScope)
		res := s.do(t, "GET", "/v1/carts/not-a-uuid", "", "Authorization", alice)
		requireProblem(t, res, 400, problem.TypeValidation)
		require.Equal(t, "cartId", res.problem.Errors[0].Parameter)
		requireProblem(t, s.do(t, "GET", "/v1/carts/"+uuid.Must(uuid.NewV7()).String(), "", "Authorization", alice), 404, httpapi.TypeCartNotFound)
		// Another customer's cart does not exist for them.
		requireProblem(t, s.do(t, "GET", cartURL, "", "Authorization", bob), 404, httpapi.TypeCartNotFound)
		res = s.do(t, "GET", cartURL, "", "Authorization", readOnly)
		require.Equal(t, 200, res.status)
		require.Equal(t, `"1"`, res.header.Get("ETag"))
		res = s.do(t, "GET", cartURL, "", "Authorization", admin)
		require.Equal(t, 200, res.status, "an admin reads any cart")
	})

	t.Run("add line", func(t *testing.T) {
		lines := cartURL + "/lines"
		add := func(body, token string, headers ...string) response {
			return s.do(t, "POST", lines, body, append([]string{"Authorization", token}, headers...)...)
		}
		requireProblem(t, add(`{"product_id":"`+shirt+`","quantity":1}`, readOnly), 403, auth.TypeInsufficientScope)
		requirePointer(t, add(`{"product_id":"`+shirt+`","quantity":0}`, alice), "/quantity")
		requirePointer(t, add(`{"product_id":"`+shirt+`","quantity":100}`, alice), "/quantity")
		requirePointer(t, add(`{"product_id":"nope","quantity":1}`, alice), "/product_id")
		requireProblem(t, add(`{"product_id":"`+uuid.Must(uuid.NewV7()).String()+`","quantity":1}`, alice), 422, httpapi.TypeUnknownProduct)
		requireProblem(t, add(`{"product_id":"`+archived+`","quantity":1}`, alice), 409, httpapi.TypeProductUnavailable)
		requireProblem(t, add(`{"product_id":"`+dollars+`","quantity":1}`, alice), 422, httpapi.TypeCurrencyMismatch)
		requireProblem(t, add(`{"product_id":"`+shirt+`","quantity":1}`, bob), 404, httpapi.TypeCartNotFound)
		requireProblem(t, add(`{"product_id":"`+shirt+`","quantity":1}`, admin), 403, httpapi.TypeReadOnly)

		res := add(`{"product_id":"`+shirt+`","quantity":2}`, alice, "Idempotency-Key", "l-1")
		require.Equal(t, 201, res.status, "%+v", res.problem)
		require.Equal(t, lines+"/"+shirt, res.header.Get("Location"))
		require.Equal(t, `"2"`, res.header.Get("ETag"))
		again := add(`{"product_id":"`+shirt+`","quantity":2}`, alice, "Idempotency-Key", "l-1")
		require.Equal(t, 201, again.status)
		require.Equal(t, `"2"`, again.header.Get("ETag"), "the retry added nothing")

		res = add(`{"product_id":"`+shirt+`","quantity":1}`, alice)
		require.Equal(t, 200, res.status, "the same product adds to its line")
		res = add(`{"product_id":"`+mug+`","quantity":1}`, alice)
		require.Equal(t, 201, res.status)
		require.Equal(t, float64(4), res.body["item_count"])
		require.Equal(t, money(3*1999+500), res.body["total"])
		line := res.body["lines"].([]any)[0].(map[string]any)
		require.Equal(t, shirt, line["product_id"])
		require.Equal(t, float64(3), line["quantity"])
		require.Equal(t, money(1999), line["unit_price"])
		require.Equal(t, money(1999), line["current_price"])
		require.Equal(t, money(3*1999), line["line_total"])
		require.Equal(t, true, line["available"])
	})

	t.Run("update line", func(t *testing.T) {
		put := func(product, body, ifMatch, token string) response {
			return s.do(t, "PUT", cartURL+"/lines/"+product, body, "Authorization", token, "If-Match", ifMatch)
		}
		requirePointer(t, put(shirt, `{"quantity":100}`, "", alice), "/quantity")
		requireProblem(t, put(archived, `{"quantity":1}`, "", alice), 404, httpapi.TypeLineNotFound)
		requireProblem(t, put(shirt, `{"quantity":1}`, "", bob), 404, httpapi.TypeCartNotFound)
		requireProblem(t, put(shirt, `{"quantity":1}`, `"1"`, alice), 412, problem.TypePreconditionFailed)
		etag := s.do(t, "GET", cartURL, "", "Authorization", alice).header.Get("ETag")
		res := put(shirt, `{"quantity":5}`, etag, alice)
		require.Equal(t, 200, res.status, "%+v", res.problem)
		require.Equal(t, money(5*1999+500), res.body["total"])
		res = put(shirt, `{"quantity":4}`, "", alice)
		require.Equal(t, 200, res.status, "If-Match is optional")
	})

	t.Run("prices follow the catalog", func(t *testing.T) {
		m, err := cart.NewMoney(1500, "EUR")
		require.NoError(t, err)
		_, err = s.svc.ApplyProduct(context.Background(), cart.Product{ID: uuid.MustParse(shirt), SKU: "SKU-1", Name: "Shirt",
			Price: m, Status: cart.ProductActive, Version: 2, UpdatedAt: time.Now()})
		require.NoError(t, err)
		res := s.do(t, "GET", cartURL, "", "Authorization", alice)
		line := res.body["lines"].([]any)[0].(map[string]any)
		require.Equal(t, money(1999), line["unit_price"])
		require.Equal(t, money(1500), line["current_price"])
		require.Equal(t, money(4*1500+500), res.body["total"])
	})

	t.Run("remove line", func(t *testing.T) {
		del := func(product, ifMatch, token string) response {
			return s.do(t, "DELETE", cartURL+"/lines/"+product, "", "Authorization", token, "If-Match", ifMatch)
		}
		requireProblem(t, del(mug, `"1"`, alice), 412, problem.TypePreconditionFailed)
		requireProblem(t, del(mug, "", bob), 404, httpapi.TypeCartNotFound)
		requireProblem(t, del(mug, "", readOnly), 403, auth.TypeInsufficientScope)
		res := del(mug, "*", alice)
		require.Equal(t, 200, res.status, "%+v", res.problem)
		require.Len(t, res.body["lines"], 1)
		requireProblem(t, del(mug, "", alice), 404, httpapi.TypeLineNotFound)
	})

	t.Run("list", func(t *testing.T) {
		for range 2 {
			require.Equal(t, 201, s.do(t, "POST", "/v1/carts", `{"currency":"EUR"}`, "Authorization", alice).status)
		}
		requireProblem(t, s.do(t, "GET", "/v1/carts", ""), 401, problem.TypeUnauthorized)
		requireProblem(t, s.do(t, "GET", "/v1/carts?limit=0", "", "Authorization", alice), 400, problem.TypeValidation)
		res := s.do(t, "GET", "/v1/carts?cursor=AAAA", "", "Authorization", alice)
		requireProblem(t, res, 400, problem.TypeValidation)
		require.Equal(t, "cursor", res.problem.Errors[0].Parameter)
		var ids []any
		target := "/v1/carts?limit=2"
		for range 5 {
			res := s.do(t, "GET", target, "", "Authorization", alice)
			require.Equal(t, 200, res.status, "%+v", res.problem)
			for _, c := range res.body["items"].([]any) {
				ids = append(ids, c.(map[string]any)["id"])
			}
			next, ok := res.body["next_cursor"].(string)
			if !ok {
				break
			}
			target = "/v1/carts?limit=2&cursor=" + next
		}
		require.Len(t, ids, 3)
		require.Equal(t, id, ids[0])
		res = s.do(t, "GET", "/v1/carts", "", "Authorization", bob)
		require.Equal(t, 200, res.status)
		require.Empty(t, res.body["items"])
	})

	t.Run("closed carts", func(t *testing.T) {
		_, err := s.svc.MarkCheckedOut(context.Background(), uuid.MustParse(id), "order-1")
		require.NoError(t, err)
		res := s.do(t, "GET", cartURL, "", "Authorization", alice)
		require.Equal(t, "checked_out", res.body["status"])
		require.Equal(t, "order-1", res.body["order_id"])
		require.Nil(t, res.body["expires_at"])
		requireProblem(t, s.do(t, "POST", cartURL+"/lines", `{"product_id":"`+mug+`","quantity":1}`, "Authorization", alice), 409, httpapi.TypeCartClosed)
		requireProblem(t, s.do(t, "DELETE", cartURL, "", "Authorization", alice), 409, httpapi.TypeCartClosed)
	})

	t.Run("abandon", func(t *testing.T) {
		res := s.do(t, "POST", "/v1/carts", `{"currency":"EUR"}`, "Authorization", alice)
		other := "/v1/carts/" + res.body["id"].(string)
		requireProblem(t, s.do(t, "DELETE", other, ""), 401, problem.TypeUnauthorized)
		requireProblem(t, s.do(t, "DELETE", other, "", "Authorization", readOnly), 403, auth.TypeInsufficientScope)
		requireProblem(t, s.do(t, "DELETE", other, "", "Authorization", bob), 404, httpapi.TypeCartNotFound)
		requireProblem(t, s.do(t, "DELETE", other, "", "Authorization", admin), 403, httpapi.TypeReadOnly)
		require.Equal(t, 204, s.do(t, "DELETE", other, "", "Authorization", alice).status)
		require.Equal(t, 204, s.do(t, "DELETE", other, "", "Authorization", alice).status, "deleting again succeeds")
		requireProblem(t, s.do(t, "GET", other, "", "Authorization", alice), 404, httpapi.TypeCartNotFound)
		requireProblem(t, s.do(t, "DELETE", "/v1/carts/"+uuid.Must(uuid.NewV7()).String(), "", "Authorization", alice), 404, httpapi.TypeCartNotFound)
	})
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	_, err := httpapi.New(nil)
	require.Error(t, err)
	problems, err := httpapi.Problems()
	require.NoError(t, err)
	require.Equal(t, 404, problems.FromError(cart.ErrNotFound).Status)
}
