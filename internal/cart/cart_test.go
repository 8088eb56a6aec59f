package cart_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/cart"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func mustMoney(tb testing.TB, amount int64, currency string) cart.Money {
	tb.Helper()
	m, err := cart.NewMoney(amount, currency)
	require.NoError(tb, err)
	return m
}

func mustCart(tb testing.TB) *cart.Cart {
	tb.Helper()
	c, err := cart.New(uuid.Must(uuid.NewV7()), "customer-1", "EUR", t0)
	require.NoError(tb, err)
	c.Stored()
	return c
}

func product(tb testing.TB, amount int64, currency string, status cart.ProductStatus) cart.Product {
	tb.Helper()
	return cart.Product{ID: uuid.Must(uuid.NewV7()), SKU: "SKU-1", Name: "Shirt", Price: mustMoney(tb, amount, currency),
		Status: status, Version: 1, UpdatedAt: t0}
}

func TestMoney(t *testing.T) {
	t.Parallel()
	eur := func(a int64) cart.Money { return mustMoney(t, a, "EUR") }
	t.Run("new", func(t *testing.T) {
		t.Parallel()
		for _, c := range []struct {
			amount   int64
			currency string
			ok       bool
		}{{0, "EUR", true}, {1999, "JPY", true}, {-1, "EUR", false}, {1, "eur", false}, {1, "EURO", false}, {1, "", false}} {
			_, err := cart.NewMoney(c.amount, c.currency)
			require.Equal(t, c.ok, err == nil, "%d %q: %v", c.amount, c.currency, err)
			if err != nil {
				require.ErrorIs(t, err, cart.ErrInvalid)
			}
		}
	})
	t.Run("add", func(t *testing.T) {
		t.Parallel()
		for _, c := range []struct {
			name string
			a, b cart.Money
			want cart.Money
			err  error
		}{
			{"sum", eur(150), eur(250), eur(400), nil},
			{"zero", eur(0), eur(7), eur(7), nil},
			{"overflow", eur(math.MaxInt64), eur(1), cart.Money{}, cart.ErrOverflow},
			{"currencies", eur(1), mustMoney(t, 1, "USD"), cart.Money{}, cart.ErrCurrencyMismatch},
		} {
			got, err := c.a.Add(c.b)
			require.ErrorIs(t, err, c.err, c.name)
			require.Equal(t, c.want, got, c.name)
		}
	})
	t.Run("times", func(t *testing.T) {
		t.Parallel()
		for _, c := range []struct {
			name string
			m    cart.Money
			q    int64
			want cart.Money
			err  error
		}{
			{"three", eur(1999), 3, eur(5997), nil},
			{"zero", eur(1999), 0, eur(0), nil},
			{"overflow", eur(math.MaxInt64/2 + 1), 2, cart.Money{}, cart.ErrOverflow},
			{"negative", eur(1), -1, cart.Money{}, cart.ErrInvalid},
		} {
			got, err := c.m.Times(c.q)
			require.ErrorIs(t, err, c.err, c.name)
			require.Equal(t, c.want, got, c.name)
		}
	})
}

func TestNewCart(t *testing.T) {
	t.Parallel()
	id := uuid.Must(uuid.NewV7())
	for _, c := range []struct {
		name               string
		id                 uuid.UUID
		customer, currency string
		field              string
	}{
		{"no id", uuid.Nil, "c", "EUR", "/id"},
		{"no customer", id, "", "EUR", "/customer_id"},
		{"bad currency", id, "c", "eu", "/currency"},
	} {
		_, err := cart.New(c.id, c.customer, c.currency, t0)
		var ve *cart.ValidationError
		require.ErrorAs(t, err, &ve, c.name)
		require.Equal(t, c.field, ve.Field, c.name)
	}
	c, err := cart.New(id, "customer-1", "EUR", t0)
	require.NoError(t, err)
	require.Equal(t, cart.StatusOpen, c.Status())
	require.Equal(t, int64(1), c.Version())
	require.Equal(t, []cart.Event{cart.CartCreated{CartID: id, CustomerID: "customer-1", Currency: "EUR", Version: 1, At: t0}}, c.Events())
}

