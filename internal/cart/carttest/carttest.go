// Package carttest is the contract suite of the cart's storage ports
// (app.Repository and app.Products): every adapter (SQLite, PostgreSQL,
// later DynamoDB) runs TestRepository to prove it keeps carts and the
// product read model the same way, writes the events of each change and
// only of changes that happened, never loses a concurrent change, and
// never lets an older product version replace a newer one.
package carttest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/cart"
	"github.com/agoracommerce/agora/internal/cart/app"
	"github.com/agoracommerce/agora/internal/platform/events"
)

// Subject is one fresh adapter under test.
type Subject struct {
	// Repo and Products are the adapter, over an empty store.
	Repo     app.Repository
	Products app.Products
	// Outbox returns every event the adapter has written to its outbox so
	// far, oldest first.
	Outbox func(t *testing.T) []events.Event
}

// Event types as they appear in the outbox metadata.
const (
	typeCreated   = "agora.cart.v1.CartCreated"
	typeAdded     = "agora.cart.v1.LineAdded"
	typeUpdated   = "agora.cart.v1.LineUpdated"
	typeRemoved   = "agora.cart.v1.LineRemoved"
	typeAbandoned = "agora.cart.v1.CartAbandoned"
	typeExpired   = "agora.cart.v1.CartExpired"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// TestRepository runs the contract suite; newSubject returns a fresh
// adapter over an empty store for each subtest.
func TestRepository(t *testing.T, newSubject func(t *testing.T) Subject) {
	t.Helper()
	cases := []struct {
		name string
		fn   func(t *testing.T, s Subject)
	}{
		{"create and read back", testCreate},
		{"update stores lines and events", testUpdate},
		{"failed or empty update leaves no trace", testFailedUpdate},
		{"concurrent updates never lose a change", testConcurrentUpdates},
		{"list pages a customer's carts", testList},
		{"idle carts are listed longest idle first", testIdle},
		{"products keep the highest version", testProducts},
		{"concurrent product versions settle on the highest", testConcurrentProducts},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, newSubject(t))
		})
	}
}

func types(t *testing.T, s Subject) []string {
	t.Helper()
	evs := s.Outbox(t)
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Metadata.Type
	}
	return out
}

func mustMoney(tb testing.TB, amount int64) cart.Money {
	tb.Helper()
	m, err := cart.NewMoney(amount, "EUR")
	require.NoError(tb, err)
	return m
}

func mustProduct(tb testing.TB, amount int64) cart.Product {
	tb.Helper()
	id := uuid.Must(uuid.NewV7())
	return cart.Product{ID: id, SKU: "SKU-" + id.String()[:8], Name: "Product", Price: mustMoney(tb, amount),
		Status: cart.ProductActive, Version: 1, UpdatedAt: t0}
}

func mustCreate(t *testing.T, s Subject, customer string, at time.Time) *cart.Cart {
	t.Helper()
	c, err := cart.New(uuid.Must(uuid.NewV7()), customer, "EUR", at)
	require.NoError(t, err)
	require.NoError(t, s.Repo.Create(context.Background(), c))
	require.False(t, c.Changed(), "Create marks the cart stored")
	return c
}

func requireSame(t *testing.T, want, got *cart.Cart) {
	t.Helper()
	require.Equal(t, want.State(), got.State())
}

func testCreate(t *testing.T, s Subject) {
	ctx := context.Background()
	c := mustCreate(t, s, "customer-1", t0)
	got, err := s.Repo.Cart(ctx, c.ID())
	require.NoError(t, err)
	requireSame(t, c, got)
	require.Equal(t, []string{typeCreated}, types(t, s))
	evs := s.Outbox(t)
	require.Equal(t, c.ID().String(), evs[0].Key)

	_, err = s.Repo.Cart(ctx, uuid.Must(uuid.NewV7()))
	require.ErrorIs(t, err, cart.ErrNotFound)
	_, err = s.Repo.Update(ctx, uuid.Must(uuid.NewV7()), func(*cart.Cart) error { return nil })
	require.ErrorIs(t, err, cart.ErrNotFound)
	// The same ID twice is refused.
	dup, err := cart.Restore(c.State())
	require.NoError(t, err)
	again, err := cart.New(dup.ID(), "customer-2", "EUR", t0)
	require.NoError(t, err)
	require.Error(t, s.Repo.Create(ctx, again))
	require.Len(t, s.Outbox(t), 1)
}

