package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/ordering"
	"github.com/agoracommerce/agora/internal/ordering/app"
	"github.com/agoracommerce/agora/internal/ordering/httpapi"
	"github.com/agoracommerce/agora/internal/ordering/orderingtest"
	"github.com/agoracommerce/agora/internal/ordering/sqlstore"
	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/chassis/chassistest"
	"github.com/agoracommerce/agora/internal/platform/idempotency"
	"github.com/agoracommerce/agora/internal/platform/inbox"
	"github.com/agoracommerce/agora/internal/platform/kafkatest"
	"github.com/agoracommerce/agora/internal/platform/outbox"
	"github.com/agoracommerce/agora/internal/platform/outbox/outboxtest"
	"github.com/agoracommerce/agora/internal/platform/problem"
	"github.com/agoracommerce/agora/internal/platform/sqldb/sqldbtest"
)

// carts is the faked cart service: the carts it knows and whether it is
// down.
type carts struct {
	mu     sync.Mutex
	carts  map[uuid.UUID]ordering.Cart
	down   bool
	tokens []string
}

func (c *carts) Cart(_ context.Context, id uuid.UUID, token string) (ordering.Cart, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tokens = append(c.tokens, token)
	if c.down {
		return ordering.Cart{}, fmt.Errorf("connection refused: %w", app.ErrCartsUnavailable)
	}
	cart, ok := c.carts[id]
	if !ok {
		return ordering.Cart{}, ordering.ErrCartNotFound
	}
	return cart, nil
}

func (c *carts) put(cart ordering.Cart) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.carts[cart.ID] = cart
	return cart.ID.String()
}

func (c *carts) setDown(down bool) { c.mu.Lock(); defer c.mu.Unlock(); c.down = down }

// service is the ordering's HTTP edge as the process assembles it: the
// chassis over the spec, the real SQLite store, the faked cart service.
type service struct {
	edge  *chassistest.Edge
	svc   *app.Service
	carts *carts
	ob    *outbox.Store
}

func newService(t *testing.T) *service {
	t.Helper()
	ctx := context.Background()
	db := sqldbtest.SQLite(t)
	ob, err := outbox.NewStore(ctx, db)
	require.NoError(t, err)
	in, err := inbox.NewStore(ctx, db)
	require.NoError(t, err)
	store, err := sqlstore.New(ctx, db, ob, in, kafkatest.Codec(t))
	require.NoError(t, err)
	fake := &carts{carts: map[uuid.UUID]ordering.Cart{}}
	svc, err := app.New(store, fake, app.Config{Policy: orderingtest.Policy})
	require.NoError(t, err)
	doc, err := httpapi.Document()
	require.NoError(t, err)
	problems, err := httpapi.Problems()
	require.NoError(t, err)
	api, err := httpapi.New(svc)
	require.NoError(t, err)
	return &service{edge: chassistest.NewEdge(t, doc, problems, api.Mount), svc: svc, carts: fake, ob: ob}
}

func eur(t *testing.T, a int64) ordering.Money {
	t.Helper()
	m, err := ordering.NewMoney(a, "EUR")
	require.NoError(t, err)
	return m
}

// cart puts an open cart of customer with a shirt and a mug in the faked
// cart service.
func (s *service) cart(t *testing.T, customer string) ordering.Cart {
	t.Helper()
	return ordering.Cart{ID: uuid.Must(uuid.NewV7()), CustomerID: customer, Status: ordering.CartOpen, Currency: "EUR", Lines: []ordering.CartLine{
		{ProductID: uuid.Must(uuid.NewV7()), SKU: "SHIRT-1", Name: "Shirt", Quantity: 2, UnitPrice: eur(t, 1999), Available: true},
		{ProductID: uuid.Must(uuid.NewV7()), SKU: "MUG-1", Name: "Mug", Quantity: 1, UnitPrice: eur(t, 500), Available: true},
	}}
}

func body(cartID string) string {
	return `{"cart_id":"` + cartID + `","payment_token":"tok_visa","email":"ada@example.com",
		"shipping_address":{"name":"Ada Lovelace","line1":"12 Analytical Row","city":"London","postal_code":"EC1A 1BB","country":"GB"}}`
}

func money(amount int64) map[string]any {
	return map[string]any{"amount_minor": float64(amount), "currency": "EUR"}
}

