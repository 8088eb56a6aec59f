// Package outbox implements the transactional outbox: a service writes its
// events into an outbox table in the same database transaction as the state
// change they describe, and a relay publishes them to Kafka with the
// idempotent producer (acks=all), in order per aggregate, marking each row
// published only after the broker acknowledged it. A crash between produce
// and mark publishes a row again (at-least-once); consumers dedupe by event
// ID, so effects happen exactly once.
package outbox

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/fault"
	"github.com/agoracommerce/agora/internal/platform/sqldb"
)

//go:embed migrations
var migrations embed.FS

// Row is one claimed outbox entry.
type Row struct {
	Seq   int64
	Event events.Event
}

// Stats describes the backlog of unpublished events.
type Stats struct {
	Backlog   int64         // rows not yet published
	OldestAge time.Duration // age of the oldest unpublished row; 0 when none
}

// Source is what the relay needs from an outbox store. Implementations are
// safe for concurrent use by several relays (in one or many processes).
type Source interface {
	// Claim leases up to limit unpublished rows to owner until now+lease, in
	// order, never a row whose aggregate has an earlier row leased by
	// another owner. Rows come back in publication order. Rows still leased
	// to owner are claimed again with a renewed lease, so a relay retries
	// what it failed to publish without waiting for its lease to expire.
	Claim(ctx context.Context, owner string, limit int, lease time.Duration) ([]Row, error)
	// MarkPublished records that owner published the rows; rows owner
	// does not hold a lease on are left as they are.
	MarkPublished(ctx context.Context, owner string, seqs []int64) error
	// Cleanup deletes rows published before the given time.
	Cleanup(ctx context.Context, before time.Time) (int64, error)
	// Stats reports the backlog.
	Stats(ctx context.Context) (Stats, error)
}

// Store is the SQL outbox on SQLite or PostgreSQL.
type Store struct {
	db  *sqldb.DB
	now func() time.Time
}

var _ Source = (*Store)(nil)

// NewStore returns the outbox of db, creating its table when missing.
func NewStore(ctx context.Context, db *sqldb.DB) (*Store, error) {
	if err := db.Migrate(ctx, migrations, "outbox"); err != nil {
		return nil, err
	}
	return &Store{db: db, now: time.Now}, nil
}

// Add writes events into the outbox inside tx, the caller's transaction that
// also holds the state change. Many events go in as few multi-row INSERTs.
func (s *Store) Add(ctx context.Context, tx *sql.Tx, evs ...events.Event) error {
	const perStatement = 500 // 3,000 parameters: within every dialect's limit
	now := s.now().UnixMicro()
	for start := 0; start < len(evs); start += perStatement {
		chunk := evs[start:min(start+perStatement, len(evs))]
		args := make([]any, 0, len(chunk)*6)
		for _, ev := range chunk {
			if ev.Topic == "" || ev.Metadata.ID == "" {
				return fault.Permanent(fmt.Errorf("outbox: event without topic or ID: %+v", ev.Metadata))
			}
			meta, err := json.Marshal(ev.Metadata)
			if err != nil {
				return fault.Permanent(fmt.Errorf("outbox: encode metadata: %w", err))
			}
			args = append(args, ev.Metadata.ID, ev.Topic, ev.Key, ev.Value, string(meta), now)
		}
		q := `INSERT INTO outbox (event_id, topic, msg_key, value, metadata, created_at) VALUES (?, ?, ?, ?, ?, ?)` +
			strings.Repeat(`, (?, ?, ?, ?, ?, ?)`, len(chunk)-1)
		if _, err := tx.ExecContext(ctx, s.db.Rebind(q), args...); err != nil {
			return fmt.Errorf("outbox: add %d events from %s: %w", len(chunk), chunk[0].Metadata.ID, err)
		}
	}
	return nil
}

// claimLockSpace is the first key of the transaction-scoped advisory lock
// that serialises claims on PostgreSQL, so that the per-aggregate ordering
// check sees every other relay's leases. The second key is the outbox
// table's OID: outboxes in other schemas of the same database (other
// services) do not wait on each other.
const claimLockSpace = 0x616f_6278 // "aobx"

// claimHorizon bounds how far past the oldest pending row a claim looks, in
// multiples of its limit.
const claimHorizon = 4

