package dynamo_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/platform/dynamo"
	"github.com/agoracommerce/agora/internal/platform/dynamo/dynamotest"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/outbox"
	"github.com/agoracommerce/agora/internal/platform/outbox/outboxtest"
)

// newOutbox is the outboxtest factory over a fresh table; the state
// change of a unit of work is an increment of a counter item.
func newOutbox(shards int) outboxtest.NewOutbox {
	return func(t *testing.T, clock *outboxtest.Clock) outboxtest.Outbox {
		client := dynamotest.Client(t)
		table := dynamotest.NewTable(t, client, "outbox")
		open := func(c dynamo.API) *dynamo.Outbox {
			ob, err := dynamo.NewOutbox(dynamo.OutboxConfig{Client: c, Table: table, Shards: shards, Now: clock.Now})
			require.NoError(t, err)
			return ob
		}
		ob := open(client)
		unit := func(ctx context.Context, evs []events.Event) (*dynamo.Tx, error) {
			tx := dynamo.NewTx(table)
			tx.Update(types.Update{
				Key:                       dynamo.Key("STATE", "STATE"),
				UpdateExpression:          aws.String("ADD changes :one"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":one": dynamo.N(1)},
			}, nil)
			return tx, ob.Add(ctx, tx, evs...)
		}
		return outboxtest.Outbox{
			Source: ob,
			Write: func(ctx context.Context, evs ...events.Event) error {
				tx, err := unit(ctx, evs)
				if err != nil {
					return err
				}
				return tx.Commit(ctx, client)
			},
			WriteRolledBack: func(ctx context.Context, evs ...events.Event) error {
				_, err := unit(ctx, evs)
				return err // never committed
			},
			StateChanges: func(ctx context.Context) (int, error) {
				out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: dynamo.Key("STATE", "STATE"), ConsistentRead: aws.Bool(true)})
				if err != nil || len(out.Item) == 0 {
					return 0, err
				}
				n, err := dynamo.GetN(out.Item, "changes")
				return int(n), err
			},
			Reopen: func(t *testing.T) outbox.Source { return open(dynamotest.Client(t)) },
		}
	}
}

// The contract suite with the default single shard. Its concurrency case
// drains 2,000 events through 4 relays within 60s; the emulator serves one
// request at a time (see dynamotest), which a four-shard outbox (four
// queries per claim) does not manage on a loaded machine, so sharding is
// checked by TestOutboxShards instead.
func TestOutboxSource(t *testing.T) {
	t.Parallel()
	outboxtest.TestSource(t, newOutbox(1), outboxtest.Features{SelfCleaning: true, ConcurrentRows: 500})
}

// A sharded outbox keeps the order of the events written and, with
// concurrent relays, publishes every event once and each aggregate's in
// order.
func TestOutboxShards(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := outboxtest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	o := newOutbox(4)(t, clock)
	now := clock.Now()
	var all []events.Event
	want := map[string][]string{}
	for u := range 8 {
		var evs []events.Event
		for i := range 50 {
			key := fmt.Sprintf("k%02d", (u*7+i*3)%20)
			ev := outboxtest.Event("orders", key, len(want[key]), now)
			want[key] = append(want[key], ev.Metadata.ID)
			evs = append(evs, ev)
		}
		require.NoError(t, o.Write(ctx, evs...))
		all = append(all, evs...)
	}
	first, err := o.Source.Claim(ctx, "peek", 60, time.Millisecond)
	require.NoError(t, err)
	for i, r := range first {
		require.Equal(t, all[i].Metadata.ID, r.Event.Metadata.ID, "row %d in the order written", i)
	}
	clock.Advance(time.Second) // the peek's lease ends

	var (
		mu        sync.Mutex
		published []outbox.Row
		wg        sync.WaitGroup
	)
	for r := range 2 {
		src := o.Reopen(t)
		owner := fmt.Sprintf("relay-%d", r)
		wg.Go(func() {
			for idle := 0; idle < 200; {
				rows, err := src.Claim(ctx, owner, 25+10*r, time.Minute)
				if !assert.NoError(t, err) {
					return
				}
				if len(rows) == 0 {
					st, err := src.Stats(ctx)
					if !assert.NoError(t, err) || st.Backlog == 0 {
						return
					}
					idle++
					time.Sleep(5 * time.Millisecond)
					continue
				}
				mu.Lock()
				published = append(published, rows...)
				mu.Unlock()
				seqs := make([]int64, len(rows))
				for i, row := range rows {
					seqs[i] = row.Seq
				}
				if !assert.NoError(t, src.MarkPublished(ctx, owner, seqs)) {
					return
				}
			}
		})
	}
	wg.Wait()
	got := map[string][]string{}
	for _, r := range published {
		got[r.Event.Key] = append(got[r.Event.Key], r.Event.Metadata.ID)
	}
	require.Len(t, published, len(all), "every event once")
	for key, ids := range want {
		require.Equal(t, ids, got[key], "events of %s in order", key)
	}
	st, err := o.Source.Stats(ctx)
	require.NoError(t, err)
	require.Zero(t, st.Backlog)
}

// The events a unit of work writes share items (16 consecutive positions
// each): a unit of work with hundreds of events fits one transaction.
func TestOutboxPacksEventsOfAUnitOfWork(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	client := dynamotest.Client(t)
	table := dynamotest.NewTable(t, client, "outbox-pack")
	ob, err := dynamo.NewOutbox(dynamo.OutboxConfig{Client: client, Table: table})
	require.NoError(t, err)
	now := time.Now()
	var evs []events.Event
	for i := range 300 {
		evs = append(evs, outboxtest.Event("orders", []string{"a", "b", "c"}[i%3], i, now))
	}
	tx := dynamo.NewTx(table)
	require.NoError(t, ob.Add(ctx, tx, evs...))
	require.Equal(t, 19, tx.Len())
	require.NoError(t, tx.Commit(ctx, client))
	require.Len(t, dynamotest.Items(t, client, table, "OUTBOX#0"), 19)
	got := dynamotest.Pending(t, ob)
	require.Len(t, got, 300)
	for i, ev := range got {
		require.Equal(t, evs[i].Metadata.ID, ev.Metadata.ID, "event %d in the order written", i)
	}
	st, err := ob.Stats(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 300, st.Backlog)
}

func TestNewOutboxValidates(t *testing.T) {
	t.Parallel()
	_, err := dynamo.NewOutbox(dynamo.OutboxConfig{Table: "t"})
	require.Error(t, err)
	_, err = dynamo.NewOutbox(dynamo.OutboxConfig{Client: &dynamodb.Client{}, Table: "t", Shards: dynamo.MaxShards + 1})
	require.Error(t, err)
	_, err = dynamo.NewOutbox(dynamo.OutboxConfig{Client: &dynamodb.Client{}, Table: "t", ExpireAfter: -time.Second})
	require.Error(t, err)
}
