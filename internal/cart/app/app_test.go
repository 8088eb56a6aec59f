package app_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/cart"
	"github.com/agoracommerce/agora/internal/cart/app"
	"github.com/agoracommerce/agora/internal/cart/sqlstore"
	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/kafkatest"
	"github.com/agoracommerce/agora/internal/platform/outbox"
	"github.com/agoracommerce/agora/internal/platform/sqldb/sqldbtest"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.now = t }

type fixture struct {
	svc   *app.Service
	store *sqlstore.Store
	clock *clock
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	db := sqldbtest.SQLite(t)
	ob, err := outbox.NewStore(ctx, db)
	require.NoError(t, err)
	st, err := sqlstore.New(ctx, db, ob, kafkatest.Codec(t))
	require.NoError(t, err)
	clk := &clock{now: t0}
	svc, err := app.New(st, st, app.Config{Now: clk.Now, IdleTTL: time.Hour, ExpiryBatch: 2})
	require.NoError(t, err)
	return &fixture{svc: svc, store: st, clock: clk}
}

func as(subject string, scopes ...string) context.Context {
	return auth.WithPrincipal(context.Background(), &auth.Principal{Subject: subject, Scopes: scopes})
}

func (f *fixture) product(t *testing.T, amount int64, status cart.ProductStatus) cart.Product {
	t.Helper()
	m, err := cart.NewMoney(amount, "EUR")
	require.NoError(t, err)
	p := cart.Product{ID: uuid.Must(uuid.NewV7()), SKU: "SKU-1", Name: "Shirt", Price: m, Status: status, Version: 1, UpdatedAt: t0}
	applied, err := f.svc.ApplyProduct(context.Background(), p)
	require.NoError(t, err)
	require.True(t, applied)
	return p
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	_, err := app.New(nil, f.store, app.Config{})
	require.Error(t, err)
	_, err = app.New(f.store, f.store, app.Config{IdleTTL: -1})
	require.Error(t, err)
	_, err = app.New(f.store, f.store, app.Config{ExpiryBatch: -1})
	require.Error(t, err)
}

func TestOwnership(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	p := f.product(t, 1000, cart.ProductActive)
	alice, bob, admin := as("alice"), as("bob"), as("ops", auth.ScopeAdmin)
	v, err := f.svc.CreateCart(alice, "EUR")
	require.NoError(t, err)
	id := v.Cart.ID()
	require.Equal(t, "alice", v.Cart.CustomerID())

	_, err = f.svc.CreateCart(context.Background(), "EUR")
	require.ErrorIs(t, err, auth.ErrUnauthenticated)

	// Another customer learns nothing: every operation is not found.
	_, err = f.svc.Cart(bob, id)
	require.ErrorIs(t, err, cart.ErrNotFound)
	_, _, err = f.svc.AddLine(bob, id, p.ID, 1)
	require.ErrorIs(t, err, cart.ErrNotFound)
	require.ErrorIs(t, f.svc.AbandonCart(bob, id), cart.ErrNotFound)
	page, err := f.svc.MyCarts(bob, uuid.Nil, 0)
	require.NoError(t, err)
	require.Empty(t, page.Items)

	// An admin reads any cart but changes none.
	got, err := f.svc.Cart(admin, id)
	require.NoError(t, err)
	require.Equal(t, id, got.Cart.ID())
	_, _, err = f.svc.AddLine(admin, id, p.ID, 1)
	require.ErrorIs(t, err, cart.ErrForbidden)
	_, err = f.svc.RemoveLine(admin, id, p.ID, nil)
	require.ErrorIs(t, err, cart.ErrForbidden)

	// The owner does.
	_, added, err := f.svc.AddLine(alice, id, p.ID, 1)
	require.NoError(t, err)
	require.True(t, added)
	page, err = f.svc.MyCarts(alice, uuid.Nil, 0)
	require.NoError(t, err)
	require.Len(t, page.Items, 1)
}

func TestPricesFromReadModel(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := as("alice")
	p := f.product(t, 1000, cart.ProductActive)
	archived := f.product(t, 500, cart.ProductArchived)
	v, err := f.svc.CreateCart(ctx, "EUR")
	require.NoError(t, err)
	id := v.Cart.ID()

	_, _, err = f.svc.AddLine(ctx, id, archived.ID, 1)
	require.ErrorIs(t, err, cart.ErrProductUnavailable)
	_, _, err = f.svc.AddLine(ctx, id, uuid.Must(uuid.NewV7()), 1)
	require.ErrorIs(t, err, cart.ErrProductNotFound)
	v, _, err = f.svc.AddLine(ctx, id, p.ID, 2)
	require.NoError(t, err)
	require.Equal(t, int64(2000), v.Priced.Total.Amount())

	// A newer price shows as the current price; the line keeps its own.
	cheaper := p
	cheaper.Version, cheaper.Price = 2, mustEUR(t, 800)
	applied, err := f.svc.ApplyProduct(context.Background(), cheaper)
	require.NoError(t, err)
	require.True(t, applied)
	stale := p
	stale.Version, stale.Price = 1, mustEUR(t, 5000)
	applied, err = f.svc.ApplyProduct(context.Background(), stale)
	require.NoError(t, err)
	require.False(t, applied, "an older version is ignored")
	v, err = f.svc.Cart(ctx, id)
	require.NoError(t, err)
	require.Equal(t, int64(1000), v.Priced.Lines[0].UnitPrice.Amount())
	require.Equal(t, int64(800), v.Priced.Lines[0].Current.Amount())
	require.Equal(t, int64(1600), v.Priced.Total.Amount())
	require.Equal(t, t0.Add(time.Hour), v.ExpiresAt)

	// Archived later: the line stays but counts nothing.
	gone := cheaper
	gone.Version, gone.Status = 3, cart.ProductArchived
	_, err = f.svc.ApplyProduct(context.Background(), gone)
	require.NoError(t, err)
	v, err = f.svc.Cart(ctx, id)
	require.NoError(t, err)
	require.False(t, v.Priced.Lines[0].Available)
	require.Equal(t, int64(0), v.Priced.Total.Amount())

	bad := p
	bad.Version = 0
	_, err = f.svc.ApplyProduct(context.Background(), bad)
	require.ErrorIs(t, err, cart.ErrInvalid)
}

