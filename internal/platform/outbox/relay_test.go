package outbox_test

// The relay runs against franz-go's in-process kfake broker and against the
// real Apache Kafka broker of the test environment, over outboxes on SQLite
// and PostgreSQL; the events are real Agora events encoded by the codec.

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	protos "github.com/agoracommerce/agora/api/proto"
	orderingv1 "github.com/agoracommerce/agora/gen/proto/agora/ordering/v1"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/outbox"
	"github.com/agoracommerce/agora/internal/platform/outbox/outboxtest"
	"github.com/agoracommerce/agora/internal/platform/sqldb"
	"github.com/agoracommerce/agora/internal/platform/sqldb/sqldbtest"
	"github.com/agoracommerce/agora/internal/testenv"
)

// cluster is one broker under test.
type cluster struct {
	brokers []string
	admin   *kadm.Client
}

// eachBroker runs fn against kfake and against the real Kafka broker.
func eachBroker(t *testing.T, fn func(t *testing.T, k *cluster)) {
	t.Helper()
	t.Run("kfake", func(t *testing.T) {
		t.Parallel()
		c, err := kfake.NewCluster(kfake.NumBrokers(1))
		require.NoError(t, err)
		t.Cleanup(c.Close)
		fn(t, newCluster(t, c.ListenAddrs()))
	})
	t.Run("kafka", func(t *testing.T) {
		t.Parallel()
		fn(t, newCluster(t, testenv.KafkaBrokers(t)))
	})
}

func newCluster(t *testing.T, brokers []string) *cluster {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	return &cluster{brokers: brokers, admin: kadm.NewClient(cl)}
}

// topic creates a fresh three-partition topic, deleted when the test ends.
func (k *cluster) topic(t *testing.T) string {
	t.Helper()
	b := make([]byte, 6)
	_, err := rand.Read(b)
	require.NoError(t, err)
	name := "outbox-" + hex.EncodeToString(b)
	_, err = k.admin.CreateTopic(context.Background(), 3, 1, nil, name)
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = k.admin.DeleteTopics(context.Background(), name) })
	return name
}

// producer is a client with franz-go's defaults: idempotent, acks=all.
func (k *cluster) producer(t *testing.T) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.brokers...))
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	return cl
}

// consume reads n records of topic from the start, then checks that the
// topic holds exactly n: nothing was published twice.
func (k *cluster) consume(t *testing.T, topic string, n int, within time.Duration) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
	require.NoError(t, err)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		require.NoError(t, ctx.Err(), "read %d of %d records", len(out), n)
		for _, fe := range fs.Errors() {
			require.NoError(t, fe.Err, "fetch %s/%d", fe.Topic, fe.Partition)
		}
		fs.EachRecord(func(r *kgo.Record) { out = append(out, r) })
	}
	ends, err := k.admin.ListEndOffsets(context.Background(), topic)
	require.NoError(t, err)
	var total int64
	ends.Each(func(o kadm.ListedOffset) {
		require.NoError(t, o.Err)
		total += o.Offset
	})
	require.EqualValues(t, n, total, "records on the topic")
	return out
}

// newCodec returns the event codec over franz-go's fake schema registry.
func newCodec(t *testing.T) *events.Codec {
	t.Helper()
	reg := srfake.New()
	t.Cleanup(reg.Close)
	cl, err := sr.NewClient(sr.URLs(reg.URL()))
	require.NoError(t, err)
	codec, err := events.NewCodec(events.CodecConfig{Registry: cl, Sources: protos.FS, AutoRegister: true})
	require.NoError(t, err)
	return codec
}

// fixture is an outbox filled with real events.
type fixture struct {
	db    *sqldb.DB
	store *outbox.Store
	codec *events.Codec
	topic string
}

func newFixture(t *testing.T, db *sqldb.DB, topic string, now func() time.Time) *fixture {
	t.Helper()
	return &fixture{db: db, store: mustStore(t, db, now), codec: newCodec(t), topic: topic}
}

