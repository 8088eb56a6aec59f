package sqlstore_test

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/platform/idempotency"
	"github.com/agoracommerce/agora/internal/platform/idempotency/idempotencytest"
	"github.com/agoracommerce/agora/internal/platform/idempotency/sqlstore"
	"github.com/agoracommerce/agora/internal/testenv"
)

func uniqueTable() string {
	return "idem_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:20]
}

// MustSQLite returns a migrated store on a fresh SQLite file.
func mustSQLite(t *testing.T) idempotency.Store {
	t.Helper()
	dsn := "file:" + filepath.Join(t.TempDir(), "idem.db") + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)"
	require.NoError(t, sqlstore.Migrate(sqlstore.SQLite, dsn, sqlstore.DefaultTable))
	require.NoError(t, sqlstore.Migrate(sqlstore.SQLite, dsn, sqlstore.DefaultTable), "migrating twice is a no-op")
	db, err := sql.Open("sqlite", dsn)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	s, err := sqlstore.New(db, sqlstore.Config{Dialect: sqlstore.SQLite})
	require.NoError(t, err)
	return s
}

func mustPostgres(t *testing.T) idempotency.Store {
	t.Helper()
	dsn := testenv.PostgresURL(t)
	table := uniqueTable()
	require.NoError(t, sqlstore.Migrate(sqlstore.Postgres, dsn, table))
	db, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, sqlstore.DropTable(db, table))
		_ = db.Close()
	})
	s, err := sqlstore.New(db, sqlstore.Config{Dialect: sqlstore.Postgres, Table: table})
	require.NoError(t, err)
	return s
}

func TestSQLiteStore(t *testing.T) {
	t.Parallel()
	idempotencytest.TestStore(t, mustSQLite, idempotencytest.Features{})
}

func TestPostgresStore(t *testing.T) {
	t.Parallel()
	idempotencytest.TestStore(t, mustPostgres, idempotencytest.Features{})
}

func TestConfigRejectsBadInput(t *testing.T) {
	t.Parallel()
	db, err := sql.Open("sqlite", ":memory:")
	require.NoError(t, err)
	defer func() { _ = db.Close() }()
	for _, cfg := range []sqlstore.Config{
		{Dialect: "mysql"},
		{Dialect: sqlstore.SQLite, Table: "keys; DROP TABLE orders"},
		{Dialect: sqlstore.Postgres, Table: "Upper"},
	} {
		t.Run(fmt.Sprintf("%s/%s", cfg.Dialect, cfg.Table), func(t *testing.T) {
			_, err := sqlstore.New(db, cfg)
			require.Error(t, err)
		})
	}
	require.Error(t, sqlstore.Migrate(sqlstore.SQLite, ":memory:", "bad name"))
}
