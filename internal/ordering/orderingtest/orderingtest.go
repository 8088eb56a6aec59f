// Package orderingtest is the contract suite of the ordering service's
// Repository port: every adapter (SQLite, PostgreSQL) runs TestRepository
// to prove that it keeps one order per cart, stores every change with its
// events and only the changes that happened, applies a consumed event once
// however often it is delivered, pages and finds due deadlines as the use
// cases expect, and loses no write under concurrency.
package orderingtest

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
	"github.com/agoracommerce/agora/internal/platform/events"
)

// Subject is one fresh adapter under test.
type Subject struct {
	// Repo is the adapter, over an empty store.
	Repo app.Repository
	// Outbox returns every event the adapter has written to its outbox so
	// far, oldest first.
	Outbox func(t *testing.T) []events.Event
}

// T0 is the suite's clock origin.
var T0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// Policy is the saga timing the suite's orders follow.
var Policy = ordering.Policy{
	Deadlines: ordering.Deadlines{ReservingStock: 30 * time.Second, AuthorizingPayment: time.Minute, Shipping: 15 * time.Minute,
		CapturingPayment: 2 * time.Minute},
	ReservationTTL: time.Hour,
}

// TestRepository runs the contract suite; newSubject returns a fresh
// adapter over an empty store for each subtest.
func TestRepository(t *testing.T, newSubject func(t *testing.T) Subject) {
	t.Helper()
	cases := []struct {
		name string
		fn   func(t *testing.T, s Subject)
	}{
		{"an order is stored with its events", testCreate},
		{"one order per cart", testOnePerCart},
		{"not found", testNotFound},
		{"an update stores the change and its events", testUpdate},
		{"an unchanged or failed update writes nothing", testNoWrite},
		{"a consumed event applies once", testDedupe},
		{"a customer's orders page newest first", testList},
		{"due deadlines", testDue},
		{"concurrent answers apply once", testConcurrent},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, newSubject(t))
		})
	}
}

// NewOrder places a new order of customer at at (not stored).
func NewOrder(t testing.TB, customer string, at time.Time) (*ordering.Order, []ordering.Event) {
	t.Helper()
	price := func(a int64) ordering.Money {
		m, err := ordering.NewMoney(a, "EUR")
		require.NoError(t, err)
		return m
	}
	o, evs, err := ordering.Place(ordering.Checkout{
		OrderID: uuid.Must(uuid.NewV7()), CustomerID: customer,
		Cart: ordering.Cart{ID: uuid.Must(uuid.NewV7()), CustomerID: customer, Status: ordering.CartOpen, Currency: "EUR", Lines: []ordering.CartLine{
			{ProductID: uuid.Must(uuid.NewV7()), SKU: "SHIRT-1", Name: "Shirt", Quantity: 2, UnitPrice: price(1999), Available: true},
			{ProductID: uuid.Must(uuid.NewV7()), SKU: "MUG-1", Name: "Mug \"Ünïcode\"", Quantity: 1, UnitPrice: price(500), Available: true},
		}},
		PaymentToken: "tok_visa",
		Address: ordering.Address{Name: "Ada Lovelace", Line1: "12 Analytical Row", Line2: "Flat 3", City: "London", Region: "Greater London",
			PostalCode: "EC1A 1BB", Country: "GB"},
		Email: "ada@example.com",
	}, at, Policy)
	require.NoError(t, err)
	return o, evs
}

func mustCreate(t *testing.T, s Subject, customer string, at time.Time) *ordering.Order {
	t.Helper()
	o, evs := NewOrder(t, customer, at)
	require.NoError(t, s.Repo.Create(context.Background(), o, evs))
	return o
}

// apply returns an update function applying trigger at at.
func apply(sig ordering.Signal, at time.Time) func(*ordering.Order) ([]ordering.Event, error) {
	return func(o *ordering.Order) ([]ordering.Event, error) { return o.Apply(sig, at, Policy.Deadlines) }
}

