// Package outboxtest is the contract suite every Agora outbox adapter passes
// (SQLite, PostgreSQL, and later DynamoDB): TestSource runs it against a
// factory of fresh, empty outboxes. It checks the write side (events are
// stored with the state change or not at all) and the outbox.Source side the
// relay depends on: order, per-aggregate ordering under concurrent relays,
// leases, ownership, cleanup and backlog statistics.
package outboxtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/fault"
	"github.com/agoracommerce/agora/internal/platform/outbox"
)

// Clock is the controllable time source an outbox under test reads instead
// of the wall clock. Safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock standing at start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the clock's current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Outbox is one fresh, empty outbox under test and the unit of work that
// writes to it.
type Outbox struct {
	// Source is the outbox as the relay sees it; it reads the suite's Clock.
	Source outbox.Source
	// Write runs one unit of work that changes the service's state and adds
	// evs to the outbox in the same transaction, and commits it. An event
	// the outbox refuses fails the whole unit of work.
	Write func(ctx context.Context, evs ...events.Event) error
	// WriteRolledBack runs the same unit of work but rolls it back after
	// both writes succeeded, as a service does when a later step fails. It
	// returns nil when the rollback itself succeeded.
	WriteRolledBack func(ctx context.Context, evs ...events.Event) error
	// StateChanges counts the committed state changes, so the suite can
	// check that state and outbox always agree.
	StateChanges func(ctx context.Context) (int, error)
	// Reopen returns another handle on the same outbox with connections of
	// its own, as a relay in another process would open it. Nil when the
	// backend has no such notion; the suite then shares Source.
	Reopen func(t *testing.T) outbox.Source
}

// NewOutbox returns a fresh, empty outbox whose clock is clock; it registers
// its own cleanup with t.
type NewOutbox func(t *testing.T, clock *Clock) Outbox

// Features describes where an outbox legitimately differs.
type Features struct {
	// SelfCleaning outboxes expire published rows by themselves (a TTL):
	// Cleanup deletes nothing and the suite does not count what it removes.
	SelfCleaning bool
	// ConcurrentRows, when set, replaces Rows in the concurrency case (for
	// slow emulated backends).
	ConcurrentRows int
}

// Concurrency of the ordering case: this many relays claim and publish
// Rows rows spread over Keys aggregates.
const (
	Relays = 4
	Rows   = 2000
	Keys   = 50
)

// TestSource runs the contract suite. Every case gets its own outbox and
// runs in parallel with the others.
func TestSource(t *testing.T, newOutbox NewOutbox, f Features) {
	cases := []struct {
		name string
		run  func(t *testing.T, o Outbox, clock *Clock)
	}{
		{"RowsComeBackInInsertionOrder", testInsertionOrder},
		{"ClaimHonoursLimit", testLimit},
		{"LeaseBlocksLaterRowsOfItsKeyOnly", testLeaseBlocksKey},
		{"OwnLeaseIsClaimedAgainAndRenewed", testOwnLease},
		{"ExpiredLeaseIsTakenOver", testExpiredLease},
		{"MarkPublishedByNonOwnerHasNoEffect", testNonOwnerMark},
		{"CleanupRemovesOnlyOldPublishedRows", func(t *testing.T, o Outbox, c *Clock) { testCleanup(t, o, c, f) }},
		{"StatsReportBacklogAndOldestAge", testStats},
		{"RolledBackWriteLeavesNothing", testRolledBack},
		{"InvalidEventFailsTheWholeWrite", testInvalidEvent},
		{"ConcurrentRelaysKeepPerKeyOrder", func(t *testing.T, o Outbox, c *Clock) {
			rows := Rows
			if f.ConcurrentRows > 0 {
				rows = f.ConcurrentRows
			}
			testConcurrentRelays(t, o, c, rows)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
			tc.run(t, newOutbox(t, clock), clock)
		})
	}
}

