package outbox_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/outbox"
	"github.com/agoracommerce/agora/internal/platform/outbox/outboxtest"
	"github.com/agoracommerce/agora/internal/platform/sqldb"
	"github.com/agoracommerce/agora/internal/platform/sqldb/sqldbtest"
)

// TestStore runs the outbox contract suite against SQLite and PostgreSQL.
func TestStore(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, open func(testing.TB) *sqldb.DB) {
		outboxtest.TestSource(t, sqlOutbox(open), outboxtest.Features{})
	})
}

// mustStore returns the migrated outbox of db reading the time from now
// (the wall clock when nil).
func mustStore(tb testing.TB, db *sqldb.DB, now func() time.Time) *outbox.Store {
	tb.Helper()
	s, err := outbox.NewStore(context.Background(), db)
	if err != nil {
		tb.Fatalf("outbox store: %v", err)
	}
	if now != nil {
		outbox.SetClock(s, now)
	}
	return s
}

// sqlOutbox is the suite's outbox on a SQL database: a service table
// ("orders") changed in the same transaction as the outbox rows.
func sqlOutbox(open func(testing.TB) *sqldb.DB) outboxtest.NewOutbox {
	return func(t *testing.T, clock *outboxtest.Clock) outboxtest.Outbox {
		ctx := context.Background()
		db := open(t)
		store := mustStore(t, db, clock.Now)
		_, err := db.ExecContext(ctx, `CREATE TABLE orders (id TEXT PRIMARY KEY)`)
		require.NoError(t, err)
		write := func(ctx context.Context, evs []events.Event, rollback bool) error {
			return db.InTx(ctx, func(tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO orders (id) VALUES (?)`), events.NewID()); err != nil {
					return err
				}
				if err := store.Add(ctx, tx, evs...); err != nil {
					return err
				}
				if rollback {
					return outboxtest.ErrRollback
				}
				return nil
			})
		}
		o := outboxtest.Outbox{
			Source: store,
			Write:  func(ctx context.Context, evs ...events.Event) error { return write(ctx, evs, false) },
			WriteRolledBack: func(ctx context.Context, evs ...events.Event) error {
				if err := write(ctx, evs, true); !errors.Is(err, outboxtest.ErrRollback) {
					return err
				}
				return nil
			},
			StateChanges: func(ctx context.Context) (int, error) {
				var n int
				err := db.QueryRowContext(ctx, `SELECT count(*) FROM orders`).Scan(&n)
				return n, err
			},
		}
		// Relays in separate processes share a PostgreSQL outbox. A SQLite
		// outbox serves one process through one connection (sqldb.Open), so
		// its relays share the handle: processes polling one SQLite file
		// contend for its single write lock and can wait out the busy timeout.
		if db.Dialect == sqldb.Postgres {
			o.Reopen = func(t *testing.T) outbox.Source {
				other, err := sqldb.Open(context.Background(), db.URL)
				require.NoError(t, err)
				t.Cleanup(func() { _ = other.Close() })
				return mustStore(t, other, clock.Now)
			}
		}
		return o
	}
}

func TestStoreMigratesOnce(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, open func(testing.TB) *sqldb.DB) {
		db := open(t)
		first := mustStore(t, db, nil)
		ctx := context.Background()
		require.NoError(t, db.InTx(ctx, func(tx *sql.Tx) error {
			return first.Add(ctx, tx, outboxtest.Event("orders", "k", 0, time.Now()))
		}))
		second := mustStore(t, db, nil)
		st, err := second.Stats(ctx)
		require.NoError(t, err)
		require.EqualValues(t, 1, st.Backlog, "opening the store again keeps its rows")
	})
}

func TestClaimWithoutOwnerIsRejected(t *testing.T) {
	t.Parallel()
	s := mustStore(t, sqldbtest.SQLite(t), nil)
	_, err := s.Claim(context.Background(), "", 10, time.Minute)
	require.Error(t, err)
}
