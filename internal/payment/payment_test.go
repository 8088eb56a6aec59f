package payment_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/payment"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func eur(t *testing.T, amount int64) payment.Money {
	t.Helper()
	m, err := payment.NewMoney(amount, "EUR")
	require.NoError(t, err)
	return m
}

func newPayment(t *testing.T, amount int64) payment.Payment {
	t.Helper()
	p, err := payment.New("pay-1", "order-1", "cust-1", eur(t, amount), t0)
	require.NoError(t, err)
	return p
}

func TestMoney(t *testing.T) {
	t.Parallel()
	cases := []struct {
		amount   int64
		currency string
		field    string
	}{
		{0, "EUR", ""},
		{payment.MaxAmount, "JPY", ""},
		{-1, "EUR", "/amount_minor"},
		{payment.MaxAmount + 1, "EUR", "/amount_minor"},
		{5, "eur", "/currency"},
		{5, "EURO", "/currency"},
		{5, "", "/currency"},
	}
	for _, c := range cases {
		m, err := payment.NewMoney(c.amount, c.currency)
		if c.field == "" {
			require.NoError(t, err)
			require.Equal(t, c.amount, m.Amount())
			continue
		}
		var ve *payment.ValidationError
		require.ErrorAs(t, err, &ve, "%d %s", c.amount, c.currency)
		require.Equal(t, c.field, ve.Field)
		require.ErrorIs(t, err, payment.ErrInvalid)
	}
	sum, err := eur(t, 150).Add(eur(t, 50))
	require.NoError(t, err)
	require.Equal(t, eur(t, 200), sum)
	diff, err := sum.Sub(eur(t, 200))
	require.NoError(t, err)
	require.True(t, diff.IsZero())
	_, err = eur(t, 1).Sub(eur(t, 2))
	require.ErrorIs(t, err, payment.ErrInvalid, "money never goes negative")
	usd, err := payment.NewMoney(1, "USD")
	require.NoError(t, err)
	_, err = eur(t, 1).Add(usd)
	require.ErrorIs(t, err, payment.ErrCurrencyMismatch)
	require.Equal(t, "1 USD", usd.String())
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name                string
		id, order, customer string
		amount              payment.Money
		field               string
	}{
		{"no id", "", "order-1", "cust-1", eur(t, 1), "/id"},
		{"bad order", "p", "-order", "cust-1", eur(t, 1), "/order_id"},
		{"no customer", "p", "order-1", "", eur(t, 1), "/customer_id"},
		{"zero amount", "p", "order-1", "cust-1", eur(t, 0), "/amount/amount_minor"},
		{"zero money", "p", "order-1", "cust-1", payment.Money{}, "/amount/amount_minor"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := payment.New(c.id, c.order, c.customer, c.amount, t0)
			var ve *payment.ValidationError
			require.ErrorAs(t, err, &ve)
			require.Equal(t, c.field, ve.Field)
		})
	}
}

// Each operation is one balanced movement; balances derive from the
// entries and the whole ledger sums to zero at every step.
func TestLedgerThroughALife(t *testing.T) {
	t.Parallel()
	p := newPayment(t, 1000)
	steps := []struct {
		name                     string
		do                       func(p *payment.Payment) error
		status                   payment.Status
		held, merchant, customer int64
	}{
		{"authorize", func(p *payment.Payment) error { return p.Authorize("auth-1", t0) }, payment.StatusAuthorized, 1000, 0, -1000},
		{"capture", func(p *payment.Payment) error { return p.Capture("cap-1", t0) }, payment.StatusCaptured, 0, 1000, -1000},
		{"refund part", func(p *payment.Payment) error { return p.Refund("r-1", "ref-1", eur(t, 250), "damaged", t0) },
			payment.StatusPartiallyRefunded, 0, 750, -750},
		{"refund rest", func(p *payment.Payment) error { return p.Refund("r-2", "ref-2", eur(t, 750), "returned", t0) },
			payment.StatusRefunded, 0, 0, 0},
	}
	for i, s := range steps {
		require.NoError(t, s.do(&p), s.name)
		require.Equal(t, s.status, p.Status(), s.name)
		b := payment.Balances(p.Ledger())
		require.Equal(t, s.held, b[payment.AccountHeld]["EUR"], s.name)
		require.Equal(t, s.merchant, b[payment.AccountMerchant]["EUR"], s.name)
		require.Equal(t, s.customer, b[payment.AccountCustomer]["EUR"], s.name)
		require.Equal(t, map[string]int64{"EUR": 0}, payment.Totals(p.Ledger()), s.name)
		require.Len(t, p.Ledger(), 2*(i+1), "two entries per operation")
		require.Equal(t, int64(i+2), p.Version())
	}
	require.Len(t, p.Events(), 4)
	last := p.Events()[3].(payment.PaymentRefunded)
	require.Equal(t, eur(t, 1000), last.TotalRefunded)
	require.Equal(t, "pay-1", last.Key())
}

