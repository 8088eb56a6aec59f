package app_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/ordering"
	"github.com/agoracommerce/agora/internal/ordering/app"
	"github.com/agoracommerce/agora/internal/ordering/orderingtest"
	"github.com/agoracommerce/agora/internal/ordering/sqlstore"
	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/inbox"
	"github.com/agoracommerce/agora/internal/platform/kafkatest"
	"github.com/agoracommerce/agora/internal/platform/outbox"
	"github.com/agoracommerce/agora/internal/platform/outbox/outboxtest"
	"github.com/agoracommerce/agora/internal/platform/sqldb"
	"github.com/agoracommerce/agora/internal/platform/sqldb/sqldbtest"
)

var t0 = orderingtest.T0

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.now = t }

// carts is a fake cart service: the carts it knows, by ID, and the
// tokens it was called with.
type carts struct {
	mu     sync.Mutex
	carts  map[uuid.UUID]ordering.Cart
	err    error
	tokens []string
}

func (c *carts) Cart(_ context.Context, id uuid.UUID, token string) (ordering.Cart, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tokens = append(c.tokens, token)
	if c.err != nil {
		return ordering.Cart{}, c.err
	}
	cart, ok := c.carts[id]
	if !ok {
		return ordering.Cart{}, ordering.ErrCartNotFound
	}
	return cart, nil
}

func (c *carts) calls() int { c.mu.Lock(); defer c.mu.Unlock(); return len(c.tokens) }

func (c *carts) add(t *testing.T, customer string, lines ...ordering.CartLine) uuid.UUID {
	t.Helper()
	if len(lines) == 0 {
		lines = []ordering.CartLine{{ProductID: uuid.Must(uuid.NewV7()), SKU: "SHIRT-1", Name: "Shirt", Quantity: 2, UnitPrice: eur(t, 1999), Available: true}}
	}
	id := uuid.Must(uuid.NewV7())
	c.mu.Lock()
	defer c.mu.Unlock()
	c.carts[id] = ordering.Cart{ID: id, CustomerID: customer, Status: ordering.CartOpen, Currency: "EUR", Lines: lines}
	return id
}

func eur(t testing.TB, a int64) ordering.Money {
	t.Helper()
	m, err := ordering.NewMoney(a, "EUR")
	require.NoError(t, err)
	return m
}

type fixture struct {
	svc   *app.Service
	store *sqlstore.Store
	ob    *outbox.Store
	carts *carts
	clock *clock
}

func newStore(t *testing.T, db *sqldb.DB) (*sqlstore.Store, *outbox.Store) {
	t.Helper()
	ctx := context.Background()
	ob, err := outbox.NewStore(ctx, db)
	require.NoError(t, err)
	in, err := inbox.NewStore(ctx, db)
	require.NoError(t, err)
	st, err := sqlstore.New(ctx, db, ob, in, kafkatest.Codec(t))
	require.NoError(t, err)
	return st, ob
}

func newFixture(t *testing.T, db *sqldb.DB) *fixture {
	t.Helper()
	if db == nil {
		db = sqldbtest.SQLite(t)
	}
	st, ob := newStore(t, db)
	f := &fixture{store: st, ob: ob, carts: &carts{carts: map[uuid.UUID]ordering.Cart{}}, clock: &clock{now: t0}}
	svc, err := app.New(st, f.carts, app.Config{Policy: orderingtest.Policy, Now: f.clock.Now, ExpiryBatch: 2})
	require.NoError(t, err)
	f.svc = svc
	return f
}

func (f *fixture) types(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, e := range outboxtest.Pending(t, f.ob) {
		out = append(out, e.Metadata.Type)
	}
	return out
}

func as(subject string, scopes ...string) context.Context {
	return auth.WithPrincipal(context.Background(), &auth.Principal{Subject: subject, Scopes: scopes, Token: "token-of-" + subject})
}

func addr() ordering.Address {
	return ordering.Address{Name: "Ada Lovelace", Line1: "12 Analytical Row", City: "London", PostalCode: "EC1A 1BB", Country: "GB"}
}

