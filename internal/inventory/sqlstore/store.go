// Package sqlstore keeps the inventory's stock levels and reservations in
// SQLite or PostgreSQL (through the platform's sqldb) and writes the
// events of every change to the transactional outbox in the same
// transaction.
//
// Stock is never oversold: a reservation takes stock only with a
// conditional update (UPDATE stock SET reserved = reserved + q WHERE ...
// AND on_hand - reserved >= q) that changes nothing when the warehouse
// lacks stock, and every change of a SKU first increments the SKU's
// version row, which orders concurrent changes of one SKU and is its ETag.
// Rows are locked in SKU order, so transactions over several SKUs cannot
// deadlock.
//
// An order is decided once: its reservation row, claimed first in the
// reserving transaction, serializes concurrent requests for the order, and
// a rejection for lack of stock is stored in its place
// (stock_reservation_rejections), so a repeated request returns the same
// reservation or the same shortage and publishes nothing more.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/agoracommerce/agora/internal/inventory"
	"github.com/agoracommerce/agora/internal/inventory/app"
	"github.com/agoracommerce/agora/internal/inventory/eventsout"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/fault"
	"github.com/agoracommerce/agora/internal/platform/outbox"
	"github.com/agoracommerce/agora/internal/platform/sqldb"
)

//go:embed migrations
var migrations embed.FS

// maxAttempts bounds the retries of a transaction that lost a race.
const maxAttempts = 5

// Store is the SQL Repository of the inventory. Safe for concurrent use.
type Store struct {
	db      *sqldb.DB
	outbox  *outbox.Store
	encoder *eventsout.Encoder
}

var _ app.Repository = (*Store)(nil)

