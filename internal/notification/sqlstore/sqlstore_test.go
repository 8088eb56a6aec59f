package sqlstore_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/notification/notificationtest"
	"github.com/agoracommerce/agora/internal/notification/sqlstore"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/inbox"
	"github.com/agoracommerce/agora/internal/platform/kafkatest"
	"github.com/agoracommerce/agora/internal/platform/outbox"
	"github.com/agoracommerce/agora/internal/platform/outbox/outboxtest"
	"github.com/agoracommerce/agora/internal/platform/sqldb"
	"github.com/agoracommerce/agora/internal/platform/sqldb/sqldbtest"
)

// newStore returns a Store over db with its outbox.
func newStore(t *testing.T, db *sqldb.DB, codec *events.Codec) (*sqlstore.Store, *outbox.Store) {
	t.Helper()
	ctx := context.Background()
	ob, err := outbox.NewStore(ctx, db)
	require.NoError(t, err)
	in, err := inbox.NewStore(ctx, db)
	require.NoError(t, err)
	st, err := sqlstore.New(ctx, db, ob, in, codec)
	require.NoError(t, err)
	return st, ob
}

func TestRepository(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, open func(testing.TB) *sqldb.DB) {
		notificationtest.TestRepository(t, func(t *testing.T) notificationtest.Subject {
			st, ob := newStore(t, open(t), kafkatest.Codec(t))
			return notificationtest.Subject{Repo: st, Outbox: func(t *testing.T) []events.Event { return outboxtest.Pending(t, ob) }}
		})
	})
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := sqldbtest.SQLite(t)
	ob, err := outbox.NewStore(ctx, db)
	require.NoError(t, err)
	in, err := inbox.NewStore(ctx, db)
	require.NoError(t, err)
	codec := kafkatest.Codec(t)
	_, err = sqlstore.New(ctx, nil, ob, in, codec)
	require.Error(t, err)
	_, err = sqlstore.New(ctx, db, nil, in, codec)
	require.Error(t, err)
	_, err = sqlstore.New(ctx, db, ob, nil, codec)
	require.Error(t, err)
	_, err = sqlstore.New(ctx, db, ob, in, nil)
	require.Error(t, err)
	other, err := inbox.NewStore(ctx, sqldbtest.SQLite(t))
	require.NoError(t, err)
	_, err = sqlstore.New(ctx, db, ob, other, codec)
	require.ErrorContains(t, err, "same database", "the inbox mark must share the message's transaction")
}