func (f *fixture) place(t *testing.T, customer string) *ordering.Order {
	t.Helper()
	cart := f.carts.add(t, customer)
	o, err := f.svc.PlaceOrder(as(customer), app.PlaceOrder{CartID: cart, PaymentToken: "tok_visa", Address: addr(), Email: "ada@example.com"})
	require.NoError(t, err)
	return o
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	_, err := app.New(nil, f.carts, app.Config{Policy: orderingtest.Policy})
	require.Error(t, err)
	_, err = app.New(f.store, nil, app.Config{Policy: orderingtest.Policy})
	require.Error(t, err)
	_, err = app.New(f.store, f.carts, app.Config{})
	require.Error(t, err, "a policy is required")
	_, err = app.New(f.store, f.carts, app.Config{Policy: orderingtest.Policy, ExpiryBatch: -1})
	require.Error(t, err)
	svc, err := app.New(f.store, f.carts, app.Config{Policy: orderingtest.Policy})
	require.NoError(t, err)
	require.Equal(t, orderingtest.Policy, svc.Policy())
}

func TestPlaceOrder(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := context.Background()
	cart := f.carts.add(t, "alice",
		ordering.CartLine{ProductID: uuid.Must(uuid.NewV7()), SKU: "SHIRT-1", Name: "Shirt", Quantity: 2, UnitPrice: eur(t, 1999), Available: true},
		ordering.CartLine{ProductID: uuid.Must(uuid.NewV7()), SKU: "MUG-1", Name: "Mug", Quantity: 3, UnitPrice: eur(t, 500), Available: true})
	req := app.PlaceOrder{CartID: cart, PaymentToken: "tok_visa", Address: addr()}

	_, err := f.svc.PlaceOrder(ctx, req)
	require.ErrorIs(t, err, auth.ErrUnauthenticated)
	_, err = f.svc.PlaceOrder(as("alice"), req)
	require.ErrorIs(t, err, ordering.ErrEmailRequired, "no email in the request nor the token")
	bad := req
	bad.PaymentToken = ""
	_, err = f.svc.PlaceOrder(as("alice"), bad)
	require.ErrorIs(t, err, ordering.ErrInvalid)
	bad = req
	bad.Address.Country = "gbr"
	_, err = f.svc.PlaceOrder(as("alice"), bad)
	require.ErrorIs(t, err, ordering.ErrInvalid)
	bad = req
	bad.Email = "not-an-address"
	_, err = f.svc.PlaceOrder(as("alice"), bad)
	require.ErrorIs(t, err, ordering.ErrInvalid)
	require.Zero(t, f.carts.calls(), "bad requests never reach the cart service")

	// The token's email claim is the default.
	withEmail := auth.WithPrincipal(ctx, &auth.Principal{Subject: "alice", Token: "tok-alice", Claims: map[string]any{"email": "alice@example.com"}})
	o, err := f.svc.PlaceOrder(withEmail, req)
	require.NoError(t, err)
	require.Equal(t, "alice@example.com", o.Email())
	require.Equal(t, []string{"tok-alice"}, f.carts.tokens, "the caller's own token reads the cart")
	require.Equal(t, ordering.StatusPending, o.Status())
	require.Equal(t, ordering.StepReservingStock, o.Step())
	require.Equal(t, eur(t, 2*1999+3*500), o.Total())
	require.Equal(t, cart, o.CartID())
	require.Equal(t, t0.Add(orderingtest.Policy.Deadlines.ReservingStock), o.DeadlineAt())
	require.Equal(t, []string{"agora.ordering.v1.OrderPlaced"}, f.types(t))
	stored, err := f.store.Get(ctx, o.ID())
	require.NoError(t, err)
	require.Equal(t, o.Snapshot(), stored.Snapshot())

	// One order per cart.
	req.Email = "other@example.com"
	_, err = f.svc.PlaceOrder(as("alice"), req)
	require.ErrorIs(t, err, ordering.ErrCartOrdered)

	// A request's email wins over the claim; a bad claim counts as none.
	badClaim := auth.WithPrincipal(ctx, &auth.Principal{Subject: "alice", Claims: map[string]any{"email": 42}})
	_, err = f.svc.PlaceOrder(badClaim, app.PlaceOrder{CartID: f.carts.add(t, "alice"), PaymentToken: "tok", Address: addr()})
	require.ErrorIs(t, err, ordering.ErrEmailRequired)

	// The cart's own answers.
	_, err = f.svc.PlaceOrder(as("alice"), app.PlaceOrder{CartID: uuid.Must(uuid.NewV7()), PaymentToken: "tok", Address: addr(), Email: "a@example.com"})
	require.ErrorIs(t, err, ordering.ErrCartNotFound)
	_, err = f.svc.PlaceOrder(as("bob"), app.PlaceOrder{CartID: f.carts.add(t, "alice"), PaymentToken: "tok", Address: addr(), Email: "b@example.com"})
	require.ErrorIs(t, err, ordering.ErrCartForbidden, "an admin's view of another customer's cart")
	empty := f.carts.add(t, "alice")
	f.carts.mu.Lock()
	c := f.carts.carts[empty]
	c.Lines = nil
	f.carts.carts[empty] = c
	f.carts.mu.Unlock()
	_, err = f.svc.PlaceOrder(as("alice"), app.PlaceOrder{CartID: empty, PaymentToken: "tok", Address: addr(), Email: "a@example.com"})
	require.ErrorIs(t, err, ordering.ErrCartEmpty)
	f.carts.mu.Lock()
	f.carts.err = fmt.Errorf("down: %w", app.ErrCartsUnavailable)
	f.carts.mu.Unlock()
	_, err = f.svc.PlaceOrder(as("alice"), app.PlaceOrder{CartID: empty, PaymentToken: "tok", Address: addr(), Email: "a@example.com"})
	require.ErrorIs(t, err, app.ErrCartsUnavailable)
	require.Len(t, f.types(t), 1, "only the first checkout published")
}