// Event returns the n-th event of aggregate key on topic, every metadata
// field set and a binary value, with its time taken from now.
func Event(topic, key string, n int, now time.Time) events.Event {
	id := events.NewID()
	return events.Event{
		Topic: topic,
		Key:   key,
		Value: fmt.Appendf([]byte{0, 0xff}, "%s#%d", key, n),
		Metadata: events.Metadata{
			ID:            id,
			Type:          "agora.test.v1.Happened",
			Source:        "agora/outboxtest",
			Subject:       key,
			Time:          now.UTC(),
			CorrelationID: "corr-" + id,
			TraceParent:   "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
			TraceState:    "agora=1",
		},
	}
}

const lease = time.Minute

func mustWrite(t *testing.T, o Outbox, evs ...events.Event) {
	t.Helper()
	require.NoError(t, o.Write(context.Background(), evs...))
}

func mustClaim(t *testing.T, s outbox.Source, owner string, limit int, lease time.Duration) []outbox.Row {
	t.Helper()
	rows, err := s.Claim(context.Background(), owner, limit, lease)
	require.NoError(t, err)
	for i := 1; i < len(rows); i++ {
		require.Less(t, rows[i-1].Seq, rows[i].Seq, "claimed rows come back in sequence order")
	}
	return rows
}

func mustMark(t *testing.T, s outbox.Source, owner string, rows []outbox.Row) {
	t.Helper()
	require.NoError(t, s.MarkPublished(context.Background(), owner, seqs(rows)))
}

func mustStats(t *testing.T, s outbox.Source) outbox.Stats {
	t.Helper()
	st, err := s.Stats(context.Background())
	require.NoError(t, err)
	return st
}

func seqs(rows []outbox.Row) []int64 {
	out := make([]int64, len(rows))
	for i, r := range rows {
		out[i] = r.Seq
	}
	return out
}

func ids(rows []outbox.Row) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.Event.Metadata.ID
	}
	return out
}

func eventIDs(evs ...events.Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.Metadata.ID
	}
	return out
}

func requireIDs(t *testing.T, want []events.Event, got []outbox.Row, msg string) {
	t.Helper()
	if d := cmp.Diff(eventIDs(want...), ids(got)); d != "" {
		t.Fatalf("%s (-want +got):\n%s", msg, d)
	}
}

func requireStateChanges(t *testing.T, o Outbox, want int) {
	t.Helper()
	n, err := o.StateChanges(context.Background())
	require.NoError(t, err)
	require.Equal(t, want, n, "committed state changes")
}

func testInsertionOrder(t *testing.T, o Outbox, clock *Clock) {
	now := clock.Now()
	// Three transactions over two topics and three keys, interleaved.
	txs := [][]events.Event{
		{Event("orders", "o-1", 0, now), Event("orders", "o-2", 0, now)},
		{Event("payments", "o-1", 0, now), Event("orders", "o-1", 1, now), Event("orders", "o-3", 0, now)},
		{Event("orders", "o-2", 1, now)},
	}
	var want []events.Event
	for _, tx := range txs {
		mustWrite(t, o, tx...)
		want = append(want, tx...)
	}
	rows := mustClaim(t, o.Source, "relay-a", 100, lease)
	got := make([]events.Event, len(rows))
	for i, r := range rows {
		got[i] = r.Event
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("claimed events differ from the written ones, in order (-want +got):\n%s", d)
	}
	requireStateChanges(t, o, len(txs))
}

func testLimit(t *testing.T, o Outbox, clock *Clock) {
	now := clock.Now()
	var evs []events.Event
	for n := range 5 {
		evs = append(evs, Event("orders", fmt.Sprintf("o-%d", n), 0, now))
	}
	mustWrite(t, o, evs...)
	requireIDs(t, evs[:2], mustClaim(t, o.Source, "relay-a", 2, lease), "first claim")
	requireIDs(t, evs[2:4], mustClaim(t, o.Source, "relay-b", 2, lease), "second owner gets the next rows")
	requireIDs(t, nil, mustClaim(t, o.Source, "relay-c", 0, lease), "a zero limit claims nothing")
	requireIDs(t, evs[4:], mustClaim(t, o.Source, "relay-c", 10, lease), "the rest")
}

