// Package sqlstore keeps the schema registry in SQL: SQLite for local runs
// (modernc.org/sqlite, pure Go, WAL mode) and PostgreSQL (pgx) for shared
// deployments. Both share one implementation of schemaregistry.Store; only
// the connection, the migrations and the error classification differ.
//
// Tables are prefixed sr_ and migrations are tracked in their own table, so
// the registry can live in a database that other components use too.
// Version numbers are assigned inside a transaction and guarded by the
// (subject, version) primary key; schema IDs come from the database's
// identity column and are shared by every subject that registers an
// identical schema (unique fingerprint).
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/agoracommerce/agora/internal/platform/schemaregistry"
)

// migrationsTable is where golang-migrate tracks this package's migrations.
const migrationsTable = "sr_schema_migrations"

// dialect holds what differs between the databases.
type dialect struct {
	name string
	// numbered placeholders ($1) instead of ?
	numbered bool
	// isUnique reports a unique or primary key violation.
	isUnique func(error) bool
	// classify marks transient failures retryable.
	classify func(error) error
}

// Store is a schemaregistry.Store on a SQL database. It is safe for
// concurrent use.
type Store struct {
	db *sql.DB
	d  dialect
}

var _ schemaregistry.Store = (*Store)(nil)

// Close releases the database connections.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("sqlstore: close: %w", err)
	}
	return nil
}

type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// q rewrites ? placeholders for the dialect. The statements in this file
// contain no other question marks.
func (s *Store) q(query string) string {
	if !s.d.numbered {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (s *Store) fail(op string, err error) error {
	return s.d.classify(fmt.Errorf("sqlstore %s: %s: %w", s.d.name, op, err))
}

// inTx runs fn in a transaction, committing when it returns nil. Errors
// from fn pass through unchanged; database errors are wrapped.
func (s *Store) inTx(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.fail(op+": begin", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		if s.d.isUnique(err) {
			return schemaregistry.ErrConflict
		}
		return s.fail(op+": commit", err)
	}
	return nil
}

const versionColumns = `v.subject, v.version, v.deleted, s.id, s.schema_type, s.schema_text, s.fingerprint`

func scanVersion(sc interface{ Scan(...any) error }) (schemaregistry.SubjectVersion, error) {
	var v schemaregistry.SubjectVersion
	err := sc.Scan(&v.Subject, &v.Version, &v.Deleted, &v.Schema.ID, &v.Schema.Type, &v.Schema.Text, &v.Schema.Fingerprint)
	return v, err
}

func (s *Store) references(ctx context.Context, db querier, id int) ([]schemaregistry.Reference, error) {
	rows, err := db.QueryContext(ctx, s.q(`SELECT name, subject, version FROM sr_schema_references WHERE schema_id = ? ORDER BY position`), id)
	if err != nil {
		return nil, s.fail("load references", err)
	}
	defer func() { _ = rows.Close() }()
	var refs []schemaregistry.Reference
	for rows.Next() {
		var r schemaregistry.Reference
		if err := rows.Scan(&r.Name, &r.Subject, &r.Version); err != nil {
			return nil, s.fail("scan reference", err)
		}
		refs = append(refs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("load references", err)
	}
	return refs, nil
}

// liveOr keeps soft-deleted versions out unless its parameter (the
// includeDeleted flag) is true.
const liveOr = ` AND (v.deleted = FALSE OR ?)`

// subjectExists reports whether subject has any version (any live version
// unless includeDeleted).
func (s *Store) subjectExists(ctx context.Context, db querier, subject string, includeDeleted bool) (bool, error) {
	var n int
	err := db.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM sr_subject_versions v WHERE v.subject = ?`+liveOr), subject, includeDeleted).Scan(&n)
	if err != nil {
		return false, s.fail("check subject", err)
	}
	return n > 0, nil
}

// loadVersion reads one subject version with its schema and references.
func (s *Store) loadVersion(ctx context.Context, db querier, subject string, version int, includeDeleted bool) (schemaregistry.SubjectVersion, error) {
	query := `SELECT ` + versionColumns + ` FROM sr_subject_versions v JOIN sr_schemas s ON s.id = v.schema_id WHERE v.subject = ?` + liveOr
	args := []any{subject, includeDeleted}
	if version == schemaregistry.LatestVersion {
		query += ` ORDER BY v.version DESC LIMIT 1`
	} else {
		query += ` AND v.version = ?`
		args = append(args, version)
	}
	v, err := scanVersion(db.QueryRowContext(ctx, s.q(query), args...))
	if errors.Is(err, sql.ErrNoRows) {
		exists := false
		if version != schemaregistry.LatestVersion {
			// No latest version means no version: the subject is unknown.
			if exists, err = s.subjectExists(ctx, db, subject, includeDeleted); err != nil {
				return v, err
			}
		}
		if !exists {
			return v, fmt.Errorf("subject %q: %w", subject, schemaregistry.ErrSubjectNotFound)
		}
		return v, fmt.Errorf("subject %q version %d: %w", subject, version, schemaregistry.ErrVersionNotFound)
	}
	if err != nil {
		return v, s.fail("load version", err)
	}
	if v.Schema.References, err = s.references(ctx, db, v.Schema.ID); err != nil {
		return v, err
	}
	return v, nil
}

// CreateVersion implements schemaregistry.Store.
func (s *Store) CreateVersion(ctx context.Context, subject string, sc schemaregistry.Schema, expectLatest int) (schemaregistry.SubjectVersion, bool, error) {
	var (
		out     schemaregistry.SubjectVersion
		created bool
	)
	err := s.inTx(ctx, "create version", func(tx *sql.Tx) error {
		id, err := s.schemaID(ctx, tx, sc)
		if err != nil {
			return err
		}
		var existing int
		err = tx.QueryRowContext(ctx, s.q(`SELECT version FROM sr_subject_versions WHERE subject = ? AND schema_id = ? AND deleted = FALSE ORDER BY version LIMIT 1`), subject, id).Scan(&existing)
		switch {
		case err == nil:
			out, err = s.loadVersion(ctx, tx, subject, existing, false)
			return err
		case !errors.Is(err, sql.ErrNoRows):
			return s.fail("find existing version", err)
		}
		var latest, highest sql.NullInt64
		err = tx.QueryRowContext(ctx, s.q(`SELECT MAX(CASE WHEN deleted = FALSE THEN version END), MAX(version) FROM sr_subject_versions WHERE subject = ?`), subject).Scan(&latest, &highest)
		if err != nil {
			return s.fail("find latest version", err)
		}
		if int(latest.Int64) != expectLatest {
			return fmt.Errorf("subject %q: latest version is %d, not %d: %w", subject, latest.Int64, expectLatest, schemaregistry.ErrConflict)
		}
		next := int(highest.Int64) + 1
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO sr_subject_versions (subject, version, schema_id, deleted) VALUES (?, ?, ?, FALSE)`), subject, next, id)
		if s.d.isUnique(err) {
			return fmt.Errorf("subject %q version %d: %w", subject, next, schemaregistry.ErrConflict)
		}
		if err != nil {
			return s.fail("insert version", err)
		}
		out, err = s.loadVersion(ctx, tx, subject, next, false)
		created = err == nil
		return err
	})
	if err != nil {
		return schemaregistry.SubjectVersion{}, false, err
	}
	return out, created, nil
}

