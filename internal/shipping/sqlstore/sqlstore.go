// Package sqlstore keeps the shipping service's shipments in SQLite or
// PostgreSQL (through the platform's sqldb) and writes the events of every
// change to the transactional outbox in the same transaction.
//
// An order has one shipment: order_id is unique and a second insert for an
// order does nothing. Changes are optimistic: an update applies only at the
// version it read (UPDATE ... WHERE id = ? AND version = ?), and loses to a
// concurrent change by running the update function again on the new state.
// The address and lines, written once, are kept as JSON.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/fault"
	"github.com/agoracommerce/agora/internal/platform/outbox"
	"github.com/agoracommerce/agora/internal/platform/sqldb"
	"github.com/agoracommerce/agora/internal/shipping"
	"github.com/agoracommerce/agora/internal/shipping/app"
	"github.com/agoracommerce/agora/internal/shipping/eventsout"
)

//go:embed migrations
var migrations embed.FS

// maxAttempts bounds the runs of an update that lost a race.
const maxAttempts = 5

// Store is the SQL Repository of shipping. Safe for concurrent use.
type Store struct {
	db      *sqldb.DB
	outbox  *outbox.Store
	encoder *eventsout.Encoder
}

var _ app.Repository = (*Store)(nil)

// New migrates the shipping tables in db and returns the Store; events go
// to ob (an outbox on the same db), encoded with codec.
func New(ctx context.Context, db *sqldb.DB, ob *outbox.Store, codec *events.Codec) (*Store, error) {
	if db == nil || ob == nil {
		return nil, errors.New("shipping sqlstore: a database and an outbox are required")
	}
	enc, err := eventsout.NewEncoder(codec)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx, migrations, "shipping"); err != nil {
		return nil, fmt.Errorf("shipping sqlstore: %w", err)
	}
	return &Store{db: db, outbox: ob, encoder: enc}, nil
}

func dbErr(op string, err error) error {
	return fault.Retryable(fmt.Errorf("shipping sqlstore: %s: %w", op, err))
}

const columns = `id, order_id, customer_id, status, carrier, tracking_number, label_id, address, lines,
	next_step_at, shipped_at, delivered_at, cancelled_at, created_at, updated_at, version`

// address and line are the JSON forms of the stored address and lines.
type address struct {
	Name       string `json:"name"`
	Line1      string `json:"line1"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city"`
	Region     string `json:"region,omitempty"`
	PostalCode string `json:"postal_code"`
	Country    string `json:"country"`
}

type line struct {
	SKU      string `json:"sku"`
	Quantity int64  `json:"quantity"`
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

type rowScanner interface{ Scan(dest ...any) error }

func scan(row rowScanner) (shipping.Shipment, error) {
	var (
		s                                             shipping.Snapshot
		status, addrJSON, linesJSON                   string
		next, shipped, delivered, cancelled, cre, upd sql.NullInt64
	)
	err := row.Scan(&s.ID, &s.OrderID, &s.CustomerID, &status, &s.Label.Carrier, &s.Label.TrackingNumber, &s.Label.LabelID,
		&addrJSON, &linesJSON, &next, &shipped, &delivered, &cancelled, &cre, &upd, &s.Version)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return shipping.Shipment{}, err
	case err != nil:
		return shipping.Shipment{}, dbErr("read shipment", err)
	}
	var a address
	var ls []line
	if err := json.Unmarshal([]byte(addrJSON), &a); err != nil {
		return shipping.Shipment{}, fault.Permanent(fmt.Errorf("shipping sqlstore: stored address of %s: %w", s.ID, err))
	}
	if err := json.Unmarshal([]byte(linesJSON), &ls); err != nil {
		return shipping.Shipment{}, fault.Permanent(fmt.Errorf("shipping sqlstore: stored lines of %s: %w", s.ID, err))
	}
	s.Status = shipping.Status(status)
	s.Address = shipping.Address(a)
	for _, l := range ls {
		s.Lines = append(s.Lines, shipping.Line(l))
	}
	s.NextStepAt, s.ShippedAt, s.DeliveredAt, s.CancelledAt = fromMicros(next), fromMicros(shipped), fromMicros(delivered), fromMicros(cancelled)
	s.CreatedAt, s.UpdatedAt = fromMicros(cre), fromMicros(upd)
	sh, err := shipping.RestoreShipment(s)
	if err != nil {
		return shipping.Shipment{}, fault.Permanent(fmt.Errorf("shipping sqlstore: stored shipment: %w", err))
	}
	return sh, nil
}

type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) one(ctx context.Context, q queryRower, where string, arg any) (shipping.Shipment, error) {
	sh, err := scan(q.QueryRowContext(ctx, s.db.Rebind(`SELECT `+columns+` FROM shipments WHERE `+where), arg))
	if errors.Is(err, sql.ErrNoRows) {
		return shipping.Shipment{}, fmt.Errorf("shipment %v: %w", arg, shipping.ErrNotFound)
	}
	return sh, err
}

