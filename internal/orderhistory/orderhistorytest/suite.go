package orderhistorytest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/orderhistory"
	"github.com/agoracommerce/agora/internal/orderhistory/app"
	"github.com/agoracommerce/agora/internal/platform/fault"
)

// Subject is one fresh adapter under test, over an empty store.
type Subject struct {
	Repo app.Repository
	Gens app.Generations
}

// TestRepository runs the contract suite; newSubject returns a fresh
// adapter over an empty store for each subtest.
func TestRepository(t *testing.T, newSubject func(t *testing.T) Subject) {
	t.Helper()
	cases := []struct {
		name string
		fn   func(t *testing.T, s Subject)
	}{
		{"a saga is recorded as its timeline and summary", testSaga},
		{"an unknown order is not found", testNotFound},
		{"recording twice changes nothing", testIdempotent},
		{"the order of arrival does not matter", testAnyOrder},
		{"entries before order.placed wait for it", testBeforePlaced},
		{"an old ordering event never moves the status back", testNoRegression},
		{"rejections and refunds end up in the summary", testEndings},
		{"lists page newest first per customer and status", testList},
		{"concurrent recording of one order loses nothing", testConcurrent},
		{"an event ID of another order is refused", testReusedEventID},
		{"a new generation is filled apart and switched to at once", testGenerations},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, newSubject(t))
		})
	}
}

// MustRecord records entries in gen and returns how many were new.
func MustRecord(t *testing.T, repo app.Repository, gen app.Generation, entries ...orderhistory.Entry) int {
	t.Helper()
	n, err := repo.Record(context.Background(), gen, entries)
	require.NoError(t, err)
	return n
}

// MustHistory reads an order's history from the active generation.
func MustHistory(t *testing.T, repo app.Repository, orderID string) *orderhistory.History {
	t.Helper()
	h, err := repo.History(context.Background(), orderID)
	require.NoError(t, err)
	return h
}

// Expected returns the history entries make, built in memory.
func Expected(t *testing.T, orderID string, entries ...orderhistory.Entry) *orderhistory.History {
	t.Helper()
	h, err := orderhistory.NewHistory(orderID, entries...)
	require.NoError(t, err)
	return h
}

// RequireSame fails unless got and want have the same timeline and
// summary.
func RequireSame(t *testing.T, want, got *orderhistory.History) {
	t.Helper()
	require.Empty(t, cmp.Diff(want.Timeline(), got.Timeline()), "timeline")
	require.Empty(t, cmp.Diff(want.Summary(), got.Summary()), "summary")
}

func list(t *testing.T, repo app.Repository, q app.ListQuery) []orderhistory.Summary {
	t.Helper()
	if q.Limit == 0 {
		q.Limit = 100
	}
	out, err := repo.List(context.Background(), q)
	require.NoError(t, err)
	return out
}

func ids(sums []orderhistory.Summary) []string {
	out := make([]string, len(sums))
	for i, s := range sums {
		out[i] = s.OrderID
	}
	return out
}

func testSaga(t *testing.T, s Subject) {
	saga := Saga("order-1", "alice", T0)
	require.Equal(t, len(saga), MustRecord(t, s.Repo, app.Active, saga...))
	h := MustHistory(t, s.Repo, "order-1")
	RequireSame(t, Expected(t, "order-1", saga...), h)

	require.Equal(t, orderhistory.Summary{
		OrderID: "order-1", CustomerID: "alice", Placed: true, Status: orderhistory.StatusCompleted, Lines: Lines(),
		Total: EUR(Total), Refunded: EUR(0), Carrier: "agora-sim", TrackingNumber: "AG-order-1",
		PlacedAt: T0.Add(time.Second), UpdatedAt: T0.Add(12 * time.Second), Entries: 12,
	}, h.Summary())
	timeline := h.Timeline()
	require.Len(t, timeline, 12)
	require.Equal(t, orderhistory.OrderPlaced, timeline[0].Type)
	require.Equal(t, Lines(), timeline[0].Lines)
	require.Equal(t, orderhistory.ShipmentDelivered, timeline[11].Type)

	got := list(t, s.Repo, app.ListQuery{CustomerID: "alice"})
	require.Empty(t, cmp.Diff([]orderhistory.Summary{h.Summary()}, got))
}

func testNotFound(t *testing.T, s Subject) {
	_, err := s.Repo.History(context.Background(), "order-404")
	require.ErrorIs(t, err, orderhistory.ErrNotFound)
	require.False(t, fault.IsRetryable(err))
	require.Empty(t, list(t, s.Repo, app.ListQuery{CustomerID: "alice"}))
}