// schemaID returns the ID of the schema with sc's fingerprint, inserting it
// (with its references) when it is new.
func (s *Store) schemaID(ctx context.Context, tx *sql.Tx, sc schemaregistry.Schema) (int, error) {
	var id int
	err := tx.QueryRowContext(ctx, s.q(`INSERT INTO sr_schemas (fingerprint, schema_type, schema_text) VALUES (?, ?, ?) ON CONFLICT (fingerprint) DO NOTHING RETURNING id`),
		sc.Fingerprint, sc.Type, sc.Text).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		if err := tx.QueryRowContext(ctx, s.q(`SELECT id FROM sr_schemas WHERE fingerprint = ?`), sc.Fingerprint).Scan(&id); err != nil {
			return 0, s.fail("find schema", err)
		}
		return id, nil
	}
	if err != nil {
		return 0, s.fail("insert schema", err)
	}
	for i, ref := range sc.References {
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO sr_schema_references (schema_id, position, name, subject, version) VALUES (?, ?, ?, ?, ?)`),
			id, i, ref.Name, ref.Subject, ref.Version)
		if err != nil {
			return 0, s.fail("insert reference", err)
		}
	}
	return id, nil
}

// SchemaByID implements schemaregistry.Store.
func (s *Store) SchemaByID(ctx context.Context, id int) (schemaregistry.Schema, error) {
	sc := schemaregistry.Schema{ID: id}
	err := s.db.QueryRowContext(ctx, s.q(`SELECT schema_type, schema_text, fingerprint FROM sr_schemas WHERE id = ?`), id).
		Scan(&sc.Type, &sc.Text, &sc.Fingerprint)
	if errors.Is(err, sql.ErrNoRows) {
		return sc, fmt.Errorf("schema %d: %w", id, schemaregistry.ErrSchemaNotFound)
	}
	if err != nil {
		return sc, s.fail("load schema", err)
	}
	if sc.References, err = s.references(ctx, s.db, id); err != nil {
		return sc, err
	}
	return sc, nil
}

// SchemaUsages implements schemaregistry.Store.
func (s *Store) SchemaUsages(ctx context.Context, id int, includeDeleted bool) ([]schemaregistry.SubjectVersion, error) {
	sc, err := s.SchemaByID(ctx, id)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT v.subject, v.version, v.deleted FROM sr_subject_versions v WHERE v.schema_id = ?`+liveOr+` ORDER BY v.subject, v.version`), id, includeDeleted)
	if err != nil {
		return nil, s.fail("list usages", err)
	}
	defer func() { _ = rows.Close() }()
	out := []schemaregistry.SubjectVersion{}
	for rows.Next() {
		v := schemaregistry.SubjectVersion{Schema: sc}
		if err := rows.Scan(&v.Subject, &v.Version, &v.Deleted); err != nil {
			return nil, s.fail("scan usage", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("list usages", err)
	}
	return out, nil
}

// LookupSchema implements schemaregistry.Store.
func (s *Store) LookupSchema(ctx context.Context, subject, fingerprint string, includeDeleted bool) (schemaregistry.SubjectVersion, error) {
	var version int
	err := s.db.QueryRowContext(ctx, s.q(`SELECT v.version FROM sr_subject_versions v JOIN sr_schemas s ON s.id = v.schema_id WHERE v.subject = ? AND s.fingerprint = ?`+liveOr+` ORDER BY v.version LIMIT 1`),
		subject, fingerprint, includeDeleted).Scan(&version)
	if errors.Is(err, sql.ErrNoRows) {
		exists, err := s.subjectExists(ctx, s.db, subject, includeDeleted)
		if err != nil {
			return schemaregistry.SubjectVersion{}, err
		}
		if !exists {
			return schemaregistry.SubjectVersion{}, fmt.Errorf("subject %q: %w", subject, schemaregistry.ErrSubjectNotFound)
		}
		return schemaregistry.SubjectVersion{}, fmt.Errorf("subject %q has no such schema: %w", subject, schemaregistry.ErrSchemaNotFound)
	}
	if err != nil {
		return schemaregistry.SubjectVersion{}, s.fail("lookup schema", err)
	}
	return s.loadVersion(ctx, s.db, subject, version, includeDeleted)
}

// Subjects implements schemaregistry.Store.
func (s *Store) Subjects(ctx context.Context, includeDeleted bool) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT DISTINCT v.subject FROM sr_subject_versions v WHERE TRUE`+liveOr+` ORDER BY v.subject`), includeDeleted)
	if err != nil {
		return nil, s.fail("list subjects", err)
	}
	defer func() { _ = rows.Close() }()
	out := []string{}
	for rows.Next() {
		var subject string
		if err := rows.Scan(&subject); err != nil {
			return nil, s.fail("scan subject", err)
		}
		out = append(out, subject)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("list subjects", err)
	}
	return out, nil
}

// versions lists (version, deleted) pairs of subject in order.
func (s *Store) versions(ctx context.Context, db querier, subject string, includeDeleted bool) (all, live []int, err error) {
	rows, err := db.QueryContext(ctx, s.q(`SELECT v.version, v.deleted FROM sr_subject_versions v WHERE v.subject = ?`+liveOr+` ORDER BY v.version`), subject, includeDeleted)
	if err != nil {
		return nil, nil, s.fail("list versions", err)
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var (
			v       int
			deleted bool
		)
		if err := rows.Scan(&v, &deleted); err != nil {
			return nil, nil, s.fail("scan version", err)
		}
		all = append(all, v)
		if !deleted {
			live = append(live, v)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, s.fail("list versions", err)
	}
	return all, live, nil
}

// Versions implements schemaregistry.Store.
func (s *Store) Versions(ctx context.Context, subject string, includeDeleted bool) ([]int, error) {
	all, _, err := s.versions(ctx, s.db, subject, includeDeleted)
	if err != nil {
		return nil, err
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("subject %q: %w", subject, schemaregistry.ErrSubjectNotFound)
	}
	return all, nil
}

// Version implements schemaregistry.Store.
func (s *Store) Version(ctx context.Context, subject string, version int, includeDeleted bool) (schemaregistry.SubjectVersion, error) {
	return s.loadVersion(ctx, s.db, subject, version, includeDeleted)
}

// referenced reports whether a live schema refers to subject at version,
// or, when version is 0, whether a live schema of another subject refers to
// any version of subject.
func (s *Store) referenced(ctx context.Context, tx *sql.Tx, subject string, version int) (bool, error) {
	var n int
	err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM sr_schema_references r JOIN sr_subject_versions v ON v.schema_id = r.schema_id AND v.deleted = FALSE
		WHERE r.subject = ? AND (r.version = ? OR ? = 0) AND NOT (v.subject = ? AND ? = 0)`),
		subject, version, version, subject, version).Scan(&n)
	if err != nil {
		return false, s.fail("check references", err)
	}
	return n > 0, nil
}

