package paymenttest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/payment"
	"github.com/agoracommerce/agora/internal/payment/app"
	"github.com/agoracommerce/agora/internal/platform/events"
)

// Subject is one fresh adapter under test.
type Subject struct {
	// Repo is the adapter, over an empty store.
	Repo app.Repository
	// Outbox returns every event the adapter has written to its outbox so
	// far, oldest first.
	Outbox func(t *testing.T) []events.Event
}

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// TestRepository runs the contract suite; newSubject returns a fresh
// adapter over an empty store for each subtest.
func TestRepository(t *testing.T, newSubject func(t *testing.T) Subject) {
	t.Helper()
	cases := []struct {
		name string
		fn   func(t *testing.T, s Subject)
	}{
		{"one payment per order", testOnePerOrder},
		{"not found", testNotFound},
		{"a payment's life is stored with its ledger and events", testLife},
		{"an unchanged or failed update writes nothing", testNoWrite},
		{"list pages newest first per customer", testList},
		{"concurrent captures apply once", testConcurrentCapture},
		{"concurrent refunds lose no write and never exceed the capture", testConcurrentRefunds},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, newSubject(t))
		})
	}
}

func eur(t *testing.T, amount int64) payment.Money {
	t.Helper()
	m, err := payment.NewMoney(amount, "EUR")
	require.NoError(t, err)
	return m
}

func newID(t *testing.T) string {
	t.Helper()
	id, err := uuid.NewV7()
	require.NoError(t, err)
	return id.String()
}

func mustCreate(t *testing.T, repo app.Repository, orderID, customerID string, amount int64) payment.Payment {
	t.Helper()
	p, err := payment.New(newID(t), orderID, customerID, eur(t, amount), t0)
	require.NoError(t, err)
	stored, created, err := repo.Create(context.Background(), p)
	require.NoError(t, err)
	require.True(t, created)
	return stored
}

func mustUpdate(t *testing.T, repo app.Repository, id string, fn func(*payment.Payment) error) payment.Payment {
	t.Helper()
	p, err := repo.Update(context.Background(), id, fn)
	require.NoError(t, err)
	return p
}

func types(t *testing.T, s Subject) []string {
	t.Helper()
	var out []string
	for _, e := range s.Outbox(t) {
		out = append(out, e.Metadata.Type)
	}
	return out
}

func testOnePerOrder(t *testing.T, s Subject) {
	first := mustCreate(t, s.Repo, "order-1", "cust-1", 1000)
	other, err := payment.New(newID(t), "order-1", "cust-2", eur(t, 5), t0)
	require.NoError(t, err)
	got, created, err := s.Repo.Create(context.Background(), other)
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, first.ID(), got.ID())
	require.Equal(t, "cust-1", got.CustomerID())
	require.Equal(t, payment.StatusPending, got.Status())

	byOrder, err := s.Repo.ByOrder(context.Background(), "order-1")
	require.NoError(t, err)
	require.Equal(t, first.ID(), byOrder.ID())
	require.Empty(t, types(t, s), "creating a pending payment publishes nothing")
}

func testNotFound(t *testing.T, s Subject) {
	ctx := context.Background()
	_, err := s.Repo.Get(ctx, newID(t))
	require.ErrorIs(t, err, payment.ErrNotFound)
	_, err = s.Repo.ByOrder(ctx, "order-none")
	require.ErrorIs(t, err, payment.ErrNotFound)
	_, err = s.Repo.Update(ctx, newID(t), func(*payment.Payment) error { return nil })
	require.ErrorIs(t, err, payment.ErrNotFound)
}

func testLife(t *testing.T, s Subject) {
	ctx := context.Background()
	p := mustCreate(t, s.Repo, "order-life", "cust-1", 1000)
	mustUpdate(t, s.Repo, p.ID(), func(p *payment.Payment) error { return p.Authorize("auth-1", t0) })
	mustUpdate(t, s.Repo, p.ID(), func(p *payment.Payment) error { return p.Capture("cap-1", t0) })
	mustUpdate(t, s.Repo, p.ID(), func(p *payment.Payment) error {
		return p.Refund("r-1", "ref-1", eur(t, 300), "damaged", t0)
	})
	got, err := s.Repo.Get(ctx, p.ID())
	require.NoError(t, err)
	require.Equal(t, payment.StatusPartiallyRefunded, got.Status())
	require.Equal(t, int64(4), got.Version())
	require.Equal(t, eur(t, 1000), got.Captured())
	require.Equal(t, eur(t, 300), got.Refunded())
	require.Equal(t, eur(t, 700), got.Refundable())
	require.Equal(t, "auth-1", got.AuthorizationID())
	require.Len(t, got.Operations(), 3)
	require.Empty(t, got.NewOperations())
	require.Equal(t, map[string]int64{"EUR": 0}, payment.Totals(got.Ledger()))
	require.Equal(t, []string{"agora.payment.v1.PaymentAuthorized", "agora.payment.v1.PaymentCaptured", "agora.payment.v1.PaymentRefunded"}, types(t, s))
	for _, e := range s.Outbox(t) {
		require.Equal(t, p.ID(), e.Key)
	}

	// The stored operation is unique per (payment, kind, reference).
	_, err = s.Repo.Update(ctx, p.ID(), func(p *payment.Payment) error {
		return p.Refund("r-1", "ref-2", eur(t, 1), "again", t0)
	})
	require.ErrorIs(t, err, payment.ErrDuplicateOperation)
	_, err = s.Repo.Update(ctx, p.ID(), func(p *payment.Payment) error {
		return p.Refund("r-2", "ref-2", eur(t, 701), "too much", t0)
	})
	require.ErrorIs(t, err, payment.ErrRefundExceedsCaptured)
	got = mustUpdate(t, s.Repo, p.ID(), func(p *payment.Payment) error { return p.Refund("r-2", "ref-2", eur(t, 700), "rest", t0) })
	require.Equal(t, payment.StatusRefunded, got.Status())
}

