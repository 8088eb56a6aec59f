package simgateway_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/payment"
	"github.com/agoracommerce/agora/internal/payment/app"
	"github.com/agoracommerce/agora/internal/payment/simgateway"
	"github.com/agoracommerce/agora/internal/platform/fault"
)

func eur(t *testing.T, amount int64) payment.Money {
	t.Helper()
	m, err := payment.NewMoney(amount, "EUR")
	require.NoError(t, err)
	return m
}

func newGateway(t *testing.T, processorErrors int) *simgateway.Gateway {
	t.Helper()
	g, err := simgateway.New(simgateway.Config{ProcessorErrors: processorErrors})
	require.NoError(t, err)
	return g
}

func TestTokens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cases := []struct {
		token   string
		decline string
	}{
		{simgateway.TokenApprove, ""},
		{simgateway.TokenDecline, "declined"},
		{simgateway.TokenInsufficientFunds, "insufficient_funds"},
		{"tok_other", "invalid_token"},
	}
	for _, c := range cases {
		t.Run(c.token, func(t *testing.T) {
			t.Parallel()
			g := newGateway(t, 0)
			res, err := g.Authorize(ctx, app.AuthorizeRequest{Reference: "p:authorize", Amount: eur(t, 100), Token: c.token})
			if c.decline == "" {
				require.NoError(t, err)
				require.NotEmpty(t, res.ID)
				return
			}
			var d *app.DeclineError
			require.ErrorAs(t, err, &d)
			require.Equal(t, c.decline, d.Code)
			require.ErrorIs(t, err, app.ErrDeclined)
			require.False(t, fault.IsRetryable(err))
			_, err = g.Lookup(ctx, "p:authorize")
			require.ErrorAs(t, err, &d, "the decline is kept by reference")
		})
	}
}

func TestProcessorErrorThenSuccess(t *testing.T) {
	t.Parallel()
	g := newGateway(t, 2)
	ctx := context.Background()
	req := app.AuthorizeRequest{Reference: "p:authorize", Amount: eur(t, 100), Token: simgateway.TokenProcessorError}
	for range 2 {
		_, err := g.Authorize(ctx, req)
		require.ErrorIs(t, err, simgateway.ErrProcessor)
		require.True(t, fault.IsRetryable(err))
	}
	res, err := g.Authorize(ctx, req)
	require.NoError(t, err)
	again, err := g.Authorize(ctx, req)
	require.NoError(t, err)
	require.Equal(t, res, again)
	require.Len(t, g.Performed(), 1)
}

func TestTimeoutPerformsAndLookupFinds(t *testing.T) {
	t.Parallel()
	g := newGateway(t, 0)
	ctx := context.Background()
	_, err := g.Lookup(ctx, "p:authorize")
	require.ErrorIs(t, err, app.ErrOperationNotFound)
	_, err = g.Authorize(ctx, app.AuthorizeRequest{Reference: "p:authorize", Amount: eur(t, 100), Token: simgateway.TokenTimeout})
	require.ErrorIs(t, err, app.ErrOutcomeUnknown)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.True(t, fault.IsRetryable(err))
	res, err := g.Lookup(ctx, "p:authorize")
	require.NoError(t, err)
	require.Equal(t, g.Performed()[0].ID, res.ID)
	require.Len(t, g.Performed(), 1)
}

func TestAuthorizationRules(t *testing.T) {
	t.Parallel()
	g := newGateway(t, 0)
	ctx := context.Background()
	auth, err := g.Authorize(ctx, app.AuthorizeRequest{Reference: "p:authorize", Amount: eur(t, 100), Token: simgateway.TokenApprove})
	require.NoError(t, err)
	op := func(ref string, amount int64) app.OperationRequest {
		return app.OperationRequest{Reference: ref, AuthorizationID: auth.ID, Amount: eur(t, amount)}
	}
	_, err = g.Refund(ctx, op("p:refund:0", 10))
	require.ErrorIs(t, err, simgateway.ErrRejected, "nothing captured yet")
	_, err = g.Capture(ctx, op("p:capture", 100))
	require.NoError(t, err)
	_, err = g.Capture(ctx, op("p:capture:again", 100))
	require.ErrorIs(t, err, simgateway.ErrRejected, "captured at most once")
	_, err = g.Void(ctx, op("p:void", 100))
	require.ErrorIs(t, err, simgateway.ErrRejected)
	_, err = g.Refund(ctx, op("p:refund:1", 60))
	require.NoError(t, err)
	_, err = g.Refund(ctx, op("p:refund:2", 41))
	require.ErrorIs(t, err, simgateway.ErrRejected, "refunds never exceed the capture")
	require.False(t, fault.IsRetryable(err))
	_, err = g.Capture(ctx, app.OperationRequest{Reference: "x:capture", AuthorizationID: "nope", Amount: eur(t, 1)})
	require.ErrorIs(t, err, simgateway.ErrRejected)

	auth2, err := g.Authorize(ctx, app.AuthorizeRequest{Reference: "q:authorize", Amount: eur(t, 100), Token: simgateway.TokenApprove})
	require.NoError(t, err)
	_, err = g.Void(ctx, app.OperationRequest{Reference: "q:void", AuthorizationID: auth2.ID, Amount: eur(t, 100)})
	require.NoError(t, err)
	_, err = g.Capture(ctx, app.OperationRequest{Reference: "q:capture", AuthorizationID: auth2.ID, Amount: eur(t, 100)})
	require.ErrorIs(t, err, simgateway.ErrRejected, "a voided authorization cannot be captured")
}

// Concurrent calls with one reference perform the operation once.
func TestConcurrentSameReference(t *testing.T) {
	t.Parallel()
	g := newGateway(t, 0)
	ctx := context.Background()
	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := g.Authorize(ctx, app.AuthorizeRequest{Reference: "p:authorize", Amount: eur(t, 100), Token: simgateway.TokenApprove})
			if err != nil {
				t.Error(err)
			}
			ids[i] = res.ID
		}()
	}
	wg.Wait()
	require.Len(t, g.Performed(), 1)
	for _, id := range ids {
		require.Equal(t, ids[0], id)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err := g.Authorize(cctx, app.AuthorizeRequest{Reference: "c:authorize", Amount: eur(t, 1), Token: simgateway.TokenApprove})
	require.True(t, errors.Is(err, context.Canceled))
}