func testIdempotent(t *testing.T, s Subject) {
	saga := Saga("order-1", "alice", T0)
	require.Equal(t, 5, MustRecord(t, s.Repo, app.Active, saga[:5]...))
	// A redelivered batch overlapping what is stored, with a duplicate
	// inside it.
	batch := append(append([]orderhistory.Entry{}, saga...), saga[7], saga[0])
	require.Equal(t, len(saga)-5, MustRecord(t, s.Repo, app.Active, batch...))
	require.Zero(t, MustRecord(t, s.Repo, app.Active, saga...))
	RequireSame(t, Expected(t, "order-1", saga...), MustHistory(t, s.Repo, "order-1"))
	require.Len(t, list(t, s.Repo, app.ListQuery{CustomerID: "alice"}), 1)
}

func testAnyOrder(t *testing.T, s Subject) {
	// The same saga for three orders, recorded one entry at a time in a
	// different order each: each ends the same.
	rng := rand.New(rand.NewPCG(1, 2)) // #nosec G404 -- a fixed shuffle for the test
	for i := range 3 {
		id := fmt.Sprintf("order-%d", i)
		saga := Saga(id, "alice", T0)
		order := rng.Perm(len(saga))
		for _, j := range order {
			MustRecord(t, s.Repo, app.Active, saga[j])
		}
		RequireSame(t, Expected(t, id, saga...), MustHistory(t, s.Repo, id))
		require.Equal(t, orderhistory.StatusCompleted, MustHistory(t, s.Repo, id).Summary().Status, "order %v", order)
	}
}

func testBeforePlaced(t *testing.T, s Subject) {
	saga := Saga("order-1", "alice", T0)
	// Everything but order.placed: the other topics were faster.
	MustRecord(t, s.Repo, app.Active, saga[1:]...)
	h := MustHistory(t, s.Repo, "order-1")
	require.False(t, h.Visible())
	require.Len(t, h.Timeline(), len(saga)-1)
	require.Empty(t, list(t, s.Repo, app.ListQuery{CustomerID: "alice"}), "not listed before it is placed")

	MustRecord(t, s.Repo, app.Active, saga[0])
	h = MustHistory(t, s.Repo, "order-1")
	require.True(t, h.Visible())
	require.Equal(t, orderhistory.StatusCompleted, h.Summary().Status, "placed does not move a completed order back")
	require.Equal(t, []string{"order-1"}, ids(list(t, s.Repo, app.ListQuery{CustomerID: "alice"})))
}

func testNoRegression(t *testing.T, s Subject) {
	saga := Saga("order-1", "alice", T0)
	MustRecord(t, s.Repo, app.Active, saga[:8]...) // up to order.shipped
	require.Equal(t, orderhistory.StatusShipped, MustHistory(t, s.Repo, "order-1").Summary().Status)
	// A redriven copy of order.confirmed under a new event ID (as a
	// producer retry would publish it) is older than order.shipped.
	again := saga[4]
	again.EventID = "order-1/confirmed-again"
	MustRecord(t, s.Repo, app.Active, again, saga[2])
	h := MustHistory(t, s.Repo, "order-1")
	require.Equal(t, orderhistory.StatusShipped, h.Summary().Status)
	require.Len(t, h.Timeline(), 9)
	// Entries of other services never set the status.
	MustRecord(t, s.Repo, app.Active, saga[8]) // payment.captured
	require.Equal(t, orderhistory.StatusShipped, MustHistory(t, s.Repo, "order-1").Summary().Status)
	MustRecord(t, s.Repo, app.Active, saga[10]) // order.completed
	require.Equal(t, orderhistory.StatusCompleted, MustHistory(t, s.Repo, "order-1").Summary().Status)
}

func testEndings(t *testing.T, s Subject) {
	rejected := Rejected("order-r", "alice", T0)
	MustRecord(t, s.Repo, app.Active, rejected...)
	sum := MustHistory(t, s.Repo, "order-r").Summary()
	require.Equal(t, orderhistory.StatusRejected, sum.Status)
	require.Equal(t, orderhistory.EndReason{Code: orderhistory.EndOutOfStock, Reason: "out of stock"}, sum.EndReason)
	require.Equal(t, EUR(0), sum.Refunded)

	refund := Refund("order-c", "alice", T0)
	MustRecord(t, s.Repo, app.Active, refund[1]) // the refund first
	MustRecord(t, s.Repo, app.Active, Saga("order-c", "alice", T0)...)
	MustRecord(t, s.Repo, app.Active, refund[0])
	sum = MustHistory(t, s.Repo, "order-c").Summary()
	require.Equal(t, orderhistory.StatusCancelled, sum.Status)
	require.Equal(t, orderhistory.EndReason{Code: orderhistory.EndOperatorRequest, Reason: "damaged in transit"}, sum.EndReason)
	require.Equal(t, EUR(Total), sum.Refunded)
	require.Equal(t, "AG-order-c", sum.TrackingNumber)

	got := list(t, s.Repo, app.ListQuery{CustomerID: "alice", Status: orderhistory.StatusCancelled})
	require.Empty(t, cmp.Diff([]orderhistory.Summary{sum}, got))
}