func (s *service) place(t *testing.T, token, cartID, key string) chassistest.Response {
	t.Helper()
	return s.edge.Do(t, "POST", "/v1/orders", body(cartID), "Authorization", token, "Idempotency-Key", key)
}

func TestCheckout(t *testing.T) {
	t.Parallel()
	s := newService(t)
	alice := s.edge.Token(t, "alice", auth.CustomerScopes()...)
	readOnly := s.edge.Token(t, "alice", auth.ScopeOrdersRead)
	cart := s.cart(t, "alice")
	cartID := s.carts.put(cart)

	t.Run("refused before anything happens", func(t *testing.T) {
		chassistest.RequireProblem(t, s.edge.Do(t, "POST", "/v1/orders", body(cartID), "Idempotency-Key", "k"), 401, problem.TypeUnauthorized)
		chassistest.RequireProblem(t, s.place(t, readOnly, cartID, "k"), 403, auth.TypeInsufficientScope)
		res := s.edge.Do(t, "POST", "/v1/orders", body(cartID), "Authorization", alice)
		chassistest.RequireProblem(t, res, 400, problem.TypeValidation)
		require.Equal(t, idempotency.KeyHeader, res.Problem.Errors[0].Parameter, "the Idempotency-Key is required")
		for pointer, b := range map[string]string{
			"/cart_id":                  strings.Replace(body(cartID), cartID, "not-a-uuid", 1),
			"/payment_token":            strings.Replace(body(cartID), "tok_visa", "", 1),
			"/email":                    strings.Replace(body(cartID), "ada@example.com", "ada", 1),
			"/shipping_address/country": strings.Replace(body(cartID), `"GB"`, `"gb"`, 1),
			"/shipping_address/name":    strings.Replace(body(cartID), `"Ada Lovelace"`, `""`, 1),
		} {
			chassistest.RequirePointer(t, s.edge.Do(t, "POST", "/v1/orders", b, "Authorization", alice, "Idempotency-Key", "bad-"+pointer), pointer)
		}
		chassistest.RequireProblem(t, s.edge.Do(t, "POST", "/v1/orders", strings.Replace(body(cartID), `"email"`, `"x":1,"email"`, 1),
			"Authorization", alice, "Idempotency-Key", "extra"), 400, problem.TypeValidation)
		chassistest.RequireProblem(t, s.edge.Do(t, "POST", "/v1/orders", `{`, "Authorization", alice, "Idempotency-Key", "broken"),
			400, problem.TypeMalformedBody)
		chassistest.RequireProblem(t, s.edge.Do(t, "POST", "/v1/orders", strings.Replace(body(cartID), `"email":"ada@example.com",`, "", 1),
			"Authorization", alice, "Idempotency-Key", "no-email"), 422, httpapi.TypeEmailRequired)
		require.Empty(t, outboxtest.Pending(t, s.ob), "nothing was ordered")
	})

	var orderURL, orderID string
	t.Run("place", func(t *testing.T) {
		res := s.place(t, alice, cartID, "checkout-1")
		require.Equal(t, 201, res.Status, "%+v", res.Problem)
		orderID = res.Body["id"].(string)
		orderURL = "/v1/orders/" + orderID
		require.Equal(t, orderURL, res.Header.Get("Location"))
		require.Equal(t, `"1"`, res.Header.Get("ETag"))
		require.Equal(t, "alice", res.Body["customer_id"])
		require.Equal(t, cartID, res.Body["cart_id"])
		require.Equal(t, "PENDING", res.Body["status"])
		require.Equal(t, "reserving_stock", res.Body["step"])
		require.Equal(t, money(2*1999+500), res.Body["total"])
		require.Equal(t, "ada@example.com", res.Body["email"])
		require.Equal(t, false, res.Body["refunded"])
		require.NotEmpty(t, res.Body["deadline_at"])
		require.NotContains(t, string(res.Raw), "tok_visa", "the payment token is never shown")
		line := res.Body["lines"].([]any)[0].(map[string]any)
		require.Equal(t, "SHIRT-1", line["sku"])
		require.Equal(t, float64(2), line["quantity"])
		require.Equal(t, money(1999), line["unit_price"])
		require.Equal(t, money(3998), line["line_total"])
		addr := res.Body["shipping_address"].(map[string]any)
		require.Equal(t, "GB", addr["country"])
		require.NotContains(t, addr, "line2")
		require.Equal(t, []string{strings.TrimPrefix(alice, "Bearer ")}, s.carts.tokens[len(s.carts.tokens)-1:], "the caller's token reads the cart")

		evs := outboxtest.Pending(t, s.ob)
		require.Len(t, evs, 1)
		require.Equal(t, "agora.ordering.v1.OrderPlaced", evs[0].Metadata.Type)
		require.Equal(t, orderID, evs[0].Key)
	})

	t.Run("idempotency", func(t *testing.T) {
		again := s.place(t, alice, cartID, "checkout-1")
		require.Equal(t, 201, again.Status)
		require.Equal(t, orderID, again.Body["id"], "the retry replays the first answer")
		require.Equal(t, "true", again.Header.Get(idempotency.ReplayedHeader))
		other := strings.Replace(body(cartID), "tok_visa", "tok_other", 1)
		chassistest.RequireProblem(t, s.edge.Do(t, "POST", "/v1/orders", other, "Authorization", alice, "Idempotency-Key", "checkout-1"),
			422, idempotency.TypeKeyReused)
		// One order per cart: another key is refused.
		chassistest.RequireProblem(t, s.place(t, alice, cartID, "checkout-2"), 409, httpapi.TypeCartOrdered)
		require.Len(t, outboxtest.Pending(t, s.ob), 1)
	})

	t.Run("the cart's state", func(t *testing.T) {
		bob := s.edge.Token(t, "bob", auth.CustomerScopes()...)
		chassistest.RequireProblem(t, s.place(t, alice, uuid.Must(uuid.NewV7()).String(), "c-404"), 404, httpapi.TypeCartNotFound)
		chassistest.RequireProblem(t, s.place(t, bob, s.carts.put(s.cart(t, "alice")), "c-403"), 403, httpapi.TypeCartForbidden)
		closed := s.cart(t, "alice")
		closed.Status = "checked_out"
		chassistest.RequireProblem(t, s.place(t, alice, s.carts.put(closed), "c-409"), 409, httpapi.TypeCartNotOpen)
		empty := s.cart(t, "alice")
		empty.Lines = nil
		chassistest.RequireProblem(t, s.place(t, alice, s.carts.put(empty), "c-422"), 422, httpapi.TypeCartEmpty)
		gone := s.cart(t, "alice")
		gone.Lines[1].Available = false
		res := s.place(t, alice, s.carts.put(gone), "c-gone")
		chassistest.RequireProblem(t, res, 409, httpapi.TypeLinesUnavailable)
		require.Contains(t, res.Problem.Detail, "MUG-1")
		big := s.cart(t, "alice")
		big.Lines[0].Quantity = 20_000
		chassistest.RequireProblem(t, s.place(t, alice, s.carts.put(big), "c-big"), 422, httpapi.TypeCartUnorderable)
	})

	t.Run("cart service down", func(t *testing.T) {
		down := s.carts.put(s.cart(t, "alice"))
		s.carts.setDown(true)
		res := s.place(t, alice, down, "c-down")
		chassistest.RequireProblem(t, res, 503, httpapi.TypeCartsUnavailable)
		require.Equal(t, "5", res.Header.Get("Retry-After"))
		s.carts.setDown(false)
		res = s.place(t, alice, down, "c-down")
		require.Equal(t, 201, res.Status, "a 503 is not stored: the same key succeeds later (%+v)", res.Problem)
	})
}

