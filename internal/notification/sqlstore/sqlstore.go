// Package sqlstore keeps the notification service's recipients and
// messages in SQLite or PostgreSQL (through the platform's sqldb), records
// consumed events in the inbox in the same transaction as the messages
// they produce, and writes the events of every message change to the
// transactional outbox in the same transaction as the change.
//
// A message is stored once: its ID derives from its order, kind and
// reference, and (order_id, kind, ref) is unique, so a second insert of
// the same notice does nothing. Changes are optimistic: an update applies
// only at the version it read (UPDATE ... WHERE id = ? AND version = ?) and
// loses to a concurrent change by running the update function again on
// the new state; a claim that loses skips the message. A message keeps the
// correlation ID of the event it was rendered from, and its MessageSent or
// MessageFailed carries it, however much later the dispatcher sends it.
package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/agoracommerce/agora/internal/notification"
	"github.com/agoracommerce/agora/internal/notification/app"
	"github.com/agoracommerce/agora/internal/notification/eventsout"
	"github.com/agoracommerce/agora/internal/platform/correlation"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/fault"
	"github.com/agoracommerce/agora/internal/platform/inbox"
	"github.com/agoracommerce/agora/internal/platform/outbox"
	"github.com/agoracommerce/agora/internal/platform/sqldb"
)

//go:embed migrations
var migrations embed.FS

// maxAttempts bounds the runs of an update that lost a race.
const maxAttempts = 5

// Store is the SQL Repository of notification. Safe for concurrent use.
type Store struct {
	db      *sqldb.DB
	outbox  *outbox.Store
	inbox   *inbox.Store
	encoder *eventsout.Encoder
}

var _ app.Repository = (*Store)(nil)

// New migrates the notification tables in db and returns the Store; events
// go to ob and consumed events are recorded in in (an outbox and an inbox
// on the same db), encoded with codec.
func New(ctx context.Context, db *sqldb.DB, ob *outbox.Store, in *inbox.Store, codec *events.Codec) (*Store, error) {
	if db == nil || ob == nil || in == nil {
		return nil, errors.New("notification sqlstore: a database, an outbox and an inbox are required")
	}
	if in.DB() != db {
		return nil, errors.New("notification sqlstore: the inbox must live in the same database as the store")
	}
	enc, err := eventsout.NewEncoder(codec)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx, migrations, "notification"); err != nil {
		return nil, fmt.Errorf("notification sqlstore: %w", err)
	}
	return &Store{db: db, outbox: ob, inbox: in, encoder: enc}, nil
}

func dbErr(op string, err error) error {
	return fault.Retryable(fmt.Errorf("notification sqlstore: %s: %w", op, err))
}

func micros(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMicro(), Valid: true}
}

func fromMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMicro(v.Int64).UTC()
}

type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Recipient implements app.Repository.
func (s *Store) Recipient(ctx context.Context, orderID string) (notification.Recipient, error) {
	r := notification.Recipient{OrderID: orderID}
	err := s.db.QueryRowContext(ctx, s.db.Rebind(`SELECT customer_id, email, name FROM notification_recipients WHERE order_id = ?`), orderID).
		Scan(&r.CustomerID, &r.Email, &r.Name)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return notification.Recipient{}, fmt.Errorf("order %s: %w", orderID, notification.ErrUnknownRecipient)
	case err != nil:
		return notification.Recipient{}, dbErr("read recipient", err)
	}
	if err := r.Validate(); err != nil {
		return notification.Recipient{}, fault.Permanent(fmt.Errorf("notification sqlstore: stored recipient of %s: %w", orderID, err))
	}
	return r, nil
}

const columns = `id, order_id, customer_id, kind, ref, recipient, subject, body_text, body_html, status, attempts,
	next_attempt_at, last_error, created_at, updated_at, sent_at, failed_at, version`

type rowScanner interface{ Scan(dest ...any) error }

func scan(row rowScanner) (notification.Message, error) {
	var (
		s                          notification.Snapshot
		kind, status               string
		next, cre, upd, sent, fail sql.NullInt64
	)
	err := row.Scan(&s.ID, &s.OrderID, &s.CustomerID, &kind, &s.Ref, &s.To, &s.Content.Subject, &s.Content.Text, &s.Content.HTML,
		&status, &s.Attempts, &next, &s.LastError, &cre, &upd, &sent, &fail, &s.Version)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return notification.Message{}, err
	case err != nil:
		return notification.Message{}, dbErr("read message", err)
	}
	s.Kind, s.Status = notification.Kind(kind), notification.Status(status)
	s.NextAttemptAt, s.CreatedAt, s.UpdatedAt = fromMicros(next), fromMicros(cre), fromMicros(upd)
	s.SentAt, s.FailedAt = fromMicros(sent), fromMicros(fail)
	m, err := notification.RestoreMessage(s)
	if err != nil {
		return notification.Message{}, fault.Permanent(fmt.Errorf("notification sqlstore: stored message: %w", err))
	}
	return m, nil
}

