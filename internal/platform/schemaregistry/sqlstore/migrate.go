package sqlstore

import (
	"database/sql"
	"embed"
	"errors"
	"fmt"

	"github.com/golang-migrate/migrate/v4"
	"github.com/golang-migrate/migrate/v4/database"
	"github.com/golang-migrate/migrate/v4/source/iofs"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrations embed.FS

// migrateUp applies the dialect's migrations through db and closes db
// (golang-migrate closes the database it was handed).
func migrateUp(db *sql.DB, dir, dbName string, newDriver func(*sql.DB) (database.Driver, error)) (err error) {
	src, err := iofs.New(migrations, dir)
	if err != nil {
		_ = db.Close()
		return fmt.Errorf("open migrations: %w", err)
	}
	drv, err := newDriver(db)
	if err != nil {
		_ = db.Close()
		return fmt.Errorf("migration driver: %w", err)
	}
	m, err := migrate.NewWithInstance("iofs", src, dbName, drv)
	if err != nil {
		_ = drv.Close()
		return fmt.Errorf("migrator: %w", err)
	}
	defer func() {
		srcErr, dbErr := m.Close()
		if err == nil {
			err = errors.Join(srcErr, dbErr)
		}
	}()
	if err := m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("migrate up: %w", err)
	}
	return nil
}
