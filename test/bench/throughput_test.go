// Package bench_test measures the throughput of Agora's event backbone on the
// test environment's real Kafka broker and PostgreSQL server, in one run:
//
//  1. raw franz-go produce with the relay's client settings (idempotent
//     producer, acks=all), asynchronously and in synchronous batches the
//     size of a relay batch;
//  2. the outbox relay draining a pre-filled PostgreSQL outbox;
//  3. a consumer group applying the events through the inbox, one
//     transaction per event (consumer.Dedupe) and one per batch
//     (consumer.DedupeBatch).
//
// It is skipped unless AGORA_BENCH=1, so `make test` stays fast:
//
//	AGORA_BENCH=1 go test ./test/bench -run TestBackboneThroughput -v -count=1 -timeout 20m
//
// Knobs (environment): AGORA_BENCH_RECORDS (default 50000),
// AGORA_BENCH_PARTITIONS (6), AGORA_BENCH_RELAY_BATCH (1000),
// AGORA_BENCH_RELAYS (2: a second run with that many relays at once over
// the same outbox; 1 skips it),
// AGORA_BENCH_MAX_POLL (1000) and AGORA_BENCH_WORKERS (6).
package bench_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"google.golang.org/protobuf/types/known/timestamppb"

	protos "github.com/agoracommerce/agora/api/proto"
	commonv1 "github.com/agoracommerce/agora/gen/proto/agora/common/v1"
	orderingv1 "github.com/agoracommerce/agora/gen/proto/agora/ordering/v1"
	"github.com/agoracommerce/agora/internal/platform/consumer"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/inbox"
	"github.com/agoracommerce/agora/internal/platform/outbox"
	"github.com/agoracommerce/agora/internal/platform/schemaregistry"
	"github.com/agoracommerce/agora/internal/platform/schemaregistry/sqlstore"
	"github.com/agoracommerce/agora/internal/platform/sqldb"
	"github.com/agoracommerce/agora/internal/platform/sqldb/sqldbtest"
	"github.com/agoracommerce/agora/internal/testenv"
)

// benchConfig holds the knobs of one run.
type benchConfig struct {
	Records    int
	Partitions int
	RelayBatch int
	Relays     int
	MaxPoll    int
	Workers    int
}

func loadConfig(t *testing.T) benchConfig {
	t.Helper()
	get := func(name string, def int) int {
		v := os.Getenv(name)
		if v == "" {
			return def
		}
		n, err := strconv.Atoi(v)
		require.NoError(t, err, "%s", name)
		require.Positive(t, n, "%s", name)
		return n
	}
	return benchConfig{
		Records:    get("AGORA_BENCH_RECORDS", 50_000),
		Partitions: get("AGORA_BENCH_PARTITIONS", 6),
		RelayBatch: get("AGORA_BENCH_RELAY_BATCH", 1000),
		Relays:     get("AGORA_BENCH_RELAYS", 2),
		MaxPoll:    get("AGORA_BENCH_MAX_POLL", 1000),
		Workers:    get("AGORA_BENCH_WORKERS", 6),
	}
}

// rig is what every phase shares.
type rig struct {
	cfg     benchConfig
	brokers []string
	admin   *kadm.Client
	codec   *events.Codec
	db      *sqldb.DB
}

func newRig(t *testing.T) *rig {
	t.Helper()
	brokers := testenv.KafkaBrokers(t)
	store, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "registry.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	srv, err := schemaregistry.NewServer(store)
	require.NoError(t, err)
	reg := httptest.NewServer(srv)
	t.Cleanup(reg.Close)
	srcl, err := sr.NewClient(sr.URLs(reg.URL))
	require.NoError(t, err)
	codec, err := events.NewCodec(events.CodecConfig{Registry: srcl, Sources: protos.FS, AutoRegister: true})
	require.NoError(t, err)
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	return &rig{cfg: loadConfig(t), brokers: brokers, admin: kadm.NewClient(cl), codec: codec, db: sqldbtest.Postgres(t)}
}

func (r *rig) topic(t *testing.T, name string) string {
	t.Helper()
	topic := "bench-" + name + "-" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	_, err := r.admin.CreateTopic(context.Background(), int32(r.cfg.Partitions), 1, nil, topic)
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = r.admin.DeleteTopics(context.Background(), topic) })
	// Wait until every partition has a leader, so that no phase pays for
	// the topic's creation.
	require.Eventually(t, func() bool {
		md, err := r.admin.Metadata(context.Background(), topic)
		if err != nil {
			return false
		}
		td, ok := md.Topics[topic]
		if !ok || td.Err != nil || len(td.Partitions) != r.cfg.Partitions {
			return false
		}
		for _, p := range td.Partitions {
			if p.Err != nil || p.Leader < 0 {
				return false
			}
		}
		return true
	}, 30*time.Second, 50*time.Millisecond, "topic %s has no leaders", topic)
	return topic
}

