package crash_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/platform/dynamo"
	"github.com/agoracommerce/agora/internal/platform/dynamo/dynamotest"
	"github.com/agoracommerce/agora/internal/testenv"
)

// The relay crash on the DynamoDB outbox: the relay process claims from
// the table, is killed between produce and mark, and a restarted relay
// publishes every event at least once; only the killed batch twice.
func TestRelayKilledBetweenProduceAndMarkPublishedDynamoDB(t *testing.T) {
	t.Parallel()
	brokers := testenv.KafkaBrokers(t)
	aws := testenv.AWSEmulator(t)
	client := dynamotest.Client(t)
	table := dynamotest.NewTable(t, client, "crash-relay")
	bin := buildProgram(t, "relayproc")
	reg := startRegistry(t)
	k := newKafka(t, brokers)
	topic := k.topic(t, "crash-relay-dynamo")
	ctx := context.Background()

	const (
		keys, perKey = 30, 40 // 1,200 events
		perUnit      = 100    // events per unit of work (transaction)
		batch        = 100
		holdAfter    = 4 // batches 1-3 are marked published, batch 4 is not
	)
	store, err := dynamo.NewOutbox(dynamo.OutboxConfig{Client: client, Table: table})
	require.NoError(t, err)
	evs := reg.orderEvents(t, topic, keys, perKey)
	for start := 0; start < len(evs); start += perUnit {
		tx := dynamo.NewTx(table)
		require.NoError(t, store.Add(ctx, tx, evs[start:start+perUnit]...))
		require.NoError(t, tx.Commit(ctx, client))
	}
	backlog := func() int64 {
		st, err := store.Stats(ctx)
		if err != nil {
			return -1 // the emulator answers reads made during writes poorly; ask again
		}
		return st.Backlog
	}
	require.EqualValues(t, len(evs), backlog())

	env := []string{"AWS_ACCESS_KEY_ID=" + aws.AccessKey, "AWS_SECRET_ACCESS_KEY=" + aws.SecretKey, "AWS_REGION=" + aws.Region}
	// A relay finishes a batch (claim, produce, mark) within its lease, or
	// it publishes the batch again; the emulator is slow, so the lease is
	// longer than in the PostgreSQL variant.
	args := []string{"-brokers", strings.Join(brokers, ","), "-batch", strconv.Itoa(batch), "-lease", "10s",
		"-dynamo-table", table, "-aws-region", aws.Region, "-aws-endpoint", aws.Endpoint}
	first := startProcess(t, bin, env, append(args, "-hold-after", strconv.Itoa(holdAfter))...)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("first relay's log:\n%s", first.stderrText())
		}
	})
	holding := first.waitLine(t, "HOLDING", time.Minute)
	produced := first.output()[holding-1]
	first.kill(t)

	// The kill landed between produce and mark: the held batch is on Kafka
	// but still in the outbox.
	fields := strings.Fields(produced)
	require.Len(t, fields, 3, "line %q", produced)
	held := strings.Split(fields[2], ",")
	require.Len(t, held, batch)
	require.Len(t, first.linesWith("PRODUCED"), holdAfter)
	require.EqualValues(t, len(evs)-(holdAfter-1)*batch, backlog(), "only the batches before the held one were marked")

	second := startProcess(t, bin, env, args...)
	require.Eventually(t, func() bool { return backlog() == 0 }, time.Minute, 50*time.Millisecond,
		"the restarted relay left %d events unpublished", backlog())
	second.stop(t)
	requireRelayed(t, reg, k, topic, evs, held, holdAfter, batch)
}