// New migrates the inventory's tables in db and returns the Store; events
// go to ob (an outbox on the same db), encoded with codec.
func New(ctx context.Context, db *sqldb.DB, ob *outbox.Store, codec *events.Codec) (*Store, error) {
	if db == nil || ob == nil {
		return nil, errors.New("inventory sqlstore: a database and an outbox are required")
	}
	enc, err := eventsout.NewEncoder(codec)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx, migrations, "inventory"); err != nil {
		return nil, fmt.Errorf("inventory sqlstore: %w", err)
	}
	return &Store{db: db, outbox: ob, encoder: enc}, nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func dbErr(op string, err error) error {
	return fault.Retryable(fmt.Errorf("inventory sqlstore: %s: %w", op, err))
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

// retry runs fn again while it fails with inventory.ErrConflict.
func retry(ctx context.Context, fn func() error) error {
	var err error
	for range maxAttempts {
		if err = fn(); !errors.Is(err, inventory.ErrConflict) {
			return err
		}
		if ctx.Err() != nil {
			return err
		}
	}
	return err
}

// emit writes evs to the outbox inside tx.
func (s *Store) emit(ctx context.Context, tx *sql.Tx, evs ...inventory.Event) error {
	if len(evs) == 0 {
		return nil
	}
	enc, err := s.encoder.Encode(ctx, evs...)
	if err != nil {
		return fmt.Errorf("inventory sqlstore: %w", err)
	}
	if err := s.outbox.Add(ctx, tx, enc...); err != nil {
		return dbErr("outbox", err)
	}
	return nil
}

// Stock implements app.Repository.
func (s *Store) Stock(ctx context.Context, sku string) (inventory.Stock, error) {
	page, err := s.readStock(ctx, s.db, `i.sku = ?`, sku)
	if err != nil {
		return inventory.Stock{}, err
	}
	if len(page) == 0 {
		return inventory.Stock{}, fmt.Errorf("stock of %s: %w", sku, inventory.ErrNotFound)
	}
	return page[0], nil
}

// ListStock implements app.Repository.
func (s *Store) ListStock(ctx context.Context, after string, limit int) ([]inventory.Stock, error) {
	return s.readStock(ctx, s.db, `i.sku IN (SELECT sku FROM stock_items WHERE sku > ? ORDER BY sku LIMIT ?)`, after, limit)
}

// readStock reads the items matching where with their levels in one
// statement, so that the version and the levels are of the same moment.
func (s *Store) readStock(ctx context.Context, q querier, where string, args ...any) ([]inventory.Stock, error) {
	rows, err := q.QueryContext(ctx, s.db.Rebind(`
		SELECT i.sku, i.low_stock_threshold, i.version, i.updated_at, s.warehouse, s.on_hand, s.reserved
		FROM stock_items i LEFT JOIN stock s ON s.sku = i.sku
		WHERE `+where+`
		ORDER BY i.sku, s.warehouse`), args...)
	if err != nil {
		return nil, dbErr("read stock", err)
	}
	defer func() { _ = rows.Close() }()
	type item struct {
		sku                         string
		threshold, version, updated int64
		levels                      []inventory.Level
	}
	var items []*item
	for rows.Next() {
		var (
			it               item
			warehouse        sql.NullString
			onHand, reserved sql.NullInt64
		)
		if err := rows.Scan(&it.sku, &it.threshold, &it.version, &it.updated, &warehouse, &onHand, &reserved); err != nil {
			return nil, dbErr("read stock", err)
		}
		if len(items) == 0 || items[len(items)-1].sku != it.sku {
			items = append(items, &it)
		}
		if warehouse.Valid {
			l, err := inventory.NewLevel(warehouse.String, onHand.Int64, reserved.Int64)
			if err != nil {
				return nil, fault.Permanent(fmt.Errorf("inventory sqlstore: stored level: %w", err))
			}
			last := items[len(items)-1]
			last.levels = append(last.levels, l)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr("read stock", err)
	}
	out := make([]inventory.Stock, 0, len(items))
	for _, it := range items {
		st, err := inventory.RestoreStock(it.sku, it.levels, it.threshold, it.version, fromMicros(it.updated))
		if err != nil {
			return nil, fault.Permanent(fmt.Errorf("inventory sqlstore: stored stock: %w", err))
		}
		out = append(out, st)
	}
	return out, nil
}

// levels reads the levels of sku inside tx (whose item row the
// transaction has locked).
func (s *Store) levels(ctx context.Context, tx *sql.Tx, sku string) ([]inventory.Level, error) {
	rows, err := tx.QueryContext(ctx, s.db.Rebind(`SELECT warehouse, on_hand, reserved FROM stock WHERE sku = ? ORDER BY warehouse`), sku)
	if err != nil {
		return nil, dbErr("read levels", err)
	}
	defer func() { _ = rows.Close() }()
	var out []inventory.Level
	for rows.Next() {
		var (
			w    string
			o, r int64
		)
		if err := rows.Scan(&w, &o, &r); err != nil {
			return nil, dbErr("read levels", err)
		}
		l, err := inventory.NewLevel(w, o, r)
		if err != nil {
			return nil, fault.Permanent(fmt.Errorf("inventory sqlstore: stored level: %w", err))
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr("read levels", err)
	}
	return out, nil
}

func available(levels []inventory.Level) int64 {
	var n int64
	for _, l := range levels {
		n += l.Available()
	}
	return n
}

// bump increments the version of sku's item row, locking it for the rest
// of tx, and returns its threshold. ok is false when the SKU is unknown or,
// with ifVersion > 0, at another version.
func (s *Store) bump(ctx context.Context, tx *sql.Tx, sku string, ifVersion int64, at time.Time) (threshold int64, ok bool, err error) {
	query := `UPDATE stock_items SET version = version + 1, updated_at = ? WHERE sku = ?`
	args := []any{micros(at), sku}
	if ifVersion > 0 {
		query += ` AND version = ?`
		args = append(args, ifVersion)
	}
	err = tx.QueryRowContext(ctx, s.db.Rebind(query+` RETURNING low_stock_threshold`), args...).Scan(&threshold)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, false, nil
	case err != nil:
		return 0, false, dbErr("lock stock item", err)
	}
	return threshold, true, nil
}

// missing tells why bump found no row: the SKU is unknown, or at another
// version.
func (s *Store) missing(ctx context.Context, tx *sql.Tx, sku string) error {
	var one int
	err := tx.QueryRowContext(ctx, s.db.Rebind(`SELECT 1 FROM stock_items WHERE sku = ?`), sku).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("stock of %s: %w", sku, inventory.ErrNotFound)
	case err != nil:
		return dbErr("find stock item", err)
	}
	return fmt.Errorf("stock of %s: %w", sku, inventory.ErrVersionMismatch)
}

func (s *Store) stockIn(ctx context.Context, tx *sql.Tx, sku string) (inventory.Stock, error) {
	page, err := s.readStock(ctx, tx, `i.sku = ?`, sku)
	if err != nil {
		return inventory.Stock{}, err
	}
	if len(page) == 0 {
		return inventory.Stock{}, fmt.Errorf("stock of %s: %w", sku, inventory.ErrNotFound)
	}
	return page[0], nil
}

// Receive implements app.Repository.
func (s *Store) Receive(ctx context.Context, r inventory.Receipt) (inventory.Stock, error) {
	var out inventory.Stock
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.db.Rebind(`
			INSERT INTO stock_items (sku, low_stock_threshold, version, updated_at) VALUES (?, 0, 1, ?)
			ON CONFLICT (sku) DO UPDATE SET version = stock_items.version + 1, updated_at = excluded.updated_at`),
			r.SKU, micros(r.At)); err != nil {
			return dbErr("upsert stock item", err)
		}
		var onHand, reserved int64
		if err := tx.QueryRowContext(ctx, s.db.Rebind(`
			INSERT INTO stock (sku, warehouse, on_hand, reserved) VALUES (?, ?, ?, 0)
			ON CONFLICT (sku, warehouse) DO UPDATE SET on_hand = stock.on_hand + excluded.on_hand
			RETURNING on_hand, reserved`), r.SKU, r.Warehouse, r.Quantity).Scan(&onHand, &reserved); err != nil {
			return dbErr("receive stock", err)
		}
		level, err := inventory.NewLevel(r.Warehouse, onHand, reserved)
		if err != nil {
			return err
		}
		if err := s.emit(ctx, tx, inventory.StockReceived{SKU: r.SKU, Quantity: r.Quantity, Level: level, Note: r.Note, OccurredAt: r.At}); err != nil {
			return err
		}
		out, err = s.stockIn(ctx, tx, r.SKU)
		return err
	})
	if err != nil {
		return inventory.Stock{}, err
	}
	return out, nil
}

