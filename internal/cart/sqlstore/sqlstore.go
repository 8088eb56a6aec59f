// Package sqlstore keeps the cart service's carts and its read model of
// the catalog's products in SQLite or PostgreSQL (through the platform's
// sqldb), and writes the events of every cart change to the transactional
// outbox in the same transaction.
//
// A cart update takes the cart's row lock before it reads the cart, so
// concurrent changes of one cart apply one after the other and never
// overwrite each other; the write is also conditional on the version read
// (UPDATE ... WHERE id = ? AND version = ?). A product
// of the read model is replaced only by a higher version, in one
// conditional upsert, so replayed and reordered catalog events change
// nothing.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/agoracommerce/agora/internal/cart"
	"github.com/agoracommerce/agora/internal/cart/app"
	"github.com/agoracommerce/agora/internal/cart/eventsout"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/fault"
	"github.com/agoracommerce/agora/internal/platform/outbox"
	"github.com/agoracommerce/agora/internal/platform/sqldb"
)

//go:embed migrations
var migrations embed.FS

// Store is the SQL Repository and Products read model of the cart. Safe
// for concurrent use.
type Store struct {
	db      *sqldb.DB
	outbox  *outbox.Store
	encoder *eventsout.Encoder
}

var (
	_ app.Repository = (*Store)(nil)
	_ app.Products   = (*Store)(nil)
)

// New migrates the cart's tables in db and returns the Store; events go
// to ob (an outbox on the same db), encoded with codec.
func New(ctx context.Context, db *sqldb.DB, ob *outbox.Store, codec *events.Codec) (*Store, error) {
	if db == nil || ob == nil {
		return nil, errors.New("cart sqlstore: a database and an outbox are required")
	}
	enc, err := eventsout.New(codec)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx, migrations, "cart"); err != nil {
		return nil, fmt.Errorf("cart sqlstore: %w", err)
	}
	return &Store{db: db, outbox: ob, encoder: enc}, nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func dbErr(op string, err error) error {
	return fault.Retryable(fmt.Errorf("cart sqlstore: %s: %w", op, err))
}