func types(t *testing.T, s Subject) []string {
	t.Helper()
	var out []string
	for _, e := range s.Outbox(t) {
		out = append(out, e.Metadata.Type)
	}
	return out
}

func testCreate(t *testing.T, s Subject) {
	ctx := context.Background()
	o := mustCreate(t, s, "alice", T0)
	got, err := s.Repo.Get(ctx, o.ID())
	require.NoError(t, err)
	require.Equal(t, o.Snapshot(), got.Snapshot())
	evs := s.Outbox(t)
	require.Len(t, evs, 1)
	require.Equal(t, "agora.ordering.v1.OrderPlaced", evs[0].Metadata.Type)
	require.Equal(t, "ordering.orders.v1", evs[0].Topic)
	require.Equal(t, o.ID().String(), evs[0].Key)

	_, err = s.Repo.Update(ctx, o.ID(), app.DedupeKey{}, func(o *ordering.Order) ([]ordering.Event, error) {
		return nil, errors.New("never stored")
	})
	require.Error(t, err)
	older, placed := NewOrder(t, "alice", T0)
	_, err = older.Apply(ordering.Signal{Trigger: ordering.TriggerStockReserved}, T0, Policy.Deadlines)
	require.NoError(t, err)
	require.Error(t, s.Repo.Create(ctx, older, placed), "only new orders are created")
}

func testOnePerCart(t *testing.T, s Subject) {
	ctx := context.Background()
	first := mustCreate(t, s, "alice", T0)
	again, evs := NewOrder(t, "alice", T0)
	snap := again.Snapshot()
	snap.CartID = first.CartID()
	dup, err := ordering.Restore(snap)
	require.NoError(t, err)
	err = s.Repo.Create(ctx, dup, evs)
	require.ErrorIs(t, err, ordering.ErrCartOrdered)
	_, err = s.Repo.Get(ctx, dup.ID())
	require.ErrorIs(t, err, ordering.ErrNotFound)
	require.Len(t, s.Outbox(t), 1, "the refused order published nothing")
}

func testNotFound(t *testing.T, s Subject) {
	ctx := context.Background()
	id := uuid.Must(uuid.NewV7())
	_, err := s.Repo.Get(ctx, id)
	require.ErrorIs(t, err, ordering.ErrNotFound)
	called := false
	key := app.DedupeKey{Group: "ordering.saga", EventID: "ev-unknown"}
	_, err = s.Repo.Update(ctx, id, key, func(*ordering.Order) ([]ordering.Event, error) { called = true; return nil, nil })
	require.ErrorIs(t, err, ordering.ErrNotFound)
	require.False(t, called)
	page, err := s.Repo.ListByCustomer(ctx, "nobody", app.ListQuery{Limit: 10})
	require.NoError(t, err)
	require.Empty(t, page)
	due, err := s.Repo.DueDeadlines(ctx, T0.Add(time.Hour), 10)
	require.NoError(t, err)
	require.Empty(t, due)
}

