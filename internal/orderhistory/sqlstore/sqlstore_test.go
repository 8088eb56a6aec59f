package sqlstore_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/orderhistory/orderhistorytest"
	"github.com/agoracommerce/agora/internal/orderhistory/sqlstore"
	"github.com/agoracommerce/agora/internal/platform/sqldb"
	"github.com/agoracommerce/agora/internal/platform/sqldb/sqldbtest"
)

func TestRepository(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, open func(testing.TB) *sqldb.DB) {
		orderhistorytest.TestRepository(t, func(t *testing.T) orderhistorytest.Subject {
			st, err := sqlstore.New(context.Background(), open(t))
			require.NoError(t, err)
			return orderhistorytest.Subject{Repo: st, Gens: st}
		})
	})
}

// Opening the store again (a restart, a second process) keeps the
// generations and what they hold.
func TestReopen(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, open func(testing.TB) *sqldb.DB) {
		ctx := context.Background()
		db := open(t)
		st, err := sqlstore.New(ctx, db)
		require.NoError(t, err)
		gen, err := st.BeginGeneration(ctx)
		require.NoError(t, err)
		orderhistorytest.MustRecord(t, st, gen, orderhistorytest.Saga("order-1", "alice", orderhistorytest.T0)...)
		_, err = st.ActivateGeneration(ctx, gen)
		require.NoError(t, err)

		again, err := sqlstore.New(ctx, db)
		require.NoError(t, err)
		active, err := again.ActiveGeneration(ctx)
		require.NoError(t, err)
		require.Equal(t, gen, active)
		orderhistorytest.RequireSame(t, orderhistorytest.MustHistory(t, st, "order-1"), orderhistorytest.MustHistory(t, again, "order-1"))
	})
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	_, err := sqlstore.New(context.Background(), nil)
	require.Error(t, err)
}
