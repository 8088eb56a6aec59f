package app_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/payment"
	"github.com/agoracommerce/agora/internal/payment/app"
	"github.com/agoracommerce/agora/internal/payment/simgateway"
	"github.com/agoracommerce/agora/internal/payment/sqlstore"
	"github.com/agoracommerce/agora/internal/platform/fault"
	"github.com/agoracommerce/agora/internal/platform/kafkatest"
	"github.com/agoracommerce/agora/internal/platform/outbox"
	"github.com/agoracommerce/agora/internal/platform/resilience"
	"github.com/agoracommerce/agora/internal/platform/sqldb/sqldbtest"
)

type fixture struct {
	svc   *app.Service
	gw    *simgateway.Gateway
	store *sqlstore.Store
}

// quick is a retry policy with waits of about a millisecond, so tests
// exercise the retries without slowing down.
func quick(attempts int) resilience.Policy {
	return resilience.Policy{MaxAttempts: attempts, InitialInterval: time.Millisecond, MaxInterval: 2 * time.Millisecond,
		AttemptTimeout: 5 * time.Second, MaxElapsedTime: 10 * time.Second}
}

func newFixture(t *testing.T, processorErrors int, policy resilience.Policy) fixture {
	t.Helper()
	ctx := context.Background()
	db := sqldbtest.SQLite(t)
	ob, err := outbox.NewStore(ctx, db)
	require.NoError(t, err)
	store, err := sqlstore.New(ctx, db, ob, kafkatest.Codec(t))
	require.NoError(t, err)
	gw, err := simgateway.New(simgateway.Config{ProcessorErrors: processorErrors})
	require.NoError(t, err)
	svc, err := app.New(store, gw, app.Config{Gateway: policy})
	require.NoError(t, err)
	t.Cleanup(func() {
		totals, err := store.LedgerTotals(context.Background())
		require.NoError(t, err)
		for cur, total := range totals {
			if total != 0 {
				t.Errorf("ledger of %s sums to %d, not 0", cur, total)
			}
		}
	})
	return fixture{svc: svc, gw: gw, store: store}
}

func eur(t *testing.T, amount int64) payment.Money {
	t.Helper()
	m, err := payment.NewMoney(amount, "EUR")
	require.NoError(t, err)
	return m
}

// performed counts the operations of kind the gateway performed (each
// reference once, declines included).
func performed(gw *simgateway.Gateway, kind payment.OperationKind) int {
	n := 0
	for _, op := range gw.Performed() {
		if op.Kind == kind {
			n++
		}
	}
	return n
}

func TestAuthorizeOutcomes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		token      string
		status     payment.Status
		reason     string
		authorized int
	}{
		{simgateway.TokenApprove, payment.StatusAuthorized, "", 1},
		{simgateway.TokenDecline, payment.StatusDeclined, "declined", 0},
		{simgateway.TokenInsufficientFunds, payment.StatusDeclined, "insufficient_funds", 0},
		{"tok_unknown", payment.StatusDeclined, "invalid_token", 0},
		{simgateway.TokenProcessorError, payment.StatusAuthorized, "", 1},
		{simgateway.TokenTimeout, payment.StatusAuthorized, "", 1},
	}
	for _, c := range cases {
		t.Run(c.token, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, 2, quick(5))
			ctx := context.Background()
			p, err := f.svc.AuthorizeForOrder(ctx, "order-1", "cust-1", eur(t, 1999), c.token)
			require.NoError(t, err)
			require.Equal(t, c.status, p.Status())
			require.Equal(t, c.reason, p.FailureReason())
			require.Equal(t, eur(t, 1999*int64(c.authorized)), p.Held())
			require.Equal(t, 1, performed(f.gw, payment.OpAuthorize), "the gateway performed the authorization once")

			// Asking again returns the settled payment and calls nothing.
			calls := f.gw.Calls()
			again, err := f.svc.AuthorizeForOrder(ctx, "order-1", "cust-1", eur(t, 1999), c.token)
			require.NoError(t, err)
			require.Equal(t, p.ID(), again.ID())
			require.Equal(t, c.status, again.Status())
			require.Equal(t, calls, f.gw.Calls())
		})
	}
}