func stored(what string, err error) error {
	return fault.Permanent(fmt.Errorf("cart sqlstore: stored %s: %w", what, err))
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

// emit writes evs to the outbox inside tx.
func (s *Store) emit(ctx context.Context, tx *sql.Tx, evs ...cart.Event) error {
	if len(evs) == 0 {
		return nil
	}
	enc, err := s.encoder.Encode(ctx, evs...)
	if err != nil {
		return fmt.Errorf("cart sqlstore: %w", err)
	}
	if err := s.outbox.Add(ctx, tx, enc...); err != nil {
		return dbErr("outbox", err)
	}
	return nil
}

// Create implements app.Repository.
func (s *Store) Create(ctx context.Context, c *cart.Cart) error {
	st := c.State()
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.db.Rebind(`
			INSERT INTO carts (id, customer_id, currency, status, order_id, version, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
			st.ID.String(), st.CustomerID, st.Currency, string(st.Status), st.OrderID, st.Version,
			micros(st.CreatedAt), micros(st.UpdatedAt)); err != nil {
			return dbErr("insert cart", err)
		}
		if err := s.writeLines(ctx, tx, st); err != nil {
			return err
		}
		return s.emit(ctx, tx, c.Events()...)
	})
	if err != nil {
		return err
	}
	c.Stored()
	return nil
}

const cartColumns = `id, customer_id, currency, status, order_id, version, created_at, updated_at`

// Cart implements app.Repository.
func (s *Store) Cart(ctx context.Context, id uuid.UUID) (*cart.Cart, error) {
	cs, err := s.readCarts(ctx, s.db, `SELECT `+cartColumns+` FROM carts WHERE id = ?`, id.String())
	if err != nil {
		return nil, err
	}
	if len(cs) == 0 {
		return nil, fmt.Errorf("cart %s: %w", id, cart.ErrNotFound)
	}
	return cs[0], nil
}

// Carts implements app.Repository.
func (s *Store) Carts(ctx context.Context, customer string, after uuid.UUID, limit int) ([]*cart.Cart, error) {
	from := ""
	if after != uuid.Nil {
		from = after.String()
	}
	return s.readCarts(ctx, s.db, `SELECT `+cartColumns+` FROM carts
		WHERE customer_id = ? AND status <> 'abandoned' AND id > ? ORDER BY id LIMIT ?`, customer, from, limit)
}

// readCarts reads the carts query selects (cartColumns) and their lines.
func (s *Store) readCarts(ctx context.Context, q querier, query string, args ...any) ([]*cart.Cart, error) {
	rows, err := q.QueryContext(ctx, s.db.Rebind(query), args...)
	if err != nil {
		return nil, dbErr("read carts", err)
	}
	var states []cart.State
	for rows.Next() {
		var (
			st                          cart.State
			id, status                  string
			version, created, updatedAt int64
		)
		if err := rows.Scan(&id, &st.CustomerID, &st.Currency, &status, &st.OrderID, &version, &created, &updatedAt); err != nil {
			_ = rows.Close()
			return nil, dbErr("read carts", err)
		}
		if st.ID, err = uuid.Parse(id); err != nil {
			_ = rows.Close()
			return nil, stored("cart ID", err)
		}
		st.Status, st.Version, st.CreatedAt, st.UpdatedAt = cart.Status(status), version, fromMicros(created), fromMicros(updatedAt)
		states = append(states, st)
	}
	if err := rows.Err(); err != nil {
		_ = rows.Close()
		return nil, dbErr("read carts", err)
	}
	_ = rows.Close()
	if len(states) == 0 {
		return nil, nil
	}
	if err := s.readLines(ctx, q, states); err != nil {
		return nil, err
	}
	out := make([]*cart.Cart, 0, len(states))
	for _, st := range states {
		c, err := cart.Restore(st)
		if err != nil {
			return nil, stored("cart", err)
		}
		out = append(out, c)
	}
	return out, nil
}

// placeholders returns "?, ?, ..." for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// readLines fills the lines of states in one query.
func (s *Store) readLines(ctx context.Context, q querier, states []cart.State) error {
	ids := make([]any, len(states))
	byID := make(map[string]*cart.State, len(states))
	for i := range states {
		ids[i] = states[i].ID.String()
		byID[states[i].ID.String()] = &states[i]
	}
	rows, err := q.QueryContext(ctx, s.db.Rebind(`
		SELECT l.cart_id, l.product_id, l.sku, l.name, l.quantity, l.unit_amount, l.added_at, c.currency
		FROM cart_lines l JOIN carts c ON c.id = l.cart_id
		WHERE l.cart_id IN (`+placeholders(len(ids))+`) ORDER BY l.cart_id, l.position`), ids...)
	if err != nil {
		return dbErr("read lines", err)
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var (
			cartID, product, currency string
			l                         cart.Line
			amount, added             int64
		)
		if err := rows.Scan(&cartID, &product, &l.SKU, &l.Name, &l.Quantity, &amount, &added, &currency); err != nil {
			return dbErr("read lines", err)
		}
		if l.ProductID, err = uuid.Parse(product); err != nil {
			return stored("product ID", err)
		}
		if l.UnitPrice, err = cart.NewMoney(amount, currency); err != nil {
			return stored("unit price", err)
		}
		l.AddedAt = fromMicros(added)
		if st := byID[cartID]; st != nil {
			st.Lines = append(st.Lines, l)
		}
	}
	if err := rows.Err(); err != nil {
		return dbErr("read lines", err)
	}
	return nil
}

// writeLines replaces the stored lines of st's cart with st.Lines.
func (s *Store) writeLines(ctx context.Context, tx *sql.Tx, st cart.State) error {
	if _, err := tx.ExecContext(ctx, s.db.Rebind(`DELETE FROM cart_lines WHERE cart_id = ?`), st.ID.String()); err != nil {
		return dbErr("write lines", err)
	}
	if len(st.Lines) == 0 {
		return nil
	}
	args := make([]any, 0, 8*len(st.Lines))
	for i, l := range st.Lines {
		args = append(args, st.ID.String(), l.ProductID.String(), i, l.SKU, l.Name, l.Quantity, l.UnitPrice.Amount(), micros(l.AddedAt))
	}
	values := strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?), ", len(st.Lines)), ", ")
	if _, err := tx.ExecContext(ctx, s.db.Rebind(`
		INSERT INTO cart_lines (cart_id, product_id, position, sku, name, quantity, unit_amount, added_at) VALUES `+values), args...); err != nil {
		return dbErr("write lines", err)
	}
	return nil
}

// Update implements app.Repository. It first takes the cart's row lock
// (a write that changes nothing), so concurrent updates of one cart queue
// up instead of racing, then reads, applies fn and writes in the same
// transaction; the version condition of the write stays as a safety net.
func (s *Store) Update(ctx context.Context, id uuid.UUID, fn func(*cart.Cart) error) (*cart.Cart, error) {
	var out *cart.Cart
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.db.Rebind(`UPDATE carts SET version = version WHERE id = ?`), id.String())
		if err != nil {
			return dbErr("lock cart", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return dbErr("lock cart", err)
		} else if n == 0 {
			return fmt.Errorf("cart %s: %w", id, cart.ErrNotFound)
		}
		cs, err := s.readCarts(ctx, tx, `SELECT `+cartColumns+` FROM carts WHERE id = ?`, id.String())
		if err != nil {
			return err
		}
		if len(cs) == 0 {
			return fmt.Errorf("cart %s: %w", id, cart.ErrNotFound)
		}
		c := cs[0]
		before := c.Version()
		if err := fn(c); err != nil {
			return err
		}
		out = c
		if !c.Changed() {
			return nil
		}
		st := c.State()
		res, err = tx.ExecContext(ctx, s.db.Rebind(`
			UPDATE carts SET status = ?, order_id = ?, version = ?, updated_at = ? WHERE id = ? AND version = ?`),
			string(st.Status), st.OrderID, st.Version, micros(st.UpdatedAt), st.ID.String(), before)
		if err != nil {
			return dbErr("update cart", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return dbErr("update cart", err)
		} else if n == 0 {
			return fault.Retryable(fmt.Errorf("cart %s: %w", id, cart.ErrConflict))
		}
		if err := s.writeLines(ctx, tx, st); err != nil {
			return err
		}
		return s.emit(ctx, tx, c.Events()...)
	})
	if err != nil {
		return nil, err
	}
	out.Stored()
	return out, nil
}

// IdleCarts implements app.Repository.
func (s *Store) IdleCarts(ctx context.Context, idleSince time.Time, limit int) ([]uuid.UUID, error) {
	rows, err := s.db.QueryContext(ctx, s.db.Rebind(`
		SELECT id FROM carts WHERE status = 'open' AND updated_at <= ? ORDER BY updated_at, id LIMIT ?`), micros(idleSince), limit)
	if err != nil {
		return nil, dbErr("find idle carts", err)
	}
	defer func() { _ = rows.Close() }()
	var ids []uuid.UUID
	for rows.Next() {
		var raw string
		if err := rows.Scan(&raw); err != nil {
			return nil, dbErr("find idle carts", err)
		}
		id, err := uuid.Parse(raw)
		if err != nil {
			return nil, stored("cart ID", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr("find idle carts", err)
	}
	return ids, nil
}