// orderEvents builds n OrderPlaced events over 1,000 orders, each with
// three order lines: a value of about 200 bytes.
func (r *rig) orderEvents(t *testing.T, topic string, n int) []events.Event {
	t.Helper()
	ctx := context.Background()
	orders := make([]string, 1000)
	for i := range orders {
		orders[i] = uuid.NewString()
	}
	now := time.Now()
	evs := make([]events.Event, n)
	for i := range evs {
		order := orders[i%len(orders)]
		env := &orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderPlaced{OrderPlaced: &orderingv1.OrderPlaced{
			OrderId:    order,
			CustomerId: "customer-" + order[:13],
			Lines: []*orderingv1.OrderLine{
				{Sku: "SKU-SHOE-RED-42", Quantity: 1, UnitPrice: &commonv1.Money{AmountMinor: 8999, Currency: "EUR"}},
				{Sku: "SKU-SOCK-BLK-M", Quantity: 3, UnitPrice: &commonv1.Money{AmountMinor: 499, Currency: "EUR"}},
				{Sku: "SKU-LACE-WHT", Quantity: 2, UnitPrice: &commonv1.Money{AmountMinor: 199, Currency: "EUR"}},
			},
			Total:    &commonv1.Money{AmountMinor: int64(10894 + i), Currency: "EUR"},
			PlacedAt: timestamppb.New(now),
		}}}
		ev, err := r.codec.NewEvent(ctx, topic, "agora/ordering", order, env, now)
		require.NoError(t, err)
		evs[i] = ev
	}
	return evs
}

func retopic(evs []events.Event, topic string) []events.Event {
	out := make([]events.Event, len(evs))
	for i, ev := range evs {
		ev.Topic = topic
		out[i] = ev
	}
	return out
}

func records(evs []events.Event) []*kgo.Record {
	out := make([]*kgo.Record, len(evs))
	for i, ev := range evs {
		out[i] = ev.Record()
	}
	return out
}

// producer is the relay's client: franz-go's defaults, i.e. the idempotent
// producer with acks=all, 10ms linger, 1MB batches. It is warmed up with
// one event to topic (a running relay knows its topics already): the first
// ProduceSync to a topic the client has not seen waits for a metadata
// refresh, about 5s with the default linger.
func (r *rig) producer(t *testing.T, topic string) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(r.brokers...))
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	warm := r.orderEvents(t, topic, 1)[0].Record()
	require.NoError(t, cl.ProduceSync(context.Background(), warm).FirstErr())
	return cl
}

// result is one measured phase.
type result struct {
	name    string
	records int
	elapsed time.Duration
	note    string
}

func (r result) rate() float64 { return float64(r.records) / r.elapsed.Seconds() }