// A processor error is retried under the policy, with the same reference:
// the authorization is performed once.
func TestProcessorErrorIsRetriedAndChargedOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 3, quick(4))
	p, err := f.svc.AuthorizeForOrder(context.Background(), "order-pe", "cust-1", eur(t, 500), simgateway.TokenProcessorError)
	require.NoError(t, err)
	require.Equal(t, payment.StatusAuthorized, p.Status())
	require.Equal(t, 4, f.gw.Calls(), "three processor errors, then the success")
	require.Equal(t, 1, performed(f.gw, payment.OpAuthorize))

	// Capture of the same authorization meets the errors too, and is
	// also performed once.
	p, err = f.svc.Capture(context.Background(), "order-pe")
	require.NoError(t, err)
	require.Equal(t, payment.StatusCaptured, p.Status())
	require.Equal(t, 1, performed(f.gw, payment.OpCapture))
}

// When the processor keeps failing past the policy, the payment stays
// pending and the error is retryable; a later call resumes the same
// authorization and charges once.
func TestExhaustedRetriesLeaveThePaymentPending(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 5, quick(3))
	ctx := context.Background()
	_, err := f.svc.AuthorizeForOrder(ctx, "order-x", "cust-1", eur(t, 500), simgateway.TokenProcessorError)
	require.ErrorIs(t, err, app.ErrGatewayUnavailable)
	require.True(t, fault.IsRetryable(err))
	p, err := f.svc.PaymentByOrder(ctx, "order-x")
	require.NoError(t, err)
	require.Equal(t, payment.StatusPending, p.Status())
	require.Zero(t, performed(f.gw, payment.OpAuthorize))

	p2, err := f.svc.AuthorizeForOrder(ctx, "order-x", "cust-1", eur(t, 500), simgateway.TokenProcessorError)
	require.NoError(t, err, "errors 4 and 5, then the success")
	require.Equal(t, p.ID(), p2.ID())
	require.Equal(t, payment.StatusAuthorized, p2.Status())
	require.Equal(t, 1, performed(f.gw, payment.OpAuthorize))
}

// A timeout leaves the outcome unknown although the gateway performed the
// operation; the next attempt looks it up by reference instead of
// performing it again.
func TestTimeoutIsResolvedByLookupAndChargedOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 0, quick(3))
	ctx := context.Background()
	p, err := f.svc.AuthorizeForOrder(ctx, "order-to", "cust-1", eur(t, 800), simgateway.TokenTimeout)
	require.NoError(t, err)
	require.Equal(t, payment.StatusAuthorized, p.Status())
	require.Equal(t, 1, f.gw.Calls(), "the authorization was called once; the lookup resolved it")
	require.Equal(t, 1, performed(f.gw, payment.OpAuthorize))
	auth := f.gw.Performed()[0]
	require.Equal(t, auth.ID, p.AuthorizationID(), "the payment records the authorization the gateway made")

	p, err = f.svc.Capture(ctx, "order-to")
	require.NoError(t, err)
	require.Equal(t, payment.StatusCaptured, p.Status())
	require.Equal(t, eur(t, 800), p.Captured())
	require.Equal(t, 1, performed(f.gw, payment.OpCapture))

	p, err = f.svc.Refund(ctx, "order-to", eur(t, 300), "late delivery", "refund-1")
	require.NoError(t, err)
	require.Equal(t, eur(t, 300), p.Refunded())
	require.Equal(t, 1, performed(f.gw, payment.OpRefund))
}

func TestCaptureIsIdempotentAndOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 0, quick(3))
	ctx := context.Background()
	_, err := f.svc.AuthorizeForOrder(ctx, "order-c", "cust-1", eur(t, 1000), simgateway.TokenApprove)
	require.NoError(t, err)
	for range 3 {
		p, err := f.svc.Capture(ctx, "order-c")
		require.NoError(t, err)
		require.Equal(t, payment.StatusCaptured, p.Status())
		require.Equal(t, eur(t, 1000), p.Captured())
		require.True(t, p.Held().IsZero())
	}
	require.Equal(t, 1, performed(f.gw, payment.OpCapture))
	_, err = f.svc.Void(ctx, "order-c", "too late")
	require.ErrorIs(t, err, payment.ErrInvalidTransition, "a captured payment is refunded, not voided")
}

