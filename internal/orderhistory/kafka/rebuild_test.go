package kafka_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/agoracommerce/agora/internal/orderhistory"
	"github.com/agoracommerce/agora/internal/orderhistory/app"
	"github.com/agoracommerce/agora/internal/orderhistory/kafka"
	"github.com/agoracommerce/agora/internal/orderhistory/sqlstore"
	"github.com/agoracommerce/agora/internal/platform/kafkatest"
	"github.com/agoracommerce/agora/internal/platform/sqldb"
	"github.com/agoracommerce/agora/internal/platform/sqldb/sqldbtest"
)

// readModel reads the histories of ids from the active generation.
func readModel(t *testing.T, svc *app.Service, ids []string) map[string]*orderhistory.History {
	t.Helper()
	out := map[string]*orderhistory.History{}
	for _, id := range ids {
		out[id] = history(t, svc, id)
	}
	return out
}

// A rebuild from the beginning of the four topics, while the live
// projector keeps running and new sagas keep arriving: the rebuilt
// generation equals the live model of the orders it had, then holds every
// order the events tell of, exactly as the events make them.
func TestRebuildWhileLive(t *testing.T) {
	t.Parallel()
	kafkatest.Each(t, func(t *testing.T, bus *kafkatest.Bus) {
		sqldbtest.Each(t, func(t *testing.T, open func(testing.TB) *sqldb.DB) {
			ctx := context.Background()
			tp := newTopics(t, bus)
			store, err := sqlstore.New(ctx, open(t))
			require.NoError(t, err)
			svc, err := app.New(store, store, app.Config{})
			require.NoError(t, err)

			records := map[string][]*kgo.Record{}
			produce := func(id string, at time.Time) {
				rs := encode(t, bus, tp, sagaEvents(id, "alice", at))
				records[id] = rs
				bus.Produce(t, rs...)
			}
			var before []string
			for i := range 4 {
				id := fmt.Sprintf("before-%d", i)
				before = append(before, id)
				produce(id, t0.Add(time.Duration(i)*time.Minute))
			}
			runProjector(t, bus, tp, tp[kafka.OrderingTopic]+"-group", svc)
			waitFor := func(ids []string) {
				for _, id := range ids {
					require.Eventually(t, func() bool {
						h, err := svc.Order(admin, id)
						return err == nil && len(h.Timeline()) == 14
					}, 60*time.Second, 20*time.Millisecond, "order %s never projected", id)
				}
			}
			waitFor(before)
			live := readModel(t, svc, before)

			// More sagas arrive while the rebuild runs.
			var during []string
			for i := range 3 {
				during = append(during, fmt.Sprintf("during-%d", i))
			}
			recsDuring := map[string][]*kgo.Record{}
			for i, id := range during {
				recsDuring[id] = encode(t, bus, tp, sagaEvents(id, "alice", t0.Add(time.Duration(10+i)*time.Minute)))
			}
			producer, err := kgo.NewClient(kgo.SeedBrokers(bus.Brokers...))
			require.NoError(t, err)
			t.Cleanup(producer.Close)
			var wg sync.WaitGroup
			var produceErr error
			wg.Go(func() {
				for _, id := range during {
					for _, r := range recsDuring[id] {
						if produceErr = producer.ProduceSync(ctx, r).FirstErr(); produceErr != nil {
							return
						}
					}
				}
			})

			log, err := kafka.NewLog(kafka.LogConfig{ClientOpts: []kgo.Opt{kgo.SeedBrokers(bus.Brokers...)}, Topics: tp.list(),
				Decoder: bus.Codec, BatchSize: 7})
			require.NoError(t, err)
			t.Cleanup(log.Close)
			var phases []string
			report, err := svc.Rebuild(ctx, log, func(p app.Progress) {
				if len(phases) == 0 || phases[len(phases)-1] != p.Phase {
					phases = append(phases, p.Phase)
				}
			})
			require.NoError(t, err)
			wg.Wait()
			require.NoError(t, produceErr)
			require.Equal(t, app.Generation(2), report.Generation)
			require.Equal(t, app.Generation(1), report.Previous)
			require.Contains(t, phases, app.PhaseSwitch)
			require.Equal(t, app.PhaseFinished, phases[len(phases)-1])
			require.GreaterOrEqual(t, report.Read.Read(), int64(4*15), "at least every record produced before")
			require.GreaterOrEqual(t, report.Read[tp[kafka.InventoryTopic]].Skipped, int64(4), "the stock level changes")
			require.GreaterOrEqual(t, report.Stats.Orders, int64(4))
			active, err := store.ActiveGeneration(ctx)
			require.NoError(t, err)
			require.Equal(t, app.Generation(2), active)

			// The rebuilt model of the orders that were there equals the
			// live one ...
			require.Empty(t, differ(live, readModel(t, svc, before)))
			// ... and every order that arrived meanwhile is there in full,
			// whether the catch-up or the live projector brought it.
			waitFor(during)
			for id, rs := range recsDuring {
				records[id] = rs
			}
			want := map[string]*orderhistory.History{}
			var all []string
			for id, rs := range records {
				want[id] = expectedOf(t, bus, id, rs)
				all = append(all, id)
			}
			require.Empty(t, differ(want, readModel(t, svc, all)))

			// A second rebuild drops generation 1 and changes nothing.
			again, err := svc.Rebuild(ctx, log, nil)
			require.NoError(t, err)
			require.Equal(t, app.Generation(3), again.Generation)
			require.Equal(t, app.GenerationStats{Orders: 7, Entries: 7 * 14}, again.Stats)
			require.Equal(t, again.CaughtUp.Total(), again.Read.Read(), "every record read once, from offset 0 to the end")
			require.Empty(t, differ(want, readModel(t, svc, all)))
			gens, err := svc.Generations(ctx)
			require.NoError(t, err)
			require.Len(t, gens, 2)
		})
	})
}

