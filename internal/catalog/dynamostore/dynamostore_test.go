package dynamostore_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	catalogv1 "github.com/agoracommerce/agora/gen/proto/agora/catalog/v1"
	"github.com/agoracommerce/agora/internal/catalog"
	"github.com/agoracommerce/agora/internal/catalog/app"
	"github.com/agoracommerce/agora/internal/catalog/catalogtest"
	"github.com/agoracommerce/agora/internal/catalog/dynamostore"
	"github.com/agoracommerce/agora/internal/platform/dynamo"
	"github.com/agoracommerce/agora/internal/platform/dynamo/dynamotest"
	"github.com/agoracommerce/agora/internal/platform/kafkatest"
)

// The repository contract suite on DynamoDB (moto); the SQLite and
// PostgreSQL runs are in sqlstore.
func TestRepository(t *testing.T) {
	t.Parallel()
	codec := kafkatest.Codec(t)
	catalogtest.TestRepository(t, func(t *testing.T) catalogtest.Backend {
		client := dynamotest.Client(t)
		table := dynamotest.NewTable(t, client, "catalog")
		ob, err := dynamo.NewOutbox(dynamo.OutboxConfig{Client: client, Table: table})
		require.NoError(t, err)
		st, err := dynamostore.New(client, table, ob, codec)
		require.NoError(t, err)
		return catalogtest.Backend{Products: st, Categories: st, Outbox: func(t *testing.T) []*catalogv1.ProductEvent {
			t.Helper()
			var out []*catalogv1.ProductEvent
			for _, ev := range dynamotest.Pending(t, ob) {
				msg, err := codec.Decode(context.Background(), ev.Value)
				require.NoError(t, err)
				env, ok := msg.(*catalogv1.ProductEvent)
				require.True(t, ok, "outbox holds a %T", msg)
				out = append(out, env)
			}
			return out
		}}
	})
}

// A text search over more items than one List reads returns what it
// found with a cursor, and following the cursors finds every match.
func TestListTextSearchIsBounded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	client := dynamotest.Client(t)
	table := dynamotest.NewTable(t, client, "catalog-search")
	ob, err := dynamo.NewOutbox(dynamo.OutboxConfig{Client: client, Table: table})
	require.NoError(t, err)
	st, err := dynamostore.New(client, table, ob, kafkatest.Codec(t))
	require.NoError(t, err)
	cat, err := catalog.NewCategory(uuid.Must(uuid.NewV7()), "lamps", "Lamps", "", t0())
	require.NoError(t, err)
	require.NoError(t, st.CreateCategory(ctx, cat))
	price, err := catalog.NewMoney(100, "EUR")
	require.NoError(t, err)
	var want []uuid.UUID
	for i := range 12 {
		name := "Plain lamp"
		if i%4 == 3 {
			name = "Brass LAMP"
		}
		p, err := catalog.NewProduct(uuid.Must(uuid.NewV7()), "LAMP-"+string(rune('A'+i)), catalog.Details{Name: name, Price: price, CategoryID: cat.ID()}, catalog.StatusActive, t0())
		require.NoError(t, err)
		require.NoError(t, st.Create(ctx, p))
		if i%4 == 3 {
			want = append(want, p.ID())
		}
	}
	var (
		got    []uuid.UUID
		cursor string
	)
	for range 20 {
		page, err := st.List(ctx, app.ProductQuery{Text: "brass", Limit: 2, Cursor: cursor})
		require.NoError(t, err)
		for _, p := range page.Items {
			got = append(got, p.ID())
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	require.Equal(t, want, got)
}

func t0() time.Time { return time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC) }