func testUpdate(t *testing.T, s Subject) {
	ctx := context.Background()
	o := mustCreate(t, s, "alice", T0)
	at := T0
	steps := []ordering.Signal{
		{Trigger: ordering.TriggerStockReserved},
		{Trigger: ordering.TriggerPaymentAuthorized, PaymentID: "pay-1"},
		{Trigger: ordering.TriggerShipmentShipped, ShipmentID: "ship-1", Carrier: "DHL", TrackingNumber: "TRK-1"},
		{Trigger: ordering.TriggerDeadlinePassed},
		{Trigger: ordering.TriggerPaymentCaptured, PaymentID: "pay-1"},
		{Trigger: ordering.TriggerOperatorCancel, Reason: "damaged"},
		{Trigger: ordering.TriggerPaymentRefunded, PaymentID: "pay-1"},
	}
	for i, sig := range steps {
		at = at.Add(time.Minute)
		got, err := s.Repo.Update(ctx, o.ID(), app.DedupeKey{Group: "g", EventID: fmt.Sprint("ev-", i)}, apply(sig, at))
		require.NoError(t, err, "%s", sig.Trigger)
		require.Equal(t, int64(i+2), got.Version())
		stored, err := s.Repo.Get(ctx, o.ID())
		require.NoError(t, err)
		require.Equal(t, got.Snapshot(), stored.Snapshot(), "after %s", sig.Trigger)
	}
	final, err := s.Repo.Get(ctx, o.ID())
	require.NoError(t, err)
	require.Equal(t, ordering.StatusCancelled, final.Status())
	require.True(t, final.Refunded())
	require.Equal(t, "pay-1", final.PaymentID())
	require.Equal(t, "TRK-1", final.TrackingNumber())
	require.True(t, final.DeadlineAt().IsZero())
	r, ok := final.EndReason()
	require.True(t, ok)
	require.Equal(t, ordering.EndOperatorRequest, r.Code)
	require.Empty(t, final.Snapshot().PaymentToken)
	require.Equal(t, []string{
		"agora.ordering.v1.OrderPlaced", "agora.ordering.v1.OrderPaymentRequested", "agora.ordering.v1.OrderConfirmed",
		"agora.ordering.v1.OrderShipped", "agora.ordering.v1.OrderShipped", "agora.ordering.v1.OrderCompleted",
		"agora.ordering.v1.OrderCancelled",
	}, types(t, s), "the refund report publishes nothing")
}

func testNoWrite(t *testing.T, s Subject) {
	ctx := context.Background()
	done := mustCreate(t, s, "alice", T0)
	_, err := s.Repo.Update(ctx, done.ID(), app.DedupeKey{}, apply(ordering.Signal{Trigger: ordering.TriggerCustomerCancel}, T0))
	require.NoError(t, err)
	// An ignored trigger: no change, no event.
	got, err := s.Repo.Update(ctx, done.ID(), app.DedupeKey{}, apply(ordering.Signal{Trigger: ordering.TriggerDeadlinePassed}, T0))
	require.NoError(t, err)
	require.Equal(t, int64(2), got.Version())
	require.Len(t, s.Outbox(t), 2)

	o := mustCreate(t, s, "alice", T0)
	got, err = s.Repo.Update(ctx, o.ID(), app.DedupeKey{}, func(*ordering.Order) ([]ordering.Event, error) { return nil, nil })
	require.NoError(t, err)
	require.Equal(t, int64(1), got.Version())
	// A refused trigger: the error, nothing stored.
	_, err = s.Repo.Update(ctx, o.ID(), app.DedupeKey{Group: "g", EventID: "ev-1"},
		apply(ordering.Signal{Trigger: ordering.TriggerPaymentCaptured}, T0))
	require.ErrorIs(t, err, ordering.ErrInvalidTransition)
	// A change whose function fails afterwards: nothing stored.
	boom := errors.New("boom")
	_, err = s.Repo.Update(ctx, o.ID(), app.DedupeKey{Group: "g", EventID: "ev-2"}, func(o *ordering.Order) ([]ordering.Event, error) {
		if _, err := o.Apply(ordering.Signal{Trigger: ordering.TriggerStockReserved}, T0, Policy.Deadlines); err != nil {
			return nil, err
		}
		return nil, boom
	})
	require.ErrorIs(t, err, boom)
	stored, err := s.Repo.Get(ctx, o.ID())
	require.NoError(t, err)
	require.Equal(t, o.Snapshot(), stored.Snapshot())
	require.Len(t, s.Outbox(t), 3)
	// The keys of failed updates were not recorded: their events apply.
	got, err = s.Repo.Update(ctx, o.ID(), app.DedupeKey{Group: "g", EventID: "ev-2"}, apply(ordering.Signal{Trigger: ordering.TriggerStockReserved}, T0))
	require.NoError(t, err)
	require.Equal(t, ordering.StepAuthorizingPayment, got.Step())
}