func testNoWrite(t *testing.T, s Subject) {
	ctx := context.Background()
	p := mustCreate(t, s.Repo, "order-nw", "cust-1", 1000)
	same := mustUpdate(t, s.Repo, p.ID(), func(*payment.Payment) error { return nil })
	require.Equal(t, p.Version(), same.Version())
	boom := errors.New("boom")
	_, err := s.Repo.Update(ctx, p.ID(), func(p *payment.Payment) error {
		if err := p.Authorize("auth-1", t0); err != nil {
			return err
		}
		return boom
	})
	require.ErrorIs(t, err, boom)
	got, err := s.Repo.Get(ctx, p.ID())
	require.NoError(t, err)
	require.Equal(t, payment.StatusPending, got.Status())
	require.Empty(t, got.Operations())
	require.Empty(t, types(t, s), "a rolled back change leaves no outbox row")

	// A decline is stored with its reason.
	got = mustUpdate(t, s.Repo, p.ID(), func(p *payment.Payment) error { return p.Decline("insufficient_funds", t0) })
	require.Equal(t, payment.StatusDeclined, got.Status())
	got, err = s.Repo.Get(ctx, p.ID())
	require.NoError(t, err)
	require.Equal(t, "insufficient_funds", got.FailureReason())
	require.Equal(t, []string{"agora.payment.v1.PaymentDeclined"}, types(t, s))
}

func testList(t *testing.T, s Subject) {
	ctx := context.Background()
	var mine []string
	for i := range 5 {
		customer := "cust-a"
		if i%2 == 1 {
			customer = "cust-b"
		}
		p := mustCreate(t, s.Repo, fmt.Sprintf("order-l%d", i), customer, 100)
		if customer == "cust-a" {
			mine = append([]string{p.ID()}, mine...)
		}
	}
	page, err := s.Repo.List(ctx, "cust-a", "", 2)
	require.NoError(t, err)
	require.Len(t, page, 2)
	require.Equal(t, mine[:2], []string{page[0].ID(), page[1].ID()})
	page, err = s.Repo.List(ctx, "cust-a", page[1].ID(), 10)
	require.NoError(t, err)
	require.Len(t, page, 1)
	require.Equal(t, mine[2], page[0].ID())
	all, err := s.Repo.List(ctx, "", "", 10)
	require.NoError(t, err)
	require.Len(t, all, 5)
}

func testConcurrentCapture(t *testing.T, s Subject) {
	p := mustCreate(t, s.Repo, "order-cc", "cust-1", 1000)
	mustUpdate(t, s.Repo, p.ID(), func(p *payment.Payment) error { return p.Authorize("auth-1", t0) })
	const n = 6
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		captured int
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Repo.Update(context.Background(), p.ID(), func(p *payment.Payment) error {
				return p.Capture(fmt.Sprintf("cap-%d", i), t0)
			})
			if err == nil {
				mu.Lock()
				captured++
				mu.Unlock()
				return
			}
			if !errors.Is(err, payment.ErrInvalidTransition) {
				t.Errorf("capture: %v", err)
			}
		}()
	}
	wg.Wait()
	require.Equal(t, 1, captured, "an authorization is captured at most once")
	got, err := s.Repo.Get(context.Background(), p.ID())
	require.NoError(t, err)
	require.Equal(t, eur(t, 1000), got.Captured())
	require.Len(t, got.Operations(), 2)
}

func testConcurrentRefunds(t *testing.T, s Subject) {
	p := mustCreate(t, s.Repo, "order-cr", "cust-1", 5)
	mustUpdate(t, s.Repo, p.ID(), func(p *payment.Payment) error { return p.Authorize("auth-1", t0) })
	mustUpdate(t, s.Repo, p.ID(), func(p *payment.Payment) error { return p.Capture("cap-1", t0) })
	const n = 8 // more refunds of 1 than the 5 captured
	var (
		wg sync.WaitGroup
		mu sync.Mutex
		ok int
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Repo.Update(context.Background(), p.ID(), func(p *payment.Payment) error {
				return p.Refund(fmt.Sprintf("r-%d", i), fmt.Sprintf("ref-%d", i), eur(t, 1), "split", t0)
			})
			switch {
			case err == nil:
				mu.Lock()
				ok++
				mu.Unlock()
			case errors.Is(err, payment.ErrRefundExceedsCaptured), errors.Is(err, payment.ErrInvalidTransition):
			default:
				// Lost every retry to the other writers: allowed, never a
				// lost write.
				if !errors.Is(err, payment.ErrConflict) {
					t.Errorf("refund: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	got, err := s.Repo.Get(context.Background(), p.ID())
	require.NoError(t, err)
	require.Equal(t, int64(ok), got.Refunded().Amount(), "every successful refund is stored")
	require.LessOrEqual(t, got.Refunded().Amount(), int64(5))
	require.Equal(t, map[string]int64{"EUR": 0}, payment.Totals(got.Ledger()))
	refunded := 0
	for _, typ := range types(t, s) {
		if typ == "agora.payment.v1.PaymentRefunded" {
			refunded++
		}
	}
	require.Equal(t, ok, refunded, "one event per stored refund")
}