// Adjust implements app.Repository.
func (s *Store) Adjust(ctx context.Context, a inventory.Adjustment) (inventory.Stock, error) {
	var out inventory.Stock
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		threshold, ok, err := s.bump(ctx, tx, a.SKU, a.IfVersion, a.At)
		if err != nil {
			return err
		}
		if !ok {
			return s.missing(ctx, tx, a.SKU)
		}
		levels, err := s.levels(ctx, tx, a.SKU)
		if err != nil {
			return err
		}
		before := available(levels)
		var prev inventory.Level
		known := false
		for _, l := range levels {
			if l.Warehouse() == a.Warehouse {
				prev, known = l, true
			}
		}
		if known {
			res, err := tx.ExecContext(ctx, s.db.Rebind(`UPDATE stock SET on_hand = ? WHERE sku = ? AND warehouse = ? AND reserved <= ?`),
				a.OnHand, a.SKU, a.Warehouse, a.OnHand)
			if err != nil {
				return dbErr("adjust stock", err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return dbErr("adjust stock", err)
			} else if n == 0 {
				return fmt.Errorf("adjust %s in %s to %d: %w", a.SKU, a.Warehouse, a.OnHand, inventory.ErrBelowReserved)
			}
		} else if _, err := tx.ExecContext(ctx, s.db.Rebind(`INSERT INTO stock (sku, warehouse, on_hand, reserved) VALUES (?, ?, ?, 0)`),
			a.SKU, a.Warehouse, a.OnHand); err != nil {
			return dbErr("adjust stock", err)
		}
		level, err := inventory.NewLevel(a.Warehouse, a.OnHand, prev.Reserved())
		if err != nil {
			return err
		}
		evs := []inventory.Event{inventory.StockAdjusted{SKU: a.SKU, PreviousOnHand: prev.OnHand(), Level: level,
			Reason: a.Reason, Note: a.Note, OccurredAt: a.At}}
		after := before - prev.Available() + level.Available()
		if low, ok := inventory.LowStockCrossed(a.SKU, threshold, before, after, a.At); ok {
			evs = append(evs, low)
		}
		if err := s.emit(ctx, tx, evs...); err != nil {
			return err
		}
		out, err = s.stockIn(ctx, tx, a.SKU)
		return err
	})
	if err != nil {
		return inventory.Stock{}, err
	}
	return out, nil
}

// SetThreshold implements app.Repository.
func (s *Store) SetThreshold(ctx context.Context, c inventory.ThresholdChange) (inventory.Stock, error) {
	var out inventory.Stock
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		query := `UPDATE stock_items SET low_stock_threshold = ?, version = version + 1, updated_at = ? WHERE sku = ?`
		args := []any{c.Threshold, micros(c.At), c.SKU}
		if c.IfVersion > 0 {
			query += ` AND version = ?`
			args = append(args, c.IfVersion)
		}
		res, err := tx.ExecContext(ctx, s.db.Rebind(query), args...)
		if err != nil {
			return dbErr("set threshold", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return dbErr("set threshold", err)
		} else if n == 0 {
			return s.missing(ctx, tx, c.SKU)
		}
		out, err = s.stockIn(ctx, tx, c.SKU)
		return err
	})
	if err != nil {
		return inventory.Stock{}, err
	}
	return out, nil
}