func TestTransitions(t *testing.T) {
	t.Parallel()
	authorized := func(t *testing.T) payment.Payment {
		p := newPayment(t, 1000)
		require.NoError(t, p.Authorize("auth-1", t0))
		return p
	}
	captured := func(t *testing.T) payment.Payment {
		p := authorized(t)
		require.NoError(t, p.Capture("cap-1", t0))
		return p
	}
	voided := func(t *testing.T) payment.Payment {
		p := authorized(t)
		require.NoError(t, p.Void("void-1", "cancelled", t0))
		return p
	}
	declined := func(t *testing.T) payment.Payment {
		p := newPayment(t, 1000)
		require.NoError(t, p.Decline("declined", t0))
		return p
	}
	cases := []struct {
		name string
		from func(t *testing.T) payment.Payment
		do   func(p *payment.Payment) error
		want error
	}{
		{"capture twice", captured, func(p *payment.Payment) error { return p.Capture("cap-2", t0) }, payment.ErrInvalidTransition},
		{"capture a voided authorization", voided, func(p *payment.Payment) error { return p.Capture("cap-1", t0) }, payment.ErrInvalidTransition},
		{"capture a pending payment", func(t *testing.T) payment.Payment { return newPayment(t, 1000) },
			func(p *payment.Payment) error { return p.Capture("cap-1", t0) }, payment.ErrInvalidTransition},
		{"void after capture", captured, func(p *payment.Payment) error { return p.Void("v", "", t0) }, payment.ErrInvalidTransition},
		{"authorize twice", authorized, func(p *payment.Payment) error { return p.Authorize("auth-2", t0) }, payment.ErrInvalidTransition},
		{"authorize a declined payment", declined, func(p *payment.Payment) error { return p.Authorize("auth-2", t0) }, payment.ErrInvalidTransition},
		{"decline an authorized payment", authorized, func(p *payment.Payment) error { return p.Decline("x", t0) }, payment.ErrInvalidTransition},
		{"refund before capture", authorized, func(p *payment.Payment) error { return p.Refund("r", "ref", eur(t, 1), "x", t0) }, payment.ErrInvalidTransition},
		{"refund more than captured", captured, func(p *payment.Payment) error { return p.Refund("r", "ref", eur(t, 1001), "x", t0) }, payment.ErrRefundExceedsCaptured},
		{"refund zero", captured, func(p *payment.Payment) error { return p.Refund("r", "ref", eur(t, 0), "x", t0) }, payment.ErrInvalid},
		{"refund in another currency", captured, func(p *payment.Payment) error {
			usd, err := payment.NewMoney(1, "USD")
			if err != nil {
				return err
			}
			return p.Refund("r", "ref", usd, "x", t0)
		}, payment.ErrCurrencyMismatch},
		{"refund a reference twice", captured, func(p *payment.Payment) error {
			if err := p.Refund("r", "ref-1", eur(t, 1), "x", t0); err != nil {
				return err
			}
			return p.Refund("r", "ref-2", eur(t, 1), "x", t0)
		}, payment.ErrDuplicateOperation},
		{"authorize without gateway ID", func(t *testing.T) payment.Payment { return newPayment(t, 1000) },
			func(p *payment.Payment) error { return p.Authorize("", t0) }, payment.ErrInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p := c.from(t)
			before := p
			err := c.do(&p)
			require.ErrorIs(t, err, c.want)
			if !errors.Is(err, payment.ErrDuplicateOperation) {
				require.Equal(t, before.Version(), p.Version(), "a refused operation changes nothing")
				require.Equal(t, before.Ledger(), p.Ledger())
			}
		})
	}
}