func testUpdate(t *testing.T, s Subject) {
	ctx := context.Background()
	c := mustCreate(t, s, "customer-1", t0)
	a, b, d := mustProduct(t, 1999), mustProduct(t, 500), mustProduct(t, 250)
	at := t0.Add(time.Minute)
	got, err := s.Repo.Update(ctx, c.ID(), func(c *cart.Cart) error {
		for _, p := range []cart.Product{a, b, d} {
			if _, err := c.Add(p, 2, at); err != nil {
				return err
			}
		}
		return c.SetQuantity(b.ID, 5, at)
	})
	require.NoError(t, err)
	require.False(t, got.Changed())
	require.Equal(t, int64(5), got.Version())
	got, err = s.Repo.Update(ctx, c.ID(), func(c *cart.Cart) error { return c.Remove(a.ID, at) })
	require.NoError(t, err)

	read, err := s.Repo.Cart(ctx, c.ID())
	require.NoError(t, err)
	requireSame(t, got, read)
	var ids []uuid.UUID
	for _, l := range read.Lines() {
		ids = append(ids, l.ProductID)
	}
	require.Equal(t, []uuid.UUID{b.ID, d.ID}, ids, "lines keep the order they were added in")
	line, _ := read.Line(b.ID)
	require.Equal(t, cart.Line{ProductID: b.ID, SKU: b.SKU, Name: b.Name, Quantity: 5, UnitPrice: b.Price, AddedAt: at}, line)
	require.Equal(t, int64(6), read.Version())
	require.Equal(t, at, read.UpdatedAt())
	require.Equal(t, []string{typeCreated, typeAdded, typeAdded, typeAdded, typeUpdated, typeRemoved}, types(t, s))

	_, err = s.Repo.Update(ctx, c.ID(), func(c *cart.Cart) error { return c.Abandon(at) })
	require.NoError(t, err)
	read, err = s.Repo.Cart(ctx, c.ID())
	require.NoError(t, err)
	require.Equal(t, cart.StatusAbandoned, read.Status())
	require.Equal(t, typeAbandoned, types(t, s)[6])
}

func testFailedUpdate(t *testing.T, s Subject) {
	ctx := context.Background()
	c := mustCreate(t, s, "customer-1", t0)
	boom := errors.New("boom")
	_, err := s.Repo.Update(ctx, c.ID(), func(c *cart.Cart) error {
		if _, err := c.Add(mustProduct(t, 100), 1, t0); err != nil {
			return err
		}
		return boom
	})
	require.ErrorIs(t, err, boom)
	_, err = s.Repo.Update(ctx, c.ID(), func(c *cart.Cart) error { return c.Remove(uuid.Must(uuid.NewV7()), t0) })
	require.ErrorIs(t, err, cart.ErrLineNotFound)
	got, err := s.Repo.Update(ctx, c.ID(), func(*cart.Cart) error { return nil })
	require.NoError(t, err)
	requireSame(t, c, got)
	read, err := s.Repo.Cart(ctx, c.ID())
	require.NoError(t, err)
	requireSame(t, c, read)
	require.Equal(t, []string{typeCreated}, types(t, s))
}

func testConcurrentUpdates(t *testing.T, s Subject) {
	ctx := context.Background()
	c := mustCreate(t, s, "customer-1", t0)
	const writers = 8
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := range writers {
		wg.Go(func() {
			p := mustProduct(t, int64(100+i))
			_, errs[i] = s.Repo.Update(ctx, c.ID(), func(c *cart.Cart) error {
				_, err := c.Add(p, 1, t0.Add(time.Second))
				return err
			})
		})
	}
	wg.Wait()
	for _, err := range errs {
		// Every writer lands: no change is lost or refused.
		require.NoError(t, err)
	}
	read, err := s.Repo.Cart(ctx, c.ID())
	require.NoError(t, err)
	require.Len(t, read.Lines(), writers)
	require.Equal(t, int64(1+writers), read.Version())
	evs := s.Outbox(t)
	require.Len(t, evs, 1+writers)
	for _, e := range evs[1:] {
		require.Equal(t, typeAdded, e.Metadata.Type)
	}
}

