// Package sqlstore keeps the ordering service's orders in SQLite or
// PostgreSQL (through the platform's sqldb). Every change writes its events
// to the transactional outbox and, for a change caused by a consumed event,
// the event's key to the inbox, all in the change's transaction: a
// redelivered event finds its key and changes nothing.
//
// A cart becomes at most one order (a unique cart_id). An update takes the
// order's row lock before it reads the order, so concurrent changes of one
// order apply one after the other; the write is also conditional on the
// version read (UPDATE ... WHERE id = ? AND version = ?).
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/agoracommerce/agora/internal/ordering"
	"github.com/agoracommerce/agora/internal/ordering/app"
	"github.com/agoracommerce/agora/internal/ordering/eventsout"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/fault"
	"github.com/agoracommerce/agora/internal/platform/inbox"
	"github.com/agoracommerce/agora/internal/platform/outbox"
	"github.com/agoracommerce/agora/internal/platform/sqldb"
)

//go:embed migrations
var migrations embed.FS

// Store is the SQL Repository of orders. Safe for concurrent use.
type Store struct {
	db      *sqldb.DB
	outbox  *outbox.Store
	inbox   *inbox.Store
	encoder *eventsout.Encoder
}

var _ app.Repository = (*Store)(nil)

// New migrates the orders table in db and returns the Store; events go to
// ob and consumed events' keys to in (both on db), encoded with codec.
func New(ctx context.Context, db *sqldb.DB, ob *outbox.Store, in *inbox.Store, codec *events.Codec) (*Store, error) {
	if db == nil || ob == nil || in == nil {
		return nil, errors.New("ordering sqlstore: a database, an outbox and an inbox are required")
	}
	if in.DB() != db {
		return nil, errors.New("ordering sqlstore: the inbox must live in the orders' database")
	}
	enc, err := eventsout.New(codec)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx, migrations, "ordering"); err != nil {
		return nil, fmt.Errorf("ordering sqlstore: %w", err)
	}
	return &Store{db: db, outbox: ob, inbox: in, encoder: enc}, nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func dbErr(op string, err error) error {
	return fault.Retryable(fmt.Errorf("ordering sqlstore: %s: %w", op, err))
}

