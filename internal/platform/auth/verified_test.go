package auth_test

import (
	"context"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/platform/auth"
)

// A token verified once is trusted until the cache's TTL passes, never
// past its own expiry, and a refused token is never remembered.
func TestVerifierRemembersVerifiedTokens(t *testing.T) {
	t.Parallel()
	f := mustIssuer(t)
	cfg := f.config()
	cfg.Leeway = time.Second
	cfg.VerifiedCacheTTL = time.Minute
	// The keys are fetched again whenever a token is really verified.
	cfg.RefreshInterval = time.Millisecond
	cfg.MinRefetchInterval = time.Millisecond
	v, err := auth.NewVerifier(cfg)
	require.NoError(t, err)
	ctx := context.Background()

	c := f.claims()
	c["exp"] = f.clock.Now().Add(90 * time.Second).Unix()
	tok := mintToken(t, f.ec, c)
	p, err := v.Verify(ctx, tok)
	require.NoError(t, err)
	p.Subject = "changed by the caller"

	// The issuer withdraws the key. Within the TTL the token is served
	// from the cache (a copy, unaffected by the caller's change) without
	// checking it again.
	f.mu.Lock()
	f.set = jwk.NewSet()
	f.mu.Unlock()
	f.clock.Advance(time.Second)
	again, err := v.Verify(ctx, tok)
	require.NoError(t, err)
	require.Equal(t, "customer-1", again.Subject)

	// After the TTL it is verified again, and now refused.
	f.clock.Advance(60 * time.Second)
	_, err = v.Verify(ctx, tok)
	require.Error(t, err)

	// Never past its expiry, whatever the TTL.
	f2 := mustIssuer(t)
	v2 := f2.verifier(t)
	c2 := f2.claims()
	c2["exp"] = f2.clock.Now().Add(10 * time.Second).Unix()
	tok2 := mintToken(t, f2.ec, c2)
	_, err = v2.Verify(ctx, tok2)
	require.NoError(t, err)
	f2.clock.Advance(45 * time.Second) // past exp and the default 30s leeway, within the TTL
	_, err = v2.Verify(ctx, tok2)
	require.ErrorIs(t, err, auth.ErrInvalidToken)

	// A tampered token is refused every time.
	bad := tok[:len(tok)-4] + "AAAA"
	for range 2 {
		_, err = v.Verify(ctx, bad)
		require.ErrorIs(t, err, auth.ErrInvalidToken)
	}
}

func TestVerifierCacheCanBeTurnedOff(t *testing.T) {
	t.Parallel()
	f := mustIssuer(t)
	cfg := f.config()
	cfg.VerifiedCacheSize = -1
	v, err := auth.NewVerifier(cfg)
	require.NoError(t, err)
	tok := mintToken(t, f.ec, f.claims())
	_, err = v.Verify(context.Background(), tok)
	require.NoError(t, err)

	cfg.VerifiedCacheTTL = 6 * time.Minute
	_, err = auth.NewVerifier(cfg)
	require.ErrorContains(t, err, "VerifiedCacheTTL")
}
