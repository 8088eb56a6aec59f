package inbox_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/platform/inbox"
	"github.com/agoracommerce/agora/internal/platform/inbox/inboxtest"
	"github.com/agoracommerce/agora/internal/platform/sqldb"
	"github.com/agoracommerce/agora/internal/platform/sqldb/sqldbtest"
)

// TestStore runs the inbox contract suite against SQLite and PostgreSQL.
func TestStore(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, open func(testing.TB) *sqldb.DB) {
		inboxtest.TestInbox(t, sqlInbox(open), inboxtest.Features{})
	})
}

func mustStore(tb testing.TB, db *sqldb.DB, now func() time.Time) *inbox.Store {
	tb.Helper()
	s, err := inbox.NewStore(context.Background(), db)
	if err != nil {
		tb.Fatalf("inbox store: %v", err)
	}
	if now != nil {
		inbox.SetClock(s, now)
	}
	return s
}

// sqlInbox is the suite's inbox on a SQL database, with an effects table
// that allows duplicates so that a double effect would show.
func sqlInbox(open func(testing.TB) *sqldb.DB) inboxtest.NewInbox {
	return func(t *testing.T, clock *inboxtest.Clock) inboxtest.Inbox {
		ctx := context.Background()
		db := open(t)
		store := mustStore(t, db, clock.Now)
		require.Same(t, db, store.DB())
		_, err := db.ExecContext(ctx, `CREATE TABLE effects (event_id TEXT NOT NULL)`)
		require.NoError(t, err)
		return inboxtest.Inbox{
			Process: func(ctx context.Context, group, eventID string, rollback bool) (bool, error) {
				var isNew bool
				err := db.InTx(ctx, func(tx *sql.Tx) error {
					var err error
					if isNew, err = store.Mark(ctx, tx, group, eventID); err != nil || !isNew {
						return err
					}
					if _, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO effects (event_id) VALUES (?)`), eventID); err != nil {
						return err
					}
					if rollback {
						return inboxtest.ErrRollback
					}
					return nil
				})
				if rollback && errors.Is(err, inboxtest.ErrRollback) {
					err = nil
				}
				return isNew, err
			},
			Seen:    store.Seen,
			Cleanup: store.Cleanup,
			Effects: func(ctx context.Context) (int, error) {
				var n int
				err := db.QueryRowContext(ctx, `SELECT count(*) FROM effects`).Scan(&n)
				return n, err
			},
		}
	}
}

func TestStoreMigratesOnce(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, open func(testing.TB) *sqldb.DB) {
		ctx := context.Background()
		db := open(t)
		first := mustStore(t, db, nil)
		require.NoError(t, db.InTx(ctx, func(tx *sql.Tx) error {
			_, err := first.Mark(ctx, tx, "billing", "ev-1")
			return err
		}))
		seen, err := mustStore(t, db, nil).Seen(ctx, "billing", "ev-1")
		require.NoError(t, err)
		require.True(t, seen, "opening the inbox again keeps its entries")
	})
}

// MarkMany marks a batch in one statement: IDs seen before, and a second copy
// of an ID within the batch, are not new; a rolled-back batch marks nothing.
func TestMarkMany(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, open func(testing.TB) *sqldb.DB) {
		ctx := context.Background()
		db := open(t)
		s := mustStore(t, db, nil)
		mark := func(ids ...string) map[string]bool {
			var fresh map[string]bool
			require.NoError(t, db.InTx(ctx, func(tx *sql.Tx) error {
				var err error
				fresh, err = s.MarkMany(ctx, tx, "g", ids)
				return err
			}))
			return fresh
		}
		require.Equal(t, map[string]bool{"a": true, "b": true}, mark("a", "b", "a"))
		require.Equal(t, map[string]bool{"c": true}, mark("a", "c", "b"))

		boom := errors.New("boom")
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			fresh, err := s.MarkMany(ctx, tx, "g", []string{"d"})
			require.NoError(t, err)
			require.True(t, fresh["d"])
			return boom
		})
		require.ErrorIs(t, err, boom)
		require.Equal(t, map[string]bool{"d": true}, mark("d"), "the rolled-back mark left nothing")

		ids := make([]string, 2500) // more than one statement's worth
		for i := range ids {
			ids[i] = fmt.Sprintf("bulk-%d", i)
		}
		require.Len(t, mark(ids...), len(ids))
		require.Empty(t, mark(ids...))
	})
}
