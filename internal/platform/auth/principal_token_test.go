package auth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/platform/auth"
)

// The Guard hands the raw bearer token on with the principal, so that a
// service can call another one with the caller's own credentials.
func TestGuardSetsToken(t *testing.T) {
	t.Parallel()
	f := mustIssuer(t)
	guard, err := auth.NewGuard(auth.GuardConfig{Verifier: f.verifier(t)})
	require.NoError(t, err)
	token := mintToken(t, f.ec, f.claims())

	req := httptest.NewRequest(http.MethodGet, "/v1/orders", nil)
	req.Header.Set("Authorization", "Bearer  "+token+" ")
	p, err := guard.Authenticate(req)
	require.NoError(t, err)
	require.Equal(t, "customer-1", p.Subject)
	require.Equal(t, token, p.Token, "the token without the scheme and surrounding spaces")

	var seen *auth.Principal
	h := guard.Require(auth.Requirements{{"bearerAuth": {}}})(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		seen, _ = auth.PrincipalFrom(r.Context())
	}))
	req = httptest.NewRequest(http.MethodGet, "/v1/orders", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	h.ServeHTTP(httptest.NewRecorder(), req)
	require.NotNil(t, seen)
	require.Equal(t, token, seen.Token)

	// Without a token there is no principal, and so no token.
	p, err = guard.Authenticate(httptest.NewRequest(http.MethodGet, "/v1/orders", nil))
	require.NoError(t, err)
	require.Nil(t, p)
}

// sharedVerifier returns the same principal for every token.
type sharedVerifier struct{ p *auth.Principal }

func (v sharedVerifier) Verify(context.Context, string) (*auth.Principal, error) { return v.p, nil }

// A verifier that hands out one principal to every caller never sees a
// caller's token: the Guard sets it on a copy.
func TestGuardTokenOnCopy(t *testing.T) {
	t.Parallel()
	shared := &auth.Principal{Subject: "svc"}
	guard, err := auth.NewGuard(auth.GuardConfig{Verifier: sharedVerifier{p: shared}})
	require.NoError(t, err)
	for _, tok := range []string{"token-a", "token-b"} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		p, err := guard.Authenticate(req)
		require.NoError(t, err)
		require.Equal(t, tok, p.Token)
	}
	require.Empty(t, shared.Token)
}
