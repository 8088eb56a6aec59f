// Package sqlstore keeps the order history's read model in SQLite or
// PostgreSQL (through the platform's sqldb).
//
// The read model lives in generations: each has its own two tables,
// orderhistory_orders_g<N> (one summary row per order) and
// orderhistory_entries_g<N> (one row per timeline entry, keyed by event
// ID), created and dropped by this adapter. The fixed tables, migrated
// with golang-migrate, say which generations exist
// (orderhistory_generations) and which one is active (the one-row
// orderhistory_active). Every transaction that reads or records "the
// active generation" resolves the pointer first; on PostgreSQL the
// recording transactions hold it FOR SHARE, so a switch waits for them and
// none writes to the old generation after it.
//
// Recording is idempotent without an inbox: an entry is inserted only when
// its event ID is new, and the order's summary row is then recomputed from
// all its entries (orderhistory.History.Summary) in the same transaction,
// with the row locked (FOR UPDATE on PostgreSQL; SQLite has one writer), so
// concurrent events of one order from different topics never lose each
// other's update.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/agoracommerce/agora/internal/orderhistory"
	"github.com/agoracommerce/agora/internal/orderhistory/app"
	"github.com/agoracommerce/agora/internal/platform/fault"
	"github.com/agoracommerce/agora/internal/platform/sqldb"
)

//go:embed migrations
var migrations embed.FS

// Store is the SQL Repository and Generations of the order history. Safe
// for concurrent use.
type Store struct {
	db  *sqldb.DB
	now func() time.Time
}

var (
	_ app.Repository  = (*Store)(nil)
	_ app.Generations = (*Store)(nil)
)

// New migrates the fixed tables in db, makes sure the active generation's
// tables exist, and returns the Store.
func New(ctx context.Context, db *sqldb.DB) (*Store, error) {
	if db == nil {
		return nil, errors.New("orderhistory sqlstore: a database is required")
	}
	if err := db.Migrate(ctx, migrations, "orderhistory"); err != nil {
		return nil, fmt.Errorf("orderhistory sqlstore: %w", err)
	}
	s := &Store{db: db, now: time.Now}
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		gen, err := s.active(ctx, tx, false)
		if err != nil {
			return err
		}
		return s.createTables(ctx, tx, gen)
	})
	if err != nil {
		return nil, fmt.Errorf("orderhistory sqlstore: %w", err)
	}
	return s, nil
}

func dbErr(op string, err error) error {
	return fault.Retryable(fmt.Errorf("orderhistory sqlstore: %s: %w", op, sqldb.Classify(err)))
}

func stored(what string, err error) error {
	return fault.Permanent(fmt.Errorf("orderhistory sqlstore: stored %s: %w", what, err))
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

// tables names one generation's tables.
type tables struct {
	orders, entries string
}

func tablesOf(gen app.Generation) tables {
	return tables{
		orders:  fmt.Sprintf("orderhistory_orders_g%d", int64(gen)),
		entries: fmt.Sprintf("orderhistory_entries_g%d", int64(gen)),
	}
}

// lockClause returns a row-lock clause on PostgreSQL (SQLite serialises
// writers and has none).
func (s *Store) lockClause(mode string) string {
	if s.db.Dialect == sqldb.Postgres {
		return " FOR " + mode
	}
	return ""
}

// active returns the active generation; with share it holds the pointer
// FOR SHARE until the transaction ends (PostgreSQL).
func (s *Store) active(ctx context.Context, tx *sql.Tx, share bool) (app.Generation, error) {
	q := `SELECT generation FROM orderhistory_active WHERE id = 1`
	if share {
		q += s.lockClause("SHARE")
	}
	var gen int64
	if err := tx.QueryRowContext(ctx, q).Scan(&gen); err != nil {
		return 0, dbErr("read the active generation", err)
	}
	return app.Generation(gen), nil
}

// resolve turns gen into a generation that exists, locking its row
// against a concurrent drop (PostgreSQL).
func (s *Store) resolve(ctx context.Context, tx *sql.Tx, gen app.Generation) (app.Generation, error) {
	if gen == app.Active {
		return s.active(ctx, tx, true)
	}
	var state string
	err := tx.QueryRowContext(ctx, s.db.Rebind(`SELECT state FROM orderhistory_generations WHERE generation = ?`+s.lockClause("SHARE")),
		int64(gen)).Scan(&state)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, fault.Permanent(fmt.Errorf("orderhistory sqlstore: generation %d does not exist: %w", gen, orderhistory.ErrInvalid))
	case err != nil:
		return 0, dbErr("read generation", err)
	}
	return gen, nil
}

