package consumer_test

// The universal event-bus contract suite: every test runs against franz-go's
// in-process kfake broker and against the real Apache Kafka broker of the
// test environment, with the transactional outbox's counterpart on the
// consuming side (inbox + effects in one SQLite transaction).

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	orderingv1 "github.com/agoracommerce/agora/gen/proto/agora/ordering/v1"
	"github.com/agoracommerce/agora/internal/platform/consumer"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/fault"
	"github.com/agoracommerce/agora/internal/platform/inbox"
	"github.com/agoracommerce/agora/internal/platform/kafkatest"
	"github.com/agoracommerce/agora/internal/platform/sqldb"
	"github.com/agoracommerce/agora/internal/platform/sqldb/sqldbtest"
)

// bus wraps the shared harness with this suite's helpers.
type bus struct{ *kafkatest.Bus }

// eachBroker runs fn against kfake and against the real Kafka broker.
func eachBroker(t *testing.T, fn func(t *testing.T, b *bus)) {
	t.Helper()
	kafkatest.Each(t, func(t *testing.T, kb *kafkatest.Bus) { fn(t, &bus{kb}) })
}

func (b *bus) topic(t *testing.T) string { t.Helper(); return b.Topic(t, 3) }

func (b *bus) event(t *testing.T, topic, key string, n int) events.Event {
	t.Helper()
	return b.OrderPlaced(t, topic, key, n)
}

func (b *bus) produceRecords(t *testing.T, recs ...*kgo.Record) {
	t.Helper()
	b.Produce(t, recs...)
}

// produce publishes count events per key, interleaved, and returns them.
func (b *bus) produce(t *testing.T, topic string, keys, perKey int) []events.Event {
	t.Helper()
	var evs []events.Event
	var recs []*kgo.Record
	for n := range perKey {
		for k := range keys {
			ev := b.event(t, topic, fmt.Sprintf("order-%d", k), n)
			evs = append(evs, ev)
			recs = append(recs, ev.Record())
		}
	}
	b.produceRecords(t, recs...)
	return evs
}

// effects is the consuming service's database: the inbox plus a table of
// applied effects that deliberately allows duplicates, so doubles show.
type effects struct {
	db    *sqldb.DB
	inbox *inbox.Store
}

func newEffects(t *testing.T) *effects {
	t.Helper()
	db := sqldbtest.SQLite(t)
	in, err := inbox.NewStore(context.Background(), db)
	require.NoError(t, err)
	_, err = db.Exec(`CREATE TABLE effects (applied INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL, order_key TEXT NOT NULL, n INTEGER NOT NULL)`)
	require.NoError(t, err)
	return &effects{db: db, inbox: in}
}