func TestReadOrders(t *testing.T) {
	t.Parallel()
	s := newService(t)
	alice := s.edge.Token(t, "alice", auth.CustomerScopes()...)
	bob := s.edge.Token(t, "bob", auth.CustomerScopes()...)
	ops := s.edge.Token(t, "ops", auth.ScopeOrdersRead, auth.ScopeOrdersAdmin)
	noOrders := s.edge.Token(t, "alice", auth.ScopeCartRead)
	var ids []string
	for i := range 3 {
		res := s.place(t, alice, s.carts.put(s.cart(t, "alice")), fmt.Sprint("k-", i))
		require.Equal(t, 201, res.Status, "%+v", res.Problem)
		ids = append(ids, res.Body["id"].(string))
	}
	url := "/v1/orders/" + ids[0]

	t.Run("get", func(t *testing.T) {
		chassistest.RequireProblem(t, s.edge.Do(t, "GET", url, ""), 401, problem.TypeUnauthorized)
		chassistest.RequireProblem(t, s.edge.Do(t, "GET", url, "", "Authorization", noOrders), 403, auth.TypeInsufficientScope)
		res := s.edge.Do(t, "GET", url, "", "Authorization", alice)
		require.Equal(t, 200, res.Status)
		require.Equal(t, ids[0], res.Body["id"])
		require.Equal(t, `"1"`, res.Header.Get("ETag"))
		res = s.edge.Do(t, "GET", url, "", "Authorization", alice, "If-None-Match", `"1"`)
		require.Equal(t, 304, res.Status)
		chassistest.RequireProblem(t, s.edge.Do(t, "GET", url, "", "Authorization", bob), 403, problem.TypeForbidden)
		require.Equal(t, 200, s.edge.Do(t, "GET", url, "", "Authorization", ops).Status, "an operator reads any order")
		chassistest.RequireProblem(t, s.edge.Do(t, "GET", "/v1/orders/"+uuid.Must(uuid.NewV7()).String(), "", "Authorization", alice),
			404, httpapi.TypeOrderNotFound)
		res = s.edge.Do(t, "GET", "/v1/orders/nope", "", "Authorization", alice)
		chassistest.RequireProblem(t, res, 400, problem.TypeValidation)
		require.Equal(t, "orderId", res.Problem.Errors[0].Parameter)
	})

	t.Run("list", func(t *testing.T) {
		_, err := s.svc.CancelOrder(auth.WithPrincipal(context.Background(), &auth.Principal{Subject: "alice"}), uuid.MustParse(ids[1]), "")
		require.NoError(t, err)
		var got []any
		target := "/v1/orders?limit=2"
		for range 5 {
			res := s.edge.Do(t, "GET", target, "", "Authorization", alice)
			require.Equal(t, 200, res.Status, "%+v", res.Problem)
			for _, o := range res.Body["items"].([]any) {
				got = append(got, o.(map[string]any)["id"])
			}
			next, ok := res.Body["next_cursor"].(string)
			if !ok {
				break
			}
			target = "/v1/orders?limit=2&cursor=" + next
		}
		require.Equal(t, []any{ids[2], ids[1], ids[0]}, got, "newest first")
		res := s.edge.Do(t, "GET", "/v1/orders?status=CANCELLED", "", "Authorization", alice)
		require.Equal(t, 200, res.Status)
		require.Len(t, res.Body["items"], 1)
		cancelled := res.Body["items"].([]any)[0].(map[string]any)
		require.Equal(t, map[string]any{"code": "CUSTOMER_REQUEST", "message": "cancelled by the customer"}, cancelled["end_reason"])
		require.Nil(t, cancelled["deadline_at"])
		res = s.edge.Do(t, "GET", "/v1/orders", "", "Authorization", bob)
		require.Equal(t, 200, res.Status)
		require.Empty(t, res.Body["items"])
		chassistest.RequireProblem(t, s.edge.Do(t, "GET", "/v1/orders?limit=0", "", "Authorization", alice), 400, problem.TypeValidation)
		chassistest.RequireProblem(t, s.edge.Do(t, "GET", "/v1/orders?status=LOST", "", "Authorization", alice), 400, problem.TypeValidation)
		res = s.edge.Do(t, "GET", "/v1/orders?cursor=AAAA", "", "Authorization", alice)
		chassistest.RequireProblem(t, res, 400, problem.TypeValidation)
		require.Equal(t, "cursor", res.Problem.Errors[0].Parameter)
		chassistest.RequireProblem(t, s.edge.Do(t, "GET", "/v1/orders", ""), 401, problem.TypeUnauthorized)
	})
}