// write adds perKey OrderPlaced events for each of keys orders, interleaved,
// a few per transaction, and returns them in insertion order. The n-th
// event of a key carries n as its customer ID.
func (f *fixture) write(t *testing.T, keys, perKey int) []events.Event {
	t.Helper()
	ctx := context.Background()
	var all []events.Event
	for n := range perKey {
		var tx []events.Event
		for k := range keys {
			key := fmt.Sprintf("order-%d", k)
			env := &orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderPlaced{OrderPlaced: &orderingv1.OrderPlaced{
				OrderId: key, CustomerId: strconv.Itoa(n),
			}}}
			ev, err := f.codec.NewEvent(ctx, f.topic, "agora/ordering", key, env, time.Now())
			require.NoError(t, err)
			tx = append(tx, ev)
		}
		require.NoError(t, f.db.InTx(ctx, func(sqlTx *sql.Tx) error { return f.store.Add(ctx, sqlTx, tx...) }))
		all = append(all, tx...)
	}
	return all
}

// requireDelivered checks that recs are exactly evs: keys, values and
// CloudEvents headers intact, each once, and each key's in insertion order.
func (f *fixture) requireDelivered(t *testing.T, evs []events.Event, recs []*kgo.Record) {
	t.Helper()
	want := map[string][]events.Event{}
	for _, ev := range evs {
		want[ev.Key] = append(want[ev.Key], ev)
	}
	got := map[string][]events.Event{}
	for _, r := range recs {
		meta, err := events.MetadataFromHeaders(r.Headers)
		require.NoError(t, err)
		ct, _ := events.Header(r.Headers, events.HeaderContentType)
		require.Equal(t, events.ContentType, ct)
		msg, err := f.codec.Decode(context.Background(), r.Value)
		require.NoError(t, err, "the value is a registered Confluent frame")
		placed := msg.(*orderingv1.OrderEvent).GetOrderPlaced()
		require.Equal(t, string(r.Key), placed.GetOrderId())
		got[string(r.Key)] = append(got[string(r.Key)], events.Event{Topic: r.Topic, Key: string(r.Key), Value: r.Value, Metadata: meta})
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("delivered events differ, per key in order (-want +got):\n%s", d)
	}
}

func (f *fixture) requireBacklog(t *testing.T, want int64) {
	t.Helper()
	st, err := f.store.Stats(context.Background())
	require.NoError(t, err)
	require.Equal(t, want, st.Backlog, "unpublished rows")
}

func newRelay(t *testing.T, cfg outbox.RelayConfig) *outbox.Relay {
	t.Helper()
	r, err := outbox.NewRelay(cfg)
	require.NoError(t, err)
	return r
}

// running is a relay's Run in its own goroutine.
type running struct {
	cancel context.CancelFunc
	done   chan error
}

func run(t *testing.T, r *outbox.Relay) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	rr := &running{cancel: cancel, done: make(chan error, 1)}
	go func() { rr.done <- r.Run(ctx) }()
	t.Cleanup(func() { rr.stop(t, 30*time.Second) })
	return rr
}

// stop cancels Run and waits up to within for it to return nil.
func (rr *running) stop(t *testing.T, within time.Duration) {
	t.Helper()
	rr.cancel()
	select {
	case err, ok := <-rr.done:
		if ok {
			require.NoError(t, err)
			close(rr.done)
		}
	case <-time.After(within):
		t.Fatalf("Run did not return within %s of the cancel", within)
	}
}

func TestRelayDrainsOutboxInOrder(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, open func(testing.TB) *sqldb.DB) {
		eachBroker(t, func(t *testing.T, k *cluster) {
			topic := k.topic(t)
			f := newFixture(t, open(t), topic, nil)
			evs := f.write(t, 8, 25)
			run(t, newRelay(t, outbox.RelayConfig{Source: f.store, Producer: k.producer(t), BatchSize: 64}))

			recs := k.consume(t, topic, len(evs), 30*time.Second)
			f.requireDelivered(t, evs, recs)
			require.Eventually(t, func() bool {
				st, err := f.store.Stats(context.Background())
				return err == nil && st.Backlog == 0
			}, 10*time.Second, 10*time.Millisecond, "every row is marked published")
		})
	})
}

var errInjected = errors.New("injected produce failure")

// flakyProducer fails chosen records once. Like the kgo client, whose
// idempotent producer fails every later record of a partition after a
// failed one (gapless ordering), it also fails the later records of the
// failed record's key in the same call. The rest goes to the broker. It
// returns the results with the failures first, as ProduceSync reports in
// acknowledgement order, not in the order given.
type flakyProducer struct {
	next outbox.Producer
	mu   sync.Mutex
	fail map[string]bool // event IDs to fail on their next attempt
}

