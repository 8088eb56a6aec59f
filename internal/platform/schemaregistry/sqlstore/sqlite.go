package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/golang-migrate/migrate/v4/database"
	sqlitemigrate "github.com/golang-migrate/migrate/v4/database/sqlite"

	"github.com/agoracommerce/agora/internal/platform/sqldb"
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

func sqliteIsUnique(err error) bool { return sqldb.IsUniqueViolation(err) }

func sqliteClassify(err error) error { return sqldb.Classify(err) }