func testList(t *testing.T, s Subject) {
	ctx := context.Background()
	var mine []uuid.UUID
	for i := range 5 {
		c := mustCreate(t, s, "customer-1", t0.Add(time.Duration(i)*time.Second))
		mine = append(mine, c.ID())
		mustCreate(t, s, "customer-2", t0)
	}
	_, err := s.Repo.Update(ctx, mine[2], func(c *cart.Cart) error { return c.Abandon(t0) })
	require.NoError(t, err)
	want := []uuid.UUID{mine[0], mine[1], mine[3], mine[4]}

	var got []uuid.UUID
	after := uuid.Nil
	for range 10 {
		page, err := s.Repo.Carts(ctx, "customer-1", after, 2)
		require.NoError(t, err)
		for _, c := range page {
			require.Equal(t, "customer-1", c.CustomerID())
			got = append(got, c.ID())
		}
		if len(page) < 2 {
			break
		}
		after = page[len(page)-1].ID()
	}
	require.Equal(t, want, got)
	none, err := s.Repo.Carts(ctx, "customer-3", uuid.Nil, 10)
	require.NoError(t, err)
	require.Empty(t, none)
}

func testIdle(t *testing.T, s Subject) {
	ctx := context.Background()
	old := mustCreate(t, s, "customer-1", t0)
	older := mustCreate(t, s, "customer-2", t0.Add(-time.Hour))
	fresh := mustCreate(t, s, "customer-1", t0.Add(time.Hour))
	closed := mustCreate(t, s, "customer-1", t0.Add(-2*time.Hour))
	_, err := s.Repo.Update(ctx, closed.ID(), func(c *cart.Cart) error { return c.Abandon(t0.Add(-2 * time.Hour)) })
	require.NoError(t, err)

	ids, err := s.Repo.IdleCarts(ctx, t0, 10)
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{older.ID(), old.ID()}, ids)
	ids, err = s.Repo.IdleCarts(ctx, t0, 1)
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{older.ID()}, ids)

	_, err = s.Repo.Update(ctx, older.ID(), func(c *cart.Cart) error {
		if !c.Expire(t0, t0.Add(2*time.Hour)) {
			return fmt.Errorf("cart %s is not idle", c.ID())
		}
		return nil
	})
	require.NoError(t, err)
	ids, err = s.Repo.IdleCarts(ctx, t0.Add(2*time.Hour), 10)
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{old.ID(), fresh.ID()}, ids)
	require.Contains(t, types(t, s), typeExpired)
}

func testProducts(t *testing.T, s Subject) {
	ctx := context.Background()
	p := mustProduct(t, 1999)
	_, err := s.Products.Product(ctx, p.ID)
	require.ErrorIs(t, err, cart.ErrProductNotFound)

	applied, err := s.Products.SaveProduct(ctx, p)
	require.NoError(t, err)
	require.True(t, applied)
	got, err := s.Products.Product(ctx, p.ID)
	require.NoError(t, err)
	require.Equal(t, p, got)

	v3 := p
	v3.Version, v3.Price, v3.Name, v3.UpdatedAt = 3, mustMoney(t, 1499), "Renamed", t0.Add(time.Hour)
	applied, err = s.Products.SaveProduct(ctx, v3)
	require.NoError(t, err)
	require.True(t, applied)
	for _, stale := range []int64{2, 3} {
		old := p
		old.Version, old.Status = stale, cart.ProductArchived
		applied, err = s.Products.SaveProduct(ctx, old)
		require.NoError(t, err)
		require.False(t, applied, "version %d after 3", stale)
	}
	got, err = s.Products.Product(ctx, p.ID)
	require.NoError(t, err)
	require.Equal(t, v3, got)

	other := mustProduct(t, 10)
	_, err = s.Products.SaveProduct(ctx, other)
	require.NoError(t, err)
	all, err := s.Products.Products(ctx, []uuid.UUID{p.ID, other.ID, uuid.Must(uuid.NewV7())})
	require.NoError(t, err)
	require.Equal(t, map[uuid.UUID]cart.Product{p.ID: v3, other.ID: other}, all)
	require.Empty(t, s.Outbox(t), "the read model publishes nothing")
}

func testConcurrentProducts(t *testing.T, s Subject) {
	ctx := context.Background()
	p := mustProduct(t, 100)
	const versions = 8
	var wg sync.WaitGroup
	errs := make([]error, versions)
	for v := versions; v >= 1; v-- {
		wg.Go(func() {
			pv := p
			pv.Version, pv.Price = int64(v), mustMoney(t, int64(100*v))
			_, errs[v-1] = s.Products.SaveProduct(ctx, pv)
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	got, err := s.Products.Product(ctx, p.ID)
	require.NoError(t, err)
	require.Equal(t, int64(versions), got.Version)
	require.Equal(t, mustMoney(t, 100*versions), got.Price)
}