func TestBackboneThroughput(t *testing.T) {
	if os.Getenv("AGORA_BENCH") != "1" {
		t.Skip("set AGORA_BENCH=1 to run the throughput benchmark")
	}
	r := newRig(t)
	n := r.cfg.Records
	ctx := context.Background()

	rawTopic := r.topic(t, "raw")
	evs := r.orderEvents(t, rawTopic, n)
	var valueBytes, headerBytes int
	for _, rec := range records(evs) {
		valueBytes += len(rec.Value)
		for _, h := range rec.Headers {
			headerBytes += len(h.Key) + len(h.Value)
		}
	}
	t.Logf("records: %d OrderPlaced events, Protobuf value %d bytes on average (Confluent framing included), "+
		"key 36 bytes, CloudEvents headers %d bytes on average; %d partitions, 1 broker (Kafka %s)",
		n, valueBytes/n, headerBytes/n, r.cfg.Partitions, r.kafkaVersion(t))

	var results []result
	results = append(results, r.rawAsync(t, rawTopic, evs))
	results = append(results, r.rawSyncBatches(t, retopic(evs, r.topic(t, "rawsync"))))

	relayTopic := r.topic(t, "relay")
	store, err := outbox.NewStore(ctx, r.db)
	require.NoError(t, err)
	results = append(results, r.fillOutbox(t, store, retopic(evs, relayTopic)))
	results = append(results, r.relay(t, store, relayTopic, 1))
	if r.cfg.Relays > 1 {
		r.resetOutbox(t)
		results = append(results, r.relay(t, store, relayTopic, r.cfg.Relays))
	}

	in, err := inbox.NewStore(ctx, r.db)
	require.NoError(t, err)
	results = append(results, r.consume(t, in, rawTopic, false))
	results = append(results, r.consume(t, in, rawTopic, true))

	byName := map[string]result{}
	var report strings.Builder
	fmt.Fprintf(&report, "\n%-44s %9s %10s %12s  %s\n", "phase", "records", "seconds", "records/s", "settings")
	for _, res := range results {
		byName[res.name] = res
		fmt.Fprintf(&report, "%-44s %9d %10.2f %12.0f  %s\n", res.name, res.records, res.elapsed.Seconds(), res.rate(), res.note)
	}
	raw := byName["raw produce, async"].rate()
	rawSync := byName["raw produce, ProduceSync per batch"].rate()
	relay1 := byName["relay, 1 relay"].rate()
	relayN := byName[fmt.Sprintf("relay, %d relays", r.cfg.Relays)].rate()
	if r.cfg.Relays == 1 {
		relayN = relay1
	}
	single := byName["consumer, Dedupe (tx per event)"].rate()
	batched := byName["consumer, DedupeBatch (tx per batch)"].rate()
	fmt.Fprintf(&report, "relay / raw async:            %5.1f%% (1 relay), %5.1f%% (%d relays)\n", 100*relay1/raw, 100*relayN/raw, r.cfg.Relays)
	fmt.Fprintf(&report, "relay / raw ProduceSync:      %5.1f%% (1 relay), %5.1f%% (%d relays)\n", 100*relay1/rawSync, 100*relayN/rawSync, r.cfg.Relays)
	fmt.Fprintf(&report, "batched / per-event consumer: %5.1fx\n", batched/single)
	t.Log(report.String())
}

// topicRecords counts the records of topic.
func (r *rig) topicRecords(t *testing.T, topic string) int {
	t.Helper()
	ends, err := r.admin.ListEndOffsets(context.Background(), topic)
	require.NoError(t, err)
	var n int64
	ends.Each(func(o kadm.ListedOffset) {
		require.NoError(t, o.Err)
		n += o.Offset
	})
	return int(n)
}

func (r *rig) kafkaVersion(t *testing.T) string {
	t.Helper()
	versions, err := r.admin.ApiVersions(context.Background())
	require.NoError(t, err)
	for _, v := range versions.Sorted() {
		return v.VersionGuess()
	}
	return "unknown"
}