func testDedupe(t *testing.T, s Subject) {
	ctx := context.Background()
	o := mustCreate(t, s, "alice", T0)
	key := app.DedupeKey{Group: "ordering.saga", EventID: "ev-1"}
	got, err := s.Repo.Update(ctx, o.ID(), key, apply(ordering.Signal{Trigger: ordering.TriggerStockReserved}, T0))
	require.NoError(t, err)
	require.Equal(t, int64(2), got.Version())
	calls := 0
	again, err := s.Repo.Update(ctx, o.ID(), key, func(o *ordering.Order) ([]ordering.Event, error) {
		calls++
		return o.Apply(ordering.Signal{Trigger: ordering.TriggerCustomerCancel}, T0, Policy.Deadlines)
	})
	require.NoError(t, err)
	require.Zero(t, calls, "a redelivered event runs nothing")
	require.Equal(t, got.Snapshot(), again.Snapshot(), "and returns the order as stored")
	// The same event ID of another group is another consumer's.
	other, err := s.Repo.Update(ctx, o.ID(), app.DedupeKey{Group: "other", EventID: "ev-1"},
		apply(ordering.Signal{Trigger: ordering.TriggerCustomerCancel}, T0))
	require.NoError(t, err)
	require.Equal(t, ordering.StatusCancelled, other.Status())
	require.Equal(t, []string{"agora.ordering.v1.OrderPlaced", "agora.ordering.v1.OrderPaymentRequested",
		"agora.ordering.v1.OrderCancelled"}, types(t, s))
}

func testList(t *testing.T, s Subject) {
	ctx := context.Background()
	var mine []*ordering.Order
	for i := range 5 {
		mine = append(mine, mustCreate(t, s, "alice", T0.Add(time.Duration(i)*time.Second)))
		mustCreate(t, s, "bob", T0)
	}
	_, err := s.Repo.Update(ctx, mine[1].ID(), app.DedupeKey{}, apply(ordering.Signal{Trigger: ordering.TriggerCustomerCancel}, T0))
	require.NoError(t, err)
	_, err = s.Repo.Update(ctx, mine[3].ID(), app.DedupeKey{}, apply(ordering.Signal{Trigger: ordering.TriggerCustomerCancel}, T0))
	require.NoError(t, err)

	ids := func(os []*ordering.Order) []uuid.UUID {
		out := make([]uuid.UUID, len(os))
		for i, o := range os {
			out[i] = o.ID()
		}
		return out
	}
	page, err := s.Repo.ListByCustomer(ctx, "alice", app.ListQuery{Limit: 2})
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{mine[4].ID(), mine[3].ID()}, ids(page))
	page, err = s.Repo.ListByCustomer(ctx, "alice", app.ListQuery{Before: mine[3].ID(), Limit: 10})
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{mine[2].ID(), mine[1].ID(), mine[0].ID()}, ids(page))
	page, err = s.Repo.ListByCustomer(ctx, "alice", app.ListQuery{Status: ordering.StatusCancelled, Limit: 10})
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{mine[3].ID(), mine[1].ID()}, ids(page))
	page, err = s.Repo.ListByCustomer(ctx, "alice", app.ListQuery{Status: ordering.StatusPending, Before: mine[2].ID(), Limit: 10})
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{mine[0].ID()}, ids(page))
	require.Equal(t, mine[0].Snapshot(), page[0].Snapshot())
}

