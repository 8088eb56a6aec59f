// Package inboxtest is the contract suite every Agora inbox adapter passes
// (SQLite and PostgreSQL today): TestInbox runs it against a factory of
// fresh, empty inboxes. It checks what makes consumers' effects happen
// exactly once: an event is new once per consumer group, the entry commits
// or rolls back with the effect, concurrent deliveries of one event have
// one winner, and old entries are purged by age.
package inboxtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Clock is the controllable time source an inbox under test reads instead of
// the wall clock. Safe for concurrent use.
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

// Inbox is one fresh, empty inbox under test and the unit of work that
// uses it, the way the consumer's dedupe middleware does.
type Inbox struct {
	// Process runs one unit of work: it marks eventID processed by group
	// and, when the event is new, applies an effect in the same
	// transaction; then it commits, or rolls back when rollback is set. It
	// returns Mark's answer (true: the event was new).
	Process func(ctx context.Context, group, eventID string, rollback bool) (bool, error)
	// Seen reports whether group already processed eventID.
	Seen func(ctx context.Context, group, eventID string) (bool, error)
	// Cleanup deletes entries processed before the given time.
	Cleanup func(ctx context.Context, before time.Time) (int64, error)
	// Effects counts the committed effects.
	Effects func(ctx context.Context) (int, error)
}

// NewInbox returns a fresh, empty inbox whose clock is clock; it registers
// its own cleanup with t.
type NewInbox func(t *testing.T, clock *Clock) Inbox

// Features describes where an inbox legitimately differs.
type Features struct {
	// SelfExpiring inboxes drop old entries by themselves (a TTL):
	// Cleanup deletes nothing and the suite does not count what it removes.
	SelfExpiring bool
}

// Deliveries is how many concurrent deliveries of one event the
// concurrency case races.
const Deliveries = 20

// ErrRollback is what a Process implementation may return from its unit of
// work to roll it back; it is not an error of the suite.
var ErrRollback = errors.New("inboxtest: roll back")

// TestInbox runs the contract suite. Every case gets its own inbox and runs
// in parallel with the others.
func TestInbox(t *testing.T, newInbox NewInbox, f Features) {
	cases := []struct {
		name string
		run  func(t *testing.T, in Inbox, clock *Clock)
	}{
		{"NewOnceThenDuplicate", testOnce},
		{"RolledBackMarkLeavesNoEntry", testRolledBack},
		{"ConcurrentDeliveriesHaveOneWinner", testConcurrent},
		{"CleanupByAge", func(t *testing.T, in Inbox, c *Clock) { testCleanup(t, in, c, f) }},
		{"GroupsAreIndependent", testGroups},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
			tc.run(t, newInbox(t, clock), clock)
		})
	}
}

func process(t *testing.T, in Inbox, group, id string) bool {
	t.Helper()
	isNew, err := in.Process(context.Background(), group, id, false)
	require.NoError(t, err)
	return isNew
}

func seen(t *testing.T, in Inbox, group, id string) bool {
	t.Helper()
	ok, err := in.Seen(context.Background(), group, id)
	require.NoError(t, err)
	return ok
}

func requireEffects(t *testing.T, in Inbox, want int) {
	t.Helper()
	n, err := in.Effects(context.Background())
	require.NoError(t, err)
	require.Equal(t, want, n, "committed effects")
}

func testOnce(t *testing.T, in Inbox, _ *Clock) {
	require.False(t, seen(t, in, "billing", "ev-1"), "an empty inbox has seen nothing")
	require.True(t, process(t, in, "billing", "ev-1"), "first delivery")
	require.True(t, seen(t, in, "billing", "ev-1"))
	require.False(t, process(t, in, "billing", "ev-1"), "redelivery")
	require.False(t, process(t, in, "billing", "ev-1"), "and again")
	require.False(t, seen(t, in, "billing", "ev-2"), "another event")
	require.True(t, process(t, in, "billing", "ev-2"))
	requireEffects(t, in, 2)
}

func testRolledBack(t *testing.T, in Inbox, _ *Clock) {
	isNew, err := in.Process(context.Background(), "billing", "ev-1", true)
	require.NoError(t, err)
	require.True(t, isNew, "new inside the failed unit of work")
	require.False(t, seen(t, in, "billing", "ev-1"), "the rollback took the entry with it")
	requireEffects(t, in, 0)

	require.True(t, process(t, in, "billing", "ev-1"), "the redelivery is processed")
	require.False(t, process(t, in, "billing", "ev-1"))
	requireEffects(t, in, 1)
}

func testConcurrent(t *testing.T, in Inbox, _ *Clock) {
	var (
		winners atomic.Int32
		wg      sync.WaitGroup
		start   = make(chan struct{})
		errs    = make(chan error, Deliveries)
	)
	for range Deliveries {
		wg.Go(func() {
			<-start
			isNew, err := in.Process(context.Background(), "billing", "hot", false)
			if err != nil {
				errs <- err
				return
			}
			if isNew {
				winners.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("process: %v", err)
	}
	require.EqualValues(t, 1, winners.Load(), "deliveries that saw the event as new")
	requireEffects(t, in, 1)
}

func testCleanup(t *testing.T, in Inbox, clock *Clock, f Features) {
	ctx := context.Background()
	start := clock.Now()
	for i := range 3 {
		require.True(t, process(t, in, "billing", fmt.Sprintf("old-%d", i)))
	}
	clock.Advance(time.Hour)
	require.True(t, process(t, in, "billing", "young"))
	require.True(t, process(t, in, "shipping", "young"))

	n, err := in.Cleanup(ctx, start.Add(30*time.Minute))
	require.NoError(t, err)
	if f.SelfExpiring {
		require.Zero(t, n)
		return
	}
	require.EqualValues(t, 3, n, "the entries older than the cutoff")
	require.False(t, seen(t, in, "billing", "old-0"))
	require.True(t, seen(t, in, "billing", "young"), "younger entries survive")
	require.True(t, seen(t, in, "shipping", "young"))
	require.True(t, process(t, in, "billing", "old-0"), "a purged event counts as new again")

	n, err = in.Cleanup(ctx, start.Add(2*time.Hour))
	require.NoError(t, err)
	require.EqualValues(t, 3, n, "the rest, of every group")
	require.False(t, seen(t, in, "shipping", "young"))
}

func testGroups(t *testing.T, in Inbox, _ *Clock) {
	require.True(t, process(t, in, "billing", "ev-1"))
	require.True(t, process(t, in, "shipping", "ev-1"), "each group processes the event once")
	require.False(t, process(t, in, "billing", "ev-1"))
	require.False(t, process(t, in, "shipping", "ev-1"))
	require.False(t, seen(t, in, "notification", "ev-1"), "a third group has not")
	requireEffects(t, in, 2)
}