// DeleteSubject implements schemaregistry.Store.
func (s *Store) DeleteSubject(ctx context.Context, subject string, permanent bool) ([]int, error) {
	var out []int
	err := s.inTx(ctx, "delete subject", func(tx *sql.Tx) error {
		all, live, err := s.versions(ctx, tx, subject, true)
		if err != nil {
			return err
		}
		if len(all) == 0 {
			return fmt.Errorf("subject %q: %w", subject, schemaregistry.ErrSubjectNotFound)
		}
		if permanent {
			if len(live) > 0 {
				return fmt.Errorf("subject %q: %w", subject, schemaregistry.ErrSubjectNotSoftDeleted)
			}
			if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM sr_subject_versions WHERE subject = ?`), subject); err != nil {
				return s.fail("delete subject", err)
			}
			out = all
			return nil
		}
		if len(live) == 0 {
			return fmt.Errorf("subject %q: %w", subject, schemaregistry.ErrSubjectSoftDeleted)
		}
		ref, err := s.referenced(ctx, tx, subject, 0)
		if err != nil {
			return err
		}
		if ref {
			return fmt.Errorf("subject %q: %w", subject, schemaregistry.ErrReferenceExists)
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE sr_subject_versions SET deleted = TRUE WHERE subject = ? AND deleted = FALSE`), subject); err != nil {
			return s.fail("soft delete subject", err)
		}
		out = live
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteVersion implements schemaregistry.Store.
func (s *Store) DeleteVersion(ctx context.Context, subject string, version int, permanent bool) (int, error) {
	err := s.inTx(ctx, "delete version", func(tx *sql.Tx) error {
		// "latest" means the newest live version for a soft delete and the
		// newest of all for a permanent one.
		include := permanent || version != schemaregistry.LatestVersion
		v, err := s.loadVersion(ctx, tx, subject, version, include)
		if err != nil {
			return err
		}
		version = v.Version
		if permanent {
			if !v.Deleted {
				return fmt.Errorf("subject %q version %d: %w", subject, version, schemaregistry.ErrVersionNotSoftDeleted)
			}
			if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM sr_subject_versions WHERE subject = ? AND version = ?`), subject, version); err != nil {
				return s.fail("delete version", err)
			}
			return nil
		}
		if v.Deleted {
			return fmt.Errorf("subject %q version %d: %w", subject, version, schemaregistry.ErrVersionSoftDeleted)
		}
		ref, err := s.referenced(ctx, tx, subject, version)
		if err != nil {
			return err
		}
		if ref {
			return fmt.Errorf("subject %q version %d: %w", subject, version, schemaregistry.ErrReferenceExists)
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE sr_subject_versions SET deleted = TRUE WHERE subject = ? AND version = ?`), subject, version); err != nil {
			return s.fail("soft delete version", err)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return version, nil
}

// Compatibility implements schemaregistry.Store.
func (s *Store) Compatibility(ctx context.Context, subject string) (schemaregistry.Compatibility, error) {
	var level string
	err := s.db.QueryRowContext(ctx, s.q(`SELECT compatibility FROM sr_config WHERE subject = ?`), subject).Scan(&level)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("subject %q: %w", subject, schemaregistry.ErrConfigNotFound)
	}
	if err != nil {
		return "", s.fail("load compatibility", err)
	}
	return schemaregistry.Compatibility(level), nil
}

// SetCompatibility implements schemaregistry.Store.
func (s *Store) SetCompatibility(ctx context.Context, subject string, level schemaregistry.Compatibility) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO sr_config (subject, compatibility) VALUES (?, ?) ON CONFLICT (subject) DO UPDATE SET compatibility = excluded.compatibility`),
		subject, string(level))
	if err != nil {
		return s.fail("set compatibility", err)
	}
	return nil
}

// DeleteCompatibility implements schemaregistry.Store.
func (s *Store) DeleteCompatibility(ctx context.Context, subject string) (schemaregistry.Compatibility, error) {
	var level string
	err := s.db.QueryRowContext(ctx, s.q(`DELETE FROM sr_config WHERE subject = ? RETURNING compatibility`), subject).Scan(&level)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("subject %q: %w", subject, schemaregistry.ErrConfigNotFound)
	}
	if err != nil {
		return "", s.fail("delete compatibility", err)
	}
	return schemaregistry.Compatibility(level), nil
}