// createTables creates gen's tables when they are missing.
func (s *Store) createTables(ctx context.Context, tx *sql.Tx, gen app.Generation) error {
	t := tablesOf(gen)
	stmts := []string{
		`CREATE TABLE IF NOT EXISTS ` + t.orders + ` (
			order_id          TEXT    PRIMARY KEY,
			customer_id       TEXT    NOT NULL,
			placed            INTEGER NOT NULL CHECK (placed IN (0, 1)),
			status            TEXT    NOT NULL,
			total_amount      BIGINT  NOT NULL,
			currency          TEXT    NOT NULL,
			refunded_amount   BIGINT  NOT NULL,
			refunded_currency TEXT    NOT NULL,
			carrier           TEXT    NOT NULL,
			tracking_number   TEXT    NOT NULL,
			end_code          TEXT    NOT NULL,
			end_reason        TEXT    NOT NULL,
			lines             TEXT    NOT NULL,
			placed_at         BIGINT  NOT NULL,
			updated_at        BIGINT  NOT NULL,
			entries           BIGINT  NOT NULL
		)`,
		`CREATE INDEX IF NOT EXISTS ` + t.orders + `_by_customer ON ` + t.orders + ` (customer_id, placed, placed_at, order_id)`,
		`CREATE INDEX IF NOT EXISTS ` + t.orders + `_by_status ON ` + t.orders + ` (customer_id, placed, status, placed_at, order_id)`,
		`CREATE TABLE IF NOT EXISTS ` + t.entries + ` (
			event_id    TEXT   PRIMARY KEY,
			order_id    TEXT   NOT NULL,
			type        TEXT   NOT NULL,
			occurred_at BIGINT NOT NULL,
			customer_id TEXT   NOT NULL,
			facts       TEXT   NOT NULL
		)`,
		`CREATE INDEX IF NOT EXISTS ` + t.entries + `_by_order ON ` + t.entries + ` (order_id, occurred_at, event_id)`,
	}
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return dbErr(fmt.Sprintf("create the tables of generation %d", gen), err)
		}
	}
	return nil
}

// dropTables drops gen's tables.
func (s *Store) dropTables(ctx context.Context, tx *sql.Tx, gen app.Generation) error {
	t := tablesOf(gen)
	for _, table := range []string{t.orders, t.entries} {
		if _, err := tx.ExecContext(ctx, `DROP TABLE IF EXISTS `+table); err != nil {
			return dbErr(fmt.Sprintf("drop the tables of generation %d", gen), err)
		}
	}
	return nil
}