func TestRestoreChecksConsistency(t *testing.T) {
	t.Parallel()
	p := newPayment(t, 1000)
	require.NoError(t, p.Authorize("auth-1", t0))
	require.NoError(t, p.Capture("cap-1", t0))
	ops := p.Operations()

	got, err := payment.Restore(p.ID(), p.OrderID(), p.CustomerID(), p.Amount(), payment.StatusCaptured, "", ops, p.Version(), t0, t0)
	require.NoError(t, err)
	require.Empty(t, got.NewOperations())
	require.False(t, got.Changed())
	require.Equal(t, p.Ledger(), got.Ledger())

	_, err = payment.Restore(p.ID(), p.OrderID(), p.CustomerID(), p.Amount(), payment.StatusAuthorized, "", ops, p.Version(), t0, t0)
	require.ErrorIs(t, err, payment.ErrInvalid, "a status the operations contradict")
	_, err = payment.Restore(p.ID(), p.OrderID(), p.CustomerID(), p.Amount(), payment.StatusCaptured, "", ops, 0, t0, t0)
	require.ErrorIs(t, err, payment.ErrInvalid)
	d, err := payment.Restore(p.ID(), p.OrderID(), p.CustomerID(), p.Amount(), payment.StatusDeclined, "declined", nil, 2, t0, t0)
	require.NoError(t, err)
	require.Equal(t, "declined", d.FailureReason())
}

func TestReference(t *testing.T) {
	t.Parallel()
	require.Equal(t, "p1:authorize", payment.Reference("p1", payment.OpAuthorize, ""))
	require.Equal(t, "p1:refund:k1", payment.Reference("p1", payment.OpRefund, "k1"))
}

// Whatever sequence of operations is attempted, the ledger stays balanced,
// nothing is captured twice and refunds never exceed the capture.
func TestInvariantsUnderRandomOperations(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2)) // #nosec G404 -- deterministic test data
	for round := range 200 {
		p := newPayment(t, 1+rng.Int64N(5000))
		for step := range 12 {
			ref := fmt.Sprintf("r-%d", step)
			switch rng.IntN(6) {
			case 0:
				_ = p.Authorize("auth", t0)
			case 1:
				_ = p.Capture("cap", t0)
			case 2:
				_ = p.Void("void", "x", t0)
			case 3:
				_ = p.Decline("declined", t0)
			default:
				_ = p.Refund(ref, "ref-"+ref, eur(t, rng.Int64N(3000)), "x", t0)
			}
			for cur, total := range payment.Totals(p.Ledger()) {
				require.Zero(t, total, "round %d: ledger of %s", round, cur)
			}
			require.LessOrEqual(t, p.Refunded().Amount(), p.Captured().Amount())
			require.LessOrEqual(t, p.Captured().Amount(), p.Amount().Amount())
			require.GreaterOrEqual(t, p.Held().Amount(), int64(0))
			captures := 0
			for _, op := range p.Operations() {
				if op.Kind == payment.OpCapture {
					captures++
				}
			}
			require.LessOrEqual(t, captures, 1)
			_, err := payment.Restore(p.ID(), p.OrderID(), p.CustomerID(), p.Amount(), p.Status(), p.FailureReason(),
				p.Operations(), p.Version(), t0, t0)
			require.NoError(t, err, "every reachable state restores")
		}
	}
}
