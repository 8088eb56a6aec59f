// Package crash_test kills Agora's event backbone with SIGKILL at the two
// points where a crash is most dangerous and proves that nothing is lost and
// no effect happens twice:
//
//   - an outbox relay killed after the broker acknowledged a batch but before
//     the rows were marked published: a restarted relay publishes every row
//     (the killed batch twice, nothing else twice), in order per aggregate,
//     with the SQL outbox on PostgreSQL and with the DynamoDB outbox;
//   - a consumer killed after its effect transaction committed but before
//     the offset commit: a restarted consumer gets those events again and
//     the inbox makes every effect happen exactly once.
//
// The relay and the consumer run as separate OS processes built from
// cmd/relayproc and cmd/consumerproc, against the test environment's Kafka
// broker, PostgreSQL server and AWS emulator (DynamoDB) and an embedded
// schema registry served over HTTP on a loopback port.
package crash_test

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	orderingv1 "github.com/agoracommerce/agora/gen/proto/agora/ordering/v1"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/outbox"
	"github.com/agoracommerce/agora/internal/platform/sqldb"
	"github.com/agoracommerce/agora/internal/platform/sqldb/sqldbtest"
	"github.com/agoracommerce/agora/internal/testenv"
)

func TestRelayKilledBetweenProduceAndMarkPublished(t *testing.T) {
	t.Parallel()
	brokers := testenv.KafkaBrokers(t)
	db := sqldbtest.Postgres(t)
	bin := buildProgram(t, "relayproc")
	reg := startRegistry(t)
	k := newKafka(t, brokers)
	topic := k.topic(t, "crash-relay")
	ctx := context.Background()

	const (
		keys, perKey = 30, 40 // 1,200 events
		batch        = 100
		holdAfter    = 4 // batches 1-3 are marked published, batch 4 is not
	)
	store, err := outbox.NewStore(ctx, db)
	require.NoError(t, err)
	evs := reg.orderEvents(t, topic, keys, perKey)
	require.NoError(t, db.InTx(ctx, func(tx *sql.Tx) error { return store.Add(ctx, tx, evs...) }))

	env := []string{envDatabaseURL + "=" + db.URL}
	args := []string{"-brokers", strings.Join(brokers, ","), "-batch", strconv.Itoa(batch), "-lease", "2s"}
	first := startProcess(t, bin, env, append(args, "-hold-after", strconv.Itoa(holdAfter))...)
	holding := first.waitLine(t, "HOLDING", 30*time.Second)
	produced := first.output()[holding-1]
	first.kill(t)

	// The kill landed between produce and mark: the held batch is on Kafka
	// (the broker acknowledged it) but not published in the outbox.
	fields := strings.Fields(produced)
	require.Len(t, fields, 3, "line %q", produced)
	held := strings.Split(fields[2], ",")
	require.Len(t, held, batch)
	require.Len(t, first.linesWith("PRODUCED"), holdAfter)
	require.EqualValues(t, len(evs)-(holdAfter-1)*batch, unpublished(t, db), "only the batches before the held one were marked")
	for _, id := range held {
		var published sql.NullInt64
		require.NoError(t, db.QueryRow(`SELECT published_at FROM outbox WHERE event_id = $1`, id).Scan(&published))
		require.False(t, published.Valid, "held event %s was marked published", id)
	}

	second := startProcess(t, bin, env, args...)
	require.Eventually(t, func() bool { return unpublished(t, db) == 0 }, 30*time.Second, 20*time.Millisecond,
		"the restarted relay left %d rows unpublished", unpublished(t, db))
	second.stop(t)
	requireRelayed(t, reg, k, topic, evs, held, holdAfter, batch)
}