func (p *flakyProducer) ProduceSync(ctx context.Context, rs ...*kgo.Record) kgo.ProduceResults {
	p.mu.Lock()
	var (
		failed kgo.ProduceResults
		pass   []*kgo.Record
		keys   = map[string]bool{}
	)
	for _, r := range rs {
		id, _ := events.Header(r.Headers, events.HeaderID)
		key := r.Topic + "\x00" + string(r.Key)
		switch {
		case keys[key]:
		case p.fail[id]:
			delete(p.fail, id)
			keys[key] = true
		default:
			pass = append(pass, r)
			continue
		}
		failed = append(failed, kgo.ProduceResult{Record: r, Err: errInjected})
	}
	p.mu.Unlock()
	return append(failed, p.next.ProduceSync(ctx, pass...)...)
}

func TestRelayRetriesFailedRowsInOrder(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, open func(testing.TB) *sqldb.DB) {
		eachBroker(t, func(t *testing.T, k *cluster) {
			ctx := context.Background()
			topic := k.topic(t)
			f := newFixture(t, open(t), topic, nil)
			evs := f.write(t, 4, 10) // evs[n*4+k] is the n-th event of order-k
			nth := func(key, n int) string { return evs[n*4+key].Metadata.ID }
			p := &flakyProducer{next: k.producer(t), fail: map[string]bool{
				nth(0, 3): true, // order-0 fails from its 4th event
				nth(2, 0): true, // order-2 fails from its 1st event...
				nth(2, 7): true, // ...and on the retry from its 8th
			}}
			reader := sdkmetric.NewManualReader()
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
			t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
			relay := newRelay(t, outbox.RelayConfig{
				Source: f.store, Producer: p, Owner: "relay-1", MinPoll: time.Millisecond, MaxPoll: 20 * time.Millisecond,
				Meter: mp.Meter("test"),
			})

			n, err := relay.RelayOnce(ctx)
			require.ErrorIs(t, err, errInjected)
			require.Equal(t, 40-7-10, n, "everything but order-0 from its 4th event and all of order-2")
			f.requireBacklog(t, 17)
			rows, err := f.store.Claim(ctx, "relay-2", 100, time.Minute)
			require.NoError(t, err)
			require.Empty(t, rows, "the failed rows stay leased to their relay")

			// Run retries at once: order-0 goes out, order-2 fails again
			// from its 8th event, then the rest goes out.
			run(t, relay)
			recs := k.consume(t, topic, len(evs), 30*time.Second)
			f.requireDelivered(t, evs, recs)
			require.Eventually(t, func() bool {
				st, err := f.store.Stats(ctx)
				return err == nil && st.Backlog == 0
			}, 10*time.Second, 10*time.Millisecond, "every row is marked published")

			owner := attribute.NewSet(attribute.String("relay.owner", "relay-1"))
			m := collect(t, reader)
			require.Equal(t, map[attribute.Set]int64{owner: 40}, m.sums["agora.outbox.published"])
			require.Equal(t, map[attribute.Set]int64{owner: 17 + 3}, m.sums["agora.outbox.produce_failures"])
		})
	})
}

// orderedProducer acknowledges every record but reports the results in
// reverse order and fails the records whose event IDs it is told to.
type orderedProducer struct {
	fail map[string]bool
	sent []*kgo.Record
}

func (p *orderedProducer) ProduceSync(_ context.Context, rs ...*kgo.Record) kgo.ProduceResults {
	out := make(kgo.ProduceResults, 0, len(rs))
	for _, r := range slices.Backward(rs) {
		id, _ := events.Header(r.Headers, events.HeaderID)
		var err error
		if p.fail[id] {
			err = errInjected
		} else {
			p.sent = append(p.sent, r)
		}
		out = append(out, kgo.ProduceResult{Record: r, Err: err})
	}
	return out
}