func TestVoid(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("a voided authorization cannot be captured", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, 0, quick(3))
		_, err := f.svc.AuthorizeForOrder(ctx, "order-v", "cust-1", eur(t, 1000), simgateway.TokenApprove)
		require.NoError(t, err)
		p, err := f.svc.Void(ctx, "order-v", "out of stock")
		require.NoError(t, err)
		require.Equal(t, payment.StatusVoided, p.Status())
		require.True(t, p.Held().IsZero())
		p, err = f.svc.Void(ctx, "order-v", "again")
		require.NoError(t, err)
		require.Equal(t, payment.StatusVoided, p.Status())
		require.Equal(t, 1, performed(f.gw, payment.OpVoid))
		_, err = f.svc.Capture(ctx, "order-v")
		require.ErrorIs(t, err, payment.ErrInvalidTransition)
		require.Zero(t, performed(f.gw, payment.OpCapture))
	})

	t.Run("a declined payment holds nothing to void", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, 0, quick(3))
		_, err := f.svc.AuthorizeForOrder(ctx, "order-d", "cust-1", eur(t, 1000), simgateway.TokenDecline)
		require.NoError(t, err)
		p, err := f.svc.Void(ctx, "order-d", "declined")
		require.NoError(t, err)
		require.Equal(t, payment.StatusDeclined, p.Status())
		require.Zero(t, performed(f.gw, payment.OpVoid))
	})

	t.Run("a pending payment the gateway never authorized fails", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, 10, quick(2))
		_, err := f.svc.AuthorizeForOrder(ctx, "order-p", "cust-1", eur(t, 1000), simgateway.TokenProcessorError)
		require.ErrorIs(t, err, app.ErrGatewayUnavailable)
		p, err := f.svc.Void(ctx, "order-p", "saga deadline")
		require.NoError(t, err)
		require.Equal(t, payment.StatusFailed, p.Status())
		p, err = f.svc.AuthorizeForOrder(ctx, "order-p", "cust-1", eur(t, 1000), simgateway.TokenProcessorError)
		require.NoError(t, err)
		require.Equal(t, payment.StatusFailed, p.Status(), "a failed payment is not authorized later")
		require.Zero(t, performed(f.gw, payment.OpAuthorize))
	})
}

func TestRefund(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 0, quick(3))
	ctx := context.Background()
	_, err := f.svc.AuthorizeForOrder(ctx, "order-r", "cust-1", eur(t, 1000), simgateway.TokenApprove)
	require.NoError(t, err)
	_, err = f.svc.Refund(ctx, "order-r", eur(t, 100), "early", "k-0")
	require.ErrorIs(t, err, payment.ErrInvalidTransition, "nothing is refunded before the capture")
	_, err = f.svc.Capture(ctx, "order-r")
	require.NoError(t, err)

	p, err := f.svc.Refund(ctx, "order-r", eur(t, 600), "damaged", "k-1")
	require.NoError(t, err)
	require.Equal(t, payment.StatusPartiallyRefunded, p.Status())
	p, err = f.svc.Refund(ctx, "order-r", eur(t, 600), "damaged", "k-1")
	require.NoError(t, err, "a retried refund returns the payment")
	require.Equal(t, eur(t, 600), p.Refunded())
	_, err = f.svc.Refund(ctx, "order-r", eur(t, 50), "damaged", "k-1")
	require.ErrorIs(t, err, payment.ErrDuplicateOperation)
	_, err = f.svc.Refund(ctx, "order-r", eur(t, 401), "more", "k-2")
	require.ErrorIs(t, err, payment.ErrRefundExceedsCaptured)
	usd, err := payment.NewMoney(10, "USD")
	require.NoError(t, err)
	_, err = f.svc.Refund(ctx, "order-r", usd, "more", "k-2")
	require.ErrorIs(t, err, payment.ErrCurrencyMismatch)
	_, err = f.svc.Refund(ctx, "order-r", eur(t, 1), "", "k-2")
	require.ErrorIs(t, err, payment.ErrInvalid)
	p, err = f.svc.RefundPayment(ctx, p.ID(), eur(t, 400), "rest", "k-3")
	require.NoError(t, err)
	require.Equal(t, payment.StatusRefunded, p.Status())
	require.Equal(t, 2, performed(f.gw, payment.OpRefund))
	require.True(t, p.Refundable().IsZero())
}

