package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/golang-migrate/migrate/v4/database"
	sqlitemigrate "github.com/golang-migrate/migrate/v4/database/sqlite"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/agoracommerce/agora/internal/platform/fault"
)

// sqliteBusyTimeoutMS is how long a writer waits for another writer's lock.
const sqliteBusyTimeoutMS = 5000

// OpenSQLite opens the registry database file at path (creating it when
// missing) in WAL mode with a busy timeout, applies the migrations and
// returns the store. Write transactions take SQLite's write lock when they
// begin, so concurrent registrations queue instead of failing.
func OpenSQLite(ctx context.Context, path string) (*Store, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sqlstore: invalid SQLite path %q", path)
	}
	dsn := fmt.Sprintf("file:%s?_pragma=journal_mode(WAL)&_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate",
		path, sqliteBusyTimeoutMS)
	mdb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open %s: %w", path, err)
	}
	err = migrateUp(mdb, "migrations/sqlite", "sqlite", func(db *sql.DB) (database.Driver, error) {
		return sqlitemigrate.WithInstance(db, &sqlitemigrate.Config{MigrationsTable: migrationsTable})
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: migrate %s: %w", path, err)
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open %s: %w", path, err)
	}
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sqlstore: ping %s: %w", path, err)
	}
	return &Store{db: db, d: dialect{name: "sqlite", isUnique: sqliteIsUnique, classify: sqliteClassify}}, nil
}

func sqliteCode(err error) (int, bool) {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code(), true
	}
	return 0, false
}

func sqliteIsUnique(err error) bool {
	code, ok := sqliteCode(err)
	return ok && (code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}

func sqliteClassify(err error) error {
	if code, ok := sqliteCode(err); ok && (code&0xff == sqlite3.SQLITE_BUSY || code&0xff == sqlite3.SQLITE_LOCKED) {
		return fault.Retryable(err)
	}
	return err
}