// The relay matches produce results to rows by record, not by position:
// ProduceSync reports them in the order the broker acknowledged them.
func TestRelayMatchesResultsToRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, sqldbtest.SQLite(t), "orders", nil)
	var evs []events.Event
	for n := range 4 {
		for _, key := range []string{"a", "b", "c"} {
			evs = append(evs, outboxtest.Event("orders", key, n, time.Now()))
		}
	}
	require.NoError(t, f.db.InTx(ctx, func(tx *sql.Tx) error { return f.store.Add(ctx, tx, evs...) }))
	// evs: a0 b0 c0 a1 b1 c1 a2 b2 c2 a3 b3 c3; b1 fails.
	p := &orderedProducer{fail: map[string]bool{evs[4].Metadata.ID: true}}
	relay := newRelay(t, outbox.RelayConfig{Source: f.store, Producer: p, Owner: "relay-1"})
	n, err := relay.RelayOnce(ctx)
	require.ErrorIs(t, err, errInjected)
	require.Equal(t, 12-3, n, "b1 and the later b rows are kept")

	rows, err := f.store.Claim(ctx, "relay-1", 100, time.Minute)
	require.NoError(t, err)
	var left []string
	for _, r := range rows {
		left = append(left, r.Event.Metadata.ID)
	}
	require.Equal(t, []string{evs[4].Metadata.ID, evs[7].Metadata.ID, evs[10].Metadata.ID}, left, "exactly b1, b2 and b3 are unpublished")
}

func TestRelayWakesOnPostgresNotify(t *testing.T) {
	t.Parallel()
	eachBroker(t, func(t *testing.T, k *cluster) {
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		db := sqldbtest.Postgres(t)
		topic := k.topic(t)
		f := newFixture(t, db, topic, nil)
		wake := outbox.ListenPostgres(ctx, db.URL, nil)
		// The listener connects in the background: notify until it hears.
		require.Eventually(t, func() bool {
			if _, err := db.ExecContext(ctx, `SELECT pg_notify('agora_outbox', '')`); err != nil {
				return false
			}
			select {
			case <-wake:
				return true
			case <-time.After(100 * time.Millisecond):
				return false
			}
		}, 20*time.Second, time.Millisecond, "the listener never heard a notification")

		src := &watchedSource{Source: f.store, idle: make(chan struct{}, 1)}
		const maxPoll = 10 * time.Second
		run(t, newRelay(t, outbox.RelayConfig{Source: src, Producer: k.producer(t), MinPoll: maxPoll, MaxPoll: maxPoll, Wake: wake}))
		select {
		case <-src.idle: // the relay found nothing and now waits up to maxPoll
		case <-time.After(10 * time.Second):
			t.Fatal("the relay never polled")
		}

		start := time.Now()
		evs := f.write(t, 1, 1)
		recs := k.consume(t, topic, 1, 5*time.Second)
		require.Less(t, time.Since(start), maxPoll/2, "the notification cut the wait short")
		f.requireDelivered(t, evs, recs)
	})
}

// watchedSource signals each claim that found nothing.
type watchedSource struct {
	outbox.Source
	idle chan struct{}
}

func (s *watchedSource) Claim(ctx context.Context, owner string, limit int, lease time.Duration) ([]outbox.Row, error) {
	rows, err := s.Source.Claim(ctx, owner, limit, lease)
	if err == nil && len(rows) == 0 {
		select {
		case s.idle <- struct{}{}:
		default:
		}
	}
	return rows, err
}

// gatedProducer holds ProduceSync until released.
type gatedProducer struct {
	next    outbox.Producer
	entered chan struct{}
	release chan struct{}
}

func (p *gatedProducer) ProduceSync(ctx context.Context, rs ...*kgo.Record) kgo.ProduceResults {
	p.entered <- struct{}{}
	<-p.release
	return p.next.ProduceSync(ctx, rs...)
}

func TestRelayStopsOnCancel(t *testing.T) {
	t.Parallel()
	eachBroker(t, func(t *testing.T, k *cluster) {
		t.Run("idle", func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, sqldbtest.SQLite(t), k.topic(t), nil)
			src := &watchedSource{Source: f.store, idle: make(chan struct{}, 1)}
			rr := run(t, newRelay(t, outbox.RelayConfig{Source: src, Producer: k.producer(t), MinPoll: time.Minute, MaxPoll: time.Minute}))
			<-src.idle
			rr.stop(t, 5*time.Second) // well under the minute it would wait
		})
		t.Run("finishes the batch in flight", func(t *testing.T) {
			t.Parallel()
			topic := k.topic(t)
			f := newFixture(t, sqldbtest.SQLite(t), topic, nil)
			evs := f.write(t, 3, 5)
			p := &gatedProducer{next: k.producer(t), entered: make(chan struct{}, 1), release: make(chan struct{})}
			rr := run(t, newRelay(t, outbox.RelayConfig{Source: f.store, Producer: p}))
			<-p.entered
			rr.cancel() // stop while the batch is being produced
			close(p.release)
			rr.stop(t, 30*time.Second)
			f.requireBacklog(t, 0)
			f.requireDelivered(t, evs, k.consume(t, topic, len(evs), 30*time.Second))
		})
	})
}