func TestLines(t *testing.T) {
	t.Parallel()
	c := mustCart(t)
	shirt := product(t, 1999, "EUR", cart.ProductActive)
	at := t0.Add(time.Minute)

	added, err := c.Add(shirt, 2, at)
	require.NoError(t, err)
	require.True(t, added)
	line := cart.Line{ProductID: shirt.ID, SKU: "SKU-1", Name: "Shirt", Quantity: 2, UnitPrice: shirt.Price, AddedAt: at}
	require.Equal(t, []cart.Line{line}, c.Lines())
	require.Equal(t, int64(2), c.Version())

	// The same product again adds to its line and keeps the first price.
	dearer := shirt
	dearer.Price, dearer.Version = mustMoney(t, 2499, "EUR"), 2
	added, err = c.Add(dearer, 3, at)
	require.NoError(t, err)
	require.False(t, added)
	got, _ := c.Line(shirt.ID)
	require.Equal(t, int64(5), got.Quantity)
	require.Equal(t, shirt.Price, got.UnitPrice)

	// Setting the same quantity changes nothing.
	require.NoError(t, c.SetQuantity(shirt.ID, 5, at))
	require.Equal(t, int64(3), c.Version())
	require.NoError(t, c.SetQuantity(shirt.ID, 1, at))
	require.NoError(t, c.Remove(shirt.ID, at))
	require.Empty(t, c.Lines())

	merged := line
	merged.Quantity = 5
	one := line
	one.Quantity = 1
	want := []cart.Event{
		cart.LineAdded{CartID: c.ID(), CustomerID: "customer-1", Line: line, Version: 2, At: at},
		cart.LineUpdated{CartID: c.ID(), CustomerID: "customer-1", Line: merged, PreviousQuantity: 2, Version: 3, At: at},
		cart.LineUpdated{CartID: c.ID(), CustomerID: "customer-1", Line: one, PreviousQuantity: 5, Version: 4, At: at},
		cart.LineRemoved{CartID: c.ID(), CustomerID: "customer-1", Line: one, Version: 5, At: at},
	}
	if diff := cmp.Diff(want, c.Events(), cmp.Comparer(func(a, b cart.Money) bool { return a == b })); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestLineRules(t *testing.T) {
	t.Parallel()
	active := product(t, 100, "EUR", cart.ProductActive)
	cases := []struct {
		name string
		fn   func(c *cart.Cart) error
		want error
	}{
		{"archived", func(c *cart.Cart) error {
			_, err := c.Add(product(t, 1, "EUR", cart.ProductArchived), 1, t0)
			return err
		}, cart.ErrProductUnavailable},
		{"draft", func(c *cart.Cart) error { _, err := c.Add(product(t, 1, "EUR", cart.ProductDraft), 1, t0); return err }, cart.ErrProductUnavailable},
		{"other currency", func(c *cart.Cart) error { _, err := c.Add(product(t, 1, "USD", cart.ProductActive), 1, t0); return err }, cart.ErrCurrencyMismatch},
		{"zero quantity", func(c *cart.Cart) error { _, err := c.Add(active, 0, t0); return err }, cart.ErrInvalid},
		{"too many", func(c *cart.Cart) error { _, err := c.Add(active, cart.MaxQuantity+1, t0); return err }, cart.ErrInvalid},
		{"merge beyond max", func(c *cart.Cart) error {
			if _, err := c.Add(active, cart.MaxQuantity, t0); err != nil {
				return err
			}
			_, err := c.Add(active, 1, t0)
			return err
		}, cart.ErrInvalid},
		{"unknown line", func(c *cart.Cart) error { return c.SetQuantity(uuid.Must(uuid.NewV7()), 1, t0) }, cart.ErrLineNotFound},
		{"remove unknown", func(c *cart.Cart) error { return c.Remove(uuid.Must(uuid.NewV7()), t0) }, cart.ErrLineNotFound},
		{"full", func(c *cart.Cart) error {
			for range cart.MaxLines {
				if _, err := c.Add(product(t, 1, "EUR", cart.ProductActive), 1, t0); err != nil {
					return err
				}
			}
			_, err := c.Add(product(t, 1, "EUR", cart.ProductActive), 1, t0)
			return err
		}, cart.ErrFull},
		{"closed", func(c *cart.Cart) error {
			if err := c.Abandon(t0); err != nil {
				return err
			}
			_, err := c.Add(active, 1, t0)
			return err
		}, cart.ErrClosed},
		{"empty checkout", func(c *cart.Cart) error { return c.CheckOut("order-1", t0) }, cart.ErrEmpty},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			require.ErrorIs(t, c.fn(mustCart(t)), c.want)
		})
	}
}

