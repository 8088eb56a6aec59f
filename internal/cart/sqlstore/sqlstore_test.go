package sqlstore_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/cart/carttest"
	"github.com/agoracommerce/agora/internal/cart/sqlstore"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/kafkatest"
	"github.com/agoracommerce/agora/internal/platform/outbox"
	"github.com/agoracommerce/agora/internal/platform/outbox/outboxtest"
	"github.com/agoracommerce/agora/internal/platform/sqldb"
	"github.com/agoracommerce/agora/internal/platform/sqldb/sqldbtest"
)

// newStore returns a Store over db and its outbox.
func newStore(t *testing.T, db *sqldb.DB, codec *events.Codec) (*sqlstore.Store, *outbox.Store) {
	t.Helper()
	ctx := context.Background()
	ob, err := outbox.NewStore(ctx, db)
	require.NoError(t, err)
	st, err := sqlstore.New(ctx, db, ob, codec)
	require.NoError(t, err)
	return st, ob
}

func TestRepository(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, open func(testing.TB) *sqldb.DB) {
		carttest.TestRepository(t, func(t *testing.T) carttest.Subject {
			st, ob := newStore(t, open(t), kafkatest.Codec(t))
			return carttest.Subject{Repo: st, Products: st, Outbox: func(t *testing.T) []events.Event { return outboxtest.Pending(t, ob) }}
		})
	})
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	db := sqldbtest.SQLite(t)
	ob, err := outbox.NewStore(context.Background(), db)
	require.NoError(t, err)
	_, err = sqlstore.New(context.Background(), nil, ob, kafkatest.Codec(t))
	require.Error(t, err)
	_, err = sqlstore.New(context.Background(), db, nil, kafkatest.Codec(t))
	require.Error(t, err)
	_, err = sqlstore.New(context.Background(), db, ob, nil)
	require.Error(t, err)
}