func testList(t *testing.T, s Subject) {
	// Five orders of alice placed a minute apart, two of them at the same
	// instant; one of bob's.
	at := func(i int) time.Time { return T0.Add(time.Duration(i) * time.Minute) }
	MustRecord(t, s.Repo, app.Active, Saga("a-1", "alice", at(1))...)
	MustRecord(t, s.Repo, app.Active, Rejected("a-2", "alice", at(2))...)
	MustRecord(t, s.Repo, app.Active, Saga("a-3", "alice", at(3))[:5]...) // confirmed
	MustRecord(t, s.Repo, app.Active, Saga("a-4", "alice", at(3))[:1]...) // pending, placed with a-3
	MustRecord(t, s.Repo, app.Active, Saga("a-5", "alice", at(5))...)
	MustRecord(t, s.Repo, app.Active, Saga("b-1", "bob", at(4))...)

	require.Equal(t, []string{"a-5", "a-4", "a-3", "a-2", "a-1"}, ids(list(t, s.Repo, app.ListQuery{CustomerID: "alice"})))
	require.Equal(t, []string{"b-1"}, ids(list(t, s.Repo, app.ListQuery{CustomerID: "bob"})))
	require.Empty(t, list(t, s.Repo, app.ListQuery{CustomerID: "carol"}))
	require.Equal(t, []string{"a-5", "a-1"}, ids(list(t, s.Repo, app.ListQuery{CustomerID: "alice", Status: orderhistory.StatusCompleted})))
	require.Equal(t, []string{"a-4"}, ids(list(t, s.Repo, app.ListQuery{CustomerID: "alice", Status: orderhistory.StatusPending})))
	require.Equal(t, []string{"a-3"}, ids(list(t, s.Repo, app.ListQuery{CustomerID: "alice", Status: orderhistory.StatusConfirmed})))

	// Pages of two, continuing after the last of each page.
	var got []string
	var after *app.Cursor
	for range 10 {
		page := list(t, s.Repo, app.ListQuery{CustomerID: "alice", After: after, Limit: 2})
		if len(page) == 0 {
			break
		}
		got = append(got, ids(page)...)
		last := page[len(page)-1]
		after = &app.Cursor{PlacedAt: last.PlacedAt, OrderID: last.OrderID}
	}
	require.Equal(t, []string{"a-5", "a-4", "a-3", "a-2", "a-1"}, got)

	_, err := s.Repo.List(context.Background(), app.ListQuery{CustomerID: "alice"})
	require.ErrorIs(t, err, orderhistory.ErrInvalid, "a limit is required")
}