func TestPlaceOrderCartMismatch(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	asked, other := uuid.Must(uuid.NewV7()), f.carts.add(t, "alice")
	f.carts.mu.Lock()
	f.carts.carts[asked] = f.carts.carts[other]
	f.carts.mu.Unlock()
	_, err := f.svc.PlaceOrder(as("alice"), app.PlaceOrder{CartID: asked, PaymentToken: "tok", Address: addr(), Email: "a@example.com"})
	require.ErrorIs(t, err, ordering.ErrCartNotFound, "an answer about another cart")
}

func TestOrderOwnership(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	o := f.place(t, "alice")
	got, err := f.svc.Order(as("alice"), o.ID())
	require.NoError(t, err)
	require.Equal(t, o.ID(), got.ID())
	_, err = f.svc.Order(as("bob"), o.ID())
	require.ErrorIs(t, err, auth.ErrForbidden)
	_, err = f.svc.Order(as("ops", auth.ScopeOrdersAdmin), o.ID())
	require.NoError(t, err)
	_, err = f.svc.Order(as("root", auth.ScopeAdmin), o.ID())
	require.NoError(t, err)
	_, err = f.svc.Order(as("alice"), uuid.Must(uuid.NewV7()))
	require.ErrorIs(t, err, ordering.ErrNotFound)
	_, err = f.svc.Order(context.Background(), o.ID())
	require.ErrorIs(t, err, auth.ErrUnauthenticated)
}

func TestMyOrders(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	var ids []uuid.UUID
	for range 5 {
		ids = append(ids, f.place(t, "alice").ID())
		f.place(t, "bob")
	}
	_, err := f.svc.CancelOrder(as("alice"), ids[2], "")
	require.NoError(t, err)

	var got []uuid.UUID
	q := app.ListQuery{Limit: 2}
	for range 5 {
		page, err := f.svc.MyOrders(as("alice"), q)
		require.NoError(t, err)
		for _, o := range page.Items {
			got = append(got, o.ID())
		}
		if page.Next == uuid.Nil {
			break
		}
		q.Before = page.Next
	}
	require.Equal(t, []uuid.UUID{ids[4], ids[3], ids[2], ids[1], ids[0]}, got, "newest first")
	page, err := f.svc.MyOrders(as("alice"), app.ListQuery{Status: ordering.StatusCancelled})
	require.NoError(t, err)
	require.Len(t, page.Items, 1)
	require.Equal(t, ids[2], page.Items[0].ID())
	require.Equal(t, uuid.Nil, page.Next)
	page, err = f.svc.MyOrders(as("carol"), app.ListQuery{})
	require.NoError(t, err)
	require.Empty(t, page.Items)

	for _, q := range []app.ListQuery{{Limit: -1}, {Limit: 101}, {Status: "LOST"}} {
		_, err = f.svc.MyOrders(as("alice"), q)
		require.ErrorIs(t, err, ordering.ErrInvalid)
	}
	_, err = f.svc.MyOrders(context.Background(), app.ListQuery{})
	require.ErrorIs(t, err, auth.ErrUnauthenticated)
}

