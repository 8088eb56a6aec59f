// Package kafkatest is the shared harness of Agora's event-bus tests: it
// runs a test against franz-go's in-process kfake broker and against the real
// Apache Kafka broker of the test environment, with a codec over the
// embedded schema registry, fresh topics and small helpers to produce and
// read records.
package kafkatest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	protos "github.com/agoracommerce/agora/api/proto"
	orderingv1 "github.com/agoracommerce/agora/gen/proto/agora/ordering/v1"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/schemaregistry"
	"github.com/agoracommerce/agora/internal/platform/schemaregistry/sqlstore"
	"github.com/agoracommerce/agora/internal/testenv"
)

// Bus is one broker under test and what tests share on it.
type Bus struct {
	Brokers     []string
	Codec       *events.Codec
	Registry    *sr.Client
	RegistryURL string // the embedded registry's base URL
	Admin       *kadm.Client
}

// Each runs fn as two parallel subtests: "kfake" on an in-process broker
// and "kafka" on the real broker (skipped only in short mode).
func Each(t *testing.T, fn func(t *testing.T, b *Bus)) {
	t.Helper()
	t.Run("kfake", func(t *testing.T) {
		t.Parallel()
		cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation())
		require.NoError(t, err)
		t.Cleanup(cluster.Close)
		fn(t, New(t, cluster.ListenAddrs()))
	})
	t.Run("kafka", func(t *testing.T) {
		t.Parallel()
		fn(t, New(t, testenv.KafkaBrokers(t)))
	})
}

// New returns a Bus on brokers with its own embedded schema registry (over a
// SQLite file in the test's temp dir), served on 127.0.0.1.
func New(t *testing.T, brokers []string) *Bus {
	t.Helper()
	codec, registry, url := newCodec(t)
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	return &Bus{Brokers: brokers, Codec: codec, Registry: registry, RegistryURL: url, Admin: kadm.NewClient(cl)}
}

// Codec returns an event codec (auto-registering) over its own embedded
// schema registry, as in local mode, for tests that need no broker.
func Codec(tb testing.TB) *events.Codec {
	tb.Helper()
	codec, _, _ := newCodec(tb)
	return codec
}

func newCodec(tb testing.TB) (*events.Codec, *sr.Client, string) {
	tb.Helper()
	store, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(tb.TempDir(), "registry.db"))
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = store.Close() })
	srv, err := schemaregistry.NewServer(store)
	require.NoError(tb, err)
	reg := httptest.NewServer(srv)
	tb.Cleanup(reg.Close)
	registry, err := sr.NewClient(sr.URLs(reg.URL))
	require.NoError(tb, err)
	codec, err := events.NewCodec(events.CodecConfig{Registry: registry, Sources: protos.FS, AutoRegister: true})
	require.NoError(tb, err)
	return codec, registry, reg.URL
}

// Topic creates a fresh topic with the given partitions, deleted (with the
// dead-letter topic of its "<topic>-group" consumer group) when the test
// ends.
func (b *Bus) Topic(t *testing.T, partitions int32) string {
	t.Helper()
	name := "test-" + RandomID(t)
	b.CreateTopic(t, name, partitions)
	t.Cleanup(func() { _, _ = b.Admin.DeleteTopics(context.Background(), name+"-group.dlq") })
	return name
}

// CreateTopic creates name, deleted when the test ends.
func (b *Bus) CreateTopic(t *testing.T, name string, partitions int32) {
	t.Helper()
	_, err := b.Admin.CreateTopic(context.Background(), partitions, 1, nil, name)
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = b.Admin.DeleteTopics(context.Background(), name) })
}

// OrderPlaced builds the n-th event of an order: an OrderPlaced whose
// customer_id carries n, so tests can check order per key.
func (b *Bus) OrderPlaced(t *testing.T, topic, key string, n int) events.Event {
	t.Helper()
	env := &orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderPlaced{OrderPlaced: &orderingv1.OrderPlaced{
		OrderId: key, CustomerId: strconv.Itoa(n),
	}}}
	ev, err := b.Codec.NewEvent(context.Background(), topic, "agora/test", key, env, time.Now())
	require.NoError(t, err)
	return ev
}

// Produce publishes records with acks=all and fails the test on any error.
func (b *Bus) Produce(t *testing.T, recs ...*kgo.Record) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Brokers...))
	require.NoError(t, err)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, cl.ProduceSync(ctx, recs...).FirstErr())
}

// Read consumes the first n records of topic (from the start, no group).
func (b *Bus) Read(t *testing.T, topic string, n int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.AllowAutoTopicCreation())
	require.NoError(t, err)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		require.NoError(t, ctx.Err(), "read %d of %d records of %s", len(out), n, topic)
		fs.EachRecord(func(r *kgo.Record) { out = append(out, r) })
	}
	return out
}

// Records counts the records topic holds.
func (b *Bus) Records(t *testing.T, topic string) int64 {
	t.Helper()
	ctx := context.Background()
	starts, err := b.Admin.ListStartOffsets(ctx, topic)
	require.NoError(t, err)
	ends, err := b.Admin.ListEndOffsets(ctx, topic)
	require.NoError(t, err)
	var n int64
	ends.Each(func(o kadm.ListedOffset) {
		s, ok := starts.Lookup(topic, o.Partition)
		require.True(t, ok)
		n += o.Offset - s.Offset
	})
	return n
}

// Headers returns a record's headers as a map (last value wins).
func Headers(r *kgo.Record) map[string]string {
	h := map[string]string{}
	for _, kv := range r.Headers {
		h[kv.Key] = string(kv.Value)
	}
	return h
}

// RandomID returns 12 random hex characters for unique names.
func RandomID(tb testing.TB) string {
	tb.Helper()
	b := make([]byte, 6)
	_, err := rand.Read(b)
	require.NoError(tb, err)
	return hex.EncodeToString(b)
}