func (e *effects) apply(ctx context.Context, tx *sql.Tx, m *consumer.Message) error {
	placed := m.Event.(*orderingv1.OrderEvent).GetOrderPlaced()
	n, err := strconv.Atoi(placed.GetCustomerId())
	if err != nil {
		return fault.Permanent(err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO effects (event_id, order_key, n) VALUES (?, ?, ?)`, m.Meta.ID, placed.GetOrderId(), n)
	return err
}

func (e *effects) count(t *testing.T) int {
	t.Helper()
	var n int
	require.NoError(t, e.db.QueryRow(`SELECT count(*) FROM effects`).Scan(&n))
	return n
}

// requireExactlyOnce checks that every event was applied once, none twice,
// and that each key's events were applied in the order produced.
func (e *effects) requireExactlyOnce(t *testing.T, evs []events.Event) {
	t.Helper()
	rows, err := e.db.Query(`SELECT event_id, order_key, n FROM effects ORDER BY applied`)
	require.NoError(t, err)
	defer func() { _ = rows.Close() }()
	applied := map[string]int{}
	lastN := map[string]int{}
	for rows.Next() {
		var id, key string
		var n int
		require.NoError(t, rows.Scan(&id, &key, &n))
		applied[id]++
		if prev, ok := lastN[key]; ok {
			require.Greater(t, n, prev, "events of %s applied out of order", key)
		}
		lastN[key] = n
	}
	require.NoError(t, rows.Err())
	for _, ev := range evs {
		require.Equal(t, 1, applied[ev.Metadata.ID], "event %s applied %d times", ev.Metadata.ID, applied[ev.Metadata.ID])
	}
	require.Len(t, applied, len(evs), "effects of events that were never produced")
}

func (e *effects) waitFor(t *testing.T, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return e.count(t) >= n }, 60*time.Second, 20*time.Millisecond,
		"applied %d of %d effects", e.count(t), n)
}

type running struct {
	cancel context.CancelFunc
	done   chan struct{} // closed when Run returned
	err    error
}

func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	r.wait(t)
}

func (r *running) wait(t *testing.T) {
	t.Helper()
	select {
	case <-r.done:
		require.NoError(t, r.err)
	case <-time.After(30 * time.Second):
		t.Fatal("consumer did not stop within 30s")
	}
}

func (b *bus) config(topic string, handler consumer.Handler) consumer.Config {
	return consumer.Config{
		ClientOpts: []kgo.Opt{kgo.SeedBrokers(b.Brokers...), kgo.FetchMaxWait(200 * time.Millisecond)},
		Group:      topic + "-group",
		Topics:     []string{topic},
		Decoder:    b.Codec,
		Handler:    handler,
		Retry:      consumer.RetryPolicy{MaxAttempts: 3, InitialInterval: 5 * time.Millisecond, MaxInterval: 20 * time.Millisecond},
	}
}

func start(t *testing.T, cfg consumer.Config) *running {
	t.Helper()
	c, err := consumer.New(cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.err = c.Run(ctx)
	}()
	t.Cleanup(func() { r.stop(t) })
	return r
}

func (b *bus) startDeduped(t *testing.T, topic string, fx *effects) *running {
	t.Helper()
	return start(t, b.config(topic, consumer.Dedupe(fx.inbox, topic+"-group", fx.apply)))
}

func TestOrderPerKeyAndNoLoss(t *testing.T) {
	t.Parallel()
	eachBroker(t, func(t *testing.T, b *bus) {
		topic := b.topic(t)
		evs := b.produce(t, topic, 10, 30)
		fx := newEffects(t)
		b.startDeduped(t, topic, fx)
		fx.waitFor(t, len(evs))
		fx.requireExactlyOnce(t, evs)
	})
}

func TestNoLossAcrossConsumerRestart(t *testing.T) {
	t.Parallel()
	eachBroker(t, func(t *testing.T, b *bus) {
		topic := b.topic(t)
		evs := b.produce(t, topic, 5, 40)
		fx := newEffects(t)
		first := b.startDeduped(t, topic, fx)
		fx.waitFor(t, 50)
		first.stop(t)

		b.startDeduped(t, topic, fx)
		fx.waitFor(t, len(evs))
		fx.requireExactlyOnce(t, evs)
	})
}

func TestNoLossNoDoubleAcrossRebalance(t *testing.T) {
	t.Parallel()
	eachBroker(t, func(t *testing.T, b *bus) {
		topic := b.topic(t)
		fx := newEffects(t)

		var (
			mu       sync.Mutex
			produced []events.Event
			wg       sync.WaitGroup
		)
		wg.Add(1)
		go func() { // keep producing while members join and leave
			defer wg.Done()
			for batch := range 20 {
				var recs []*kgo.Record
				for k := range 6 {
					ev := b.event(t, topic, fmt.Sprintf("order-%d", k), batch)
					recs = append(recs, ev.Record())
					mu.Lock()
					produced = append(produced, ev)
					mu.Unlock()
				}
				b.produceRecords(t, recs...)
				time.Sleep(25 * time.Millisecond)
			}
		}()

		a := b.startDeduped(t, topic, fx)
		time.Sleep(100 * time.Millisecond)
		c2 := b.startDeduped(t, topic, fx)
		time.Sleep(150 * time.Millisecond)
		b.startDeduped(t, topic, fx)
		time.Sleep(100 * time.Millisecond)
		a.stop(t)
		time.Sleep(100 * time.Millisecond)
		c2.stop(t)
		wg.Wait()

		fx.waitFor(t, len(produced))
		fx.requireExactlyOnce(t, produced)
	})
}

func TestRedeliveryAfterRetryableError(t *testing.T) {
	t.Parallel()
	eachBroker(t, func(t *testing.T, b *bus) {
		topic := b.topic(t)
		evs := b.produce(t, topic, 1, 3)
		flaky := evs[1].Metadata.ID
		var attempts atomic.Int32
		fx := newEffects(t)
		dedupe := consumer.Dedupe(fx.inbox, topic+"-group", fx.apply)
		start(t, b.config(topic, func(ctx context.Context, m *consumer.Message) error {
			if m.Meta.ID == flaky {
				if attempts.Add(1) < 3 {
					return fault.Retryable(fmt.Errorf("transient failure on attempt %d", m.Attempt))
				}
			}
			return dedupe(ctx, m)
		}))
		fx.waitFor(t, len(evs))
		fx.requireExactlyOnce(t, evs)
		require.EqualValues(t, 3, attempts.Load(), "two failed attempts, then success")
	})
}

func TestDeadLetterAfterExhaustedRetries(t *testing.T) {
	t.Parallel()
	eachBroker(t, func(t *testing.T, b *bus) {
		topic := b.topic(t)
		evs := b.produce(t, topic, 1, 3)
		doomed := evs[1]
		fx := newEffects(t)
		dedupe := consumer.Dedupe(fx.inbox, topic+"-group", fx.apply)
		start(t, b.config(topic, func(ctx context.Context, m *consumer.Message) error {
			if m.Meta.ID == doomed.Metadata.ID {
				return fault.Retryable(fmt.Errorf("processor unavailable"))
			}
			return dedupe(ctx, m)
		}))
		dead := b.readDLQ(t, topic+"-group.dlq", 1)
		fx.waitFor(t, 2)
		fx.requireExactlyOnce(t, []events.Event{evs[0], evs[2]})

		h := headers(dead[0])
		require.Equal(t, consumer.ReasonRetriesExhausted, h[consumer.HeaderDLQReason])
		require.Equal(t, "3", h[consumer.HeaderDLQAttempts])
		require.Equal(t, topic, h[consumer.HeaderDLQTopic])
		partition, err := strconv.Atoi(h[consumer.HeaderDLQPartition])
		require.NoError(t, err)
		require.True(t, partition >= 0 && partition < 3, "partition %d", partition)
		offset, err := strconv.Atoi(h[consumer.HeaderDLQOffset])
		require.NoError(t, err)
		require.Equal(t, 1, offset, "the second record of its partition")
		require.Contains(t, h[consumer.HeaderDLQError], "processor unavailable")
		require.Equal(t, doomed.Metadata.ID, h[events.HeaderID], "original headers are kept")
		require.Equal(t, doomed.Value, dead[0].Value, "original value is kept")
	})
}

func TestPoisonMessagesAreDeadLetteredAndThePartitionFlows(t *testing.T) {
	t.Parallel()
	eachBroker(t, func(t *testing.T, b *bus) {
		topic := b.topic(t)
		good := b.event(t, topic, "order-1", 1)
		later := b.event(t, topic, "order-1", 2)
		garbage := good.Record()
		garbage.Value = []byte("not a confluent frame")
		unknownSchema := good.Record()
		unknownSchema.Value = append([]byte{0, 0, 0, 0x7f, 0x7f, 0}, good.Value[6:]...)
		noHeaders := &kgo.Record{Topic: topic, Key: []byte("order-1"), Value: good.Value}
		badHandler := b.event(t, topic, "order-1", 3) // the handler rejects it as invalid
		b.produceRecords(t, good.Record(), garbage, unknownSchema, noHeaders, badHandler.Record(), later.Record())

		fx := newEffects(t)
		dedupe := consumer.Dedupe(fx.inbox, topic+"-group", fx.apply)
		start(t, b.config(topic, func(ctx context.Context, m *consumer.Message) error {
			if m.Meta.ID == badHandler.Metadata.ID {
				return fault.Permanent(fmt.Errorf("order has no lines"))
			}
			return dedupe(ctx, m)
		}))
		dead := b.readDLQ(t, topic+"-group.dlq", 4)
		fx.waitFor(t, 2)
		fx.requireExactlyOnce(t, []events.Event{good, later})

		var reasons []string
		for _, r := range dead {
			reasons = append(reasons, headers(r)[consumer.HeaderDLQReason])
		}
		require.Equal(t, []string{consumer.ReasonMalformed, consumer.ReasonUnknownSchema, consumer.ReasonInvalidMetadata, consumer.ReasonHandlerFailed}, reasons)
	})
}

func TestGracefulShutdownFinishesInFlightWork(t *testing.T) {
	t.Parallel()
	eachBroker(t, func(t *testing.T, b *bus) {
		topic := b.topic(t)
		evs := b.produce(t, topic, 1, 5)
		fx := newEffects(t)
		dedupe := consumer.Dedupe(fx.inbox, topic+"-group", fx.apply)
		entered := make(chan struct{})
		release := make(chan struct{})
		var once sync.Once
		first := start(t, b.config(topic, func(ctx context.Context, m *consumer.Message) error {
			if m.Meta.ID == evs[0].Metadata.ID {
				once.Do(func() { close(entered) })
				<-release
			}
			return dedupe(ctx, m)
		}))
		<-entered
		first.cancel() // stop while the first event is in flight
		time.Sleep(50 * time.Millisecond)
		close(release)
		first.wait(t)
		require.Equal(t, 1, fx.count(t), "the in-flight event completed; nothing after it started")

		b.startDeduped(t, topic, fx)
		fx.waitFor(t, len(evs))
		fx.requireExactlyOnce(t, evs)
	})
}

func TestBatchHandlerAndFallbackToSingles(t *testing.T) {
	t.Parallel()
	eachBroker(t, func(t *testing.T, b *bus) {
		topic := b.topic(t)
		evs := b.produce(t, topic, 3, 50)
		poison := evs[70]
		fx := newEffects(t)
		var largest atomic.Int32
		cfg := b.config(topic, nil)
		cfg.BatchHandler = consumer.DedupeBatch(fx.inbox, topic+"-group", func(ctx context.Context, tx *sql.Tx, ms []*consumer.Message) error {
			if n := int32(len(ms)); n > largest.Load() {
				largest.Store(n)
			}
			for _, m := range ms {
				if m.Meta.ID == poison.Metadata.ID {
					return fault.Permanent(fmt.Errorf("poison in batch"))
				}
				if err := fx.apply(ctx, tx, m); err != nil {
					return err
				}
			}
			return nil
		})
		start(t, cfg)
		b.readDLQ(t, topic+"-group.dlq", 1)
		want := append(append([]events.Event{}, evs[:70]...), evs[71:]...)
		fx.waitFor(t, len(want))
		fx.requireExactlyOnce(t, want)
		require.Greater(t, int(largest.Load()), 1, "batches apply many events in one transaction")
	})
}

func (b *bus) readDLQ(t *testing.T, topic string, n int) []*kgo.Record {
	t.Helper()
	return b.Read(t, topic, n)
}

func headers(r *kgo.Record) map[string]string { return kafkatest.Headers(r) }