// rawAsync produces every record at once and waits for all
// acknowledgements: the most the client and broker can do.
func (r *rig) rawAsync(t *testing.T, topic string, evs []events.Event) result {
	t.Helper()
	cl := r.producer(t, topic)
	recs := records(retopic(evs, topic))
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	start := time.Now()
	wg.Add(len(recs))
	for _, rec := range recs {
		cl.Produce(context.Background(), rec, func(_ *kgo.Record, err error) {
			defer wg.Done()
			if err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	require.NoError(t, first)
	return result{name: "raw produce, async", records: len(recs), elapsed: elapsed, note: "Produce + promise, franz-go defaults"}
}

// rawSyncBatches produces with ProduceSync, one relay batch at a time, the
// way the relay calls the client, without any database work.
func (r *rig) rawSyncBatches(t *testing.T, evs []events.Event) result {
	t.Helper()
	cl := r.producer(t, evs[0].Topic)
	recs := records(evs)
	start := time.Now()
	for i := 0; i < len(recs); i += r.cfg.RelayBatch {
		require.NoError(t, cl.ProduceSync(context.Background(), recs[i:min(i+r.cfg.RelayBatch, len(recs))]...).FirstErr())
	}
	return result{name: "raw produce, ProduceSync per batch", records: len(recs), elapsed: time.Since(start),
		note: fmt.Sprintf("batches of %d", r.cfg.RelayBatch)}
}

// fillOutbox writes the events into the outbox, 500 per transaction; its
// rate is the database's side of the relay's budget.
func (r *rig) fillOutbox(t *testing.T, store *outbox.Store, evs []events.Event) result {
	t.Helper()
	ctx := context.Background()
	start := time.Now()
	for i := 0; i < len(evs); i += 500 {
		chunk := evs[i:min(i+500, len(evs))]
		require.NoError(t, r.db.InTx(ctx, func(tx *sql.Tx) error { return store.Add(ctx, tx, chunk...) }))
	}
	elapsed := time.Since(start)
	_, err := r.db.ExecContext(ctx, `VACUUM ANALYZE outbox`)
	require.NoError(t, err)
	return result{name: "outbox fill (Store.Add)", records: len(evs), elapsed: elapsed, note: "500 rows per transaction"}
}

// resetOutbox makes every row unpublished again for the next relay run.
func (r *rig) resetOutbox(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	_, err := r.db.ExecContext(ctx, `UPDATE outbox SET published_at = NULL, lease_owner = NULL, lease_until = NULL`)
	require.NoError(t, err)
	_, err = r.db.ExecContext(ctx, `VACUUM ANALYZE outbox`)
	require.NoError(t, err)
}

// relay drains the outbox with relays running RelayOnce in a loop, which
// is what Relay.Run does while there is a backlog.
func (r *rig) relay(t *testing.T, store *outbox.Store, topic string, relays int) result {
	t.Helper()
	ctx := context.Background()
	var backlog int64
	require.NoError(t, r.db.QueryRow(`SELECT count(*) FROM outbox WHERE published_at IS NULL`).Scan(&backlog))
	var (
		published atomic.Int64
		wg        sync.WaitGroup
		errs      = make(chan error, relays)
	)
	timed := &timing{source: store}
	workers := make([]*outbox.Relay, relays)
	for i := range workers {
		relay, err := outbox.NewRelay(outbox.RelayConfig{
			Source:    timed,
			Producer:  &timedProducer{timing: timed, next: r.producer(t, topic)},
			BatchSize: r.cfg.RelayBatch,
		})
		require.NoError(t, err)
		workers[i] = relay
	}
	start := time.Now()
	for _, relay := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for published.Load() < backlog {
				n, err := relay.RelayOnce(ctx)
				if err != nil {
					errs <- err
					return
				}
				published.Add(int64(n))
				if n == 0 {
					time.Sleep(time.Millisecond) // the other relays hold the rest
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	var left int64
	require.NoError(t, r.db.QueryRow(`SELECT count(*) FROM outbox WHERE published_at IS NULL`).Scan(&left))
	require.Zero(t, left, "rows left unpublished")
	name := "relay, 1 relay"
	if relays > 1 {
		name = fmt.Sprintf("relay, %d relays", relays)
	}
	return result{name: name, records: int(backlog), elapsed: elapsed,
		note: fmt.Sprintf("BatchSize %d, franz-go defaults; %s", r.cfg.RelayBatch, timed)}
}

// timing wraps the relay's store and producer and adds up the time spent in
// each step of a batch (summed over relays when several run at once).
type timing struct {
	source                 outbox.Source
	claim, produce, mark   atomic.Int64 // nanoseconds
	claims, marks, claimed atomic.Int64
}

func (tm *timing) Claim(ctx context.Context, owner string, limit int, lease time.Duration) ([]outbox.Row, error) {
	start := time.Now()
	rows, err := tm.source.Claim(ctx, owner, limit, lease)
	tm.claim.Add(int64(time.Since(start)))
	tm.claims.Add(1)
	tm.claimed.Add(int64(len(rows)))
	return rows, err
}

func (tm *timing) MarkPublished(ctx context.Context, owner string, seqs []int64) error {
	start := time.Now()
	err := tm.source.MarkPublished(ctx, owner, seqs)
	tm.mark.Add(int64(time.Since(start)))
	tm.marks.Add(1)
	return err
}

func (tm *timing) Cleanup(ctx context.Context, before time.Time) (int64, error) {
	return tm.source.Cleanup(ctx, before)
}

func (tm *timing) Stats(ctx context.Context) (outbox.Stats, error) { return tm.source.Stats(ctx) }

func (tm *timing) String() string {
	ms := func(ns int64) float64 { return float64(ns) / 1e6 }
	claims := max(tm.claims.Load(), 1)
	return fmt.Sprintf("%d claims (%d rows): claim %.1fms, produce %.1fms, mark %.1fms per batch",
		tm.claims.Load(), tm.claimed.Load(), ms(tm.claim.Load()/claims), ms(tm.produce.Load()/claims), ms(tm.mark.Load()/max(tm.marks.Load(), 1)))
}

type timedProducer struct {
	timing *timing
	next   outbox.Producer
}

func (p *timedProducer) ProduceSync(ctx context.Context, rs ...*kgo.Record) kgo.ProduceResults {
	start := time.Now()
	res := p.next.ProduceSync(ctx, rs...)
	p.timing.produce.Add(int64(time.Since(start)))
	return res
}

// consume applies every record of topic once through the inbox and times
// the span from the first applied event to the last (group join excluded).
func (r *rig) consume(t *testing.T, in *inbox.Store, topic string, batched bool) result {
	t.Helper()
	ctx := context.Background()
	mode := "single"
	if batched {
		mode = "batch"
	}
	group := topic + "-" + mode
	table := "effects_" + mode
	_, err := r.db.ExecContext(ctx, `CREATE TABLE `+table+` (event_id TEXT NOT NULL, order_id TEXT NOT NULL, total BIGINT NOT NULL)`)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = r.admin.DeleteGroup(context.Background(), group)
		_, _ = r.admin.DeleteTopics(context.Background(), group+".dlq")
	})

	total := r.topicRecords(t, topic)
	var (
		applied   atomic.Int64
		startOnce sync.Once
		start     time.Time
		finished  = make(chan time.Time, 1)
	)
	count := func(k int) {
		startOnce.Do(func() { start = time.Now() })
		if applied.Add(int64(k)) == int64(total) {
			finished <- time.Now()
		}
	}
	cfg := consumer.Config{
		ClientOpts:     []kgo.Opt{kgo.SeedBrokers(r.brokers...)},
		Group:          group,
		Topics:         []string{topic},
		Decoder:        r.codec,
		Workers:        r.cfg.Workers,
		MaxPollRecords: r.cfg.MaxPoll,
	}
	insert := `INSERT INTO ` + table + ` (event_id, order_id, total) VALUES ($1, $2, $3)`
	if batched {
		insertMany := `INSERT INTO ` + table + ` (event_id, order_id, total) SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])`
		apply := consumer.DedupeBatch(in, group, func(ctx context.Context, tx *sql.Tx, ms []*consumer.Message) error {
			ids, orders, totals := make([]string, len(ms)), make([]string, len(ms)), make([]int64, len(ms))
			for i, m := range ms {
				placed := m.Event.(*orderingv1.OrderEvent).GetOrderPlaced()
				ids[i], orders[i], totals[i] = m.Meta.ID, placed.GetOrderId(), placed.GetTotal().GetAmountMinor()
			}
			_, err := tx.ExecContext(ctx, insertMany, ids, orders, totals)
			return err
		})
		cfg.BatchHandler = func(ctx context.Context, ms []*consumer.Message) error {
			if err := apply(ctx, ms); err != nil {
				return err
			}
			count(len(ms))
			return nil
		}
	} else {
		apply := consumer.Dedupe(in, group, func(ctx context.Context, tx *sql.Tx, m *consumer.Message) error {
			placed := m.Event.(*orderingv1.OrderEvent).GetOrderPlaced()
			_, err := tx.ExecContext(ctx, insert, m.Meta.ID, placed.GetOrderId(), placed.GetTotal().GetAmountMinor())
			return err
		})
		cfg.Handler = func(ctx context.Context, m *consumer.Message) error {
			if err := apply(ctx, m); err != nil {
				return err
			}
			count(1)
			return nil
		}
	}
	c, err := consumer.New(cfg)
	require.NoError(t, err)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(runCtx) }()
	var end time.Time
	select {
	case end = <-finished:
	case err := <-done:
		cancel()
		t.Fatalf("consumer stopped early: %v", err)
	case <-time.After(10 * time.Minute):
		cancel()
		<-done
		t.Fatalf("consumer applied %d of %d events in 10 minutes", applied.Load(), total)
	}
	cancel()
	require.NoError(t, <-done)

	var rows, distinct int
	require.NoError(t, r.db.QueryRow(`SELECT count(*), count(DISTINCT event_id) FROM `+table).Scan(&rows, &distinct))
	require.Equal(t, total, rows, "effects")
	require.Equal(t, total, distinct, "events with an effect")
	name := "consumer, Dedupe (tx per event)"
	note := fmt.Sprintf("Workers %d, MaxPollRecords %d", r.cfg.Workers, r.cfg.MaxPoll)
	if batched {
		name = "consumer, DedupeBatch (tx per batch)"
		note += ", effects in one multi-row INSERT"
	}
	return result{name: name, records: total, elapsed: end.Sub(start), note: note}
}
