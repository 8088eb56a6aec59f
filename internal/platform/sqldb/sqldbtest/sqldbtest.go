// Package sqldbtest gives tests a fresh, isolated database of each dialect:
// a SQLite file in the test's temp dir, or a PostgreSQL schema of its own on
// the test environment's server, dropped when the test ends.
package sqldbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/agoracommerce/agora/internal/platform/sqldb"
	"github.com/agoracommerce/agora/internal/testenv"
)

// SQLite opens a new SQLite database file under tb.TempDir().
func SQLite(tb testing.TB) *sqldb.DB {
	tb.Helper()
	db, err := sqldb.Open(context.Background(), "sqlite:"+filepath.Join(tb.TempDir(), "test.db"))
	if err != nil {
		tb.Fatalf("open sqlite: %v", err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

// Postgres opens the test PostgreSQL server with search_path set to a new
// schema, dropped (with everything in it) when the test ends.
func Postgres(tb testing.TB) *sqldb.DB {
	tb.Helper()
	base := testenv.PostgresURL(tb)
	ctx := context.Background()
	admin, err := sqldb.Open(ctx, base)
	if err != nil {
		tb.Fatalf("open postgres: %v", err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "test_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
		_ = admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("parse %s: %v", testenv.EnvPostgresURL, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	db, err := sqldb.Open(ctx, u.String())
	if err != nil {
		tb.Fatalf("open postgres schema %s: %v", schema, err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

// Each runs fn once per dialect as a subtest, the way contract suites are run
// against every SQL adapter.
func Each(t *testing.T, fn func(t *testing.T, open func(testing.TB) *sqldb.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { t.Parallel(); fn(t, SQLite) })
	t.Run("postgres", func(t *testing.T) { t.Parallel(); fn(t, Postgres) })
}
