package app_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/orderhistory"
	"github.com/agoracommerce/agora/internal/orderhistory/app"
	"github.com/agoracommerce/agora/internal/orderhistory/orderhistorytest"
	"github.com/agoracommerce/agora/internal/orderhistory/sqlstore"
	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/sqldb/sqldbtest"
)

var t0 = orderhistorytest.T0

func newService(t *testing.T) (*app.Service, *sqlstore.Store) {
	t.Helper()
	store, err := sqlstore.New(context.Background(), sqldbtest.SQLite(t))
	require.NoError(t, err)
	now := t0
	svc, err := app.New(store, store, app.Config{Now: func() time.Time { now = now.Add(time.Second); return now }})
	require.NoError(t, err)
	return svc, store
}

func as(subject string, scopes ...string) context.Context {
	return auth.WithPrincipal(context.Background(), &auth.Principal{Subject: subject, Scopes: scopes})
}

func TestNew(t *testing.T) {
	t.Parallel()
	_, store := newService(t)
	_, err := app.New(nil, store, app.Config{})
	require.Error(t, err)
	_, err = app.New(store, nil, app.Config{})
	require.Error(t, err)
}

func TestRecordValidates(t *testing.T) {
	t.Parallel()
	svc, _ := newService(t)
	saga := orderhistorytest.Saga("order-1", "alice", t0)
	bad := saga[1]
	bad.OrderID = ""
	_, err := svc.Record(context.Background(), saga[0], bad)
	require.ErrorIs(t, err, orderhistory.ErrInvalid)
	_, err = svc.Order(as("alice"), "order-1")
	require.ErrorIs(t, err, orderhistory.ErrNotFound, "nothing of the call was recorded")
	n, err := svc.Record(context.Background())
	require.NoError(t, err)
	require.Zero(t, n)
	n, err = svc.Record(context.Background(), saga...)
	require.NoError(t, err)
	require.Equal(t, len(saga), n)
}

func TestOrderOwnership(t *testing.T) {
	t.Parallel()
	svc, _ := newService(t)
	_, err := svc.Record(context.Background(), orderhistorytest.Saga("order-1", "alice", t0)...)
	require.NoError(t, err)
	_, err = svc.Record(context.Background(), orderhistorytest.Saga("order-2", "alice", t0)[1:]...) // not placed yet
	require.NoError(t, err)

	for _, ctx := range []context.Context{as("alice"), as("ops", auth.ScopeOrdersAdmin), as("root", auth.ScopeAdmin)} {
		h, err := svc.Order(ctx, "order-1")
		require.NoError(t, err)
		require.Equal(t, "alice", h.Summary().CustomerID)
	}
	_, err = svc.Order(as("bob", auth.ScopeOrdersRead), "order-1")
	require.ErrorIs(t, err, orderhistory.ErrNotFound)
	_, err = svc.Order(as("alice"), "order-2")
	require.ErrorIs(t, err, orderhistory.ErrNotFound, "not placed yet")
	_, err = svc.Order(as("alice"), "order 3")
	require.ErrorIs(t, err, orderhistory.ErrInvalid)
	_, err = svc.Order(context.Background(), "order-1")
	require.ErrorIs(t, err, auth.ErrUnauthenticated)
}

func TestOrders(t *testing.T) {
	t.Parallel()
	svc, _ := newService(t)
	for i, id := range []string{"a", "b", "c"} {
		_, err := svc.Record(context.Background(), orderhistorytest.Saga(id, "alice", t0.Add(time.Duration(i)*time.Minute))...)
		require.NoError(t, err)
	}
	page, err := svc.Orders(as("alice"), "", nil, 2)
	require.NoError(t, err)
	require.Len(t, page.Orders, 2)
	require.Equal(t, &app.Cursor{PlacedAt: page.Orders[1].PlacedAt, OrderID: "b"}, page.Next)
	page, err = svc.Orders(as("alice"), orderhistory.StatusCompleted, page.Next, 0)
	require.NoError(t, err)
	require.Len(t, page.Orders, 1)
	require.Equal(t, "a", page.Orders[0].OrderID)
	require.Nil(t, page.Next)
	page, err = svc.Orders(as("bob"), "", nil, 0)
	require.NoError(t, err)
	require.Empty(t, page.Orders)

	_, err = svc.Orders(as("alice"), "lost", nil, 0)
	require.ErrorIs(t, err, orderhistory.ErrInvalid)
	_, err = svc.Orders(as("alice"), "", nil, app.MaxPageSize+1)
	require.ErrorIs(t, err, orderhistory.ErrInvalid)
	_, err = svc.Orders(context.Background(), "", nil, 0)
	require.ErrorIs(t, err, auth.ErrUnauthenticated)
}

// memLog is an event log in memory: one topic per service, each a list of
// entries whose index is the offset; hooks run at points of a rebuild.
type memLog struct {
	mu      sync.Mutex
	topics  map[string][]orderhistory.Entry
	ends    int
	onEnd   func(call int)
	onApply func()
}

func (l *memLog) append(topic string, es ...orderhistory.Entry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.topics[topic] = append(l.topics[topic], es...)
}

