// Package sqldb opens the relational stores Agora runs on — SQLite files in
// local mode, PostgreSQL in AWS — behind database/sql, applies a component's
// migrations with golang-migrate, and papers over the few dialect
// differences the platform's SQL adapters meet (placeholders, upserts).
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strings"
	"time"

	"github.com/golang-migrate/migrate/v4"
	"github.com/golang-migrate/migrate/v4/database"
	migratepgx "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	migratesqlite "github.com/golang-migrate/migrate/v4/database/sqlite"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver

	"github.com/agoracommerce/agora/internal/platform/fault"
)

// Dialect names the SQL dialect of a DB.
type Dialect string

// The supported dialects; they are also the names of the migration
// subdirectories (migrations/sqlite, migrations/postgres).
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is a database/sql handle that knows its dialect.
type DB struct {
	*sql.DB
	Dialect Dialect
	URL     string
}

// Open connects to url: "postgres://..." / "postgresql://..." for
// PostgreSQL; "sqlite:<path>" or "file:<path>" for SQLite (WAL, a busy
// timeout, immediate write transactions, foreign keys on). It checks the
// connection before returning.
func Open(ctx context.Context, rawURL string) (*DB, error) {
	var (
		db      *sql.DB
		dialect Dialect
		err     error
	)
	switch {
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		dialect = Postgres
		db, err = sql.Open("pgx", rawURL)
		if err == nil {
			db.SetMaxOpenConns(20)
			db.SetMaxIdleConns(20)
			db.SetConnMaxIdleTime(5 * time.Minute)
		}
	case strings.HasPrefix(rawURL, "sqlite:"), strings.HasPrefix(rawURL, "file:"):
		dialect = SQLite
		var dsn string
		dsn, err = sqliteDSN(rawURL)
		if err == nil {
			db, err = sql.Open("sqlite", dsn)
		}
		if err == nil {
			// One connection: SQLite has one writer at a time, and a single
			// connection turns lock contention into queueing in Go.
			db.SetMaxOpenConns(1)
		}
	default:
		return nil, fmt.Errorf("sqldb: unsupported database URL %q (want postgres://, sqlite: or file:)", redact(rawURL))
	}
	if err != nil {
		return nil, fmt.Errorf("sqldb: open %s: %w", dialect, err)
	}
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fault.Retryable(fmt.Errorf("sqldb: connect to %s: %w", redact(rawURL), err))
	}
	return &DB{DB: db, Dialect: dialect, URL: rawURL}, nil
}

func sqliteDSN(rawURL string) (string, error) {
	path := strings.TrimPrefix(strings.TrimPrefix(rawURL, "sqlite:"), "file:")
	path = strings.TrimPrefix(path, "//")
	query := ""
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path, query = path[:i], path[i+1:]
	}
	if path == "" {
		return "", errors.New("sqldb: sqlite URL has no file path")
	}
	params, err := url.ParseQuery(query)
	if err != nil {
		return "", fmt.Errorf("sqldb: sqlite URL parameters: %w", err)
	}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(NORMAL)", "foreign_keys(1)"} {
		params.Add("_pragma", p)
	}
	params.Set("_txlock", "immediate")
	return "file:" + path + "?" + params.Encode(), nil
}

// redact hides a password in a URL for error messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// Migrate applies the migrations in migrations/<dialect>/ of fsys, tracking
// them in a table of the component's own (so that several components share
// one database). It works on a separate connection that it closes after.
func (db *DB) Migrate(ctx context.Context, fsys fs.FS, component string) error {
	dir, err := fs.Sub(fsys, "migrations/"+string(db.Dialect))
	if err != nil {
		return fmt.Errorf("sqldb: migrations of %s: %w", component, err)
	}
	return db.MigrateFS(ctx, dir, component)
}

// MigrateFS is Migrate for migration files at the root of fsys, already
// chosen for the DB's dialect.
func (db *DB) MigrateFS(ctx context.Context, fsys fs.FS, component string) error {
	src, err := iofs.New(fsys, ".")
	if err != nil {
		return fmt.Errorf("sqldb: migrations of %s: %w", component, err)
	}
	own, err := Open(ctx, db.URL)
	if err != nil {
		return fmt.Errorf("sqldb: migrate %s: %w", component, err)
	}
	table := "schema_migrations_" + component
	var drv database.Driver
	switch db.Dialect {
	case Postgres:
		drv, err = migratepgx.WithInstance(own.DB, &migratepgx.Config{MigrationsTable: table})
	default:
		drv, err = migratesqlite.WithInstance(own.DB, &migratesqlite.Config{MigrationsTable: table})
	}
	if err != nil {
		_ = own.Close()
		return fmt.Errorf("sqldb: migrate %s: %w", component, err)
	}
	m, err := migrate.NewWithInstance("iofs", src, string(db.Dialect), drv)
	if err != nil {
		_ = drv.Close()
		return fmt.Errorf("sqldb: migrate %s: %w", component, err)
	}
	defer func() { _, _ = m.Close() }()
	if err := m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("sqldb: migrate %s: %w", component, err)
	}
	return nil
}

// Rebind rewrites ? placeholders to $1, $2, ... for PostgreSQL.
func (db *DB) Rebind(query string) string {
	if db.Dialect != Postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

// InTx runs fn in a transaction, committing when it returns nil and rolling
// back otherwise. Errors of the database itself are marked retryable.
func (db *DB) InTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fault.Retryable(fmt.Errorf("sqldb: begin: %w", err))
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fault.Retryable(fmt.Errorf("sqldb: commit: %w", err))
	}
	return nil
}