func testLeaseBlocksKey(t *testing.T, o Outbox, clock *Clock) {
	now := clock.Now()
	k1a, k2a := Event("orders", "k1", 0, now), Event("orders", "k2", 0, now)
	k1b, k2b := Event("orders", "k1", 1, now), Event("orders", "k2", 1, now)
	k3a := Event("orders", "k3", 0, now)
	other := Event("payments", "k1", 0, now) // same key, other topic: another aggregate
	mustWrite(t, o, k1a, k2a, k1b, k2b, k3a, other)

	a := mustClaim(t, o.Source, "relay-a", 1, lease)
	requireIDs(t, []events.Event{k1a}, a, "relay-a claims the first row")
	requireIDs(t, []events.Event{k2a, k2b, k3a, other}, mustClaim(t, o.Source, "relay-b", 10, lease),
		"relay-b gets every key but the one relay-a leases")
	requireIDs(t, nil, mustClaim(t, o.Source, "relay-c", 10, lease), "everything is leased or blocked")

	mustMark(t, o.Source, "relay-a", a)
	requireIDs(t, []events.Event{k1b}, mustClaim(t, o.Source, "relay-c", 10, lease),
		"once the earlier row is published the next row of its key is free")
}

func testOwnLease(t *testing.T, o Outbox, clock *Clock) {
	now := clock.Now()
	evs := []events.Event{Event("orders", "k", 0, now), Event("orders", "k", 1, now), Event("orders", "k", 2, now)}
	mustWrite(t, o, evs...)
	first := mustClaim(t, o.Source, "relay-a", 2, lease)
	requireIDs(t, evs[:2], first, "first claim")

	clock.Advance(40 * time.Second)
	again := mustClaim(t, o.Source, "relay-a", 10, lease)
	requireIDs(t, evs, again, "the owner claims its leased rows again, then the rest")
	require.Equal(t, seqs(first), seqs(again[:2]), "the same rows, not copies")

	// The first lease would have ended at +60s; the renewed one lasts
	// until +100s.
	clock.Advance(30 * time.Second)
	requireIDs(t, nil, mustClaim(t, o.Source, "relay-b", 10, lease), "the renewed lease still holds")
	clock.Advance(31 * time.Second)
	requireIDs(t, evs, mustClaim(t, o.Source, "relay-b", 10, lease), "after the renewed lease another relay takes over")
}

func testExpiredLease(t *testing.T, o Outbox, clock *Clock) {
	now := clock.Now()
	evs := []events.Event{Event("orders", "k1", 0, now), Event("orders", "k2", 0, now), Event("orders", "k1", 1, now)}
	mustWrite(t, o, evs...)
	a := mustClaim(t, o.Source, "relay-a", 10, 30*time.Second)
	requireIDs(t, evs, a, "relay-a claims everything")

	clock.Advance(29 * time.Second)
	requireIDs(t, nil, mustClaim(t, o.Source, "relay-b", 10, lease), "the lease still holds")

	clock.Advance(2 * time.Second)
	b := mustClaim(t, o.Source, "relay-b", 10, lease)
	requireIDs(t, evs, b, "an expired lease is taken over, in order")

	// relay-a comes back from its pause: its mark must not count.
	mustMark(t, o.Source, "relay-a", a)
	require.EqualValues(t, 3, mustStats(t, o.Source).Backlog, "the former owner marked nothing")
	mustMark(t, o.Source, "relay-b", b)
	require.Zero(t, mustStats(t, o.Source).Backlog)
}

func testNonOwnerMark(t *testing.T, o Outbox, clock *Clock) {
	now := clock.Now()
	evs := []events.Event{Event("orders", "k1", 0, now), Event("orders", "k2", 0, now)}
	mustWrite(t, o, evs...)
	rows := mustClaim(t, o.Source, "relay-a", 10, lease)

	mustMark(t, o.Source, "intruder", rows)
	require.NoError(t, o.Source.MarkPublished(context.Background(), "relay-a", nil), "marking nothing is fine")
	require.EqualValues(t, 2, mustStats(t, o.Source).Backlog, "a non-owner's mark has no effect")
	requireIDs(t, evs, mustClaim(t, o.Source, "relay-a", 10, lease), "the rows are still there for their owner")

	mustMark(t, o.Source, "relay-a", rows[:1])
	require.EqualValues(t, 1, mustStats(t, o.Source).Backlog)
	requireIDs(t, evs[1:], mustClaim(t, o.Source, "relay-a", 10, lease), "a published row is never claimed again")
}