func (s *Store) one(ctx context.Context, q queryRower, id string) (notification.Message, error) {
	m, err := scan(q.QueryRowContext(ctx, s.db.Rebind(`SELECT `+columns+` FROM notification_messages WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return notification.Message{}, fmt.Errorf("message %s: %w", id, notification.ErrNotFound)
	}
	return m, err
}

// Message implements app.Repository.
func (s *Store) Message(ctx context.Context, id string) (notification.Message, error) {
	return s.one(ctx, s.db, id)
}

// Accept implements app.Repository.
func (s *Store) Accept(ctx context.Context, ev app.EventRef, r *notification.Recipient, m *notification.Message) (app.Outcome, error) {
	if ev.Group == "" || ev.ID == "" {
		return 0, errors.New("notification sqlstore: accept an event without its group and ID")
	}
	if m != nil && m.Version() != 0 {
		return 0, fmt.Errorf("notification sqlstore: accept a stored message %s: %w", m.ID(), notification.ErrInvalid)
	}
	var out app.Outcome
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		fresh, err := s.inbox.Mark(ctx, tx, ev.Group, ev.ID)
		if err != nil {
			return err
		}
		if !fresh {
			out = app.Duplicate
			return nil
		}
		out = app.Existing
		if r != nil {
			learned := time.Now()
			if m != nil {
				learned = m.CreatedAt()
			}
			if _, err := tx.ExecContext(ctx, s.db.Rebind(`INSERT INTO notification_recipients (order_id, customer_id, email, name, created_at)
				VALUES (?, ?, ?, ?, ?) ON CONFLICT (order_id) DO NOTHING`),
				r.OrderID, r.CustomerID, r.Email, r.Name, learned.UnixMicro()); err != nil {
				return dbErr("insert recipient", err)
			}
		}
		if m == nil {
			return nil
		}
		created, err := s.insert(ctx, tx, m)
		if created {
			out = app.Created
		}
		return err
	})
	if err != nil {
		return 0, err
	}
	if out == app.Created {
		m.Stored()
	}
	return out, nil
}

// insert stores a new message unless its ID or its unique key is taken.
func (s *Store) insert(ctx context.Context, tx *sql.Tx, m *notification.Message) (bool, error) {
	snap := m.Snapshot()
	res, err := tx.ExecContext(ctx, s.db.Rebind(`INSERT INTO notification_messages (`+columns+`, correlation_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?) ON CONFLICT DO NOTHING`),
		snap.ID, snap.OrderID, snap.CustomerID, string(snap.Kind), snap.Ref, snap.To, snap.Content.Subject, snap.Content.Text,
		snap.Content.HTML, string(snap.Status), snap.Attempts, micros(snap.NextAttemptAt), snap.LastError, micros(snap.CreatedAt),
		micros(snap.UpdatedAt), micros(snap.SentAt), micros(snap.FailedAt), correlation.ID(ctx))
	if err != nil {
		return false, dbErr("insert message", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, dbErr("insert message", err)
	}
	if n == 0 {
		return false, nil
	}
	return true, s.emit(ctx, tx, m.Events())
}

// emit writes evs to the outbox inside tx.
func (s *Store) emit(ctx context.Context, tx *sql.Tx, evs []notification.Event) error {
	if len(evs) == 0 {
		return nil
	}
	enc, err := s.encoder.Encode(ctx, evs...)
	if err != nil {
		return fmt.Errorf("notification sqlstore: %w", err)
	}
	if err := s.outbox.Add(ctx, tx, enc...); err != nil {
		return dbErr("outbox", err)
	}
	return nil
}

// store writes the changed message m inside tx, at the version it was
// read; false when a concurrent change stored first.
func (s *Store) store(ctx context.Context, tx *sql.Tx, m *notification.Message) (bool, error) {
	snap := m.Snapshot()
	res, err := tx.ExecContext(ctx, s.db.Rebind(`UPDATE notification_messages
		SET status = ?, attempts = ?, next_attempt_at = ?, last_error = ?, updated_at = ?, sent_at = ?, failed_at = ?, version = version + 1
		WHERE id = ? AND version = ?`),
		string(snap.Status), snap.Attempts, micros(snap.NextAttemptAt), snap.LastError, micros(snap.UpdatedAt), micros(snap.SentAt),
		micros(snap.FailedAt), snap.ID, snap.Version)
	if err != nil {
		return false, dbErr("update message", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, dbErr("update message", err)
	}
	if n == 0 || len(m.Events()) == 0 {
		return n > 0, nil
	}
	// The message's events carry the correlation ID of the event it was
	// rendered from, not the dispatcher's.
	var cid string
	if err := tx.QueryRowContext(ctx, s.db.Rebind(`SELECT correlation_id FROM notification_messages WHERE id = ?`), snap.ID).Scan(&cid); err != nil {
		return false, dbErr("read correlation ID", err)
	}
	if cid != "" {
		ctx = correlation.WithID(ctx, cid)
	}
	return true, s.emit(ctx, tx, m.Events())
}

// Update implements app.Repository.
func (s *Store) Update(ctx context.Context, id string, fn func(*notification.Message) error) (notification.Message, error) {
	for range maxAttempts {
		m, err := s.Message(ctx, id)
		if err != nil {
			return notification.Message{}, err
		}
		if err := fn(&m); err != nil {
			return notification.Message{}, err
		}
		if !m.Changed() {
			return m, nil
		}
		stored := false
		err = s.db.InTx(ctx, func(tx *sql.Tx) error {
			var err error
			stored, err = s.store(ctx, tx, &m)
			return err
		})
		switch {
		case err != nil:
			return notification.Message{}, err
		case !stored:
			if ctx.Err() != nil {
				return notification.Message{}, ctx.Err()
			}
			continue
		}
		m.Stored()
		return m, nil
	}
	return notification.Message{}, fmt.Errorf("update message %s: %w", id, notification.ErrConflict)
}

// Claim implements app.Repository.
func (s *Store) Claim(ctx context.Context, now, until time.Time, limit int) ([]notification.Message, error) {
	if limit <= 0 {
		return nil, nil
	}
	candidates, err := s.list(ctx, `WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?`,
		now.UnixMicro(), limit)
	if err != nil {
		return nil, fmt.Errorf("due messages: %w", err)
	}
	var claimed []notification.Message
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		claimed = claimed[:0]
		for _, m := range candidates {
			if err := m.Claim(now, until); err != nil {
				continue // changed since it was listed
			}
			stored, err := s.store(ctx, tx, &m)
			if err != nil {
				return err
			}
			if stored {
				claimed = append(claimed, m)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i := range claimed {
		claimed[i].Stored()
	}
	return claimed, nil
}

// list runs SELECT columns FROM notification_messages with the rest of the
// query.
func (s *Store) list(ctx context.Context, rest string, args ...any) ([]notification.Message, error) {
	rows, err := s.db.QueryContext(ctx, s.db.Rebind(`SELECT `+columns+` FROM notification_messages `+rest), args...)
	if err != nil {
		return nil, dbErr("list messages", err)
	}
	defer func() { _ = rows.Close() }()
	var out []notification.Message
	for rows.Next() {
		m, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr("list messages", err)
	}
	return out, nil
}

// Messages implements app.Repository. The cursor names the last message of
// the previous page (its creation time and ID) and the customer it was
// issued for.
func (s *Store) Messages(ctx context.Context, customerID string, q app.PageQuery) (app.Page[notification.Message], error) {
	limit := max(q.Limit, 1)
	where, args := `WHERE customer_id = ?`, []any{customerID}
	if q.Cursor != "" {
		at, id, err := decodeCursor(q.Cursor, "m", customerID)
		if err != nil {
			return app.Page[notification.Message]{}, err
		}
		where += ` AND (created_at < ? OR (created_at = ? AND id < ?))`
		args = append(args, at, at, id)
	}
	items, err := s.list(ctx, where+` ORDER BY created_at DESC, id DESC LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return app.Page[notification.Message]{}, err
	}
	page := app.Page[notification.Message]{Items: items}
	if len(items) > limit {
		page.Items = items[:limit]
		last := page.Items[limit-1]
		page.NextCursor = encodeCursor("m", customerID, last.CreatedAt().UnixMicro(), last.ID())
	}
	return page, nil
}

// encodeCursor makes an opaque keyset cursor: the listing's kind, a
// fingerprint of its filter, and the creation time (Unix microseconds) and
// ID of the last item of the page.
func encodeCursor(kind, filter string, at int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + "1:" + fingerprint(filter) + ":" + strconv.FormatInt(at, 10) + ":" + id))
}

// decodeCursor reads a cursor encodeCursor made for the same kind and
// filter; any other is notification.ErrInvalidCursor.
func decodeCursor(cursor, kind, filter string) (int64, string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return 0, "", notification.ErrInvalidCursor
	}
	rest, ok := strings.CutPrefix(string(raw), kind+"1:"+fingerprint(filter)+":")
	if !ok {
		return 0, "", notification.ErrInvalidCursor
	}
	atText, id, ok := strings.Cut(rest, ":")
	at, err := strconv.ParseInt(atText, 10, 64)
	if !ok || err != nil || notification.ValidateMessageID(id) != nil {
		return 0, "", notification.ErrInvalidCursor
	}
	return at, id, nil
}

func fingerprint(filter string) string {
	sum := sha256.Sum256([]byte(filter))
	return hex.EncodeToString(sum[:8])
}