// Claim implements Source.
func (s *Store) Claim(ctx context.Context, owner string, limit int, lease time.Duration) ([]Row, error) {
	if owner == "" {
		return nil, fault.Permanent(errors.New("outbox: claim without an owner"))
	}
	if limit <= 0 {
		return nil, nil
	}
	now := s.now()
	// The keys that another relay holds a live lease on are worked out once
	// (a small set, from a partial index, hashed by NOT IN); rows of those
	// keys wait, all other pending rows are taken in order from the pending
	// index. Only the oldest claimHorizon*limit pending rows are looked at:
	// when another relay holds the keys of all of them, the claim returns
	// nothing at once instead of scanning the backlog under the claim lock.
	q := `WITH picked AS (
  SELECT o.seq AS picked_seq FROM outbox o
  WHERE o.published_at IS NULL
    AND o.seq <= (SELECT max(h.seq) FROM (SELECT seq FROM outbox WHERE published_at IS NULL ORDER BY seq LIMIT ?) h)
    AND (o.lease_until IS NULL OR o.lease_until < ? OR o.lease_owner = ?)
    AND (o.topic, o.msg_key) NOT IN (
      SELECT p.topic, p.msg_key FROM outbox p
      WHERE p.published_at IS NULL AND p.lease_owner IS NOT NULL AND p.lease_owner <> ? AND p.lease_until >= ?)
  ORDER BY o.seq
  LIMIT ?%s
)
UPDATE outbox SET lease_owner = ?, lease_until = ?
FROM picked WHERE outbox.seq = picked.picked_seq
RETURNING seq, event_id, topic, msg_key, value, metadata`
	lock := ""
	if s.db.Dialect == sqldb.Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	q = s.db.Rebind(fmt.Sprintf(q, lock))

	var rows []Row
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		if s.db.Dialect == sqldb.Postgres {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1, 'outbox'::regclass::oid::int4)`, int32(claimLockSpace)); err != nil {
				return fault.Retryable(fmt.Errorf("outbox: claim lock: %w", err))
			}
		}
		res, err := tx.QueryContext(ctx, q, claimHorizon*limit, now.UnixMicro(), owner, owner, now.UnixMicro(), limit, owner, now.Add(lease).UnixMicro())
		if err != nil {
			return fault.Retryable(fmt.Errorf("outbox: claim: %w", err))
		}
		defer func() { _ = res.Close() }()
		for res.Next() {
			var (
				r    Row
				meta string
			)
			if err := res.Scan(&r.Seq, &r.Event.Metadata.ID, &r.Event.Topic, &r.Event.Key, &r.Event.Value, &meta); err != nil {
				return fmt.Errorf("outbox: scan: %w", err)
			}
			if err := json.Unmarshal([]byte(meta), &r.Event.Metadata); err != nil {
				return fault.Permanent(fmt.Errorf("outbox: row %d metadata: %w", r.Seq, err))
			}
			rows = append(rows, r)
		}
		return res.Err()
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Seq < rows[j].Seq })
	return rows, nil
}

// MarkPublished implements Source.
func (s *Store) MarkPublished(ctx context.Context, owner string, seqs []int64) error {
	if len(seqs) == 0 {
		return nil
	}
	now := s.now().UnixMicro()
	var (
		q    string
		args []any
	)
	if s.db.Dialect == sqldb.Postgres {
		q = `UPDATE outbox SET published_at = $1, lease_owner = NULL, lease_until = NULL WHERE lease_owner = $2 AND seq = ANY($3)`
		args = []any{now, owner, seqs}
	} else {
		q = `UPDATE outbox SET published_at = ?, lease_owner = NULL, lease_until = NULL WHERE lease_owner = ? AND seq IN (?` + strings.Repeat(",?", len(seqs)-1) + `)`
		args = append(args, now, owner)
		for _, seq := range seqs {
			args = append(args, seq)
		}
	}
	if _, err := s.db.ExecContext(ctx, q, args...); err != nil {
		return fault.Retryable(fmt.Errorf("outbox: mark published: %w", err))
	}
	return nil
}

// Cleanup implements Source.
func (s *Store) Cleanup(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM outbox WHERE published_at IS NOT NULL AND published_at < ?`), before.UnixMicro())
	if err != nil {
		return 0, fault.Retryable(fmt.Errorf("outbox: cleanup: %w", err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("outbox: cleanup: %w", err)
	}
	return n, nil
}

// Stats implements Source.
func (s *Store) Stats(ctx context.Context) (Stats, error) {
	var (
		n      int64
		oldest sql.NullInt64
	)
	err := s.db.QueryRowContext(ctx, `SELECT count(*), min(created_at) FROM outbox WHERE published_at IS NULL`).Scan(&n, &oldest)
	if err != nil {
		return Stats{}, fault.Retryable(fmt.Errorf("outbox: stats: %w", err))
	}
	st := Stats{Backlog: n}
	if oldest.Valid {
		st.OldestAge = max(s.now().Sub(time.UnixMicro(oldest.Int64)), 0)
	}
	return st, nil
}

// ErrClosed is returned by a relay that was asked to run after it stopped.
var ErrClosed = errors.New("outbox: relay stopped")