func testCleanup(t *testing.T, o Outbox, clock *Clock, f Features) {
	ctx := context.Background()
	start := clock.Now()
	evs := []events.Event{Event("orders", "k1", 0, start), Event("orders", "k2", 0, start), Event("orders", "k3", 0, start)}
	mustWrite(t, o, evs...)
	rows := mustClaim(t, o.Source, "relay-a", 10, lease)
	mustMark(t, o.Source, "relay-a", rows[:1]) // published at start
	clock.Advance(10 * time.Minute)
	mustMark(t, o.Source, "relay-a", rows[1:2]) // published at start+10m; rows[2] stays unpublished

	n, err := o.Source.Cleanup(ctx, start.Add(5*time.Minute))
	require.NoError(t, err)
	if !f.SelfCleaning {
		require.EqualValues(t, 1, n, "only the row published before the cutoff")
	}
	n, err = o.Source.Cleanup(ctx, start.Add(time.Hour))
	require.NoError(t, err)
	if !f.SelfCleaning {
		require.EqualValues(t, 1, n, "the other published row")
	}
	require.Equal(t, outbox.Stats{Backlog: 1, OldestAge: 10 * time.Minute}, mustStats(t, o.Source), "unpublished rows are never cleaned up")
	requireIDs(t, evs[2:], mustClaim(t, o.Source, "relay-a", 10, lease), "the unpublished row survives")
}

func testStats(t *testing.T, o Outbox, clock *Clock) {
	require.Equal(t, outbox.Stats{}, mustStats(t, o.Source), "an empty outbox")
	start := clock.Now()
	mustWrite(t, o, Event("orders", "k1", 0, start), Event("orders", "k2", 0, start))
	mustWrite(t, o, Event("orders", "k3", 0, start))
	clock.Advance(90 * time.Second)
	mustWrite(t, o, Event("orders", "k4", 0, clock.Now()))
	require.Equal(t, outbox.Stats{Backlog: 4, OldestAge: 90 * time.Second}, mustStats(t, o.Source))

	rows := mustClaim(t, o.Source, "relay-a", 3, lease)
	require.Equal(t, outbox.Stats{Backlog: 4, OldestAge: 90 * time.Second}, mustStats(t, o.Source), "claimed rows are still backlog")
	mustMark(t, o.Source, "relay-a", rows)
	require.Equal(t, outbox.Stats{Backlog: 1, OldestAge: 0}, mustStats(t, o.Source), "the oldest is now the newest row")
	clock.Advance(5 * time.Second)
	require.Equal(t, outbox.Stats{Backlog: 1, OldestAge: 5 * time.Second}, mustStats(t, o.Source))
}

func testRolledBack(t *testing.T, o Outbox, clock *Clock) {
	ctx := context.Background()
	now := clock.Now()
	evs := []events.Event{Event("orders", "k1", 0, now), Event("orders", "k2", 0, now)}
	require.NoError(t, o.WriteRolledBack(ctx, evs...))
	require.Equal(t, outbox.Stats{}, mustStats(t, o.Source), "a rolled-back write leaves no event")
	requireIDs(t, nil, mustClaim(t, o.Source, "relay-a", 10, lease), "nothing to claim")
	requireStateChanges(t, o, 0)

	mustWrite(t, o, evs...)
	require.EqualValues(t, 2, mustStats(t, o.Source).Backlog)
	requireStateChanges(t, o, 1)
}

func testInvalidEvent(t *testing.T, o Outbox, clock *Clock) {
	ctx := context.Background()
	now := clock.Now()
	noTopic := Event("", "k1", 0, now)
	noID := Event("orders", "k1", 0, now)
	noID.Metadata.ID = ""
	for _, tc := range []struct {
		name string
		ev   events.Event
	}{{"no topic", noTopic}, {"no ID", noID}} {
		err := o.Write(ctx, Event("orders", "k0", 0, now), tc.ev)
		require.Error(t, err, tc.name)
		require.True(t, fault.IsPermanent(err), "%s: an invalid event is a permanent error: %v", tc.name, err)
	}
	require.Equal(t, outbox.Stats{}, mustStats(t, o.Source), "the valid event of a failed write is not stored either")
	requireStateChanges(t, o, 0)
}