func TestRelayMetrics(t *testing.T) {
	t.Parallel()
	eachBroker(t, func(t *testing.T, k *cluster) {
		ctx := context.Background()
		clock := outboxtest.NewClock(time.Now())
		topic := k.topic(t)
		f := newFixture(t, sqldbtest.SQLite(t), topic, clock.Now)
		evs := f.write(t, 3, 10)
		clock.Advance(42 * time.Second)

		reader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
		relay := newRelay(t, outbox.RelayConfig{Source: f.store, Producer: k.producer(t), Owner: "relay-1", Meter: mp.Meter("test")})

		m := collect(t, reader)
		require.Equal(t, int64(len(evs)), m.ints["agora.outbox.backlog"])
		require.InDelta(t, 42.0, m.floats["agora.outbox.oldest_age"], 1e-6)
		require.Empty(t, m.sums["agora.outbox.published"])

		n, err := relay.RelayOnce(ctx)
		require.NoError(t, err)
		require.Equal(t, len(evs), n)
		m = collect(t, reader)
		owner := attribute.NewSet(attribute.String("relay.owner", "relay-1"))
		require.Equal(t, map[attribute.Set]int64{owner: int64(len(evs))}, m.sums["agora.outbox.published"])
		require.Empty(t, m.sums["agora.outbox.produce_failures"])
		require.Zero(t, m.ints["agora.outbox.backlog"])
		require.Zero(t, m.floats["agora.outbox.oldest_age"])
		f.requireDelivered(t, evs, k.consume(t, topic, len(evs), 30*time.Second))
	})
}

// metrics is one collection: counters by attribute set, gauges by name.
type metrics struct {
	sums   map[string]map[attribute.Set]int64
	ints   map[string]int64
	floats map[string]float64
}

func collect(t *testing.T, reader *sdkmetric.ManualReader) metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	m := metrics{sums: map[string]map[attribute.Set]int64{}, ints: map[string]int64{}, floats: map[string]float64{}}
	for _, sm := range rm.ScopeMetrics {
		for _, mm := range sm.Metrics {
			switch data := mm.Data.(type) {
			case metricdata.Sum[int64]:
				m.sums[mm.Name] = map[attribute.Set]int64{}
				for _, dp := range data.DataPoints {
					m.sums[mm.Name][dp.Attributes] = dp.Value
				}
			case metricdata.Gauge[int64]:
				require.Len(t, data.DataPoints, 1, mm.Name)
				m.ints[mm.Name] = data.DataPoints[0].Value
			case metricdata.Gauge[float64]:
				require.Len(t, data.DataPoints, 1, mm.Name)
				m.floats[mm.Name] = data.DataPoints[0].Value
			}
		}
	}
	return m
}

func TestRelayConfigValidation(t *testing.T) {
	t.Parallel()
	src := mustStore(t, sqldbtest.SQLite(t), nil)
	prod := &orderedProducer{}
	for _, tc := range []struct {
		name string
		cfg  outbox.RelayConfig
		ok   bool
	}{
		{"defaults", outbox.RelayConfig{Source: src, Producer: prod}, true},
		{"no source", outbox.RelayConfig{Producer: prod}, false},
		{"no producer", outbox.RelayConfig{Source: src}, false},
		{"min poll above max poll", outbox.RelayConfig{Source: src, Producer: prod, MinPoll: time.Second, MaxPoll: time.Millisecond}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := outbox.NewRelay(tc.cfg)
			if !tc.ok {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, "outbox-relay", r.Name())
		})
	}
}

// TopicPrefix namespaces the topic of every produced record; the row keeps
// its own topic.
func TestRelayPrefixesTopics(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, sqldbtest.SQLite(t), "orders", nil)
	require.NoError(t, f.db.InTx(ctx, func(tx *sql.Tx) error {
		return f.store.Add(ctx, tx, outboxtest.Event("orders", "a", 0, time.Now()), outboxtest.Event("orders", "b", 0, time.Now()))
	}))
	p := &orderedProducer{}
	relay := newRelay(t, outbox.RelayConfig{Source: f.store, Producer: p, Owner: "relay-1", TopicPrefix: "staging."})
	n, err := relay.RelayOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.Len(t, p.sent, 2)
	for _, r := range p.sent {
		require.Equal(t, "staging.orders", r.Topic)
	}
}