func TestCancelOrder(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := context.Background()
	o := f.place(t, "alice")
	_, err := f.svc.CancelOrder(as("bob"), o.ID(), "")
	require.ErrorIs(t, err, auth.ErrForbidden)
	_, err = f.svc.CancelOrder(ctx, o.ID(), "")
	require.ErrorIs(t, err, auth.ErrUnauthenticated)
	_, err = f.svc.CancelOrder(as("alice"), uuid.Must(uuid.NewV7()), "")
	require.ErrorIs(t, err, ordering.ErrNotFound)

	got, err := f.svc.CancelOrder(as("alice"), o.ID(), "changed my mind")
	require.NoError(t, err)
	require.Equal(t, ordering.StatusCancelled, got.Status())
	r, _ := got.EndReason()
	require.Equal(t, ordering.EndReason{Code: ordering.EndCustomerRequest, Message: "cancelled by the customer: changed my mind"}, r)
	again, err := f.svc.CancelOrder(as("alice"), o.ID(), "")
	require.NoError(t, err, "cancelling a cancelled order succeeds")
	require.Equal(t, got.Version(), again.Version(), "and changes nothing")

	// A shipped order: not for the customer, but for an operator.
	shipped := f.place(t, "alice")
	key := func(n string) app.DedupeKey { return app.DedupeKey{Group: "test", EventID: shipped.ID().String() + n} }
	require.NoError(t, f.svc.OnStockReserved(ctx, key("1"), shipped.ID()))
	require.NoError(t, f.svc.OnPaymentAuthorized(ctx, key("2"), app.PaymentAnswer{OrderID: shipped.ID(), PaymentID: "pay-1"}))
	require.NoError(t, f.svc.OnShipmentShipped(ctx, key("3"), app.ShipmentAnswer{OrderID: shipped.ID(), ShipmentID: "s-1"}))
	_, err = f.svc.CancelOrder(as("alice"), shipped.ID(), "")
	var te *ordering.TransitionError
	require.ErrorAs(t, err, &te)
	require.Equal(t, ordering.StatusShipped, te.State.Status)
	got, err = f.svc.CancelOrder(as("ops", auth.ScopeOrdersAdmin), shipped.ID(), "")
	require.NoError(t, err)
	r, _ = got.EndReason()
	require.Equal(t, ordering.EndOperatorRequest, r.Code)
	evs := outboxtest.Pending(t, f.ob)
	last := evs[len(evs)-1]
	require.Equal(t, "agora.ordering.v1.OrderCancelled", last.Metadata.Type)

	_, err = f.svc.CancelOrder(as("alice"), f.place(t, "alice").ID(), string(make([]byte, 300)))
	require.ErrorIs(t, err, ordering.ErrInvalid, "an overlong reason")
}

