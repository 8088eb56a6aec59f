package auth_test

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/fault"
)

func b64(tb testing.TB, v any) string {
	tb.Helper()
	data, err := json.Marshal(v)
	require.NoError(tb, err)
	return base64.RawURLEncoding.EncodeToString(data)
}

func TestVerifierAcceptsValidTokens(t *testing.T) {
	t.Parallel()
	f := mustIssuer(t)
	v := f.verifier(t)
	for _, s := range []signer{f.rsa, f.ec} {
		t.Run(s.alg.String(), func(t *testing.T) {
			p, err := v.Verify(context.Background(), mintToken(t, s, f.claims()))
			require.NoError(t, err)
			require.Equal(t, "customer-1", p.Subject)
			require.Equal(t, "web", p.ClientID)
			if d := cmp.Diff([]string{"catalog:read", "orders:write"}, p.Scopes); d != "" {
				t.Fatalf("scopes (-want +got):\n%s", d)
			}
			require.Equal(t, testIssuer, p.Claims["iss"])
		})
	}
}

func TestVerifierReadsScpArrayAndOtherAudience(t *testing.T) {
	t.Parallel()
	f := mustIssuer(t)
	c := f.claims()
	delete(c, "scope")
	delete(c, "client_id")
	c["scp"] = []string{"cart:write", "cart:read"}
	c["aud"] = []string{"someone-else", "other-api"}
	c["azp"] = "mobile"
	p, err := f.verifier(t).Verify(context.Background(), mintToken(t, f.ec, c))
	require.NoError(t, err)
	require.Equal(t, []string{"cart:read", "cart:write"}, p.Scopes)
	require.Equal(t, "mobile", p.ClientID)
}

func TestVerifierRejects(t *testing.T) {
	t.Parallel()
	f := mustIssuer(t)
	rsaPubDER, err := x509.MarshalPKIXPublicKey(&f.rsa.raw.(*rsa.PrivateKey).PublicKey)
	require.NoError(t, err)
	rsaPubJWK, err := json.Marshal(f.set)
	require.NoError(t, err)

	hmacWith := func(secret []byte, kid string) string {
		hdr := jws.NewHeaders()
		require.NoError(t, hdr.Set(jws.KeyIDKey, kid))
		payload, err := json.Marshal(f.claims())
		require.NoError(t, err)
		out, err := jws.Sign(payload, jws.WithKey(jwa.HS256(), secret, jws.WithProtectedHeaders(hdr)))
		require.NoError(t, err)
		return string(out)
	}
	with := func(change func(map[string]any)) map[string]any {
		c := f.claims()
		change(c)
		return c
	}
	valid := mintToken(t, f.rsa, f.claims())
	parts := strings.Split(valid, ".")

	tests := []struct {
		name  string
		token string
	}{
		{"alg none", b64(t, map[string]string{"alg": "none", "kid": "rsa-1"}) + "." + b64(t, f.claims()) + "."},
		{"alg none uppercase", b64(t, map[string]string{"alg": "NONE"}) + "." + b64(t, f.claims()) + "."},
		{"HS256 keyed with the RSA public key DER", hmacWith(rsaPubDER, "rsa-1")},
		{"HS256 keyed with the JWKS document", hmacWith(rsaPubJWK, "rsa-1")},
		{"wrong issuer", mintToken(t, f.rsa, with(func(c map[string]any) { c["iss"] = "https://evil.test" }))},
		{"no issuer", mintToken(t, f.rsa, with(func(c map[string]any) { delete(c, "iss") }))},
		{"wrong audience", mintToken(t, f.rsa, with(func(c map[string]any) { c["aud"] = "payments-internal" }))},
		{"no audience", mintToken(t, f.rsa, with(func(c map[string]any) { delete(c, "aud") }))},
		{"expired beyond leeway", mintToken(t, f.rsa, with(func(c map[string]any) { c["exp"] = f.clock.Now().Add(-31 * time.Second).Unix() }))},
		{"no exp", mintToken(t, f.rsa, with(func(c map[string]any) { delete(c, "exp") }))},
		{"not yet valid", mintToken(t, f.rsa, with(func(c map[string]any) { c["nbf"] = f.clock.Now().Add(time.Hour).Unix() }))},
		{"no subject", mintToken(t, f.rsa, with(func(c map[string]any) { delete(c, "sub") }))},
		{"tampered signature", parts[0] + "." + parts[1] + "." + flip(parts[2])},
		{"tampered payload", parts[0] + "." + b64(t, with(func(c map[string]any) { c["sub"] = "admin" })) + "." + parts[2]},
		{"signed by an untrusted key with a trusted kid", sign(t, mustSigner(t, "rsa-1", jwa.RS256()), "rsa-1", f.claims())},
		{"ES256 header pointing at the RSA key", sign(t, f.ec, "rsa-1", f.claims())},
		{"unknown kid", sign(t, mustSigner(t, "rotated", jwa.RS256()), "rotated", f.claims())},
		{"PS256 not on the allow-list", func() string {
			hdr := jws.NewHeaders()
			require.NoError(t, hdr.Set(jws.KeyIDKey, "rsa-1"))
			out, err := jws.Sign([]byte(`{}`), jws.WithKey(jwa.PS256(), f.rsa.raw, jws.WithProtectedHeaders(hdr)))
			require.NoError(t, err)
			return string(out)
		}()},
		{"two segments", parts[0] + "." + parts[1]},
		{"JSON serialisation", fmt.Sprintf(`{"payload":%q,"protected":%q,"signature":%q}`, parts[1], parts[0], parts[2])},
		{"garbage", "a.b.c"},
		{"too large", strings.Repeat("a", auth.MaxTokenBytes+1)},
	}
	v := f.verifier(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := v.Verify(context.Background(), tt.token)
			require.ErrorIs(t, err, auth.ErrInvalidToken)
			require.Nil(t, p)
			require.Equal(t, 401, auth.StatusOf(err))
		})
	}
	_, err = v.Verify(context.Background(), "")
	require.ErrorIs(t, err, auth.ErrMissingToken)
}

