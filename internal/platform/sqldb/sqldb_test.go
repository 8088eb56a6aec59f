package sqldb_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/platform/fault"
	"github.com/agoracommerce/agora/internal/platform/sqldb"
	"github.com/agoracommerce/agora/internal/platform/sqldb/sqldbtest"
)

func TestOpenRejectsUnknownURLs(t *testing.T) {
	t.Parallel()
	for _, url := range []string{"mysql://u:p@h/db", "", "sqlite:", "postgres//missing-colon"} {
		_, err := sqldb.Open(context.Background(), url)
		require.Error(t, err, url)
	}
	_, err := sqldb.Open(context.Background(), "ftp://user:hunter2@host/db")
	require.Error(t, err)
	require.NotContains(t, err.Error(), "hunter2", "passwords never appear in errors")
}

func TestRebind(t *testing.T) {
	t.Parallel()
	db := sqldbtest.SQLite(t)
	require.Equal(t, "SELECT ? , ?", db.Rebind("SELECT ? , ?"))
	pg := &sqldb.DB{Dialect: sqldb.Postgres}
	require.Equal(t, "SELECT $1 , $2 WHERE x = $3", pg.Rebind("SELECT ? , ? WHERE x = ?"))
}

var testMigrations = fstest.MapFS{
	"migrations/sqlite/1_items.up.sql":     {Data: []byte("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL);")},
	"migrations/sqlite/1_items.down.sql":   {Data: []byte("DROP TABLE items;")},
	"migrations/postgres/1_items.up.sql":   {Data: []byte("CREATE TABLE items (id BIGINT PRIMARY KEY, name TEXT NOT NULL);")},
	"migrations/postgres/1_items.down.sql": {Data: []byte("DROP TABLE items;")},
}

// Migrations are idempotent, and InTx commits on nil and rolls back on error,
// on both dialects.
func TestMigrateAndInTx(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, open func(testing.TB) *sqldb.DB) {
		ctx := context.Background()
		db := open(t)
		require.NoError(t, db.Migrate(ctx, testMigrations, "items"))
		require.NoError(t, db.Migrate(ctx, testMigrations, "items"), "a second run changes nothing")

		require.NoError(t, db.InTx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, db.Rebind("INSERT INTO items (id, name) VALUES (?, ?)"), 1, "kept")
			return err
		}))
		boom := errors.New("boom")
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, db.Rebind("INSERT INTO items (id, name) VALUES (?, ?)"), 2, "rolled back"); err != nil {
				return err
			}
			return boom
		})
		require.ErrorIs(t, err, boom)
		var n int
		require.NoError(t, db.QueryRowContext(ctx, "SELECT count(*) FROM items").Scan(&n))
		require.Equal(t, 1, n)
	})
}

func TestSQLiteFileIsDurableAcrossOpen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "durable.db")
	db, err := sqldb.Open(ctx, "sqlite:"+path)
	require.NoError(t, err)
	require.NoError(t, db.Migrate(ctx, testMigrations, "items"))
	_, err = db.ExecContext(ctx, "INSERT INTO items (id, name) VALUES (1, 'a')")
	require.NoError(t, err)
	require.NoError(t, db.Close())

	db, err = sqldb.Open(ctx, "file:"+path)
	require.NoError(t, err)
	defer func() { _ = db.Close() }()
	var mode string
	require.NoError(t, db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode))
	require.Equal(t, "wal", strings.ToLower(mode))
	var name string
	require.NoError(t, db.QueryRowContext(ctx, "SELECT name FROM items WHERE id = 1").Scan(&name))
	require.Equal(t, "a", name)
}

// Constraint violations are recognised the same way on both dialects.
func TestViolations(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, open func(testing.TB) *sqldb.DB) {
		ctx := context.Background()
		db := open(t)
		for _, stmt := range []string{
			"CREATE TABLE parents (id INTEGER PRIMARY KEY)",
			"CREATE TABLE children (id INTEGER PRIMARY KEY, parent INTEGER NOT NULL REFERENCES parents (id), name TEXT UNIQUE)",
			"INSERT INTO parents (id) VALUES (1)",
			"INSERT INTO children (id, parent, name) VALUES (1, 1, 'a')",
		} {
			_, err := db.ExecContext(ctx, stmt)
			require.NoError(t, err, stmt)
		}
		_, err := db.ExecContext(ctx, "INSERT INTO children (id, parent, name) VALUES (2, 1, 'a')")
		require.True(t, sqldb.IsUniqueViolation(err), "unique: %v", err)
		require.False(t, sqldb.IsForeignKeyViolation(err))
		_, err = db.ExecContext(ctx, "INSERT INTO children (id, parent, name) VALUES (1, 1, 'b')")
		require.True(t, sqldb.IsUniqueViolation(err), "primary key: %v", err)
		_, err = db.ExecContext(ctx, "INSERT INTO children (id, parent, name) VALUES (3, 9, 'c')")
		require.True(t, sqldb.IsForeignKeyViolation(err), "foreign key: %v", err)
		require.False(t, fault.IsRetryable(sqldb.Classify(err)), "a violation is permanent")
		require.Nil(t, sqldb.Classify(nil))
	})
}
