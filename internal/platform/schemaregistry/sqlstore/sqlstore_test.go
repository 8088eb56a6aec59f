package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/agoracommerce/agora/internal/platform/schemaregistry"
	"github.com/agoracommerce/agora/internal/platform/schemaregistry/sqlstore"
	"github.com/agoracommerce/agora/internal/platform/schemaregistry/storetest"
	"github.com/agoracommerce/agora/internal/testenv"
)

func newSQLite(t *testing.T) schemaregistry.Store {
	t.Helper()
	s, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func TestSQLiteContract(t *testing.T) {
	t.Parallel()
	storetest.Run(t, newSQLite)
}

func TestSQLiteReopenKeepsData(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "registry.db")
	s, err := sqlstore.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	sc := schemaregistry.Schema{Type: schemaregistry.SchemaTypeProtobuf, Text: `syntax = "proto3";`, Fingerprint: "fp"}
	v, _, err := s.CreateVersion(ctx, "a", sc, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = sqlstore.OpenSQLite(ctx, path) // migrations run again: no change
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	got, err := s.SchemaByID(ctx, v.Schema.ID)
	if err != nil || got.Text != sc.Text {
		t.Fatalf("after reopen: %+v, %v", got, err)
	}
}

func TestOpenSQLiteRejectsBadPath(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"", "a?b", "x#y"} {
		if _, err := sqlstore.OpenSQLite(context.Background(), p); err == nil {
			t.Errorf("OpenSQLite(%q) succeeded", p)
		}
	}
}

// newPostgres gives each store its own schema on the test server, dropped
// when the test ends.
func newPostgres(t *testing.T) schemaregistry.Store {
	t.Helper()
	base := testenv.PostgresURL(t)
	ctx := context.Background()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	schema := "sr_test_" + strings.ReplaceAll(uuid.NewString(), "-", "")
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", testenv.EnvPostgresURL, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	s, err := sqlstore.OpenPostgres(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func TestPostgresContract(t *testing.T) {
	t.Parallel()
	storetest.Run(t, newPostgres)
}

func TestPostgresUsesItsSchema(t *testing.T) {
	t.Parallel()
	s := newPostgres(t)
	ctx := context.Background()
	for i := range 2 {
		sc := schemaregistry.Schema{Type: schemaregistry.SchemaTypeProtobuf, Text: fmt.Sprint(i), Fingerprint: fmt.Sprint(i)}
		v, _, err := s.CreateVersion(ctx, "a", sc, i)
		if err != nil {
			t.Fatal(err)
		}
		// A fresh schema numbers ids from 1: no other test's rows are visible.
		if v.Schema.ID != i+1 {
			t.Fatalf("id %d, want %d", v.Schema.ID, i+1)
		}
	}
}