// requireRelayed checks what the relays put on topic: every outbox event
// at least once, each aggregate's events first seen in order, every held
// event (produced by the killed relay, never marked) at least twice, and
// nothing that is not in the outbox.
func requireRelayed(t *testing.T, reg *registry, k *kafka, topic string, evs []events.Event, held []string, holdAfter, batch int) {
	t.Helper()
	ctx := context.Background()
	records := k.readAll(t, topic)
	copies := map[string]int{}
	lastN := map[string]int64{}
	for _, r := range records {
		id, err := header(r, events.HeaderID)
		require.NoError(t, err)
		copies[id]++
		if copies[id] > 1 {
			continue // a redelivery; the first copy fixed the order
		}
		msg, err := reg.codec.Decode(ctx, r.Value)
		require.NoError(t, err, "event %s does not decode through the registry", id)
		n := msg.(*orderingv1.OrderEvent).GetOrderPlaced().GetTotal().GetAmountMinor()
		if prev, ok := lastN[string(r.Key)]; ok {
			require.Greater(t, n, prev, "events of %s reached Kafka out of order", r.Key)
		}
		lastN[string(r.Key)] = n
	}
	for _, ev := range evs {
		require.GreaterOrEqual(t, copies[ev.Metadata.ID], 1, "event %s never reached Kafka", ev.Metadata.ID)
	}
	inWindow := map[string]bool{}
	for _, id := range held {
		require.GreaterOrEqual(t, copies[id], 2, "held event %s was not published again", id)
		inWindow[id] = true
	}
	for id, n := range copies {
		if n > 1 {
			require.True(t, inWindow[id], "event %s was published %d times but was not in the kill window", id, n)
		}
	}
	require.Len(t, copies, len(evs), "records on the topic that are not in the outbox")
	t.Logf("relay crash: %d outbox rows; first relay produced %d batches of %d and was killed holding the last; "+
		"topic has %d records, %d distinct event IDs, %d duplicates; all rows published after restart",
		len(evs), holdAfter, batch, len(records), len(copies), len(records)-len(copies))
}

func TestConsumerKilledBetweenEffectAndOffsetCommit(t *testing.T) {
	t.Parallel()
	brokers := testenv.KafkaBrokers(t)
	db := sqldbtest.Postgres(t)
	bin := buildProgram(t, "consumerproc")
	reg := startRegistry(t)
	k := newKafka(t, brokers)
	group := "crash-consumer-" + randomID(t)
	topic := k.topic(t, "crash-consumer", group+".dlq")
	t.Cleanup(func() { _, _ = k.admin.DeleteGroup(context.Background(), group) })
	ctx := context.Background()

	const (
		keys, perKey = 20, 30 // 600 events
		redelivered  = 60     // the first events again, as after a relay crash
		holdAfter    = 250
	)
	evs := reg.orderEvents(t, topic, keys, perKey)
	recs := make([]*kgo.Record, 0, len(evs)+redelivered)
	for _, ev := range evs {
		recs = append(recs, ev.Record())
	}
	for _, ev := range evs[:redelivered] {
		recs = append(recs, ev.Record())
	}
	produceCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	require.NoError(t, k.client.ProduceSync(produceCtx, recs...).FirstErr())

	env := []string{envDatabaseURL + "=" + db.URL}
	args := []string{"-brokers", strings.Join(brokers, ","), "-registry", reg.url, "-topic", topic, "-group", group, "-max-poll", "50"}
	first := startProcess(t, bin, env, append(args, "-hold-after", strconv.Itoa(holdAfter))...)
	holding := first.waitLine(t, "HOLDING", 30*time.Second)
	line := first.output()[holding]
	first.kill(t)

	// The kill landed between the effect's commit and the offset commit.
	fields := strings.Fields(line)
	require.Len(t, fields, 4, "line %q", line)
	heldID := fields[1]
	partition, err := strconv.ParseInt(fields[2], 10, 32)
	require.NoError(t, err)
	offset, err := strconv.ParseInt(fields[3], 10, 64)
	require.NoError(t, err)
	require.Equal(t, 1, effectsOf(t, db, heldID), "the held event's effect committed")
	committed, err := k.admin.FetchOffsets(ctx, group)
	require.NoError(t, err)
	if o, ok := committed.Lookup(topic, int32(partition)); ok {
		require.NoError(t, o.Err)
		require.LessOrEqual(t, o.At, offset, "the held record's offset was committed")
	}
	appliedBeforeKill := totalEffects(t, db)
	require.GreaterOrEqual(t, appliedBeforeKill, holdAfter)

	second := startProcess(t, bin, env, args...)
	require.Eventually(t, func() bool { return consumedAll(t, k.admin, group, topic) }, 30*time.Second, 20*time.Millisecond,
		"the restarted consumer did not commit every offset; %d of %d effects", totalEffects(t, db), len(evs))
	second.stop(t)

	skipped := second.linesWith("DUPLICATE ")
	require.Contains(t, skipped, "DUPLICATE "+heldID, "the held event was delivered again and skipped")
	requireExactlyOnce(t, db, evs)
	t.Logf("consumer crash: %d events + %d redelivered on the topic; first consumer applied %d effects "+
		"(skipped %d duplicates) and was killed holding partition %d offset %d; restarted consumer applied %d and "+
		"skipped %d duplicates; %d effects, each event exactly once",
		len(evs), redelivered, appliedBeforeKill, len(first.linesWith("DUPLICATE ")), partition, offset,
		len(second.linesWith("APPLIED ")), len(skipped), totalEffects(t, db))
}

