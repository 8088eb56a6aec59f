package dynamostore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/orderhistory"
	"github.com/agoracommerce/agora/internal/orderhistory/app"
	"github.com/agoracommerce/agora/internal/orderhistory/dynamostore"
	"github.com/agoracommerce/agora/internal/orderhistory/orderhistorytest"
	"github.com/agoracommerce/agora/internal/platform/dynamo/dynamotest"
)

// newStore returns a Store over a fresh table, and the client and table.
func newStore(t *testing.T) (*dynamostore.Store, *dynamodb.Client, string) {
	t.Helper()
	client := dynamotest.Client(t)
	table := dynamotest.NewTable(t, client, "orderhistory")
	st, err := dynamostore.New(client, table)
	require.NoError(t, err)
	return st, client, table
}

// The repository contract suite on DynamoDB (moto); the SQLite and
// PostgreSQL runs are in sqlstore.
func TestRepository(t *testing.T) {
	t.Parallel()
	orderhistorytest.TestRepository(t, func(t *testing.T) orderhistorytest.Subject {
		st, _, _ := newStore(t)
		return orderhistorytest.Subject{Repo: st, Gens: st}
	})
}

// Another Store over the same table (a restart, a second process) sees
// the same generations and what they hold.
func TestReopen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, client, table := newStore(t)
	gen, err := st.BeginGeneration(ctx)
	require.NoError(t, err)
	orderhistorytest.MustRecord(t, st, gen, orderhistorytest.Saga("order-1", "alice", orderhistorytest.T0)...)
	_, err = st.ActivateGeneration(ctx, gen)
	require.NoError(t, err)

	again, err := dynamostore.New(client, table)
	require.NoError(t, err)
	active, err := again.ActiveGeneration(ctx)
	require.NoError(t, err)
	require.Equal(t, gen, active)
	orderhistorytest.RequireSame(t, orderhistorytest.MustHistory(t, st, "order-1"), orderhistorytest.MustHistory(t, again, "order-1"))
}

// More new entries of one order than one transaction takes are stored in
// several, each with the summary of what is stored after it.
func TestRecordManyEntriesOfOneOrder(t *testing.T) {
	t.Parallel()
	st, client, table := newStore(t)
	entries := orderhistorytest.Saga("order-1", "alice", orderhistorytest.T0)
	for i := range 110 {
		entries = append(entries, orderhistory.Entry{EventID: fmt.Sprintf("order-1/stock-%03d", i), OrderID: "order-1",
			Type: orderhistory.StockReleased, OccurredAt: orderhistorytest.T0.Add(time.Minute + time.Duration(i)*time.Millisecond),
			Facts: orderhistory.Facts{Quantity: 1, Reason: "test"}})
	}
	require.Equal(t, len(entries), orderhistorytest.MustRecord(t, st, app.Active, entries...))
	require.Zero(t, orderhistorytest.MustRecord(t, st, app.Active, entries...))
	want := orderhistorytest.Expected(t, "order-1", entries...)
	orderhistorytest.RequireSame(t, want, orderhistorytest.MustHistory(t, st, "order-1"))
	stats, err := st.Stats(context.Background(), app.Active)
	require.NoError(t, err)
	require.Equal(t, app.GenerationStats{Orders: 1, Entries: int64(len(entries))}, stats)
	// An entry item and a guard item per entry, and the summary.
	require.Len(t, dynamotest.Items(t, client, table, "G#1#"), 2*len(entries)+1)
}

// BeginGeneration deletes every item of the generations it drops and
// leaves the active one alone.
func TestBeginGenerationDeletesDroppedItems(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, client, table := newStore(t)
	for i := range 3 {
		orderhistorytest.MustRecord(t, st, app.Active, orderhistorytest.Saga(fmt.Sprintf("order-%d", i), "alice", orderhistorytest.T0)...)
	}
	gen, err := st.BeginGeneration(ctx)
	require.NoError(t, err)
	orderhistorytest.MustRecord(t, st, gen, orderhistorytest.Saga("order-9", "bob", orderhistorytest.T0)...)
	_, err = st.ActivateGeneration(ctx, gen)
	require.NoError(t, err)
	unfinished, err := st.BeginGeneration(ctx)
	require.NoError(t, err)
	orderhistorytest.MustRecord(t, st, unfinished, orderhistorytest.Saga("order-8", "bob", orderhistorytest.T0)[:3]...)
	require.NotEmpty(t, dynamotest.Items(t, client, table, fmt.Sprintf("G#%d#", unfinished)))

	_, err = st.BeginGeneration(ctx)
	require.NoError(t, err)
	require.Empty(t, dynamotest.Items(t, client, table, "G#1#"), "the retired generation is gone")
	require.Empty(t, dynamotest.Items(t, client, table, fmt.Sprintf("G#%d#", unfinished)), "the unfinished build is gone")
	require.Len(t, dynamotest.Items(t, client, table, fmt.Sprintf("G#%d#", gen)), 2*12+1, "the active generation is whole")
	orderhistorytest.MustHistory(t, st, "order-9")
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	client := dynamotest.Client(t)
	_, err := dynamostore.New(nil, "orderhistory")
	require.Error(t, err)
	_, err = dynamostore.New(client, "")
	require.Error(t, err)
}