func TestSaga(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := context.Background()
	o := f.place(t, "alice")
	id := o.ID()
	n := 0
	key := func() app.DedupeKey { n++; return app.DedupeKey{Group: "ordering.saga", EventID: fmt.Sprint("ev-", n)} }

	first := key()
	require.NoError(t, f.svc.OnStockReserved(ctx, first, id))
	require.NoError(t, f.svc.OnStockReserved(ctx, first, id), "a redelivery")
	require.NoError(t, f.svc.OnStockReserved(ctx, key(), id), "a repeated answer")
	err := f.svc.OnPaymentAuthorized(ctx, key(), app.PaymentAnswer{OrderID: id, PaymentID: "pay-1", Amount: eur(t, 1)})
	require.ErrorIs(t, err, ordering.ErrInvalid, "another amount")
	require.NoError(t, f.svc.OnPaymentAuthorized(ctx, key(), app.PaymentAnswer{OrderID: id, PaymentID: "pay-1", Amount: eur(t, 2*1999)}))
	err = f.svc.OnPaymentCaptured(ctx, key(), app.PaymentAnswer{OrderID: id, PaymentID: "pay-1"})
	require.ErrorIs(t, err, ordering.ErrInvalidTransition, "a capture before shipping")
	require.NoError(t, f.svc.OnShipmentShipped(ctx, key(), app.ShipmentAnswer{OrderID: id, ShipmentID: "s-1", Carrier: "DHL", TrackingNumber: "T-1"}))
	require.NoError(t, f.svc.OnPaymentCaptured(ctx, key(), app.PaymentAnswer{OrderID: id, PaymentID: "pay-1"}))
	require.NoError(t, f.svc.OnPaymentRefunded(ctx, key(), app.PaymentAnswer{OrderID: id, PaymentID: "pay-1"}), "an operator's partial refund")
	got, err := f.svc.Order(as("alice"), id)
	require.NoError(t, err)
	require.Equal(t, ordering.StatusCompleted, got.Status())
	require.Equal(t, "T-1", got.TrackingNumber())
	require.Equal(t, []string{"agora.ordering.v1.OrderPlaced", "agora.ordering.v1.OrderPaymentRequested", "agora.ordering.v1.OrderConfirmed",
		"agora.ordering.v1.OrderShipped", "agora.ordering.v1.OrderCompleted"}, f.types(t))

	// Rejections and cancellations.
	rej := f.place(t, "alice")
	require.NoError(t, f.svc.OnReservationRejected(ctx, key(), rej.ID(), "SHIRT-1: 2 requested, 1 available"))
	require.NoError(t, f.svc.OnStockReserved(ctx, key(), rej.ID()), "a late answer")
	got, err = f.svc.Order(as("alice"), rej.ID())
	require.NoError(t, err)
	r, _ := got.EndReason()
	require.Equal(t, ordering.EndReason{Code: ordering.EndOutOfStock, Message: "inventory could not reserve every line: SHIRT-1: 2 requested, 1 available"}, r)

	for _, c := range []struct {
		code ordering.EndCode
		fn   func(app.DedupeKey, uuid.UUID) error
	}{
		{ordering.EndPaymentDeclined, func(k app.DedupeKey, id uuid.UUID) error {
			return f.svc.OnPaymentDeclined(ctx, k, app.PaymentAnswer{OrderID: id, PaymentID: "p", Reason: "insufficient_funds"})
		}},
		{ordering.EndPaymentFailed, func(k app.DedupeKey, id uuid.UUID) error {
			return f.svc.OnPaymentFailed(ctx, k, app.PaymentAnswer{OrderID: id, PaymentID: "p", Reason: "processor"})
		}},
	} {
		o := f.place(t, "alice")
		require.NoError(t, f.svc.OnStockReserved(ctx, key(), o.ID()))
		require.NoError(t, c.fn(key(), o.ID()))
		got, err := f.svc.Order(as("alice"), o.ID())
		require.NoError(t, err)
		r, _ := got.EndReason()
		require.Equal(t, c.code, r.Code)
		require.Equal(t, ordering.StatusCancelled, got.Status())
	}

	err = f.svc.OnStockReserved(ctx, key(), uuid.Must(uuid.NewV7()))
	require.ErrorIs(t, err, ordering.ErrNotFound)
}

