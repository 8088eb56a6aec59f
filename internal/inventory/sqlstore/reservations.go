package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/agoracommerce/agora/internal/inventory"
	"github.com/agoracommerce/agora/internal/platform/fault"
)

// errExists rolls back a Reserve whose order already has a reservation.
var errExists = errors.New("reservation exists")

// Reserve implements app.Repository.
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
			if err == nil && shortage != nil {
				return shortage // roll back what was taken
			}
			return err
		})
	})
	switch {
	case errors.Is(err, errExists):
		r, err := s.Reservation(ctx, req.OrderID)
		return r, false, err
	case shortage != nil && errors.Is(err, shortage):
		rejected := inventory.ReservationRejected{OrderID: req.OrderID, Short: shortage.Lines, OccurredAt: req.At}
		if err := s.db.InTx(ctx, func(tx *sql.Tx) error { return s.emit(ctx, tx, rejected) }); err != nil {
			return inventory.Reservation{}, false, err
		}
		return inventory.Reservation{}, false, shortage
	case err != nil:
		return inventory.Reservation{}, false, err
	}
	return out, true, nil
}

// reserve takes every line of req inside tx. It returns a shortage (and
// the caller rolls back) when a line cannot be covered.
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

	var (
		allocs []inventory.Allocation
		short  []inventory.Shortage
		evs    []inventory.Event
	)
	for _, line := range req.Lines { // sorted by SKU: rows are locked in one order
		threshold, known, err := s.bump(ctx, tx, line.SKU, 0, req.At)
		if err != nil {
			return inventory.Reservation{}, nil, err
		}
		if !known {
			short = append(short, inventory.Shortage{SKU: line.SKU, Requested: line.Quantity})
			continue
		}
		levels, err := s.levels(ctx, tx, line.SKU)
		if err != nil {
			return inventory.Reservation{}, nil, err
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
				return inventory.Reservation{}, nil, dbErr("reserve stock", err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return inventory.Reservation{}, nil, dbErr("reserve stock", err)
			} else if n == 0 {
				return inventory.Reservation{}, nil, fault.Retryable(fmt.Errorf("reserve %s in %s: %w", a.SKU, a.Warehouse, inventory.ErrConflict))
			}
		}
		allocs = append(allocs, plan...)
		if low, ok := inventory.LowStockCrossed(line.SKU, threshold, before, before-line.Quantity, req.At); ok {
			evs = append(evs, low)
		}
	}
	if len(short) > 0 {
		return inventory.Reservation{}, &inventory.ShortageError{OrderID: req.OrderID, Lines: short}, nil
	}
	for _, a := range allocs {
		if _, err := tx.ExecContext(ctx, s.db.Rebind(`INSERT INTO stock_reservation_lines (order_id, sku, warehouse, quantity) VALUES (?, ?, ?, ?)`),
			req.OrderID, a.SKU, a.Warehouse, a.Quantity); err != nil {
			return inventory.Reservation{}, nil, dbErr("insert reservation line", err)
		}
	}
	r := inventory.NewReservation(req, allocs)
	if err := s.emit(ctx, tx, append(r.Events(), evs...)...); err != nil {
		return inventory.Reservation{}, nil, err
	}
	r.Stored()
	return r, nil, nil
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
