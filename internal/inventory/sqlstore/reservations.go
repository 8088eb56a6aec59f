package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/agoracommerce/agora/internal/inventory"
	"github.com/agoracommerce/agora/internal/platform/fault"
)

// errExists rolls back a Reserve whose order already has a reservation;
// errRejected one whose order was rejected before.
var (
	errExists   = errors.New("reservation exists")
	errRejected = errors.New("reservation rejected before")
)

// Reserve implements app.Repository.
//
// One transaction decides an order once: it first claims the order's
// reservation row (concurrent requests for one order wait on it), then
// looks for an earlier rejection, then takes every line's stock after a
// savepoint. When a line is short it rolls back to the savepoint (giving
// back what the other lines took), replaces the claim with the
// rejection and writes ReservationRejected, so the rejection is as final
// as a reservation.
func (s *Store) Reserve(ctx context.Context, req inventory.ReservationRequest) (inventory.Reservation, bool, error) {
	var (
		out      inventory.Reservation
		shortage *inventory.ShortageError
	)
	err := retry(ctx, func() error {
		shortage = nil
		return s.db.InTx(ctx, func(tx *sql.Tx) error {
			var err error
			out, shortage, err = s.reserve(ctx, tx, req)
			return err
		})
	})
	switch {
	case errors.Is(err, errExists):
		r, err := s.Reservation(ctx, req.OrderID)
		return r, false, err
	case errors.Is(err, errRejected):
		return inventory.Reservation{}, false, shortage
	case err != nil:
		return inventory.Reservation{}, false, err
	case shortage != nil:
		return inventory.Reservation{}, false, shortage
	}
	return out, true, nil
}