func stored(what string, err error) error {
	return fault.Permanent(fmt.Errorf("ordering sqlstore: stored %s: %w", what, err))
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

// lineJSON and addressJSON are the stored forms of an order's lines and
// address.
type lineJSON struct {
	ProductID  string `json:"product_id"`
	SKU        string `json:"sku"`
	Name       string `json:"name"`
	Quantity   int64  `json:"quantity"`
	UnitAmount int64  `json:"unit_amount"`
}

type addressJSON struct {
	Name       string `json:"name"`
	Line1      string `json:"line1"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city"`
	Region     string `json:"region,omitempty"`
	PostalCode string `json:"postal_code"`
	Country    string `json:"country"`
}

// row is an order as its columns hold it.
type row struct {
	id, customerID, cartID, status, step, lines, currency, address, email string
	paymentToken, paymentID, shipmentID, carrier, tracking                string
	endCode, endMessage                                                   string
	total, version, created, updated, reservationExpires                  int64
	refunded                                                              bool
	deadline                                                              sql.NullInt64
}

const columns = `id, customer_id, cart_id, status, step, lines, currency, total, shipping_address, email, payment_token,
	payment_id, shipment_id, carrier, tracking_number, end_code, end_message, refunded, version, created_at, updated_at,
	deadline_at, reservation_expires_at`

func toRow(o *ordering.Order) (row, error) {
	s := o.Snapshot()
	lines := make([]lineJSON, len(s.Lines))
	for i, l := range s.Lines {
		lines[i] = lineJSON{ProductID: l.ProductID.String(), SKU: l.SKU, Name: l.Name, Quantity: l.Quantity, UnitAmount: l.UnitPrice.Amount()}
	}
	lj, err := json.Marshal(lines)
	if err != nil {
		return row{}, fault.Permanent(fmt.Errorf("ordering sqlstore: encode lines: %w", err))
	}
	a := s.Address
	aj, err := json.Marshal(addressJSON{Name: a.Name, Line1: a.Line1, Line2: a.Line2, City: a.City, Region: a.Region,
		PostalCode: a.PostalCode, Country: a.Country})
	if err != nil {
		return row{}, fault.Permanent(fmt.Errorf("ordering sqlstore: encode address: %w", err))
	}
	r := row{
		id: s.ID.String(), customerID: s.CustomerID, cartID: s.CartID.String(), status: string(s.Status), step: string(s.Step),
		lines: string(lj), currency: o.Total().Currency(), total: o.Total().Amount(), address: string(aj), email: s.Email,
		paymentToken: s.PaymentToken, paymentID: s.PaymentID, shipmentID: s.ShipmentID, carrier: s.Carrier, tracking: s.TrackingNumber,
		endCode: string(s.EndReason.Code), endMessage: s.EndReason.Message, refunded: s.Refunded, version: s.Version,
		created: micros(s.CreatedAt), updated: micros(s.UpdatedAt), reservationExpires: micros(s.ReservationExpiresAt),
	}
	if !s.DeadlineAt.IsZero() {
		r.deadline = sql.NullInt64{Int64: micros(s.DeadlineAt), Valid: true}
	}
	return r, nil
}

func (r row) order() (*ordering.Order, error) {
	s := ordering.Snapshot{
		CustomerID: r.customerID, Status: ordering.Status(r.status), Step: ordering.Step(r.step), Email: r.email,
		PaymentToken: r.paymentToken, PaymentID: r.paymentID, ShipmentID: r.shipmentID, Carrier: r.carrier, TrackingNumber: r.tracking,
		EndReason: ordering.EndReason{Code: ordering.EndCode(r.endCode), Message: r.endMessage}, Refunded: r.refunded,
		Version: r.version, CreatedAt: fromMicros(r.created), UpdatedAt: fromMicros(r.updated),
		ReservationExpiresAt: fromMicros(r.reservationExpires),
	}
	var err error
	if s.ID, err = uuid.Parse(r.id); err != nil {
		return nil, stored("order ID", err)
	}
	if s.CartID, err = uuid.Parse(r.cartID); err != nil {
		return nil, stored("cart ID of "+r.id, err)
	}
	if r.deadline.Valid {
		s.DeadlineAt = fromMicros(r.deadline.Int64)
	}
	var lines []lineJSON
	if err := json.Unmarshal([]byte(r.lines), &lines); err != nil {
		return nil, stored("lines of "+r.id, err)
	}
	for _, l := range lines {
		line := ordering.Line{SKU: l.SKU, Name: l.Name, Quantity: l.Quantity}
		if line.ProductID, err = uuid.Parse(l.ProductID); err != nil {
			return nil, stored("product ID of "+r.id, err)
		}
		if line.UnitPrice, err = ordering.NewMoney(l.UnitAmount, r.currency); err != nil {
			return nil, stored("unit price of "+r.id, err)
		}
		s.Lines = append(s.Lines, line)
	}
	var a addressJSON
	if err := json.Unmarshal([]byte(r.address), &a); err != nil {
		return nil, stored("address of "+r.id, err)
	}
	s.Address = ordering.Address{Name: a.Name, Line1: a.Line1, Line2: a.Line2, City: a.City, Region: a.Region,
		PostalCode: a.PostalCode, Country: a.Country}
	o, err := ordering.Restore(s)
	if err != nil {
		return nil, stored("order "+r.id, err)
	}
	if o.Total().Amount() != r.total {
		return nil, stored("order "+r.id, fmt.Errorf("total %d does not sum the lines (%s)", r.total, o.Total()))
	}
	return o, nil
}

// read returns the orders query selects (columns).
func (s *Store) read(ctx context.Context, q querier, query string, args ...any) ([]*ordering.Order, error) {
	rows, err := q.QueryContext(ctx, s.db.Rebind(query), args...)
	if err != nil {
		return nil, dbErr("read orders", err)
	}
	defer func() { _ = rows.Close() }()
	var out []*ordering.Order
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.customerID, &r.cartID, &r.status, &r.step, &r.lines, &r.currency, &r.total, &r.address,
			&r.email, &r.paymentToken, &r.paymentID, &r.shipmentID, &r.carrier, &r.tracking, &r.endCode, &r.endMessage,
			&r.refunded, &r.version, &r.created, &r.updated, &r.deadline, &r.reservationExpires); err != nil {
			return nil, dbErr("read orders", err)
		}
		o, err := r.order()
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr("read orders", err)
	}
	return out, nil
}

func (s *Store) one(ctx context.Context, q querier, id uuid.UUID) (*ordering.Order, error) {
	os, err := s.read(ctx, q, `SELECT `+columns+` FROM orders WHERE id = ?`, id.String())
	if err != nil {
		return nil, err
	}
	if len(os) == 0 {
		return nil, fmt.Errorf("order %s: %w", id, ordering.ErrNotFound)
	}
	return os[0], nil
}

// emit writes evs to the outbox inside tx.
func (s *Store) emit(ctx context.Context, tx *sql.Tx, evs []ordering.Event) error {
	if len(evs) == 0 {
		return nil
	}
	enc, err := s.encoder.Encode(ctx, evs...)
	if err != nil {
		return fault.Permanent(fmt.Errorf("ordering sqlstore: %w", err))
	}
	if err := s.outbox.Add(ctx, tx, enc...); err != nil {
		return dbErr("outbox", err)
	}
	return nil
}