func testConcurrent(t *testing.T, s Subject) {
	// Each entry of two orders recorded by its own goroutine, as
	// partitions of different topics are.
	var entries []orderhistory.Entry
	entries = append(entries, Saga("order-1", "alice", T0)...)
	entries = append(entries, Saga("order-2", "alice", T0)...)
	entries = append(entries, Refund("order-2", "alice", T0)...)
	var wg sync.WaitGroup
	errs := make(chan error, len(entries))
	for _, e := range entries {
		wg.Go(func() {
			for attempt := 0; ; attempt++ {
				_, err := s.Repo.Record(context.Background(), app.Active, []orderhistory.Entry{e})
				if err == nil || !fault.IsRetryable(err) || attempt == 20 {
					errs <- err
					return
				}
				time.Sleep(time.Duration(attempt+1) * 5 * time.Millisecond)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	RequireSame(t, Expected(t, "order-1", Saga("order-1", "alice", T0)...), MustHistory(t, s.Repo, "order-1"))
	RequireSame(t, Expected(t, "order-2", append(Saga("order-2", "alice", T0), Refund("order-2", "alice", T0)...)...),
		MustHistory(t, s.Repo, "order-2"))
	require.Empty(t, cmp.Diff([]orderhistory.Summary{MustHistory(t, s.Repo, "order-2").Summary(), MustHistory(t, s.Repo, "order-1").Summary()},
		list(t, s.Repo, app.ListQuery{CustomerID: "alice"})))
}

func testReusedEventID(t *testing.T, s Subject) {
	saga := Saga("order-1", "alice", T0)
	MustRecord(t, s.Repo, app.Active, saga...)
	other := saga[1]
	other.OrderID = "order-2"
	_, err := s.Repo.Record(context.Background(), app.Active, []orderhistory.Entry{other})
	require.ErrorIs(t, err, orderhistory.ErrInvalid)
	require.False(t, fault.IsRetryable(err))
	_, err = s.Repo.History(context.Background(), "order-2")
	require.ErrorIs(t, err, orderhistory.ErrNotFound, "the failed batch left nothing")
}

func testGenerations(t *testing.T, s Subject) {
	ctx := context.Background()
	active, err := s.Gens.ActiveGeneration(ctx)
	require.NoError(t, err)
	require.Equal(t, app.Generation(1), active)
	saga := Saga("order-1", "alice", T0)
	MustRecord(t, s.Repo, app.Active, saga[:4]...)

	// A rebuild fills generation 2 while readers and live recording keep
	// using generation 1.
	gen, err := s.Gens.BeginGeneration(ctx)
	require.NoError(t, err)
	require.Equal(t, app.Generation(2), gen)
	MustRecord(t, s.Repo, gen, saga...)
	MustRecord(t, s.Repo, gen, Saga("order-2", "alice", T0)...)
	MustRecord(t, s.Repo, app.Active, saga[4])
	RequireSame(t, Expected(t, "order-1", saga[:5]...), MustHistory(t, s.Repo, "order-1"))
	_, err = s.Repo.History(ctx, "order-2")
	require.ErrorIs(t, err, orderhistory.ErrNotFound)
	stats, err := s.Gens.Stats(ctx, gen)
	require.NoError(t, err)
	require.Equal(t, app.GenerationStats{Orders: 2, Entries: 24}, stats)
	stats, err = s.Gens.Stats(ctx, app.Active)
	require.NoError(t, err)
	require.Equal(t, app.GenerationStats{Orders: 1, Entries: 5}, stats)

	// The switch: from now on everything reads and records generation 2.
	prev, err := s.Gens.ActivateGeneration(ctx, gen)
	require.NoError(t, err)
	require.Equal(t, app.Generation(1), prev)
	RequireSame(t, Expected(t, "order-1", saga...), MustHistory(t, s.Repo, "order-1"))
	require.Equal(t, []string{"order-2", "order-1"}, ids(list(t, s.Repo, app.ListQuery{CustomerID: "alice"})))
	MustRecord(t, s.Repo, app.Active, Refund("order-1", "alice", T0)...)
	require.Equal(t, orderhistory.StatusCancelled, MustHistory(t, s.Repo, "order-1").Summary().Status)
	_, err = s.Gens.ActivateGeneration(ctx, gen)
	require.ErrorIs(t, err, orderhistory.ErrInvalid, "only a building generation is activated")
	_, err = s.Gens.ActivateGeneration(ctx, 99)
	require.ErrorIs(t, err, orderhistory.ErrInvalid)

	infos, err := s.Gens.Generations(ctx)
	require.NoError(t, err)
	require.Equal(t, []app.GenerationState{app.GenerationRetired, app.GenerationActive}, states(infos))
	require.False(t, infos[1].ActivatedAt.IsZero())

	// The next rebuild drops the retired generation; one that never
	// finishes is dropped by the one after, and numbers are not reused.
	unfinished, err := s.Gens.BeginGeneration(ctx)
	require.NoError(t, err)
	require.Equal(t, app.Generation(3), unfinished)
	MustRecord(t, s.Repo, unfinished, saga[0])
	infos, err = s.Gens.Generations(ctx)
	require.NoError(t, err)
	require.Equal(t, []app.Generation{2, 3}, numbers(infos))
	next, err := s.Gens.BeginGeneration(ctx)
	require.NoError(t, err)
	require.Equal(t, app.Generation(4), next)
	infos, err = s.Gens.Generations(ctx)
	require.NoError(t, err)
	require.Equal(t, []app.Generation{2, 4}, numbers(infos))
	require.Equal(t, []app.GenerationState{app.GenerationActive, app.GenerationBuilding}, states(infos))
	_, err = s.Repo.Record(ctx, unfinished, saga[:1])
	require.ErrorIs(t, err, orderhistory.ErrInvalid, "a dropped generation takes no entries")
	require.False(t, fault.IsRetryable(err))
	_, err = s.Gens.Stats(ctx, 1)
	require.ErrorIs(t, err, orderhistory.ErrInvalid)
	stats, err = s.Gens.Stats(ctx, next)
	require.NoError(t, err)
	require.Equal(t, app.GenerationStats{}, stats)
}

func states(infos []app.GenerationInfo) []app.GenerationState {
	out := make([]app.GenerationState, len(infos))
	for i, g := range infos {
		out[i] = g.State
	}
	return out
}

func numbers(infos []app.GenerationInfo) []app.Generation {
	out := make([]app.Generation, len(infos))
	for i, g := range infos {
		out[i] = g.Generation
	}
	return out
}
