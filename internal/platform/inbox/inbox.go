// Package inbox makes event consumers idempotent: each consumer group
// records the IDs of the events it processed in the same database
// transaction as the effect of processing them, so a redelivered event (after
// a crash before the offset commit, a rebalance, or a DLQ redrive) is
// recognised and skipped. Rows older than the retention are purged.
package inbox

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/agoracommerce/agora/internal/platform/fault"
	"github.com/agoracommerce/agora/internal/platform/sqldb"
)

//go:embed migrations
var migrations embed.FS

// Store is the SQL inbox on SQLite or PostgreSQL. Safe for concurrent use.
type Store struct {
	db  *sqldb.DB
	now func() time.Time
}

// NewStore returns the inbox of db, creating its table when missing.
func NewStore(ctx context.Context, db *sqldb.DB) (*Store, error) {
	if err := db.Migrate(ctx, migrations, "inbox"); err != nil {
		return nil, err
	}
	return &Store{db: db, now: time.Now}, nil
}

// DB returns the database the inbox lives in; effects recorded with it must
// use the same database.
func (s *Store) DB() *sqldb.DB { return s.db }

// Mark records inside tx that group processed eventID. It reports false when
// the event was already processed: the caller must then skip its effect.
func (s *Store) Mark(ctx context.Context, tx *sql.Tx, group, eventID string) (bool, error) {
	res, err := tx.ExecContext(ctx,
		s.db.Rebind(`INSERT INTO inbox (consumer_group, event_id, processed_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`),
		group, eventID, s.now().UnixMicro())
	if err != nil {
		return false, fault.Retryable(fmt.Errorf("inbox: mark %s: %w", eventID, err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("inbox: mark %s: %w", eventID, err)
	}
	return n == 1, nil
}

// MarkMany records inside tx that group processed every ID in eventIDs, in
// as few statements as possible, and returns the IDs that were new: only
// their effects may be applied.
func (s *Store) MarkMany(ctx context.Context, tx *sql.Tx, group string, eventIDs []string) (map[string]bool, error) {
	const perStatement = 1000
	fresh := make(map[string]bool, len(eventIDs))
	now := s.now().UnixMicro()
	for start := 0; start < len(eventIDs); start += perStatement {
		chunk := eventIDs[start:min(start+perStatement, len(eventIDs))]
		args := make([]any, 0, len(chunk)*3)
		for _, id := range chunk {
			args = append(args, group, id, now)
		}
		q := `INSERT INTO inbox (consumer_group, event_id, processed_at) VALUES (?, ?, ?)` +
			strings.Repeat(`, (?, ?, ?)`, len(chunk)-1) + ` ON CONFLICT DO NOTHING RETURNING event_id`
		rows, err := tx.QueryContext(ctx, s.db.Rebind(q), args...)
		if err != nil {
			return nil, fault.Retryable(fmt.Errorf("inbox: mark %d events: %w", len(chunk), err))
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				_ = rows.Close()
				return nil, fmt.Errorf("inbox: mark: %w", err)
			}
			fresh[id] = true
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("inbox: mark: %w", err)
		}
		if err := rows.Err(); err != nil {
			return nil, fault.Retryable(fmt.Errorf("inbox: mark: %w", err))
		}
	}
	return fresh, nil
}

// Seen reports whether group already processed eventID.
func (s *Store) Seen(ctx context.Context, group, eventID string) (bool, error) {
	var one int
	err := s.db.QueryRowContext(ctx, s.db.Rebind(`SELECT 1 FROM inbox WHERE consumer_group = ? AND event_id = ?`), group, eventID).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fault.Retryable(fmt.Errorf("inbox: seen %s: %w", eventID, err))
	}
	return true, nil
}

// Cleanup deletes entries processed before the given time. Keep the
// retention longer than any redelivery window (topic retention, DLQ redrive).
func (s *Store) Cleanup(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM inbox WHERE processed_at < ?`), before.UnixMicro())
	if err != nil {
		return 0, fault.Retryable(fmt.Errorf("inbox: cleanup: %w", err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("inbox: cleanup: %w", err)
	}
	return n, nil
}