// Record implements app.Repository.
func (s *Store) Record(ctx context.Context, gen app.Generation, entries []orderhistory.Entry) (int, error) {
	if len(entries) == 0 {
		return 0, nil
	}
	byOrder := map[string][]orderhistory.Entry{}
	for _, e := range entries {
		byOrder[e.OrderID] = append(byOrder[e.OrderID], e)
	}
	// One lock order for every transaction: no deadlock between batches.
	ids := make([]string, 0, len(byOrder))
	for id := range byOrder {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var added int
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		added = 0
		g, err := s.resolve(ctx, tx, gen)
		if err != nil {
			return err
		}
		t := tablesOf(g)
		for _, id := range ids {
			n, err := s.recordOrder(ctx, tx, t, id, byOrder[id])
			if err != nil {
				return err
			}
			added += n
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return added, nil
}

// recordOrder adds one order's new entries and stores its new summary.
func (s *Store) recordOrder(ctx context.Context, tx *sql.Tx, t tables, orderID string, entries []orderhistory.Entry) (int, error) {
	// The summary row exists from the first entry on; locking it orders
	// the transactions that record entries of this order.
	if _, err := tx.ExecContext(ctx, s.db.Rebind(`INSERT INTO `+t.orders+` (order_id, customer_id, placed, status,
			total_amount, currency, refunded_amount, refunded_currency, carrier, tracking_number, end_code, end_reason,
			lines, placed_at, updated_at, entries)
		VALUES (?, '', 0, '', 0, '', 0, '', '', '', '', '', '[]', 0, 0, 0) ON CONFLICT (order_id) DO NOTHING`), orderID); err != nil {
		return 0, dbErr("insert order "+orderID, err)
	}
	if s.db.Dialect == sqldb.Postgres {
		if _, err := tx.ExecContext(ctx, s.db.Rebind(`SELECT order_id FROM `+t.orders+` WHERE order_id = ? FOR UPDATE`), orderID); err != nil {
			return 0, dbErr("lock order "+orderID, err)
		}
	}
	have, err := s.entries(ctx, tx, t, orderID)
	if err != nil {
		return 0, err
	}
	h, err := orderhistory.NewHistory(orderID, have...)
	if err != nil {
		return 0, stored("history of "+orderID, err)
	}
	added := 0
	for _, e := range entries {
		fresh, err := h.Add(e)
		if err != nil {
			return 0, fault.Permanent(fmt.Errorf("orderhistory sqlstore: %w", err))
		}
		if !fresh {
			continue
		}
		if err := s.insertEntry(ctx, tx, t, e); err != nil {
			return 0, err
		}
		added++
	}
	if added == 0 {
		return 0, nil
	}
	return added, s.writeSummary(ctx, tx, t, h.Summary())
}

func (s *Store) insertEntry(ctx context.Context, tx *sql.Tx, t tables, e orderhistory.Entry) error {
	facts, err := encodeFacts(e)
	if err != nil {
		return fault.Permanent(fmt.Errorf("orderhistory sqlstore: entry %s: %w", e.EventID, err))
	}
	res, err := tx.ExecContext(ctx, s.db.Rebind(`INSERT INTO `+t.entries+` (event_id, order_id, type, occurred_at, customer_id, facts)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING`),
		e.EventID, e.OrderID, string(e.Type), micros(e.OccurredAt), e.CustomerID, facts)
	if err != nil {
		return dbErr("insert entry "+e.EventID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return dbErr("insert entry "+e.EventID, err)
	}
	if n == 0 {
		// The order did not have it, so another order does: the event ID
		// was reused, which no producer does on purpose.
		return fault.Permanent(fmt.Errorf("orderhistory sqlstore: event %s is already recorded for another order than %s: %w",
			e.EventID, e.OrderID, orderhistory.ErrInvalid))
	}
	return nil
}

func (s *Store) writeSummary(ctx context.Context, tx *sql.Tx, t tables, sum orderhistory.Summary) error {
	lines, err := encodeLines(sum.Lines)
	if err != nil {
		return fault.Permanent(fmt.Errorf("orderhistory sqlstore: lines of %s: %w", sum.OrderID, err))
	}
	placed := 0
	if sum.Placed {
		placed = 1
	}
	if _, err := tx.ExecContext(ctx, s.db.Rebind(`UPDATE `+t.orders+` SET customer_id = ?, placed = ?, status = ?,
			total_amount = ?, currency = ?, refunded_amount = ?, refunded_currency = ?, carrier = ?, tracking_number = ?,
			end_code = ?, end_reason = ?, lines = ?, placed_at = ?, updated_at = ?, entries = ?
		WHERE order_id = ?`),
		sum.CustomerID, placed, string(sum.Status), sum.Total.Amount, sum.Total.Currency, sum.Refunded.Amount, sum.Refunded.Currency,
		sum.Carrier, sum.TrackingNumber, string(sum.EndReason.Code), sum.EndReason.Reason, lines,
		micros(sum.PlacedAt), micros(sum.UpdatedAt), sum.Entries, sum.OrderID); err != nil {
		return dbErr("update order "+sum.OrderID, err)
	}
	return nil
}

// entries reads an order's stored entries.
func (s *Store) entries(ctx context.Context, tx *sql.Tx, t tables, orderID string) ([]orderhistory.Entry, error) {
	rows, err := tx.QueryContext(ctx, s.db.Rebind(`SELECT event_id, type, occurred_at, customer_id, facts FROM `+t.entries+`
		WHERE order_id = ? ORDER BY occurred_at, event_id`), orderID)
	if err != nil {
		return nil, dbErr("read entries of "+orderID, err)
	}
	defer func() { _ = rows.Close() }()
	var out []orderhistory.Entry
	for rows.Next() {
		var (
			e     = orderhistory.Entry{OrderID: orderID}
			typ   string
			at    int64
			facts string
		)
		if err := rows.Scan(&e.EventID, &typ, &at, &e.CustomerID, &facts); err != nil {
			return nil, dbErr("read entries of "+orderID, err)
		}
		e.Type, e.OccurredAt = orderhistory.EntryType(typ), fromMicros(at)
		if err := decodeFacts(facts, &e); err != nil {
			return nil, stored("entry "+e.EventID, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr("read entries of "+orderID, err)
	}
	return out, nil
}

// History implements app.Repository.
func (s *Store) History(ctx context.Context, orderID string) (*orderhistory.History, error) {
	var h *orderhistory.History
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		gen, err := s.active(ctx, tx, false)
		if err != nil {
			return err
		}
		es, err := s.entries(ctx, tx, tablesOf(gen), orderID)
		if err != nil {
			return err
		}
		if len(es) == 0 {
			return fmt.Errorf("order %s: %w", orderID, orderhistory.ErrNotFound)
		}
		if h, err = orderhistory.NewHistory(orderID, es...); err != nil {
			return stored("history of "+orderID, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return h, nil
}

const summaryColumns = `order_id, customer_id, placed, status, total_amount, currency, refunded_amount, refunded_currency,
	carrier, tracking_number, end_code, end_reason, lines, placed_at, updated_at, entries`

// List implements app.Repository.
func (s *Store) List(ctx context.Context, q app.ListQuery) ([]orderhistory.Summary, error) {
	if q.Limit < 1 {
		return nil, fmt.Errorf("orderhistory sqlstore: list: limit %d: %w", q.Limit, orderhistory.ErrInvalid)
	}
	var out []orderhistory.Summary
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		out = nil
		gen, err := s.active(ctx, tx, false)
		if err != nil {
			return err
		}
		query := `SELECT ` + summaryColumns + ` FROM ` + tablesOf(gen).orders + ` WHERE customer_id = ? AND placed = 1`
		args := []any{q.CustomerID}
		if q.Status != "" {
			query += ` AND status = ?`
			args = append(args, string(q.Status))
		}
		if q.After != nil {
			at := micros(q.After.PlacedAt)
			query += ` AND (placed_at < ? OR (placed_at = ? AND order_id < ?))`
			args = append(args, at, at, q.After.OrderID)
		}
		query += ` ORDER BY placed_at DESC, order_id DESC LIMIT ?`
		args = append(args, q.Limit)
		rows, err := tx.QueryContext(ctx, s.db.Rebind(query), args...)
		if err != nil {
			return dbErr("list orders", err)
		}
		defer func() { _ = rows.Close() }()
		for rows.Next() {
			sum, err := scanSummary(rows)
			if err != nil {
				return err
			}
			out = append(out, sum)
		}
		if err := rows.Err(); err != nil {
			return dbErr("list orders", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func scanSummary(rows *sql.Rows) (orderhistory.Summary, error) {
	var (
		sum                       orderhistory.Summary
		placed                    int
		status, code, lines       string
		placedAt, updated, things int64
	)
	if err := rows.Scan(&sum.OrderID, &sum.CustomerID, &placed, &status, &sum.Total.Amount, &sum.Total.Currency,
		&sum.Refunded.Amount, &sum.Refunded.Currency, &sum.Carrier, &sum.TrackingNumber, &code, &sum.EndReason.Reason,
		&lines, &placedAt, &updated, &things); err != nil {
		return orderhistory.Summary{}, dbErr("read order", err)
	}
	var err error
	if sum.Lines, err = decodeLines(lines); err != nil {
		return orderhistory.Summary{}, stored("lines of "+sum.OrderID, err)
	}
	sum.Placed, sum.Status, sum.EndReason.Code = placed == 1, orderhistory.Status(status), orderhistory.EndCode(code)
	sum.PlacedAt, sum.UpdatedAt, sum.Entries = fromMicros(placedAt), fromMicros(updated), int(things)
	return sum, nil
}