// The deadline job compensates every overdue step once, in batches, and
// leaves orders that moved on alone, however many processes run it at
// once (two stores over one database, as two processes are).
func TestExpireDeadlines(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, open func(testing.TB) *sqldb.DB) {
		db := open(t)
		f := newFixture(t, db)
		ctx := context.Background()
		var reserving []uuid.UUID
		for range 5 {
			reserving = append(reserving, f.place(t, "alice").ID())
		}
		authorizing := f.place(t, "alice").ID()
		require.NoError(t, f.svc.OnStockReserved(ctx, app.DedupeKey{Group: "g", EventID: "a"}, authorizing))
		capturing := f.place(t, "alice").ID()
		for i, fn := range []func(k app.DedupeKey) error{
			func(k app.DedupeKey) error { return f.svc.OnStockReserved(ctx, k, capturing) },
			func(k app.DedupeKey) error {
				return f.svc.OnPaymentAuthorized(ctx, k, app.PaymentAnswer{OrderID: capturing, PaymentID: "pay-1"})
			},
			func(k app.DedupeKey) error {
				return f.svc.OnShipmentShipped(ctx, k, app.ShipmentAnswer{OrderID: capturing, ShipmentID: "s-1"})
			},
		} {
			require.NoError(t, fn(app.DedupeKey{Group: "g", EventID: fmt.Sprint("c", i)}))
		}
		moving := f.place(t, "alice").ID()
		placed := len(f.types(t))

		n, err := f.svc.ExpireDeadlines(ctx, t0.Add(29*time.Second))
		require.NoError(t, err)
		require.Zero(t, n, "nothing is due yet")

		// Meanwhile one order moves on: it is not due any more.
		f.clock.Set(t0.Add(20 * time.Second))
		require.NoError(t, f.svc.OnStockReserved(ctx, app.DedupeKey{Group: "g", EventID: "m"}, moving))

		second, _ := newStore(t, reopen(t, db))
		other, err := app.New(second, f.carts, app.Config{Policy: orderingtest.Policy, ExpiryBatch: 2})
		require.NoError(t, err)
		now := t0.Add(2 * time.Minute) // every step of t0 due but shipping's
		var wg sync.WaitGroup
		counts := make([]int, 2)
		errs := make([]error, 2)
		for i, svc := range []*app.Service{f.svc, other} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				counts[i], errs[i] = svc.ExpireDeadlines(ctx, now)
			}()
		}
		wg.Wait()
		require.NoError(t, errors.Join(errs...))
		// 5 reserving + authorizing + capturing + moving (due at t0+20s+1m).
		require.Equal(t, 8, counts[0]+counts[1], "each overdue order moved once: %v", counts)

		for _, id := range reserving {
			o, err := f.store.Get(ctx, id)
			require.NoError(t, err)
			require.Equal(t, ordering.StatusRejected, o.Status())
			r, _ := o.EndReason()
			require.Equal(t, ordering.EndDeadlineExceeded, r.Code)
		}
		for _, id := range []uuid.UUID{authorizing, moving} {
			o, err := f.store.Get(ctx, id)
			require.NoError(t, err)
			require.Equal(t, ordering.StatusCancelled, o.Status())
		}
		o, err := f.store.Get(ctx, capturing)
		require.NoError(t, err)
		require.Equal(t, ordering.StepCapturingPayment, o.Step(), "the capture is asked again")
		require.Equal(t, now.Add(orderingtest.Policy.Deadlines.CapturingPayment), o.DeadlineAt())

		types := f.types(t)[placed+1:] // after the moving order's PaymentRequested
		count := map[string]int{}
		for _, ty := range types {
			count[ty]++
		}
		require.Equal(t, map[string]int{"agora.ordering.v1.OrderRejected": 5, "agora.ordering.v1.OrderCancelled": 2,
			"agora.ordering.v1.OrderShipped": 1}, count)

		n, err = f.svc.ExpireDeadlines(ctx, now)
		require.NoError(t, err)
		require.Zero(t, n, "expiring again finds nothing")

		canceled, stop := context.WithCancel(ctx)
		stop()
		_, err = f.svc.ExpireDeadlines(canceled, now.Add(time.Hour))
		require.Error(t, err)
	})
}

// reopen opens a second handle on db's database, as another process
// would.
func reopen(t *testing.T, db *sqldb.DB) *sqldb.DB {
	t.Helper()
	other, err := sqldb.Open(context.Background(), db.URL)
	require.NoError(t, err)
	t.Cleanup(func() { _ = other.Close() })
	return other
}
