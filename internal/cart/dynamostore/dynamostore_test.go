package dynamostore_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/cart"
	"github.com/agoracommerce/agora/internal/cart/app"
	"github.com/agoracommerce/agora/internal/cart/carttest"
	"github.com/agoracommerce/agora/internal/cart/dynamostore"
	"github.com/agoracommerce/agora/internal/platform/dynamo"
	"github.com/agoracommerce/agora/internal/platform/dynamo/dynamotest"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/kafkatest"
)

func newStore(t *testing.T) (*dynamostore.Store, *dynamo.Outbox) {
	t.Helper()
	client := dynamotest.Client(t)
	table := dynamotest.NewTable(t, client, "cart")
	ob, err := dynamo.NewOutbox(dynamo.OutboxConfig{Client: client, Table: table})
	require.NoError(t, err)
	st, err := dynamostore.New(client, table, ob, kafkatest.Codec(t), 0)
	require.NoError(t, err)
	return st, ob
}

// The repository contract suite on DynamoDB (moto); the SQLite and
// PostgreSQL runs are in sqlstore.
func TestRepository(t *testing.T) {
	t.Parallel()
	carttest.TestRepository(t, func(t *testing.T) carttest.Subject {
		st, ob := newStore(t)
		return carttest.Subject{Repo: st, Products: st, Outbox: func(t *testing.T) []events.Event { return dynamotest.Pending(t, ob) }}
	})
}

// The app's expiry use case expires idle carts on DynamoDB: found
// through the open-carts index, expired with CartExpired, and no longer
// idle afterwards.
func TestExpireCarts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, ob := newStore(t)
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	idle, err := cart.New(uuid.Must(uuid.NewV7()), "customer-1", "EUR", at)
	require.NoError(t, err)
	require.NoError(t, st.Create(ctx, idle))
	fresh, err := cart.New(uuid.Must(uuid.NewV7()), "customer-1", "EUR", at.Add(90*time.Minute))
	require.NoError(t, err)
	require.NoError(t, st.Create(ctx, fresh))
	now := at.Add(2 * time.Hour)
	svc, err := app.New(st, st, app.Config{Now: func() time.Time { return now }, IdleTTL: time.Hour})
	require.NoError(t, err)
	n, err := svc.ExpireCarts(ctx, now)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	got, err := st.Cart(ctx, idle.ID())
	require.NoError(t, err)
	require.Equal(t, cart.StatusExpired, got.Status())
	ids, err := st.IdleCarts(ctx, now.Add(-time.Hour), 10)
	require.NoError(t, err)
	require.Empty(t, ids, "an expired cart is no longer open")
	var types []string
	for _, ev := range dynamotest.Pending(t, ob) {
		types = append(types, ev.Metadata.Type)
	}
	require.Equal(t, []string{"agora.cart.v1.CartCreated", "agora.cart.v1.CartCreated", "agora.cart.v1.CartExpired"}, types)
}

// Every change of a cart moves its TTL to the change plus the retention.
func TestCartTTLFollowsItsLastChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	client := dynamotest.Client(t)
	table := dynamotest.NewTable(t, client, "cart-ttl")
	ob, err := dynamo.NewOutbox(dynamo.OutboxConfig{Client: client, Table: table})
	require.NoError(t, err)
	st, err := dynamostore.New(client, table, ob, kafkatest.Codec(t), 48*time.Hour)
	require.NoError(t, err)
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	c, err := cart.New(uuid.Must(uuid.NewV7()), "customer-1", "EUR", at)
	require.NoError(t, err)
	require.NoError(t, st.Create(ctx, c))
	ttl := func() int64 {
		items := dynamotest.Items(t, client, table, "CART#"+c.ID().String())
		require.Len(t, items, 1)
		v, err := dynamo.GetN(items[0], dynamo.AttrTTL)
		require.NoError(t, err)
		return v
	}
	require.Equal(t, at.Add(48*time.Hour).Unix(), ttl())
	later := at.Add(time.Hour)
	_, err = st.Update(ctx, c.ID(), func(c *cart.Cart) error { return c.Abandon(later) })
	require.NoError(t, err)
	require.Equal(t, later.Add(48*time.Hour).Unix(), ttl())
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	client := dynamotest.Client(t)
	ob, err := dynamo.NewOutbox(dynamo.OutboxConfig{Client: client, Table: "cart"})
	require.NoError(t, err)
	_, err = dynamostore.New(nil, "cart", ob, kafkatest.Codec(t), 0)
	require.Error(t, err)
	_, err = dynamostore.New(client, "other", ob, kafkatest.Codec(t), 0)
	require.Error(t, err)
	_, err = dynamostore.New(client, "cart", ob, kafkatest.Codec(t), -time.Hour)
	require.Error(t, err)
	_, err = dynamostore.New(client, "cart", ob, nil, 0)
	require.Error(t, err)
}