func TestAuthorizeRefusesOtherTerms(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 0, quick(3))
	ctx := context.Background()
	_, err := f.svc.AuthorizeForOrder(ctx, "order-t", "cust-1", eur(t, 1000), simgateway.TokenApprove)
	require.NoError(t, err)
	_, err = f.svc.AuthorizeForOrder(ctx, "order-t", "cust-2", eur(t, 1000), simgateway.TokenApprove)
	require.ErrorIs(t, err, payment.ErrOrderMismatch)
	_, err = f.svc.AuthorizeForOrder(ctx, "order-t", "cust-1", eur(t, 999), simgateway.TokenApprove)
	require.ErrorIs(t, err, payment.ErrOrderMismatch)
	_, err = f.svc.AuthorizeForOrder(ctx, "order-t2", "cust-1", eur(t, 1000), "")
	require.ErrorIs(t, err, payment.ErrInvalid)
	_, err = f.svc.AuthorizeForOrder(ctx, "-bad", "cust-1", eur(t, 1000), simgateway.TokenApprove)
	require.ErrorIs(t, err, payment.ErrInvalid)
	require.Equal(t, 1, performed(f.gw, payment.OpAuthorize))
	_, err = f.svc.Capture(ctx, "order-none")
	require.ErrorIs(t, err, payment.ErrNotFound)
}

// An open circuit breaker fails the call at once; the payment stays
// pending and the error is retryable.
func TestOpenBreakerFailsFast(t *testing.T) {
	t.Parallel()
	breaker, err := resilience.NewBreaker(resilience.BreakerConfig{Name: "gateway-test", FailureThreshold: 2, OpenTimeout: time.Hour})
	require.NoError(t, err)
	policy := quick(2)
	policy.Breaker = breaker
	f := newFixture(t, 100, policy)
	ctx := context.Background()
	_, err = f.svc.AuthorizeForOrder(ctx, "order-b", "cust-1", eur(t, 1000), simgateway.TokenProcessorError)
	require.ErrorIs(t, err, app.ErrGatewayUnavailable)
	require.Equal(t, resilience.StateOpen, breaker.State())
	calls := f.gw.Calls()
	_, err = f.svc.AuthorizeForOrder(ctx, "order-b", "cust-1", eur(t, 1000), simgateway.TokenProcessorError)
	require.ErrorIs(t, err, app.ErrGatewayUnavailable)
	require.True(t, errors.Is(err, resilience.ErrOpen))
	require.True(t, fault.IsRetryable(err))
	require.Equal(t, calls, f.gw.Calls(), "the open breaker kept the call from the gateway")
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	gw, err := simgateway.New(simgateway.Config{})
	require.NoError(t, err)
	_, err = app.New(nil, gw, app.Config{})
	require.Error(t, err)
	f := newFixture(t, 0, quick(1))
	_, err = app.New(f.store, nil, app.Config{})
	require.Error(t, err)
	_, err = app.New(f.store, gw, app.Config{Gateway: resilience.Policy{MaxAttempts: -1}})
	require.Error(t, err)
}

// voidFirst is a gateway whose authorization is overtaken by a void of the
// same order: the void runs (and finds nothing at the gateway) just before
// the authorization is performed.
type voidFirst struct {
	*simgateway.Gateway
	svc     func() *app.Service
	orderID string
}

func (g voidFirst) Authorize(ctx context.Context, req app.AuthorizeRequest) (app.GatewayResult, error) {
	if _, err := g.svc().Void(ctx, g.orderID, "saga deadline"); err != nil {
		return app.GatewayResult{}, err
	}
	return g.Gateway.Authorize(ctx, req)
}

// An authorization that lands after the payment was given up is released
// at the gateway, so no hold is left behind.
func TestLateAuthorizationIsReleased(t *testing.T) {
	t.Parallel()
	base := newFixture(t, 0, quick(3))
	var svc *app.Service
	gw := voidFirst{Gateway: base.gw, svc: func() *app.Service { return svc }, orderID: "order-late"}
	svc, err := app.New(base.store, gw, app.Config{Gateway: quick(3)})
	require.NoError(t, err)
	p, err := svc.AuthorizeForOrder(context.Background(), "order-late", "cust-1", eur(t, 1000), simgateway.TokenApprove)
	require.NoError(t, err)
	require.Equal(t, payment.StatusFailed, p.Status())
	require.Equal(t, 1, performed(base.gw, payment.OpAuthorize))
	require.Equal(t, 1, performed(base.gw, payment.OpVoid), "the late hold was voided")
}
