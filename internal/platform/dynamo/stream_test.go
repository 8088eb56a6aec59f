package dynamo_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/agoracommerce/agora/internal/platform/dynamo"
	"github.com/agoracommerce/agora/internal/platform/dynamo/dynamotest"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/outbox/outboxtest"
)

// fakeProducer acknowledges every record but those of failing event IDs.
type fakeProducer struct {
	failing  map[string]bool
	produced []*kgo.Record
}

func (p *fakeProducer) ProduceSync(_ context.Context, rs ...*kgo.Record) kgo.ProduceResults {
	var out kgo.ProduceResults
	for _, r := range rs {
		id, _ := events.Header(r.Headers, events.HeaderID)
		var err error
		if p.failing[id] {
			err = errors.New("broker said no")
		} else {
			p.produced = append(p.produced, r)
		}
		out = append(out, kgo.ProduceResult{Record: r, Err: err})
	}
	// Acknowledgements come back in another order than given.
	slices.Reverse(out)
	return out
}

// streamBatch writes three units of work through the outbox and returns
// the stream records DynamoDB would deliver for the table (outbox inserts
// among other changes), and the events in order.
func streamBatch(t *testing.T) (lambdaevents.DynamoDBEvent, []events.Event) {
	t.Helper()
	ctx := context.Background()
	client := dynamotest.Client(t)
	table := dynamotest.NewTable(t, client, "stream")
	ob, err := dynamo.NewOutbox(dynamo.OutboxConfig{Client: client, Table: table, ExpireAfter: 24 * time.Hour})
	require.NoError(t, err)
	now := time.Now()
	var all []events.Event
	for u := range 3 {
		evs := []events.Event{outboxtest.Event("orders", "a", 2*u, now), outboxtest.Event("orders", "b", u, now), outboxtest.Event("orders", "a", 2*u+1, now)}
		tx := dynamo.NewTx(table)
		require.NoError(t, ob.Add(ctx, tx, evs...))
		require.NoError(t, tx.Commit(ctx, client))
		all = append(all, evs...)
	}
	items := dynamotest.Items(t, client, table, "OUTBOX#0")
	slices.SortFunc(items, func(a, b map[string]awsValue) int {
		return cmpString(dynamo.GetS(a, dynamo.AttrSK), dynamo.GetS(b, dynamo.AttrSK))
	})
	require.Len(t, items, 3)
	for _, it := range items {
		_, ok := it[dynamo.AttrTTL]
		require.True(t, ok, "outbox items of a stream-relayed table expire")
	}
	var batch lambdaevents.DynamoDBEvent
	seq := 100
	record := func(name string, item map[string]awsValue) {
		seq++
		batch.Records = append(batch.Records, lambdaevents.DynamoDBEventRecord{EventName: name, Change: lambdaevents.DynamoDBStreamRecord{
			SequenceNumber: fmt.Sprint(seq),
			Keys:           dynamotest.StreamImage(t, map[string]awsValue{dynamo.AttrPK: item[dynamo.AttrPK], dynamo.AttrSK: item[dynamo.AttrSK]}),
			NewImage:       dynamotest.StreamImage(t, item),
		}})
	}
	counter := dynamo.Key("OUTBOX#SEQ", "SEQ")
	counter["seq"] = dynamo.N(3)
	record("MODIFY", counter)
	record("INSERT", items[0])
	record("INSERT", dynamo.Key("CART#1", "CART"))
	record("INSERT", items[1])
	record("REMOVE", items[0])
	record("INSERT", items[2])
	return batch, all
}

func TestStreamRelayProducesOutboxInsertsInOrder(t *testing.T) {
	t.Parallel()
	batch, all := streamBatch(t)
	p := &fakeProducer{}
	relay, err := dynamo.NewStreamRelay(dynamo.StreamRelayConfig{Producer: p, TopicPrefix: "dev."})
	require.NoError(t, err)
	resp, err := relay.Handle(context.Background(), batch)
	require.NoError(t, err)
	require.Empty(t, resp.BatchItemFailures)
	require.Len(t, p.produced, len(all))
	for i, r := range p.produced {
		id, _ := events.Header(r.Headers, events.HeaderID)
		require.Equal(t, all[i].Metadata.ID, id, "record %d in stream order", i)
		require.Equal(t, "dev.orders", r.Topic)
		require.Equal(t, all[i].Key, string(r.Key))
		require.Equal(t, all[i].Value, r.Value)
	}
}

func TestStreamRelayReportsFirstFailureAndEverythingAfter(t *testing.T) {
	t.Parallel()
	batch, all := streamBatch(t)
	// The second event of the second unit of work fails: its record
	// (sequence 104) and every later one are retried.
	p := &fakeProducer{failing: map[string]bool{all[4].Metadata.ID: true}}
	relay, err := dynamo.NewStreamRelay(dynamo.StreamRelayConfig{Producer: p})
	require.NoError(t, err)
	resp, err := relay.Handle(context.Background(), batch)
	require.NoError(t, err)
	var failed []string
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	require.Equal(t, []string{"104", "105", "106"}, failed)
}

func TestStreamRelayStopsAtAnUnreadableItem(t *testing.T) {
	t.Parallel()
	batch, _ := streamBatch(t)
	batch.Records[3].Change.NewImage["events"] = lambdaevents.NewStringAttribute("garbage")
	p := &fakeProducer{}
	relay, err := dynamo.NewStreamRelay(dynamo.StreamRelayConfig{Producer: p})
	require.NoError(t, err)
	resp, err := relay.Handle(context.Background(), batch)
	require.NoError(t, err)
	require.Len(t, resp.BatchItemFailures, 3)
	require.Equal(t, "104", resp.BatchItemFailures[0].ItemIdentifier)
	require.Len(t, p.produced, 3, "the records before it are produced")

	_, err = dynamo.NewStreamRelay(dynamo.StreamRelayConfig{})
	require.Error(t, err)
}