func mustEUR(t *testing.T, a int64) cart.Money {
	t.Helper()
	m, err := cart.NewMoney(a, "EUR")
	require.NoError(t, err)
	return m
}

func TestPreconditionAndAbandon(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := as("alice")
	p := f.product(t, 1000, cart.ProductActive)
	v, err := f.svc.CreateCart(ctx, "EUR")
	require.NoError(t, err)
	id := v.Cart.ID()
	v, _, err = f.svc.AddLine(ctx, id, p.ID, 1)
	require.NoError(t, err)
	stale := errors.New("stale")
	only := func(want int64) app.Precondition {
		return func(version int64) error {
			if version != want {
				return stale
			}
			return nil
		}
	}
	_, err = f.svc.UpdateLine(ctx, id, p.ID, 4, only(v.Cart.Version()-1))
	require.ErrorIs(t, err, stale)
	v, err = f.svc.UpdateLine(ctx, id, p.ID, 4, only(v.Cart.Version()))
	require.NoError(t, err)
	require.Equal(t, int64(4), v.Priced.Items)

	require.NoError(t, f.svc.AbandonCart(ctx, id))
	require.NoError(t, f.svc.AbandonCart(ctx, id), "abandoning twice succeeds")
	_, err = f.svc.Cart(ctx, id)
	require.ErrorIs(t, err, cart.ErrNotFound)
	_, err = f.svc.RemoveLine(ctx, id, p.ID, nil)
	require.ErrorIs(t, err, cart.ErrNotFound)
}

func TestMarkCheckedOut(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := as("alice")
	p := f.product(t, 1000, cart.ProductActive)
	v, err := f.svc.CreateCart(ctx, "EUR")
	require.NoError(t, err)
	id := v.Cart.ID()
	_, err = f.svc.MarkCheckedOut(context.Background(), id, "order-1")
	require.ErrorIs(t, err, cart.ErrEmpty)
	_, _, err = f.svc.AddLine(ctx, id, p.ID, 1)
	require.NoError(t, err)
	c, err := f.svc.MarkCheckedOut(context.Background(), id, "order-1")
	require.NoError(t, err)
	require.Equal(t, cart.StatusCheckedOut, c.Status())
	again, err := f.svc.MarkCheckedOut(context.Background(), id, "order-1")
	require.NoError(t, err)
	require.Equal(t, c.Version(), again.Version(), "a redelivered checkout changes nothing")
	_, err = f.svc.MarkCheckedOut(context.Background(), id, "order-2")
	require.ErrorIs(t, err, cart.ErrClosed)
	_, _, err = f.svc.AddLine(ctx, id, p.ID, 1)
	require.ErrorIs(t, err, cart.ErrClosed)
	_, err = f.svc.MarkCheckedOut(context.Background(), uuid.Must(uuid.NewV7()), "order-1")
	require.ErrorIs(t, err, cart.ErrNotFound)
}

func TestExpireCarts(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := as("alice")
	var ids []uuid.UUID
	for range 5 { // more than one batch of 2
		v, err := f.svc.CreateCart(ctx, "EUR")
		require.NoError(t, err)
		ids = append(ids, v.Cart.ID())
	}
	f.clock.Set(t0.Add(30 * time.Minute))
	p := f.product(t, 1000, cart.ProductActive)
	_, _, err := f.svc.AddLine(ctx, ids[4], p.ID, 1) // active later
	require.NoError(t, err)

	n, err := f.svc.ExpireCarts(context.Background(), t0.Add(59*time.Minute))
	require.NoError(t, err)
	require.Zero(t, n)
	n, err = f.svc.ExpireCarts(context.Background(), t0.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, 4, n)
	for _, id := range ids[:4] {
		v, err := f.svc.Cart(ctx, id)
		require.NoError(t, err)
		require.Equal(t, cart.StatusExpired, v.Cart.Status())
		require.True(t, v.ExpiresAt.IsZero())
	}
	v, err := f.svc.Cart(ctx, ids[4])
	require.NoError(t, err)
	require.Equal(t, cart.StatusOpen, v.Cart.Status())
	n, err = f.svc.ExpireCarts(context.Background(), t0.Add(time.Hour))
	require.NoError(t, err)
	require.Zero(t, n, "expiring again finds nothing")
}
