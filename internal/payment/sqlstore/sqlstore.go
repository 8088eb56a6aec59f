// Package sqlstore keeps the payment service's payments, their gateway
// operations and their double-entry ledger in SQLite or PostgreSQL (through
// the platform's sqldb), and writes the events of every change to the
// transactional outbox in the same transaction.
//
// An order has one payment (a unique order_id); an operation is stored
// once per (payment, kind, reference) (primary key); every change is
// conditional on the payment's version, so concurrent changes never lose
// writes: the loser reloads and applies its change again.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/agoracommerce/agora/internal/payment"
	"github.com/agoracommerce/agora/internal/payment/app"
	"github.com/agoracommerce/agora/internal/payment/eventsout"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/fault"
	"github.com/agoracommerce/agora/internal/platform/outbox"
	"github.com/agoracommerce/agora/internal/platform/sqldb"
)

//go:embed migrations
var migrations embed.FS

// maxAttempts bounds the retries of an Update that lost a race.
const maxAttempts = 5

// Store is the SQL Repository of payments. Safe for concurrent use.
type Store struct {
	db      *sqldb.DB
	outbox  *outbox.Store
	encoder *eventsout.Encoder
}

var _ app.Repository = (*Store)(nil)

// New migrates the payment tables in db and returns the Store; events go
// to ob (an outbox on the same db), encoded with codec.
func New(ctx context.Context, db *sqldb.DB, ob *outbox.Store, codec *events.Codec) (*Store, error) {
	if db == nil || ob == nil {
		return nil, errors.New("payment sqlstore: a database and an outbox are required")
	}
	enc, err := eventsout.NewEncoder(codec)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx, migrations, "payment"); err != nil {
		return nil, fmt.Errorf("payment sqlstore: %w", err)
	}
	return &Store{db: db, outbox: ob, encoder: enc}, nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func dbErr(op string, err error) error {
	return fault.Retryable(fmt.Errorf("payment sqlstore: %s: %w", op, err))
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

const paymentColumns = `id, order_id, customer_id, amount, currency, status, failure_reason, version, created_at, updated_at`

type row struct {
	id, orderID, customerID, currency, status, reason string
	amount, version, created, updated                 int64
}

// load reads the payments matching where (a condition on payments p)
// with their operations in one statement, so that a payment and its
// operations are of the same moment.
func (s *Store) load(ctx context.Context, q querier, where string, args ...any) ([]payment.Payment, error) {
	rows, err := q.QueryContext(ctx, s.db.Rebind(`
		SELECT p.id, p.order_id, p.customer_id, p.amount, p.currency, p.status, p.failure_reason, p.version,
		       p.created_at, p.updated_at,
		       o.kind, o.reference, o.amount, o.currency, o.gateway_id, o.reason, o.occurred_at
		FROM payments p LEFT JOIN payment_operations o ON o.payment_id = p.id
		WHERE `+where+`
		ORDER BY p.id DESC, o.seq`), args...)
	if err != nil {
		return nil, dbErr("read payments", err)
	}
	defer func() { _ = rows.Close() }()
	type item struct {
		row
		ops []payment.Operation
	}
	var items []*item
	for rows.Next() {
		var (
			it                                     item
			kind, ref, currency, gatewayID, reason sql.NullString
			amount, at                             sql.NullInt64
		)
		if err := rows.Scan(&it.id, &it.orderID, &it.customerID, &it.amount, &it.currency, &it.status, &it.reason,
			&it.version, &it.created, &it.updated, &kind, &ref, &amount, &currency, &gatewayID, &reason, &at); err != nil {
			return nil, dbErr("read payments", err)
		}
		if len(items) == 0 || items[len(items)-1].id != it.id {
			items = append(items, &it)
		}
		if kind.Valid {
			m, err := payment.NewMoney(amount.Int64, currency.String)
			if err != nil {
				return nil, fault.Permanent(fmt.Errorf("payment sqlstore: stored operation %s: %w", ref.String, err))
			}
			last := items[len(items)-1]
			last.ops = append(last.ops, payment.Operation{Kind: payment.OperationKind(kind.String), Reference: ref.String, Amount: m,
				GatewayID: gatewayID.String, Reason: reason.String, OccurredAt: fromMicros(at.Int64)})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr("read payments", err)
	}
	out := make([]payment.Payment, 0, len(items))
	for _, it := range items {
		amount, err := payment.NewMoney(it.amount, it.currency)
		if err != nil {
			return nil, fault.Permanent(fmt.Errorf("payment sqlstore: stored amount of %s: %w", it.id, err))
		}
		p, err := payment.Restore(it.id, it.orderID, it.customerID, amount, payment.Status(it.status), it.reason, it.ops,
			it.version, fromMicros(it.created), fromMicros(it.updated))
		if err != nil {
			return nil, fault.Permanent(fmt.Errorf("payment sqlstore: stored payment %s: %w", it.id, err))
		}
		out = append(out, p)
	}
	return out, nil
}

func (s *Store) one(ctx context.Context, q querier, what, where string, args ...any) (payment.Payment, error) {
	ps, err := s.load(ctx, q, where, args...)
	if err != nil {
		return payment.Payment{}, err
	}
	if len(ps) == 0 {
		return payment.Payment{}, fmt.Errorf("%s: %w", what, payment.ErrNotFound)
	}
	return ps[0], nil
}

// Get implements app.Repository.
func (s *Store) Get(ctx context.Context, id string) (payment.Payment, error) {
	return s.one(ctx, s.db, "payment "+id, `p.id = ?`, id)
}

// ByOrder implements app.Repository.
func (s *Store) ByOrder(ctx context.Context, orderID string) (payment.Payment, error) {
	return s.one(ctx, s.db, "payment of order "+orderID, `p.order_id = ?`, orderID)
}

// List implements app.Repository.
func (s *Store) List(ctx context.Context, customerID, before string, limit int) ([]payment.Payment, error) {
	where, args := `1 = 1`, []any{}
	if customerID != "" {
		where += ` AND customer_id = ?`
		args = append(args, customerID)
	}
	if before != "" {
		where += ` AND id < ?`
		args = append(args, before)
	}
	return s.load(ctx, s.db, `p.id IN (SELECT id FROM payments WHERE `+where+` ORDER BY id DESC LIMIT ?)`, append(args, limit)...)
}

// Create implements app.Repository.
func (s *Store) Create(ctx context.Context, p payment.Payment) (payment.Payment, bool, error) {
	if len(p.Operations()) > 0 || p.Changed() {
		return payment.Payment{}, false, fault.Permanent(errors.New("payment sqlstore: create takes a new payment"))
	}
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`
		INSERT INTO payments (`+paymentColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (order_id) DO NOTHING`),
		p.ID(), p.OrderID(), p.CustomerID(), p.Amount().Amount(), p.Amount().Currency(), string(p.Status()),
		p.FailureReason(), p.Version(), micros(p.CreatedAt()), micros(p.UpdatedAt()))
	if err != nil {
		return payment.Payment{}, false, dbErr("create payment", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return payment.Payment{}, false, dbErr("create payment", err)
	}
	if n == 1 {
		stored, err := s.Get(ctx, p.ID())
		return stored, err == nil, err
	}
	existing, err := s.ByOrder(ctx, p.OrderID())
	return existing, false, err
}

// Update implements app.Repository.
func (s *Store) Update(ctx context.Context, id string, fn func(*payment.Payment) error) (payment.Payment, error) {
	var (
		out payment.Payment
		err error
	)
	for range maxAttempts {
		err = s.db.InTx(ctx, func(tx *sql.Tx) error {
			// Lock the payment's row first (a no-op update), so that
			// concurrent changes of one payment queue instead of failing
			// their version check, and the read below sees the last one.
			if _, err := tx.ExecContext(ctx, s.db.Rebind(`UPDATE payments SET version = version WHERE id = ?`), id); err != nil {
				return dbErr("lock payment", err)
			}
			p, err := s.one(ctx, tx, "payment "+id, `p.id = ?`, id)
			if err != nil {
				return err
			}
			before := p.Version()
			if err := fn(&p); err != nil {
				return err
			}
			out = p
			if !p.Changed() {
				return nil
			}
			return s.store(ctx, tx, p, before)
		})
		if !errors.Is(err, payment.ErrConflict) || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		return payment.Payment{}, err
	}
	return out, nil
}

// store writes a changed payment loaded at version before.
func (s *Store) store(ctx context.Context, tx *sql.Tx, p payment.Payment, before int64) error {
	res, err := tx.ExecContext(ctx, s.db.Rebind(`
		UPDATE payments SET status = ?, failure_reason = ?, version = ?, updated_at = ?
		WHERE id = ? AND version = ?`),
		string(p.Status()), p.FailureReason(), p.Version(), micros(p.UpdatedAt()), p.ID(), before)
	if err != nil {
		return dbErr("update payment", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return dbErr("update payment", err)
	} else if n == 0 {
		return fmt.Errorf("payment %s: %w", p.ID(), payment.ErrConflict)
	}
	seq := len(p.Operations()) - len(p.NewOperations())
	for _, op := range p.NewOperations() {
		if _, err := tx.ExecContext(ctx, s.db.Rebind(`
			INSERT INTO payment_operations (payment_id, kind, reference, seq, amount, currency, gateway_id, reason, occurred_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			p.ID(), string(op.Kind), op.Reference, seq, op.Amount.Amount(), op.Amount.Currency(), op.GatewayID, op.Reason,
			micros(op.OccurredAt)); err != nil {
			return dbErr("add operation", err)
		}
		seq++
	}
	for _, e := range p.NewEntries() {
		if _, err := tx.ExecContext(ctx, s.db.Rebind(`
			INSERT INTO payment_ledger_entries (payment_id, kind, reference, account, amount, currency)
			VALUES (?, ?, ?, ?, ?, ?)`),
			p.ID(), string(e.Operation), e.Reference, string(e.Account), e.Amount, e.Currency); err != nil {
			return dbErr("add ledger entry", err)
		}
	}
	enc, err := s.encoder.Encode(ctx, p.Events()...)
	if err != nil {
		return fmt.Errorf("payment sqlstore: %w", err)
	}
	if err := s.outbox.Add(ctx, tx, enc...); err != nil {
		return dbErr("outbox", err)
	}
	return nil
}

// Ledger returns the stored ledger entries of the payment with id, in
// the order of its operations. It reads the ledger table itself (not the
// entries derived from the operations), for audits and tests.
func (s *Store) Ledger(ctx context.Context, id string) ([]payment.Entry, error) {
	rows, err := s.db.QueryContext(ctx, s.db.Rebind(`
		SELECT e.kind, e.reference, e.account, e.amount, e.currency
		FROM payment_ledger_entries e JOIN payment_operations o
		  ON o.payment_id = e.payment_id AND o.kind = e.kind AND o.reference = e.reference
		WHERE e.payment_id = ? ORDER BY o.seq, e.amount DESC`), id)
	if err != nil {
		return nil, dbErr("read ledger", err)
	}
	defer func() { _ = rows.Close() }()
	var out []payment.Entry
	for rows.Next() {
		var e payment.Entry
		var kind, account string
		if err := rows.Scan(&kind, &e.Reference, &account, &e.Amount, &e.Currency); err != nil {
			return nil, dbErr("read ledger", err)
		}
		e.Operation, e.Account = payment.OperationKind(kind), payment.Account(account)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr("read ledger", err)
	}
	return out, nil
}

// LedgerTotals sums every stored ledger entry per currency. Money is
// conserved when every total is zero.
func (s *Store) LedgerTotals(ctx context.Context) (map[string]int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT currency, SUM(amount) FROM payment_ledger_entries GROUP BY currency`)
	if err != nil {
		return nil, dbErr("sum ledger", err)
	}
	defer func() { _ = rows.Close() }()
	out := map[string]int64{}
	for rows.Next() {
		var (
			currency string
			total    int64
		)
		if err := rows.Scan(&currency, &total); err != nil {
			return nil, dbErr("sum ledger", err)
		}
		out[currency] = total
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr("sum ledger", err)
	}
	return out, nil
}