// Create implements app.Repository.
func (s *Store) Create(ctx context.Context, o *ordering.Order, evs []ordering.Event) error {
	if o.Version() != 1 {
		return fault.Permanent(fmt.Errorf("ordering sqlstore: create takes a new order, not version %d", o.Version()))
	}
	r, err := toRow(o)
	if err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.db.Rebind(`INSERT INTO orders (`+columns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (cart_id) DO NOTHING`),
			r.id, r.customerID, r.cartID, r.status, r.step, r.lines, r.currency, r.total, r.address, r.email, r.paymentToken,
			r.paymentID, r.shipmentID, r.carrier, r.tracking, r.endCode, r.endMessage, r.refunded, r.version, r.created, r.updated,
			r.deadline, r.reservationExpires)
		if err != nil {
			return dbErr("insert order", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return dbErr("insert order", err)
		} else if n == 0 {
			return fmt.Errorf("cart %s: %w", o.CartID(), ordering.ErrCartOrdered)
		}
		return s.emit(ctx, tx, evs)
	})
}

// Get implements app.Repository.
func (s *Store) Get(ctx context.Context, id uuid.UUID) (*ordering.Order, error) {
	return s.one(ctx, s.db, id)
}

// Update implements app.Repository. It records the key in the inbox
// first, then takes the order's row lock (a write that changes nothing),
// so concurrent updates of one order queue up instead of racing, and reads,
// applies fn and writes in the same transaction; the version condition of
// the write stays as a safety net.
func (s *Store) Update(ctx context.Context, id uuid.UUID, key app.DedupeKey, fn func(*ordering.Order) ([]ordering.Event, error)) (*ordering.Order, error) {
	var out *ordering.Order
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		if !key.IsZero() {
			fresh, err := s.inbox.Mark(ctx, tx, key.Group, key.EventID)
			if err != nil {
				return err
			}
			if !fresh {
				o, err := s.one(ctx, tx, id)
				out = o
				return err
			}
		}
		res, err := tx.ExecContext(ctx, s.db.Rebind(`UPDATE orders SET version = version WHERE id = ?`), id.String())
		if err != nil {
			return dbErr("lock order", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return dbErr("lock order", err)
		} else if n == 0 {
			return fmt.Errorf("order %s: %w", id, ordering.ErrNotFound)
		}
		o, err := s.one(ctx, tx, id)
		if err != nil {
			return err
		}
		before := o.Version()
		evs, err := fn(o)
		if err != nil {
			return err
		}
		out = o
		if o.Version() == before {
			if len(evs) > 0 {
				return fault.Permanent(fmt.Errorf("ordering sqlstore: order %s: events without a change", id))
			}
			return nil
		}
		r, err := toRow(o)
		if err != nil {
			return err
		}
		res, err = tx.ExecContext(ctx, s.db.Rebind(`
			UPDATE orders SET status = ?, step = ?, payment_token = ?, payment_id = ?, shipment_id = ?, carrier = ?,
				tracking_number = ?, end_code = ?, end_message = ?, refunded = ?, version = ?, updated_at = ?, deadline_at = ?
			WHERE id = ? AND version = ?`),
			r.status, r.step, r.paymentToken, r.paymentID, r.shipmentID, r.carrier, r.tracking, r.endCode, r.endMessage, r.refunded,
			r.version, r.updated, r.deadline, r.id, before)
		if err != nil {
			return dbErr("update order", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return dbErr("update order", err)
		} else if n == 0 {
			return fault.Retryable(fmt.Errorf("order %s: %w", id, ordering.ErrConflict))
		}
		return s.emit(ctx, tx, evs)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ListByCustomer implements app.Repository.
func (s *Store) ListByCustomer(ctx context.Context, customer string, q app.ListQuery) ([]*ordering.Order, error) {
	where, args := `customer_id = ?`, []any{customer}
	if q.Status != "" {
		where += ` AND status = ?`
		args = append(args, string(q.Status))
	}
	if q.Before != uuid.Nil {
		where += ` AND id < ?`
		args = append(args, q.Before.String())
	}
	return s.read(ctx, s.db, `SELECT `+columns+` FROM orders WHERE `+where+` ORDER BY id DESC LIMIT ?`, append(args, q.Limit)...)
}

// DueDeadlines implements app.Repository.
func (s *Store) DueDeadlines(ctx context.Context, now time.Time, limit int) ([]app.Due, error) {
	rows, err := s.db.QueryContext(ctx, s.db.Rebind(`
		SELECT id, step, deadline_at FROM orders WHERE deadline_at IS NOT NULL AND deadline_at <= ?
		ORDER BY deadline_at, id LIMIT ?`), micros(now), limit)
	if err != nil {
		return nil, dbErr("find due deadlines", err)
	}
	defer func() { _ = rows.Close() }()
	var out []app.Due
	for rows.Next() {
		var (
			id, step string
			at       int64
		)
		if err := rows.Scan(&id, &step, &at); err != nil {
			return nil, dbErr("find due deadlines", err)
		}
		oid, err := uuid.Parse(id)
		if err != nil {
			return nil, stored("order ID", err)
		}
		out = append(out, app.Due{ID: oid, Step: ordering.Step(step), DeadlineAt: fromMicros(at)})
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr("find due deadlines", err)
	}
	return out, nil
}