func TestCancellation(t *testing.T) {
	t.Parallel()
	s := newService(t)
	ctx := context.Background()
	alice := s.edge.Token(t, "alice", auth.CustomerScopes()...)
	bob := s.edge.Token(t, "bob", auth.CustomerScopes()...)
	ops := s.edge.Token(t, "ops", auth.AdminScopes()...)
	readOnly := s.edge.Token(t, "alice", auth.ScopeOrdersRead)
	place := func(key string) (string, uuid.UUID) {
		res := s.place(t, alice, s.carts.put(s.cart(t, "alice")), key)
		require.Equal(t, 201, res.Status, "%+v", res.Problem)
		id := res.Body["id"].(string)
		return "/v1/orders/" + id + "/cancellation", uuid.MustParse(id)
	}
	cancel := func(url, token, body string) chassistest.Response {
		return s.edge.Do(t, "POST", url, body, "Authorization", token)
	}

	pending, _ := place("p")
	chassistest.RequireProblem(t, cancel(pending, "", `{}`), 401, problem.TypeUnauthorized)
	chassistest.RequireProblem(t, cancel(pending, readOnly, `{}`), 403, auth.TypeInsufficientScope)
	chassistest.RequireProblem(t, cancel(pending, bob, `{}`), 403, problem.TypeForbidden)
	chassistest.RequirePointer(t, cancel(pending, alice, `{"reason":""}`), "/reason")
	chassistest.RequireProblem(t, cancel("/v1/orders/"+uuid.Must(uuid.NewV7()).String()+"/cancellation", alice, `{}`), 404, httpapi.TypeOrderNotFound)
	res := cancel(pending, alice, `{"reason":"ordered the wrong size"}`)
	require.Equal(t, 200, res.Status, "%+v", res.Problem)
	require.Equal(t, "CANCELLED", res.Body["status"])
	require.Equal(t, "done", res.Body["step"])
	require.Equal(t, `"2"`, res.Header.Get("ETag"))
	require.Equal(t, map[string]any{"code": "CUSTOMER_REQUEST", "message": "cancelled by the customer: ordered the wrong size"}, res.Body["end_reason"])
	again := cancel(pending, alice, `{}`)
	require.Equal(t, 200, again.Status, "cancelling again answers the cancelled order")
	require.Equal(t, `"2"`, again.Header.Get("ETag"), "and changes nothing")

	// A shipped order: the customer may not cancel it; an operator may,
	// with a refund.
	shipped, id := place("s")
	key := func(n string) app.DedupeKey { return app.DedupeKey{Group: "test", EventID: n} }
	require.NoError(t, s.svc.OnStockReserved(ctx, key("1"), id))
	require.NoError(t, s.svc.OnPaymentAuthorized(ctx, key("2"), app.PaymentAnswer{OrderID: id, PaymentID: "pay-1"}))
	require.NoError(t, s.svc.OnShipmentShipped(ctx, key("3"), app.ShipmentAnswer{OrderID: id, ShipmentID: "s-1", Carrier: "DHL", TrackingNumber: "T-1"}))
	res = cancel(shipped, alice, `{}`)
	chassistest.RequireProblem(t, res, 409, httpapi.TypeInvalidState)
	require.Contains(t, res.Problem.Detail, "SHIPPED")
	require.Equal(t, "SHIPPED", res.Problem.Extensions["order_status"])
	res = cancel(shipped, ops, `{"reason":"damaged in transit"}`)
	require.Equal(t, 200, res.Status, "%+v", res.Problem)
	require.Equal(t, "OPERATOR_REQUEST", res.Body["end_reason"].(map[string]any)["code"])
	require.Equal(t, "pay-1", res.Body["payment_id"])
	require.Equal(t, "T-1", res.Body["tracking_number"])
	require.Equal(t, "DHL", res.Body["carrier"])
	require.Equal(t, "s-1", res.Body["shipment_id"])
	require.NoError(t, s.svc.OnPaymentRefunded(ctx, key("4"), app.PaymentAnswer{OrderID: id, PaymentID: "pay-1"}))
	res = s.edge.Do(t, "GET", "/v1/orders/"+id.String(), "", "Authorization", alice)
	require.Equal(t, true, res.Body["refunded"])

	// A rejected order cannot be cancelled by anybody.
	rejected, rid := place("r")
	require.NoError(t, s.svc.OnReservationRejected(ctx, key("5"), rid, "SHIRT-1: 2 requested, 0 available"))
	res = cancel(rejected, ops, `{}`)
	chassistest.RequireProblem(t, res, 409, httpapi.TypeInvalidState)
	require.Contains(t, res.Problem.Detail, "REJECTED")

	var types []string
	for _, e := range outboxtest.Pending(t, s.ob) {
		types = append(types, e.Metadata.Type)
	}
	require.Contains(t, types, "agora.ordering.v1.OrderCancelled")
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	_, err := httpapi.New(nil)
	require.Error(t, err)
	problems, err := httpapi.Problems()
	require.NoError(t, err)
	require.Equal(t, http.StatusNotFound, problems.FromError(ordering.ErrNotFound).Status)
	require.Equal(t, http.StatusServiceUnavailable, problems.FromError(app.ErrCartsUnavailable).Status)
	require.Equal(t, http.StatusConflict, problems.FromError(ordering.ErrInvalidTransition).Status)
}