func (l *memLog) End(context.Context) (app.Offsets, error) {
	l.mu.Lock()
	l.ends++
	call := l.ends
	l.mu.Unlock()
	if l.onEnd != nil {
		l.onEnd(call)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	out := app.Offsets{}
	for topic, es := range l.topics {
		out[topic] = map[int32]int64{0: int64(len(es))}
	}
	return out, nil
}

func (l *memLog) Replay(ctx context.Context, from, to app.Offsets, apply func(context.Context, []orderhistory.Entry) error,
	progress func(app.ReplayStats)) (app.ReplayStats, error) {
	stats := app.ReplayStats{}
	for topic, parts := range to {
		l.mu.Lock()
		es := l.topics[topic][from[topic][0]:parts[0]]
		l.mu.Unlock()
		for _, e := range es {
			if l.onApply != nil {
				l.onApply()
			}
			if err := apply(ctx, []orderhistory.Entry{e}); err != nil {
				return stats, err
			}
			st := stats[topic]
			st.Read++
			st.Entries++
			stats[topic] = st
			progress(stats)
		}
	}
	return stats, nil
}

// A rebuild while the live projector keeps recording: events that arrive
// during the build (recorded live into the old generation) and after the
// switch (recorded live into the new one) all end up in the new
// generation, which then equals a model built from every event.
func TestRebuildLosesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, store := newService(t)
	saga := orderhistorytest.Saga("order-1", "alice", t0)
	ordering := func(es []orderhistory.Entry) (out []orderhistory.Entry) {
		for _, e := range es {
			if e.Source() == orderhistory.SourceOrdering {
				out = append(out, e)
			}
		}
		return out
	}
	others := func(es []orderhistory.Entry) (out []orderhistory.Entry) {
		for _, e := range es {
			if e.Source() != orderhistory.SourceOrdering {
				out = append(out, e)
			}
		}
		return out
	}
	log := &memLog{topics: map[string][]orderhistory.Entry{}}
	// Before the rebuild: the first half of order-1, projected live.
	live := func(topic string, es ...orderhistory.Entry) {
		log.append(topic, es...)
		_, err := svc.Record(ctx, es...)
		require.NoError(t, err)
	}
	live("ordering", ordering(saga[:6])...)
	live("others", others(saga[:6])...)

	late := orderhistorytest.Saga("order-2", "bob", t0)
	var once sync.Once
	log.onApply = func() {
		// While building: the rest of order-1 arrives and is projected
		// live into generation 1.
		once.Do(func() {
			live("ordering", ordering(saga[6:])...)
			live("others", others(saga[6:])...)
		})
	}
	log.onEnd = func(call int) {
		if call == 2 { // after the switch: order-2, projected live into generation 2
			live("ordering", ordering(late)...)
			live("others", others(late)...)
		}
	}
	var phases []string
	report, err := svc.Rebuild(ctx, log, func(p app.Progress) {
		if len(phases) == 0 || phases[len(phases)-1] != p.Phase {
			phases = append(phases, p.Phase)
		}
	})
	require.NoError(t, err)
	require.Equal(t, []string{app.PhaseBuild, app.PhaseSwitch, app.PhaseCatchUp, app.PhaseFinished}, phases)
	require.Equal(t, app.Generation(2), report.Generation)
	require.Equal(t, app.Generation(1), report.Previous)
	require.Equal(t, app.GenerationStats{Orders: 2, Entries: 24}, report.Stats)
	require.Equal(t, int64(6), report.Built.Total(), "built up to the end seen at the start")
	require.Equal(t, int64(24), report.CaughtUp.Total())
	require.Equal(t, int64(24), report.Read.Read(), "each event read once: the build, then the catch-up")
	require.Equal(t, time.Second, report.Duration, "by the test clock")

	want := map[string][]orderhistory.Entry{"order-1": saga, "order-2": late}
	for id, es := range want {
		got, err := svc.Order(as("root", auth.ScopeAdmin), id)
		require.NoError(t, err)
		orderhistorytest.RequireSame(t, orderhistorytest.Expected(t, id, es...), got)
	}
	active, err := store.ActiveGeneration(ctx)
	require.NoError(t, err)
	require.Equal(t, app.Generation(2), active)
	gens, err := svc.Generations(ctx)
	require.NoError(t, err)
	require.Empty(t, cmp.Diff([]app.GenerationState{app.GenerationRetired, app.GenerationActive},
		[]app.GenerationState{gens[0].State, gens[1].State}))
}

type failingLog struct{ memLog }

func (l *failingLog) Replay(context.Context, app.Offsets, app.Offsets, func(context.Context, []orderhistory.Entry) error,
	func(app.ReplayStats)) (app.ReplayStats, error) {
	return nil, errors.New("broker gone")
}

// A rebuild that fails before the switch leaves the active generation as
// it was; the next rebuild drops what it built.
func TestRebuildFailureKeepsActive(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, store := newService(t)
	_, err := svc.Record(ctx, orderhistorytest.Saga("order-1", "alice", t0)...)
	require.NoError(t, err)
	_, err = svc.Rebuild(ctx, &failingLog{memLog{topics: map[string][]orderhistory.Entry{}}}, nil)
	require.ErrorContains(t, err, "broker gone")
	active, err := store.ActiveGeneration(ctx)
	require.NoError(t, err)
	require.Equal(t, app.Generation(1), active)
	_, err = svc.Order(as("alice"), "order-1")
	require.NoError(t, err)

	report, err := svc.Rebuild(ctx, &memLog{topics: map[string][]orderhistory.Entry{}}, nil)
	require.NoError(t, err)
	require.Equal(t, app.Generation(3), report.Generation)
	gens, err := svc.Generations(ctx)
	require.NoError(t, err)
	require.Len(t, gens, 2, "the failed build is gone")
	_, err = svc.Rebuild(ctx, nil, nil)
	require.Error(t, err)
}
