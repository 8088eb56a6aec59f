package carthttp_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/cart"
	cartapp "github.com/agoracommerce/agora/internal/cart/app"
	carthttpapi "github.com/agoracommerce/agora/internal/cart/httpapi"
	cartsql "github.com/agoracommerce/agora/internal/cart/sqlstore"
	"github.com/agoracommerce/agora/internal/ordering"
	"github.com/agoracommerce/agora/internal/ordering/app"
	"github.com/agoracommerce/agora/internal/ordering/carthttp"
	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/chassis/chassistest"
	"github.com/agoracommerce/agora/internal/platform/correlation"
	"github.com/agoracommerce/agora/internal/platform/fault"
	"github.com/agoracommerce/agora/internal/platform/kafkatest"
	"github.com/agoracommerce/agora/internal/platform/outbox"
	"github.com/agoracommerce/agora/internal/platform/resilience"
	"github.com/agoracommerce/agora/internal/platform/sqldb/sqldbtest"
)

// cartService is the real cart service (its HTTP edge, app and SQLite
// store) served over HTTP.
type cartService struct {
	url  string
	svc  *cartapp.Service
	edge *chassistest.Edge
}

func startCartService(t *testing.T) *cartService {
	t.Helper()
	ctx := context.Background()
	db := sqldbtest.SQLite(t)
	ob, err := outbox.NewStore(ctx, db)
	require.NoError(t, err)
	store, err := cartsql.New(ctx, db, ob, kafkatest.Codec(t))
	require.NoError(t, err)
	svc, err := cartapp.New(store, store, cartapp.Config{})
	require.NoError(t, err)
	doc, err := carthttpapi.Document()
	require.NoError(t, err)
	problems, err := carthttpapi.Problems()
	require.NoError(t, err)
	api, err := carthttpapi.New(svc)
	require.NoError(t, err)
	edge := chassistest.NewEdge(t, doc, problems, api.Mount)
	srv := httptest.NewServer(edge.Server.Handler())
	t.Cleanup(srv.Close)
	return &cartService{url: srv.URL, svc: svc, edge: edge}
}

// token returns a raw bearer token of the cart service's issuer.
func (c *cartService) token(t *testing.T, subject string, scopes ...string) string {
	t.Helper()
	return strings.TrimPrefix(c.edge.Token(t, subject, scopes...), "Bearer ")
}

func (c *cartService) product(t *testing.T, sku string, amount int64) cart.Product {
	t.Helper()
	m, err := cart.NewMoney(amount, "EUR")
	require.NoError(t, err)
	p := cart.Product{ID: uuid.Must(uuid.NewV7()), SKU: sku, Name: "Product " + sku, Price: m, Status: cart.ProductActive, Version: 1, UpdatedAt: time.Now()}
	_, err = c.svc.ApplyProduct(context.Background(), p)
	require.NoError(t, err)
	return p
}

func newClient(t *testing.T, base string, mut ...func(*carthttp.Config)) *carthttp.Client {
	t.Helper()
	cfg := carthttp.Config{BaseURL: base, AttemptTimeout: time.Second, MaxAttempts: 3, MaxElapsed: 3 * time.Second,
		BreakerFailures: 3, BreakerOpen: time.Minute}
	for _, m := range mut {
		m(&cfg)
	}
	c, err := carthttp.New(cfg)
	require.NoError(t, err)
	return c
}

