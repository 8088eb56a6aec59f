package broker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/agoracommerce/agora/internal/platform/broker"
)

// The embedded broker keeps records and committed group offsets across a
// restart on the same data directory.
func TestEmbeddedBrokerIsDurable(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	const topic, group, n = "durable", "durable-group", 100

	b, err := broker.Start(broker.Config{DataDir: dir})
	require.NoError(t, err)
	producer, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...), kgo.DefaultProduceTopic(topic), kgo.AllowAutoTopicCreation())
	require.NoError(t, err)
	var recs []*kgo.Record
	for i := range n {
		recs = append(recs, &kgo.Record{Key: fmt.Appendf(nil, "k%d", i%7), Value: fmt.Appendf(nil, "%d", i)})
	}
	require.NoError(t, producer.ProduceSync(ctx, recs...).FirstErr())
	producer.Close()

	// Consume half and commit.
	consumed := consume(ctx, t, b.Addrs(), topic, group, n/2)
	require.Len(t, consumed, n/2)
	b.Close()

	b, err = broker.Start(broker.Config{DataDir: dir})
	require.NoError(t, err)
	t.Cleanup(b.Close)
	rest := consume(ctx, t, b.Addrs(), topic, group, n-n/2)
	require.Len(t, rest, n-n/2, "the group resumes at its committed offsets after a restart")
	seen := map[string]bool{}
	for _, v := range append(consumed, rest...) {
		require.False(t, seen[v], "record %s delivered twice", v)
		seen[v] = true
	}
}

func consume(ctx context.Context, t *testing.T, addrs []string, topic, group string, n int) []string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.DisableAutoCommit(), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	require.NoError(t, err)
	defer cl.Close()
	var out []string
	for len(out) < n {
		fs := cl.PollRecords(ctx, n-len(out))
		require.NoError(t, ctx.Err())
		fs.EachRecord(func(r *kgo.Record) {
			out = append(out, string(r.Value))
			require.NoError(t, cl.CommitRecords(ctx, r))
		})
	}
	return out
}