func testDue(t *testing.T, s Subject) {
	ctx := context.Background()
	a := mustCreate(t, s, "alice", T0)                   // due at T0+30s
	b := mustCreate(t, s, "alice", T0.Add(-time.Minute)) // due at T0-30s
	c := mustCreate(t, s, "alice", T0)
	_, err := s.Repo.Update(ctx, c.ID(), app.DedupeKey{}, apply(ordering.Signal{Trigger: ordering.TriggerCustomerCancel}, T0))
	require.NoError(t, err) // done: no deadline
	d := mustCreate(t, s, "alice", T0)
	_, err = s.Repo.Update(ctx, d.ID(), app.DedupeKey{}, apply(ordering.Signal{Trigger: ordering.TriggerStockReserved}, T0))
	require.NoError(t, err) // due at T0+1m

	due, err := s.Repo.DueDeadlines(ctx, T0, 10)
	require.NoError(t, err)
	require.Equal(t, []app.Due{{ID: b.ID(), Step: ordering.StepReservingStock, DeadlineAt: T0.Add(-30 * time.Second)}}, due)
	due, err = s.Repo.DueDeadlines(ctx, T0.Add(30*time.Second), 10)
	require.NoError(t, err)
	require.Equal(t, []app.Due{
		{ID: b.ID(), Step: ordering.StepReservingStock, DeadlineAt: T0.Add(-30 * time.Second)},
		{ID: a.ID(), Step: ordering.StepReservingStock, DeadlineAt: T0.Add(30 * time.Second)},
	}, due, "at the deadline it is due, the longest overdue first")
	due, err = s.Repo.DueDeadlines(ctx, T0.Add(time.Hour), 2)
	require.NoError(t, err)
	require.Len(t, due, 2, "limited")
	due, err = s.Repo.DueDeadlines(ctx, T0.Add(time.Hour), 10)
	require.NoError(t, err)
	require.Len(t, due, 3)
	require.Equal(t, app.Due{ID: d.ID(), Step: ordering.StepAuthorizingPayment, DeadlineAt: T0.Add(time.Minute)}, due[2])
}

func testConcurrent(t *testing.T, s Subject) {
	ctx := context.Background()
	o := mustCreate(t, s, "alice", T0)
	const workers = 8
	var wg sync.WaitGroup
	errs := make(chan error, 2*workers)
	// The same event delivered to every worker, and distinct deliveries
	// of one answer: each applies once.
	for i := range workers {
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, err := s.Repo.Update(ctx, o.ID(), app.DedupeKey{Group: "g", EventID: "same"},
				apply(ordering.Signal{Trigger: ordering.TriggerStockReserved}, T0))
			errs <- err
		}()
		go func() {
			defer wg.Done()
			_, err := s.Repo.Update(ctx, o.ID(), app.DedupeKey{Group: "g", EventID: fmt.Sprint("copy-", i)},
				apply(ordering.Signal{Trigger: ordering.TriggerStockReserved}, T0))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	got, err := s.Repo.Get(ctx, o.ID())
	require.NoError(t, err)
	require.Equal(t, int64(2), got.Version())
	require.Equal(t, []string{"agora.ordering.v1.OrderPlaced", "agora.ordering.v1.OrderPaymentRequested"}, types(t, s))

	// Concurrent changes of one order queue up: none is lost.
	var mu sync.Mutex
	applied := 0
	var wg2 sync.WaitGroup
	for i := range workers {
		wg2.Add(1)
		go func() {
			defer wg2.Done()
			sig := ordering.Signal{Trigger: ordering.TriggerPaymentAuthorized, PaymentID: "pay-1"}
			if i%2 == 1 {
				sig = ordering.Signal{Trigger: ordering.TriggerCustomerCancel}
			}
			_, err := s.Repo.Update(ctx, o.ID(), app.DedupeKey{}, func(o *ordering.Order) ([]ordering.Event, error) {
				evs, err := o.Apply(sig, T0, Policy.Deadlines)
				if err == nil && len(evs) > 0 {
					mu.Lock()
					applied++
					mu.Unlock()
				}
				return evs, err
			})
			require.NoError(t, err)
		}()
	}
	wg2.Wait()
	got, err = s.Repo.Get(ctx, o.ID())
	require.NoError(t, err)
	require.Equal(t, int64(2+applied), got.Version())
	require.Len(t, s.Outbox(t), 2+applied)
	require.Equal(t, ordering.StatusCancelled, got.Status(), "a cancellation won at last, whatever ran first")
}
