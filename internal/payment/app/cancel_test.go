package app_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/payment"
	"github.com/agoracommerce/agora/internal/payment/simgateway"
)

func TestCancelForOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("an authorization is voided once", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, 0, quick(3))
		_, err := f.svc.AuthorizeForOrder(ctx, "order-a", "cust-1", eur(t, 1000), simgateway.TokenApprove)
		require.NoError(t, err)
		for range 2 {
			p, err := f.svc.CancelForOrder(ctx, "order-a", "order cancelled: customer_request")
			require.NoError(t, err)
			require.Equal(t, payment.StatusVoided, p.Status())
		}
		require.Equal(t, 1, performed(f.gw, payment.OpVoid))
	})

	t.Run("a capture is refunded in full once", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, 0, quick(3))
		_, err := f.svc.AuthorizeForOrder(ctx, "order-c", "cust-1", eur(t, 1000), simgateway.TokenApprove)
		require.NoError(t, err)
		_, err = f.svc.Capture(ctx, "order-c")
		require.NoError(t, err)
		_, err = f.svc.Refund(ctx, "order-c", eur(t, 300), "damaged", "k-1")
		require.NoError(t, err)
		for range 2 {
			p, err := f.svc.CancelForOrder(ctx, "order-c", "order cancelled: operator_request")
			require.NoError(t, err)
			require.Equal(t, payment.StatusRefunded, p.Status())
			require.Equal(t, eur(t, 1000), p.Refunded(), "the rest of the capture was paid back")
		}
		require.Equal(t, 2, performed(f.gw, payment.OpRefund), "the partial refund, then the cancellation's")
	})

	t.Run("a pending payment the gateway never authorized fails", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, 10, quick(2))
		_, err := f.svc.AuthorizeForOrder(ctx, "order-p", "cust-1", eur(t, 1000), simgateway.TokenProcessorError)
		require.Error(t, err)
		p, err := f.svc.CancelForOrder(ctx, "order-p", "order cancelled: deadline_exceeded")
		require.NoError(t, err)
		require.Equal(t, payment.StatusFailed, p.Status())
	})

	t.Run("nothing to undo", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, 0, quick(3))
		_, err := f.svc.AuthorizeForOrder(ctx, "order-d", "cust-1", eur(t, 1000), simgateway.TokenDecline)
		require.NoError(t, err)
		calls := f.gw.Calls()
		p, err := f.svc.CancelForOrder(ctx, "order-d", "order cancelled: payment_declined")
		require.NoError(t, err)
		require.Equal(t, payment.StatusDeclined, p.Status())
		require.Equal(t, calls, f.gw.Calls())
		_, err = f.svc.CancelForOrder(ctx, "order-none", "order cancelled")
		require.ErrorIs(t, err, payment.ErrNotFound)
		_, err = f.svc.CancelForOrder(ctx, "-bad", "order cancelled")
		require.ErrorIs(t, err, payment.ErrInvalid)
	})
}