func unpublished(t *testing.T, db *sqldb.DB) int64 {
	t.Helper()
	var n int64
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM outbox WHERE published_at IS NULL`).Scan(&n))
	return n
}

func effectsOf(t *testing.T, db *sqldb.DB, eventID string) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM effects WHERE event_id = $1`, eventID).Scan(&n))
	return n
}

func totalEffects(t *testing.T, db *sqldb.DB) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM effects`).Scan(&n))
	return n
}

// consumedAll reports whether group committed the end offset of every
// partition of topic.
func consumedAll(t *testing.T, admin *kadm.Client, group, topic string) bool {
	t.Helper()
	ctx := context.Background()
	ends, err := admin.ListEndOffsets(ctx, topic)
	require.NoError(t, err)
	committed, err := admin.FetchOffsets(ctx, group)
	require.NoError(t, err)
	all := true
	ends.Each(func(end kadm.ListedOffset) {
		o, ok := committed.Lookup(topic, end.Partition)
		if !ok || o.Err != nil || o.At < end.Offset {
			all = false
		}
	})
	return all
}

// requireExactlyOnce checks that every event has exactly one effect, that
// there is no other effect, and that each order's effects were applied in
// the order its events were produced.
func requireExactlyOnce(t *testing.T, db *sqldb.DB, evs []events.Event) {
	t.Helper()
	rows, err := db.Query(`SELECT event_id, count(*) FROM effects GROUP BY event_id`)
	require.NoError(t, err)
	perEvent := map[string]int{}
	for rows.Next() {
		var (
			id string
			n  int
		)
		require.NoError(t, rows.Scan(&id, &n))
		perEvent[id] = n
	}
	require.NoError(t, rows.Err())
	require.NoError(t, rows.Close())
	for _, ev := range evs {
		require.Equal(t, 1, perEvent[ev.Metadata.ID], "effects of event %s", ev.Metadata.ID)
	}
	require.Len(t, perEvent, len(evs), "effects of events that were never produced")

	ordered, err := db.Query(`SELECT order_id, n FROM effects ORDER BY applied`)
	require.NoError(t, err)
	defer func() { _ = ordered.Close() }()
	last := map[string]int64{}
	for ordered.Next() {
		var (
			key string
			n   int64
		)
		require.NoError(t, ordered.Scan(&key, &n))
		if prev, ok := last[key]; ok {
			require.Greater(t, n, prev, "effects of %s applied out of order", key)
		}
		last[key] = n
	}
	require.NoError(t, ordered.Err())
}
