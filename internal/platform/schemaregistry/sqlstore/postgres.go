package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/golang-migrate/migrate/v4/database"
	pgxmigrate "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver

	"github.com/agoracommerce/agora/internal/platform/sqldb"
)

// OpenPostgres connects to the PostgreSQL database at url (a postgres://
// URL or key=value DSN; a search_path parameter selects the schema),
// applies the migrations and returns the store.
func OpenPostgres(ctx context.Context, url string) (*Store, error) {
	mdb, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open postgres: %w", err)
	}
	err = migrateUp(mdb, "migrations/postgres", "postgres", func(db *sql.DB) (database.Driver, error) {
		return pgxmigrate.WithInstance(db, &pgxmigrate.Config{MigrationsTable: migrationsTable})
	})
	if err != nil {
		return nil, pgClassify(fmt.Errorf("sqlstore: migrate postgres: %w", err))
	}
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open postgres: %w", err)
	}
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, pgClassify(fmt.Errorf("sqlstore: ping postgres: %w", err))
	}
	return &Store{db: db, d: dialect{name: "postgres", numbered: true, isUnique: pgIsUnique, classify: pgClassify}}, nil
}

func pgIsUnique(err error) bool { return sqldb.IsUniqueViolation(err) }

// pgClassify marks serialization failures, deadlocks, lost connections and
// server shutdowns retryable.
func pgClassify(err error) error { return sqldb.Classify(err) }