func TestCheckOutAndClose(t *testing.T) {
	t.Parallel()
	c := mustCart(t)
	a, b := product(t, 250, "EUR", cart.ProductActive), product(t, 1000, "EUR", cart.ProductActive)
	_, err := c.Add(a, 2, t0)
	require.NoError(t, err)
	_, err = c.Add(b, 1, t0)
	require.NoError(t, err)
	c.Stored()

	require.NoError(t, c.CheckOut("order-1", t0))
	require.NoError(t, c.CheckOut("order-1", t0), "the same order again is a no-op")
	require.ErrorIs(t, c.CheckOut("order-2", t0), cart.ErrClosed)
	require.ErrorIs(t, c.Abandon(t0), cart.ErrClosed)
	require.Equal(t, cart.StatusCheckedOut, c.Status())
	require.Equal(t, "order-1", c.OrderID())
	evs := c.Events()
	require.Len(t, evs, 1)
	co := evs[0].(cart.CartCheckedOut)
	require.Equal(t, mustMoney(t, 1500, "EUR"), co.Total)
	require.Len(t, co.Lines, 2)
	require.False(t, c.Expire(t0.Add(time.Hour), t0.Add(time.Hour)), "a checked-out cart never expires")
}

func TestExpire(t *testing.T) {
	t.Parallel()
	c := mustCart(t) // last change at t0
	require.False(t, c.Expire(t0.Add(-time.Second), t0), "changed after the idle horizon")
	now := t0.Add(2 * time.Hour)
	require.True(t, c.Expire(t0, now))
	require.Equal(t, cart.StatusExpired, c.Status())
	require.Equal(t, []cart.Event{cart.CartExpired{CartID: c.ID(), CustomerID: "customer-1", LastActivityAt: t0, Version: 2, At: now}}, c.Events())
	require.False(t, c.Expire(now, now), "expiring twice changes nothing")
	require.ErrorIs(t, c.Abandon(now), cart.ErrClosed)
}

func TestAbandonIsIdempotent(t *testing.T) {
	t.Parallel()
	c := mustCart(t)
	require.NoError(t, c.Abandon(t0))
	require.NoError(t, c.Abandon(t0))
	require.Len(t, c.Events(), 1)
	require.Equal(t, cart.StatusAbandoned, c.Status())
}

func TestPrice(t *testing.T) {
	t.Parallel()
	c := mustCart(t)
	kept, archived, unknown, foreign := product(t, 1000, "EUR", cart.ProductActive), product(t, 500, "EUR", cart.ProductActive),
		product(t, 300, "EUR", cart.ProductActive), product(t, 700, "EUR", cart.ProductActive)
	for _, p := range []cart.Product{kept, archived, unknown, foreign} {
		_, err := c.Add(p, 2, t0)
		require.NoError(t, err)
	}
	cheaper := kept
	cheaper.Price = mustMoney(t, 800, "EUR")
	gone := archived
	gone.Status = cart.ProductArchived
	dollars := foreign
	dollars.Price = mustMoney(t, 700, "USD")
	priced, err := cart.Price(c, map[uuid.UUID]cart.Product{kept.ID: cheaper, archived.ID: gone, foreign.ID: dollars})
	require.NoError(t, err)
	require.Equal(t, mustMoney(t, 1600, "EUR"), priced.Total)
	require.Equal(t, int64(2), priced.Items)
	type row struct {
		Unit, Current, Total cart.Money
		Available            bool
	}
	var got []row
	for _, l := range priced.Lines {
		got = append(got, row{l.UnitPrice, l.Current, l.Total, l.Available})
	}
	zero := mustMoney(t, 0, "EUR")
	require.Equal(t, []row{
		{kept.Price, cheaper.Price, mustMoney(t, 1600, "EUR"), true},
		{archived.Price, archived.Price, zero, false},
		{unknown.Price, cart.Money{}, zero, false},
		{foreign.Price, dollars.Price, zero, false},
	}, got)
}

func TestProductVersions(t *testing.T) {
	t.Parallel()
	p := product(t, 100, "EUR", cart.ProductActive)
	require.NoError(t, p.Validate())
	older, same, newer := p, p, p
	older.Version, newer.Version = 0, 2
	require.True(t, newer.Newer(p))
	require.False(t, same.Newer(p))
	require.ErrorIs(t, older.Validate(), cart.ErrInvalid)
	bad := p
	bad.Status = "gone"
	require.True(t, errors.Is(bad.Validate(), cart.ErrInvalid))
}