// testConcurrentRelays runs Relays relays, each on its own handle, that
// claim, "publish" (append to one global log) and mark in a loop until the
// outbox is drained; then every row must have been published exactly once
// and, per key, in insertion order.
func testConcurrentRelays(t *testing.T, o Outbox, clock *Clock, rows int) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	now := clock.Now()
	want := map[string][]string{} // key -> event IDs in insertion order
	const perTx = 100
	for start := 0; start < rows; start += perTx {
		evs := make([]events.Event, 0, perTx)
		for i := start; i < start+perTx; i++ {
			// A different permutation of the keys in every block of Keys rows.
			key := fmt.Sprintf("k%02d", (i*19+(i/Keys)*13)%Keys)
			ev := Event("orders", key, len(want[key]), now)
			want[key] = append(want[key], ev.Metadata.ID)
			evs = append(evs, ev)
		}
		mustWrite(t, o, evs...)
	}
	require.Len(t, want, Keys)

	var (
		mu        sync.Mutex
		published []outbox.Row // the global publication order
		wg        sync.WaitGroup
		errs      = make(chan error, Relays)
	)
	for r := range Relays {
		src := o.Source
		if o.Reopen != nil {
			src = o.Reopen(t)
		}
		// Relays differ in batch size and in how long producing takes, so
		// that a fast relay would overtake a slow one if it could.
		owner, batch, produce := fmt.Sprintf("relay-%d", r), 10+15*r, time.Duration(r)*time.Millisecond
		wg.Go(func() {
			if err := relayLoop(ctx, src, owner, batch, func(rows []outbox.Row) {
				time.Sleep(produce)
				mu.Lock()
				defer mu.Unlock()
				published = append(published, rows...)
			}); err != nil {
				errs <- fmt.Errorf("%s: %w", owner, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}

	times := map[string]int{}
	got := map[string][]string{}
	for _, r := range published {
		times[r.Event.Metadata.ID]++
		got[r.Event.Key] = append(got[r.Event.Key], r.Event.Metadata.ID)
	}
	for key, evIDs := range want {
		for _, id := range evIDs {
			require.Equal(t, 1, times[id], "event %s of %s published %d times", id, key, times[id])
		}
		if d := cmp.Diff(evIDs, got[key]); d != "" {
			t.Fatalf("publication order of %s differs from insertion order (-want +got):\n%s", key, d)
		}
	}
	require.Len(t, published, rows)
	require.Equal(t, outbox.Stats{}, mustStats(t, o.Source))
}

// relayLoop claims, publishes and marks until the outbox has no backlog.
// Like the real relay it backs off while it finds nothing to claim.
func relayLoop(ctx context.Context, src outbox.Source, owner string, batch int, publish func([]outbox.Row)) error {
	idle := time.Duration(0)
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("outbox not drained in time: %w", err)
		}
		rows, err := src.Claim(ctx, owner, batch, lease)
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			st, err := src.Stats(ctx)
			if err != nil {
				return err
			}
			if st.Backlog == 0 {
				return nil
			}
			// The rest is leased to others; let them progress.
			idle = min(max(2*idle, time.Millisecond), 20*time.Millisecond)
			time.Sleep(idle)
			continue
		}
		idle = 0
		publish(rows)
		if err := src.MarkPublished(ctx, owner, seqs(rows)); err != nil {
			return err
		}
	}
}

// ErrRollback is what a WriteRolledBack implementation may return from its
// unit of work to roll it back; it is not an error of the suite.
var ErrRollback = errors.New("outboxtest: roll back")

// Pending lists the unpublished events of an SQL outbox, oldest first;
// services' repository suites use it to see what a change wrote. It leases
// the rows to a test owner for an hour.
func Pending(t *testing.T, ob *outbox.Store) []events.Event {
	t.Helper()
	rows, err := ob.Claim(context.Background(), "outboxtest-pending", 100_000, time.Hour)
	if err != nil {
		t.Fatalf("outbox pending events: %v", err)
	}
	out := make([]events.Event, len(rows))
	for i, r := range rows {
		out[i] = r.Event
	}
	return out
}