// Shipment implements app.Repository.
func (s *Store) Shipment(ctx context.Context, id string) (shipping.Shipment, error) {
	return s.one(ctx, s.db, `id = ?`, id)
}

// ShipmentOfOrder implements app.Repository.
func (s *Store) ShipmentOfOrder(ctx context.Context, orderID string) (shipping.Shipment, error) {
	return s.one(ctx, s.db, `order_id = ?`, orderID)
}

// emit writes evs to the outbox inside tx.
func (s *Store) emit(ctx context.Context, tx *sql.Tx, evs []shipping.Event) error {
	if len(evs) == 0 {
		return nil
	}
	enc, err := s.encoder.Encode(ctx, evs...)
	if err != nil {
		return fmt.Errorf("shipping sqlstore: %w", err)
	}
	if err := s.outbox.Add(ctx, tx, enc...); err != nil {
		return dbErr("outbox", err)
	}
	return nil
}

// Create implements app.Repository.
func (s *Store) Create(ctx context.Context, sh shipping.Shipment) (shipping.Shipment, bool, error) {
	if sh.Version() != 0 {
		return shipping.Shipment{}, false, fmt.Errorf("shipping sqlstore: create a stored shipment %s: %w", sh.ID(), shipping.ErrInvalid)
	}
	snap := sh.Snapshot()
	addrJSON, err := json.Marshal(address(snap.Address))
	if err != nil {
		return shipping.Shipment{}, false, fmt.Errorf("shipping sqlstore: encode address: %w", err)
	}
	ls := make([]line, len(snap.Lines))
	for i, l := range snap.Lines {
		ls[i] = line(l)
	}
	linesJSON, err := json.Marshal(ls)
	if err != nil {
		return shipping.Shipment{}, false, fmt.Errorf("shipping sqlstore: encode lines: %w", err)
	}
	var (
		out     shipping.Shipment
		created bool
	)
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.db.Rebind(`INSERT INTO shipments (`+columns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
			ON CONFLICT (order_id) DO NOTHING`),
			snap.ID, snap.OrderID, snap.CustomerID, string(snap.Status), snap.Label.Carrier, snap.Label.TrackingNumber, snap.Label.LabelID,
			string(addrJSON), string(linesJSON), micros(snap.NextStepAt), micros(snap.ShippedAt), micros(snap.DeliveredAt),
			micros(snap.CancelledAt), micros(snap.CreatedAt), micros(snap.UpdatedAt))
		if err != nil {
			return dbErr("insert shipment", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return dbErr("insert shipment", err)
		}
		if n == 0 {
			created = false
			out, err = s.one(ctx, tx, `order_id = ?`, snap.OrderID)
			return err
		}
		if err := s.emit(ctx, tx, sh.Events()); err != nil {
			return err
		}
		created, out = true, sh
		out.Stored()
		return nil
	})
	if err != nil {
		return shipping.Shipment{}, false, err
	}
	return out, created, nil
}

// Update implements app.Repository.
func (s *Store) Update(ctx context.Context, id string, fn func(*shipping.Shipment) error) (shipping.Shipment, error) {
	for range maxAttempts {
		sh, err := s.Shipment(ctx, id)
		if err != nil {
			return shipping.Shipment{}, err
		}
		if err := fn(&sh); err != nil {
			return shipping.Shipment{}, err
		}
		if !sh.Changed() {
			return sh, nil
		}
		err = s.db.InTx(ctx, func(tx *sql.Tx) error {
			snap := sh.Snapshot()
			res, err := tx.ExecContext(ctx, s.db.Rebind(`UPDATE shipments
				SET status = ?, next_step_at = ?, shipped_at = ?, delivered_at = ?, cancelled_at = ?, updated_at = ?, version = version + 1
				WHERE id = ? AND version = ?`),
				string(snap.Status), micros(snap.NextStepAt), micros(snap.ShippedAt), micros(snap.DeliveredAt), micros(snap.CancelledAt),
				micros(snap.UpdatedAt), snap.ID, snap.Version)
			if err != nil {
				return dbErr("update shipment", err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return dbErr("update shipment", err)
			} else if n == 0 {
				return shipping.ErrConflict
			}
			return s.emit(ctx, tx, sh.Events())
		})
		switch {
		case errors.Is(err, shipping.ErrConflict):
			if ctx.Err() != nil {
				return shipping.Shipment{}, ctx.Err()
			}
			continue
		case err != nil:
			return shipping.Shipment{}, err
		}
		sh.Stored()
		return sh, nil
	}
	return shipping.Shipment{}, fmt.Errorf("update shipment %s: %w", id, shipping.ErrConflict)
}

// Due implements app.Repository.
func (s *Store) Due(ctx context.Context, now time.Time, limit int) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, s.db.Rebind(`SELECT id FROM shipments
		WHERE next_step_at IS NOT NULL AND next_step_at <= ? ORDER BY next_step_at, id LIMIT ?`), now.UnixMicro(), limit)
	if err != nil {
		return nil, dbErr("due shipments", err)
	}
	defer func() { _ = rows.Close() }()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, dbErr("due shipments", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr("due shipments", err)
	}
	return ids, nil
}
