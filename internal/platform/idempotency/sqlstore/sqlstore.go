// Package sqlstore keeps idempotency records in a SQL table, on SQLite
// (modernc.org/sqlite, driver "sqlite") for local runs and on PostgreSQL
// (pgx stdlib, driver "pgx") in AWS. One implementation serves both; the
// dialects differ only in placeholders and column types. The table is
// created by golang-migrate from embedded, table-name-templated files
// (Migrate); expired rows are removed by Purge.
//
// Open SQLite databases with a busy timeout (for example
// "file:agora.db?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)") so
// that concurrent claims wait for the write lock instead of failing.
package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver

	"github.com/agoracommerce/agora/internal/platform/fault"
	"github.com/agoracommerce/agora/internal/platform/idempotency"
)

// Dialect names a supported database.
type Dialect string

// Supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

func (d Dialect) validate() error {
	if d != SQLite && d != Postgres {
		return fmt.Errorf("sqlstore: unknown dialect %q (want %q or %q)", d, SQLite, Postgres)
	}
	return nil
}

func (d Dialect) driverName() string {
	if d == Postgres {
		return "pgx"
	}
	return "sqlite"
}

// DefaultTable is the table name when Config.Table is empty.
const DefaultTable = "idempotency_keys"

var tableName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,40}$`)

func validTable(t string) bool { return tableName.MatchString(t) }

// Config configures a Store.
type Config struct {
	Dialect Dialect
	// Table holds the records; empty means DefaultTable. Lower-case
	// letters, digits and underscores only.
	Table string
}

// Store is the SQL idempotency store. Safe for concurrent use.
type Store struct {
	db *sql.DB
	q  queries
}

var _ idempotency.Store = (*Store)(nil)

type queries struct {
	claim, get, complete, release, purge string
}

// New returns a Store on db, whose table Migrate must have created.
func New(db *sql.DB, cfg Config) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlstore: db is required")
	}
	if err := cfg.Dialect.validate(); err != nil {
		return nil, err
	}
	if cfg.Table == "" {
		cfg.Table = DefaultTable
	}
	if !validTable(cfg.Table) {
		return nil, fmt.Errorf("sqlstore: invalid table name %q", cfg.Table)
	}
	t := cfg.Table
	q := queries{
		// A row whose expiry has passed is overwritten by the claim; a live
		// row makes the upsert affect nothing.
		claim: `INSERT INTO ` + t + ` (id, fingerprint, token, state, status, headers, body, expires_at)
VALUES (?, ?, ?, 0, 0, '', NULL, ?)
ON CONFLICT (id) DO UPDATE SET fingerprint = excluded.fingerprint, token = excluded.token,
  state = 0, status = 0, headers = '', body = NULL, expires_at = excluded.expires_at
WHERE ` + t + `.expires_at <= ?`,
		get:      `SELECT fingerprint, token, state, status, headers, body, expires_at FROM ` + t + ` WHERE id = ?`,
		complete: `UPDATE ` + t + ` SET state = 1, status = ?, headers = ?, body = ?, expires_at = ? WHERE id = ? AND token = ? AND state = 0`,
		release:  `DELETE FROM ` + t + ` WHERE id = ? AND token = ? AND state = 0`,
		purge:    `DELETE FROM ` + t + ` WHERE expires_at <= ?`,
	}
	if cfg.Dialect == Postgres {
		q = queries{numbered(q.claim), numbered(q.get), numbered(q.complete), numbered(q.release), numbered(q.purge)}
	}
	return &Store{db: db, q: q}, nil
}

// numbered rewrites ? placeholders as $1, $2, ... for PostgreSQL.
func numbered(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// claimAttempts bounds the retries when a record vanishes between the
// failed insert and the read.
const claimAttempts = 5

// Claim implements idempotency.Store.
func (s *Store) Claim(ctx context.Context, id string, c idempotency.Claim) (idempotency.Record, bool, error) {
	for range claimAttempts {
		res, err := s.db.ExecContext(ctx, s.q.claim, id, c.Fingerprint, c.Token, c.ExpiresAt.UnixMilli(), c.Now.UnixMilli())
		if err != nil {
			return idempotency.Record{}, false, wrap("claim", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return idempotency.Record{}, false, wrap("claim", err)
		}
		if n == 1 {
			return idempotency.Record{}, true, nil
		}
		rec, found, err := s.get(ctx, id)
		if err != nil {
			return idempotency.Record{}, false, err
		}
		if found && rec.ExpiresAt.After(c.Now) {
			return rec, false, nil
		}
		// Released or expired in between: try the claim again.
	}
	return idempotency.Record{}, false, fault.Retryable(fmt.Errorf("sqlstore: claim %s: key keeps changing", id))
}

func (s *Store) get(ctx context.Context, id string) (idempotency.Record, bool, error) {
	var (
		rec     idempotency.Record
		state   int
		status  int
		headers string
		body    []byte
		expires int64
	)
	err := s.db.QueryRowContext(ctx, s.q.get, id).Scan(&rec.Fingerprint, &rec.Token, &state, &status, &headers, &body, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return idempotency.Record{}, false, nil
	}
	if err != nil {
		return idempotency.Record{}, false, wrap("get", err)
	}
	rec.State = idempotency.State(state)
	rec.ExpiresAt = time.UnixMilli(expires)
	if rec.State == idempotency.Completed {
		resp := &idempotency.Response{Status: status, Header: http.Header{}, Body: body}
		if resp.Body == nil {
			resp.Body = []byte{}
		}
		if headers != "" {
			if err := json.Unmarshal([]byte(headers), &resp.Header); err != nil {
				return idempotency.Record{}, false, fault.Permanent(fmt.Errorf("sqlstore: decode headers of %s: %w", id, err))
			}
		}
		rec.Response = resp
	}
	return rec, true, nil
}

// Complete implements idempotency.Store.
func (s *Store) Complete(ctx context.Context, id, token string, resp idempotency.Response, expiresAt time.Time) error {
	headers, err := json.Marshal(resp.Header)
	if err != nil {
		return fault.Permanent(fmt.Errorf("sqlstore: encode headers: %w", err))
	}
	body := resp.Body
	if body == nil {
		body = []byte{}
	}
	res, err := s.db.ExecContext(ctx, s.q.complete, resp.Status, string(headers), body, expiresAt.UnixMilli(), id, token)
	return affectedOne("complete", res, err)
}

// Release implements idempotency.Store.
func (s *Store) Release(ctx context.Context, id, token string) error {
	res, err := s.db.ExecContext(ctx, s.q.release, id, token)
	return affectedOne("release", res, err)
}

// Purge implements idempotency.Store.
func (s *Store) Purge(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.q.purge, now.UnixMilli())
	if err != nil {
		return 0, wrap("purge", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, wrap("purge", err)
	}
	return n, nil
}

func affectedOne(op string, res sql.Result, err error) error {
	if err != nil {
		return wrap(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return wrap(op, err)
	}
	if n != 1 {
		return fmt.Errorf("sqlstore: %s: %w", op, idempotency.ErrNotOwner)
	}
	return nil
}

// wrap marks database errors retryable: a lost connection, a busy SQLite
// file or a serialisation failure may all pass.
func wrap(op string, err error) error {
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	return fault.Retryable(fmt.Errorf("sqlstore: %s: %w", op, err))
}