// The client against the real cart service: what a checkout needs of a
// cart comes through, and the cart's own refusals map to the ordering's
// errors.
func TestAgainstCartService(t *testing.T) {
	t.Parallel()
	cs := startCartService(t)
	client := newClient(t, cs.url+"/")
	ctx := context.Background()
	alice := auth.WithPrincipal(ctx, &auth.Principal{Subject: "alice"})
	shirt, mug := cs.product(t, "SHIRT-1", 1999), cs.product(t, "MUG-1", 500)

	v, err := cs.svc.CreateCart(alice, "EUR")
	require.NoError(t, err)
	id := v.Cart.ID()
	_, _, err = cs.svc.AddLine(alice, id, shirt.ID, 2)
	require.NoError(t, err)
	_, _, err = cs.svc.AddLine(alice, id, mug.ID, 1)
	require.NoError(t, err)
	// The shirt gets cheaper and the mug leaves the catalog: the cart
	// keeps the shirt's unit price and shows the mug unavailable.
	cheaper := shirt
	cheaper.Version, cheaper.Price = 2, mustCartMoney(t, 1500)
	_, err = cs.svc.ApplyProduct(ctx, cheaper)
	require.NoError(t, err)
	gone := mug
	gone.Version, gone.Status = 2, cart.ProductArchived
	_, err = cs.svc.ApplyProduct(ctx, gone)
	require.NoError(t, err)

	aliceToken := cs.token(t, "alice", auth.CustomerScopes()...)
	got, err := client.Cart(ctx, id, aliceToken)
	require.NoError(t, err)
	eur := func(a int64) ordering.Money { m, err := ordering.NewMoney(a, "EUR"); require.NoError(t, err); return m }
	require.Equal(t, ordering.Cart{ID: id, CustomerID: "alice", Status: ordering.CartOpen, Currency: "EUR", Lines: []ordering.CartLine{
		{ProductID: shirt.ID, SKU: "SHIRT-1", Name: "Product SHIRT-1", Quantity: 2, UnitPrice: eur(1999), Available: true},
		{ProductID: mug.ID, SKU: "MUG-1", Name: "Product MUG-1", Quantity: 1, UnitPrice: eur(500), Available: false},
	}}, got)

	// Another customer's cart does not exist for them.
	_, err = client.Cart(ctx, id, cs.token(t, "bob", auth.CustomerScopes()...))
	require.ErrorIs(t, err, ordering.ErrCartNotFound)
	_, err = client.Cart(ctx, uuid.Must(uuid.NewV7()), aliceToken)
	require.ErrorIs(t, err, ordering.ErrCartNotFound)
	// A token without cart:read, a bad token, no token.
	_, err = client.Cart(ctx, id, cs.token(t, "alice", auth.ScopeOrdersWrite))
	require.ErrorIs(t, err, ordering.ErrCartForbidden)
	_, err = client.Cart(ctx, id, "not-a-token")
	require.ErrorIs(t, err, ordering.ErrCartForbidden)
	_, err = client.Cart(ctx, id, "")
	require.ErrorIs(t, err, ordering.ErrCartForbidden)
	// An operator reads it, as alice's: the checkout refuses it for them.
	got, err = client.Cart(ctx, id, cs.token(t, "ops", auth.AdminScopes()...))
	require.NoError(t, err)
	require.Equal(t, "alice", got.CustomerID)

	// Checked out: readable, not open. Abandoned: gone.
	_, err = cs.svc.MarkCheckedOut(ctx, id, "order-1")
	require.NoError(t, err)
	got, err = client.Cart(ctx, id, aliceToken)
	require.NoError(t, err)
	require.Equal(t, ordering.CartStatus("checked_out"), got.Status)
	v, err = cs.svc.CreateCart(alice, "EUR")
	require.NoError(t, err)
	require.NoError(t, cs.svc.AbandonCart(alice, v.Cart.ID()))
	_, err = client.Cart(ctx, v.Cart.ID(), aliceToken)
	require.ErrorIs(t, err, ordering.ErrCartNotFound)

	require.Equal(t, resilience.StateClosed, client.BreakerState(), "refusals are answers, not failures")
}

func mustCartMoney(t *testing.T, a int64) cart.Money {
	t.Helper()
	m, err := cart.NewMoney(a, "EUR")
	require.NoError(t, err)
	return m
}

const cartBody = `{"id":"%s","customer_id":"alice","status":"open","currency":"EUR","item_count":1,
	"total":{"amount_minor":100,"currency":"EUR"},"lines":[{"product_id":"0190c5a2-7d1e-7cc3-a1b2-3c4d5e6f7a8b","sku":"S",
	"name":"N","quantity":1,"unit_price":{"amount_minor":100,"currency":"EUR"},"available":true}]}`

func TestFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	id := uuid.Must(uuid.NewV7())
	serve := func(t *testing.T, h http.HandlerFunc) string {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv.URL
	}
	problem := func(w http.ResponseWriter, status int, typ string) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"type":"` + typ + `","title":"x","status":` + strconv.Itoa(status) + `}`))
	}

	t.Run("headers and a retried 503", func(t *testing.T) {
		t.Parallel()
		var calls atomic.Int32
		url := serve(t, func(w http.ResponseWriter, r *http.Request) {
			require.Equal(t, "/v1/carts/"+id.String(), r.URL.Path)
			require.Equal(t, "Bearer tok-1", r.Header.Get("Authorization"))
			require.Equal(t, "corr-1", r.Header.Get(correlation.HTTPHeader))
			if calls.Add(1) == 1 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(strings.ReplaceAll(cartBody, "%s", id.String())))
		})
		got, err := newClient(t, url).Cart(correlation.WithID(ctx, "corr-1"), id, "tok-1")
		require.NoError(t, err)
		require.Equal(t, id, got.ID)
		require.Len(t, got.Lines, 1)
		require.Equal(t, int32(2), calls.Load())
	})

	t.Run("down, then the breaker opens", func(t *testing.T) {
		t.Parallel()
		var calls atomic.Int32
		url := serve(t, func(w http.ResponseWriter, _ *http.Request) {
			calls.Add(1)
			w.WriteHeader(http.StatusBadGateway)
		})
		client := newClient(t, url)
		_, err := client.Cart(ctx, id, "tok")
		require.ErrorIs(t, err, app.ErrCartsUnavailable)
		require.True(t, fault.IsRetryable(err))
		require.Equal(t, int32(3), calls.Load(), "retried")
		require.Equal(t, resilience.StateOpen, client.BreakerState())
		_, err = client.Cart(ctx, id, "tok")
		require.ErrorIs(t, err, app.ErrCartsUnavailable)
		require.ErrorIs(t, err, resilience.ErrOpen)
		require.Equal(t, int32(3), calls.Load(), "an open breaker fails fast")
	})

	t.Run("slow", func(t *testing.T) {
		t.Parallel()
		release := make(chan struct{})
		t.Cleanup(func() { close(release) })
		url := serve(t, func(_ http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		})
		client := newClient(t, url, func(c *carthttp.Config) {
			c.AttemptTimeout, c.MaxAttempts, c.MaxElapsed = 50*time.Millisecond, 2, time.Second
		})
		start := time.Now()
		_, err := client.Cart(ctx, id, "tok")
		require.ErrorIs(t, err, app.ErrCartsUnavailable)
		require.Less(t, time.Since(start), 900*time.Millisecond)
	})

	t.Run("unreachable", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		_, err := newClient(t, url, func(c *carthttp.Config) { c.MaxAttempts = 1 }).Cart(ctx, id, "tok")
		require.ErrorIs(t, err, app.ErrCartsUnavailable)
	})

	t.Run("caller gone", func(t *testing.T) {
		t.Parallel()
		url := serve(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		_, err := newClient(t, url).Cart(cancelled, id, "tok")
		require.ErrorIs(t, err, context.Canceled)
		require.False(t, errors.Is(err, app.ErrCartsUnavailable))
	})

	for _, c := range []struct {
		name   string
		status int
		typ    string
		want   error
	}{
		{"cart not found", 404, carthttp.TypeCartNotFound, ordering.ErrCartNotFound},
		{"cart closed", 409, carthttp.TypeCartClosed, ordering.ErrCartNotOpen},
		{"forbidden", 403, "https://agora.dev/problems/insufficient-scope", ordering.ErrCartForbidden},
		{"unauthorized", 401, "https://agora.dev/problems/unauthorized", ordering.ErrCartForbidden},
		{"rate limited", 429, "https://agora.dev/problems/rate-limited", app.ErrCartsUnavailable},
		{"internal", 500, "https://agora.dev/problems/internal", app.ErrCartsUnavailable},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			url := serve(t, func(w http.ResponseWriter, _ *http.Request) { problem(w, c.status, c.typ) })
			_, err := newClient(t, url, func(c *carthttp.Config) { c.MaxAttempts = 1 }).Cart(ctx, id, "tok")
			require.ErrorIs(t, err, c.want)
		})
	}

	for _, c := range []struct {
		name string
		h    http.HandlerFunc
	}{
		{"a route that is no cart's (wrong base URL)", func(w http.ResponseWriter, _ *http.Request) {
			problem(w, 404, "https://agora.dev/problems/not-found")
		}},
		{"bad request", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(400) }},
		{"not JSON", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("<html>")) }},
		{"broken JSON", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"id":`))
		}},
		{"a bad price", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"id":"` + id.String() + `","lines":[{"unit_price":{"amount_minor":-1,"currency":"EUR"}}]}`))
		}},
		{"too large", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"id":"` + strings.Repeat("x", 2048) + `"}`))
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := newClient(t, serve(t, c.h), func(c *carthttp.Config) { c.MaxBodyBytes = 1024 }).Cart(ctx, id, "tok")
			require.Error(t, err)
			require.False(t, errors.Is(err, ordering.ErrCartNotFound) || errors.Is(err, app.ErrCartsUnavailable), "%v", err)
		})
	}
}

func TestConfig(t *testing.T) {
	t.Parallel()
	for _, base := range []string{"", "cart:8080", "ftp://cart", "http://"} {
		_, err := carthttp.New(carthttp.Config{BaseURL: base})
		require.Error(t, err, base)
	}
	_, err := carthttp.New(carthttp.Config{BaseURL: "http://cart:8080", AttemptTimeout: -1})
	require.Error(t, err)
	_, err = carthttp.New(carthttp.Config{BaseURL: "https://cart.internal/base"})
	require.NoError(t, err)
}