// The log treats a topic that does not exist as empty and reads nothing
// past the offsets it is given.
func TestLogBounds(t *testing.T) {
	t.Parallel()
	kafkatest.Each(t, func(t *testing.T, bus *kafkatest.Bus) {
		ctx := context.Background()
		tp := newTopics(t, bus)
		missing := "missing-" + kafkatest.RandomID(t)
		bus.Produce(t, encode(t, bus, tp, sagaEvents("o-1", "alice", t0))...)
		log, err := kafka.NewLog(kafka.LogConfig{ClientOpts: []kgo.Opt{kgo.SeedBrokers(bus.Brokers...)},
			Topics: append(tp.list(), missing), Decoder: bus.Codec})
		require.NoError(t, err)
		t.Cleanup(log.Close)
		end, err := log.End(ctx)
		require.NoError(t, err)
		require.Empty(t, end[missing])
		require.Equal(t, int64(15), end.Total())

		bus.Produce(t, encode(t, bus, tp, sagaEvents("o-2", "alice", t0))...) // after the end read
		var got []orderhistory.Entry
		stats, err := log.Replay(ctx, nil, end, func(_ context.Context, es []orderhistory.Entry) error {
			got = append(got, es...)
			return nil
		}, nil)
		require.NoError(t, err)
		require.Len(t, got, 14)
		for _, e := range got {
			require.Equal(t, "o-1", e.OrderID)
		}
		require.Equal(t, int64(15), stats.Read())
		require.Equal(t, app.TopicStats{Read: 3, Entries: 2, Skipped: 1}, stats[tp[kafka.InventoryTopic]])

		// From the end to the end reads nothing; from the first end to the
		// second reads only the new order.
		stats, err = log.Replay(ctx, end, end, func(context.Context, []orderhistory.Entry) error { return nil }, nil)
		require.NoError(t, err)
		require.Zero(t, stats.Read())
		later, err := log.End(ctx)
		require.NoError(t, err)
		got = nil
		_, err = log.Replay(ctx, end, later, func(_ context.Context, es []orderhistory.Entry) error {
			got = append(got, es...)
			return nil
		}, nil)
		require.NoError(t, err)
		require.Len(t, got, 14)
		require.Equal(t, "o-2", got[0].OrderID)

		_, err = kafka.NewLog(kafka.LogConfig{})
		require.Error(t, err)
	})
}
