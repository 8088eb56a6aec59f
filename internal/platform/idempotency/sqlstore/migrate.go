package sqlstore

import (
	"bytes"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"testing/fstest"
	"text/template"

	"github.com/golang-migrate/migrate/v4"
	"github.com/golang-migrate/migrate/v4/database"
	migratepgx "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	migratesqlite "github.com/golang-migrate/migrate/v4/database/sqlite"
	"github.com/golang-migrate/migrate/v4/source/iofs"
)

//go:embed migrations
var migrationFiles embed.FS

// Migrations returns the golang-migrate files for dialect with the table
// name filled in, for operators who run migrations with their own tool.
func Migrations(d Dialect, table string) (fs.FS, error) {
	if err := d.validate(); err != nil {
		return nil, err
	}
	if !validTable(table) {
		return nil, fmt.Errorf("sqlstore: invalid table name %q", table)
	}
	dir := path.Join("migrations", string(d))
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: migrations: %w", err)
	}
	out := fstest.MapFS{}
	for _, e := range entries {
		raw, err := fs.ReadFile(migrationFiles, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("sqlstore: migrations: %w", err)
		}
		tmpl, err := template.New(e.Name()).Option("missingkey=error").Parse(string(raw))
		if err != nil {
			return nil, fmt.Errorf("sqlstore: migration %s: %w", e.Name(), err)
		}
		var buf bytes.Buffer
		if err := tmpl.Execute(&buf, map[string]string{"Table": table}); err != nil {
			return nil, fmt.Errorf("sqlstore: migration %s: %w", e.Name(), err)
		}
		out[e.Name()] = &fstest.MapFile{Data: buf.Bytes(), Mode: 0o444}
	}
	return out, nil
}

// Migrate brings table up to date with golang-migrate, recording versions
// in table_schema_migrations. It opens its own connection from dsn and
// closes it afterwards (golang-migrate's drivers close the database they
// are given).
func Migrate(d Dialect, dsn, table string) (err error) {
	files, err := Migrations(d, table)
	if err != nil {
		return err
	}
	src, err := iofs.New(files, ".")
	if err != nil {
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	db, err := sql.Open(d.driverName(), dsn)
	if err != nil {
		return fmt.Errorf("sqlstore: migrate: open: %w", err)
	}
	versions := table + "_schema_migrations"
	var driver database.Driver
	switch d {
	case SQLite:
		driver, err = migratesqlite.WithInstance(db, &migratesqlite.Config{MigrationsTable: versions})
	case Postgres:
		driver, err = migratepgx.WithInstance(db, &migratepgx.Config{MigrationsTable: versions})
	}
	if err != nil {
		_ = db.Close()
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	m, err := migrate.NewWithInstance("iofs", src, string(d), driver)
	if err != nil {
		_ = driver.Close()
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	defer func() {
		srcErr, dbErr := m.Close()
		if err == nil {
			err = errors.Join(srcErr, dbErr)
		}
	}()
	if err := m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("sqlstore: migrate %s: %w", table, err)
	}
	return nil
}

// DropTable removes table and its migration history; tests use it to clean
// up.
func DropTable(db *sql.DB, table string) error {
	if !validTable(table) {
		return fmt.Errorf("sqlstore: invalid table name %q", table)
	}
	for _, t := range []string{table, table + "_schema_migrations"} {
		if _, err := db.Exec("DROP TABLE IF EXISTS " + t); err != nil { // #nosec G202 -- table matches ^[a-z_][a-z0-9_]*$
			return fmt.Errorf("sqlstore: drop %s: %w", t, err)
		}
	}
	return nil
}