// reserve decides req inside tx: the reservation, or the shortage it
// stored and published instead, or errExists / errRejected (with the
// earlier shortage) when the order was decided before.
func (s *Store) reserve(ctx context.Context, tx *sql.Tx, req inventory.ReservationRequest) (inventory.Reservation, *inventory.ShortageError, error) {
	res, err := tx.ExecContext(ctx, s.db.Rebind(`
		INSERT INTO stock_reservations (order_id, status, reason, expires_at, created_at, updated_at, version)
		VALUES (?, 'active', '', ?, ?, ?, 1) ON CONFLICT (order_id) DO NOTHING`),
		req.OrderID, micros(req.ExpiresAt), micros(req.At), micros(req.At))
	if err != nil {
		return inventory.Reservation{}, nil, dbErr("insert reservation", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return inventory.Reservation{}, nil, dbErr("insert reservation", err)
	} else if n == 0 {
		return inventory.Reservation{}, nil, errExists
	}
	if earlier, err := s.rejection(ctx, tx, req.OrderID); err != nil {
		return inventory.Reservation{}, nil, err
	} else if earlier != nil {
		return inventory.Reservation{}, earlier, errRejected
	}
	if _, err := tx.ExecContext(ctx, `SAVEPOINT reserve_lines`); err != nil {
		return inventory.Reservation{}, nil, dbErr("savepoint", err)
	}
	r, evs, shortage, err := s.takeLines(ctx, tx, req)
	if err != nil {
		return inventory.Reservation{}, nil, err
	}
	if shortage != nil {
		if err := s.reject(ctx, tx, req, shortage); err != nil {
			return inventory.Reservation{}, nil, err
		}
		return inventory.Reservation{}, shortage, nil
	}
	if err := s.emit(ctx, tx, append(r.Events(), evs...)...); err != nil {
		return inventory.Reservation{}, nil, err
	}
	r.Stored()
	return r, nil, nil
}

// takeLines takes every line of req inside tx and returns the new
// reservation with the low-stock events it caused, or the shortage when a
// line cannot be covered (the caller then rolls the lines back).
func (s *Store) takeLines(ctx context.Context, tx *sql.Tx, req inventory.ReservationRequest) (inventory.Reservation, []inventory.Event, *inventory.ShortageError, error) {
	var (
		allocs []inventory.Allocation
		short  []inventory.Shortage
		evs    []inventory.Event
	)
	for _, line := range req.Lines { // sorted by SKU: rows are locked in one order
		threshold, known, err := s.bump(ctx, tx, line.SKU, 0, req.At)
		if err != nil {
			return inventory.Reservation{}, nil, nil, err
		}
		if !known {
			short = append(short, inventory.Shortage{SKU: line.SKU, Requested: line.Quantity})
			continue
		}
		levels, err := s.levels(ctx, tx, line.SKU)
		if err != nil {
			return inventory.Reservation{}, nil, nil, err
		}
		before := available(levels)
		plan, missing := inventory.Allocate(line, levels)
		if missing > 0 {
			short = append(short, inventory.Shortage{SKU: line.SKU, Requested: line.Quantity, Available: before})
			continue
		}
		for _, a := range plan {
			// The guard against overselling: the update changes nothing
			// unless the warehouse still has the quantity available.
			res, err := tx.ExecContext(ctx, s.db.Rebind(`
				UPDATE stock SET reserved = reserved + ?
				WHERE sku = ? AND warehouse = ? AND on_hand - reserved >= ?`),
				a.Quantity, a.SKU, a.Warehouse, a.Quantity)
			if err != nil {
				return inventory.Reservation{}, nil, nil, dbErr("reserve stock", err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return inventory.Reservation{}, nil, nil, dbErr("reserve stock", err)
			} else if n == 0 {
				return inventory.Reservation{}, nil, nil, fault.Retryable(fmt.Errorf("reserve %s in %s: %w", a.SKU, a.Warehouse, inventory.ErrConflict))
			}
		}
		allocs = append(allocs, plan...)
		if low, ok := inventory.LowStockCrossed(line.SKU, threshold, before, before-line.Quantity, req.At); ok {
			evs = append(evs, low)
		}
	}
	if len(short) > 0 {
		return inventory.Reservation{}, nil, &inventory.ShortageError{OrderID: req.OrderID, Lines: short}, nil
	}
	for _, a := range allocs {
		if _, err := tx.ExecContext(ctx, s.db.Rebind(`INSERT INTO stock_reservation_lines (order_id, sku, warehouse, quantity) VALUES (?, ?, ?, ?)`),
			req.OrderID, a.SKU, a.Warehouse, a.Quantity); err != nil {
			return inventory.Reservation{}, nil, nil, dbErr("insert reservation line", err)
		}
	}
	return inventory.NewReservation(req, allocs), evs, nil, nil
}

// shortLine is a stored inventory.Shortage.
type shortLine struct {
	SKU       string `json:"sku"`
	Requested int64  `json:"requested"`
	Available int64  `json:"available"`
}

// reject undoes what takeLines took, replaces the order's claimed
// reservation with its rejection and writes ReservationRejected.
func (s *Store) reject(ctx context.Context, tx *sql.Tx, req inventory.ReservationRequest, shortage *inventory.ShortageError) error {
	if _, err := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT reserve_lines`); err != nil {
		return dbErr("roll back reservation lines", err)
	}
	if _, err := tx.ExecContext(ctx, s.db.Rebind(`DELETE FROM stock_reservations WHERE order_id = ?`), req.OrderID); err != nil {
		return dbErr("drop rejected reservation", err)
	}
	lines := make([]shortLine, len(shortage.Lines))
	for i, l := range shortage.Lines {
		lines[i] = shortLine(l)
	}
	doc, err := json.Marshal(lines)
	if err != nil {
		return fmt.Errorf("inventory sqlstore: shortage of %s: %w", req.OrderID, err)
	}
	if _, err := tx.ExecContext(ctx, s.db.Rebind(`
		INSERT INTO stock_reservation_rejections (order_id, shortage, rejected_at) VALUES (?, ?, ?)`),
		req.OrderID, string(doc), micros(req.At)); err != nil {
		return dbErr("insert rejection", err)
	}
	return s.emit(ctx, tx, inventory.ReservationRejected{OrderID: req.OrderID, Short: shortage.Lines, OccurredAt: req.At})
}

// rejection returns the shortage the order was rejected with, or nil.
func (s *Store) rejection(ctx context.Context, tx *sql.Tx, orderID string) (*inventory.ShortageError, error) {
	var doc string
	err := tx.QueryRowContext(ctx, s.db.Rebind(`SELECT shortage FROM stock_reservation_rejections WHERE order_id = ?`), orderID).Scan(&doc)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, dbErr("read rejection", err)
	}
	var lines []shortLine
	if err := json.Unmarshal([]byte(doc), &lines); err != nil {
		return nil, fault.Permanent(fmt.Errorf("inventory sqlstore: stored rejection of %s: %w", orderID, err))
	}
	out := &inventory.ShortageError{OrderID: orderID, Lines: make([]inventory.Shortage, len(lines))}
	for i, l := range lines {
		out.Lines[i] = inventory.Shortage(l)
	}
	return out, nil
}

// Reservation implements app.Repository.
func (s *Store) Reservation(ctx context.Context, orderID string) (inventory.Reservation, error) {
	var out inventory.Reservation
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = s.loadReservation(ctx, tx, orderID)
		return err
	})
	return out, err
}

func (s *Store) loadReservation(ctx context.Context, tx *sql.Tx, orderID string) (inventory.Reservation, error) {
	var (
		status, reason                     string
		expires, created, updated, version int64
	)
	err := tx.QueryRowContext(ctx, s.db.Rebind(`
		SELECT status, reason, expires_at, created_at, updated_at, version FROM stock_reservations WHERE order_id = ?`), orderID).
		Scan(&status, &reason, &expires, &created, &updated, &version)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return inventory.Reservation{}, fmt.Errorf("reservation of %s: %w", orderID, inventory.ErrNotFound)
	case err != nil:
		return inventory.Reservation{}, dbErr("read reservation", err)
	}
	rows, err := tx.QueryContext(ctx, s.db.Rebind(`
		SELECT sku, warehouse, quantity FROM stock_reservation_lines WHERE order_id = ? ORDER BY sku, warehouse`), orderID)
	if err != nil {
		return inventory.Reservation{}, dbErr("read reservation lines", err)
	}
	defer func() { _ = rows.Close() }()
	var allocs []inventory.Allocation
	for rows.Next() {
		var a inventory.Allocation
		if err := rows.Scan(&a.SKU, &a.Warehouse, &a.Quantity); err != nil {
			return inventory.Reservation{}, dbErr("read reservation lines", err)
		}
		allocs = append(allocs, a)
	}
	if err := rows.Err(); err != nil {
		return inventory.Reservation{}, dbErr("read reservation lines", err)
	}
	r, err := inventory.RestoreReservation(orderID, inventory.ReservationStatus(status), reason, allocs,
		fromMicros(expires), fromMicros(created), fromMicros(updated), version)
	if err != nil {
		return inventory.Reservation{}, fault.Permanent(fmt.Errorf("inventory sqlstore: stored reservation: %w", err))
	}
	return r, nil
}

// UpdateReservation implements app.Repository.
func (s *Store) UpdateReservation(ctx context.Context, orderID string, fn func(*inventory.Reservation) error) (inventory.Reservation, error) {
	var out inventory.Reservation
	err := retry(ctx, func() error {
		return s.db.InTx(ctx, func(tx *sql.Tx) error {
			r, err := s.loadReservation(ctx, tx, orderID)
			if err != nil {
				return err
			}
			if err := fn(&r); err != nil {
				return err
			}
			if !r.Changed() {
				out = r
				return nil
			}
			res, err := tx.ExecContext(ctx, s.db.Rebind(`
				UPDATE stock_reservations SET status = ?, reason = ?, updated_at = ?, version = version + 1
				WHERE order_id = ? AND version = ?`),
				string(r.Status()), r.Reason(), micros(r.UpdatedAt()), orderID, r.Version())
			if err != nil {
				return dbErr("update reservation", err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return dbErr("update reservation", err)
			} else if n == 0 {
				return fault.Retryable(fmt.Errorf("reservation of %s: %w", orderID, inventory.ErrConflict))
			}
			if err := s.applyDeltas(ctx, tx, r.Deltas(), r.UpdatedAt()); err != nil {
				return err
			}
			if err := s.emit(ctx, tx, r.Events()...); err != nil {
				return err
			}
			r.Stored()
			out = r
			return nil
		})
	})
	if err != nil {
		return inventory.Reservation{}, err
	}
	return out, nil
}

// applyDeltas changes the levels a reservation's transition touches, in
// SKU order, each guarded so that no level goes negative and reserved never
// exceeds on hand.
func (s *Store) applyDeltas(ctx context.Context, tx *sql.Tx, deltas []inventory.LevelDelta, at time.Time) error {
	last := ""
	for _, d := range deltas {
		if d.SKU != last {
			if _, _, err := s.bump(ctx, tx, d.SKU, 0, at); err != nil {
				return err
			}
			last = d.SKU
		}
		res, err := tx.ExecContext(ctx, s.db.Rebind(`
			UPDATE stock SET on_hand = on_hand + ?, reserved = reserved + ?
			WHERE sku = ? AND warehouse = ? AND reserved + ? >= 0 AND on_hand + ? >= reserved + ?`),
			d.OnHand, d.Reserved, d.SKU, d.Warehouse, d.Reserved, d.OnHand, d.Reserved)
		if err != nil {
			return dbErr("apply reservation", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return dbErr("apply reservation", err)
		} else if n == 0 {
			return fault.Permanent(fmt.Errorf("inventory sqlstore: level of %s in %s does not hold the reservation", d.SKU, d.Warehouse))
		}
	}
	return nil
}

// ExpiredReservations implements app.Repository.
func (s *Store) ExpiredReservations(ctx context.Context, now time.Time, limit int) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, s.db.Rebind(`
		SELECT order_id FROM stock_reservations WHERE status = 'active' AND expires_at <= ?
		ORDER BY expires_at, order_id LIMIT ?`), micros(now), limit)
	if err != nil {
		return nil, dbErr("find expired reservations", err)
	}
	defer func() { _ = rows.Close() }()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, dbErr("find expired reservations", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr("find expired reservations", err)
	}
	return ids, nil
}