func flip(sig string) string {
	b := []byte(sig)
	if b[0] == 'A' {
		b[0] = 'B'
	} else {
		b[0] = 'A'
	}
	return string(b)
}

func TestVerifierLeeway(t *testing.T) {
	t.Parallel()
	f := mustIssuer(t)
	c := f.claims()
	c["exp"] = f.clock.Now().Add(-20 * time.Second).Unix()
	_, err := f.verifier(t).Verify(context.Background(), mintToken(t, f.ec, c))
	require.NoError(t, err, "expired 20s ago is within the default 30s leeway")

	cfg := f.config()
	cfg.Leeway = 5 * time.Second
	strict, err := auth.NewVerifier(cfg)
	require.NoError(t, err)
	_, err = strict.Verify(context.Background(), mintToken(t, f.ec, c))
	require.ErrorIs(t, err, auth.ErrInvalidToken)
}

// A burst of tokens with made-up key IDs must cost at most one JWKS fetch per
// MinRefetchInterval, and a real rotation must still be picked up.
func TestUnknownKidRefetchIsRateLimited(t *testing.T) {
	t.Parallel()
	f := mustIssuer(t)
	v := f.verifier(t)
	ctx := context.Background()

	_, err := v.Verify(ctx, mintToken(t, f.rsa, f.claims()))
	require.NoError(t, err)
	require.EqualValues(t, 1, f.fetches.Load(), "first verification fetches the JWKS")

	burst := func() {
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Go(func() {
				kid := fmt.Sprintf("random-%d", i)
				_, err := v.Verify(ctx, sign(t, f.rsa, kid, f.claims()))
				if !errors.Is(err, auth.ErrInvalidToken) {
					t.Errorf("kid %s: got %v, want ErrInvalidToken", kid, err)
				}
			})
		}
		wg.Wait()
	}
	burst()
	require.EqualValues(t, 1, f.fetches.Load(), "a burst within the refetch interval of the first fetch fetches nothing")

	f.clock.Advance(auth.DefaultMinRefetch + time.Second)
	burst()
	require.EqualValues(t, 2, f.fetches.Load(), "a burst after the interval refetches exactly once")
	burst()
	require.EqualValues(t, 2, f.fetches.Load())

	// The issuer rotates in a new key: once the interval has passed, the
	// first token with the new kid triggers one refetch and verifies.
	rotated := mustSigner(t, "rsa-2", jwa.RS256())
	f.publish(t, rotated)
	f.clock.Advance(auth.DefaultMinRefetch + time.Second)
	for range 10 {
		_, err = v.Verify(ctx, mintToken(t, rotated, f.claims()))
		require.NoError(t, err)
	}
	require.EqualValues(t, 3, f.fetches.Load())

	// Known keys never trigger a fetch until the cache is older than the
	// refresh interval.
	f.clock.Advance(auth.DefaultRefreshInterval - time.Second)
	_, err = v.Verify(ctx, mintToken(t, f.ec, f.claims()))
	require.NoError(t, err)
	require.EqualValues(t, 3, f.fetches.Load())
	f.clock.Advance(2 * time.Second)
	_, err = v.Verify(ctx, mintToken(t, f.ec, f.claims()))
	require.NoError(t, err)
	require.EqualValues(t, 4, f.fetches.Load())
}

func TestVerifierJWKSUnavailable(t *testing.T) {
	t.Parallel()
	f := mustIssuer(t)
	cfg := f.config()
	closed := mustIssuer(t)
	closed.srv.Close()
	cfg.JWKSURL = closed.srv.URL
	v, err := auth.NewVerifier(cfg)
	require.NoError(t, err)
	_, err = v.Verify(context.Background(), mintToken(t, f.rsa, f.claims()))
	require.ErrorIs(t, err, auth.ErrKeysUnavailable)
	require.True(t, fault.IsRetryable(err))
	require.Equal(t, 503, auth.StatusOf(err))
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	base := auth.Config{Issuer: testIssuer, Audiences: []string{testAudience}, JWKSURL: "https://issuer.test/jwks"}
	tests := []struct {
		name   string
		change func(*auth.Config)
		want   string
	}{
		{"no issuer", func(c *auth.Config) { c.Issuer = "" }, "Issuer"},
		{"no audience", func(c *auth.Config) { c.Audiences = nil }, "Audiences"},
		{"no jwks", func(c *auth.Config) { c.JWKSURL = "" }, "JWKSURL"},
		{"jwks not http", func(c *auth.Config) { c.JWKSURL = "file:///etc/passwd" }, "JWKSURL"},
		{"HS256", func(c *auth.Config) { c.Algorithms = []string{"HS256"} }, `"HS256" is not allowed`},
		{"none", func(c *auth.Config) { c.Algorithms = []string{"none"} }, `"none" is not allowed`},
		{"huge leeway", func(c *auth.Config) { c.Leeway = time.Hour }, "Leeway"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := base
			tt.change(&c)
			_, err := auth.NewVerifier(c)
			require.ErrorContains(t, err, tt.want)
		})
	}
	_, err := auth.NewVerifier(base)
	require.NoError(t, err)
}
