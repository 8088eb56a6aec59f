package dynamostore_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/inventory/dynamostore"
	"github.com/agoracommerce/agora/internal/inventory/inventorytest"
	"github.com/agoracommerce/agora/internal/platform/dynamo"
	"github.com/agoracommerce/agora/internal/platform/dynamo/dynamotest"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/kafkatest"
)

// newStore returns a Store over a fresh table and its outbox.
func newStore(t *testing.T, codec *events.Codec) (*dynamostore.Store, *dynamo.Outbox) {
	t.Helper()
	client := dynamotest.Client(t)
	table := dynamotest.NewTable(t, client, "inventory")
	ob, err := dynamo.NewOutbox(dynamo.OutboxConfig{Client: client, Table: table})
	require.NoError(t, err)
	st, err := dynamostore.New(client, table, ob, codec)
	require.NoError(t, err)
	return st, ob
}

// The repository contract suite on DynamoDB (moto); the SQLite and
// PostgreSQL runs are in sqlstore.
func TestRepository(t *testing.T) {
	t.Parallel()
	inventorytest.TestRepository(t, func(t *testing.T) inventorytest.Subject {
		st, ob := newStore(t, kafkatest.Codec(t))
		return inventorytest.Subject{Repo: st, Outbox: func(t *testing.T) []events.Event { return dynamotest.Pending(t, ob) }}
	})
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	client := dynamotest.Client(t)
	ob, err := dynamo.NewOutbox(dynamo.OutboxConfig{Client: client, Table: "inventory"})
	require.NoError(t, err)
	_, err = dynamostore.New(nil, "inventory", ob, kafkatest.Codec(t))
	require.Error(t, err)
	_, err = dynamostore.New(client, "other", ob, kafkatest.Codec(t))
	require.Error(t, err, "the outbox must be on the store's table")
	_, err = dynamostore.New(client, "inventory", ob, nil)
	require.Error(t, err)
}
