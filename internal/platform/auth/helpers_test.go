package auth_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/platform/auth"
)

const (
	testIssuer   = "https://issuer.test"
	testAudience = "agora"
)

// fakeClock is a settable clock shared by the verifier and the tokens.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// signer is one private key the test issuer signs with.
type signer struct {
	kid string
	alg jwa.SignatureAlgorithm
	key jwk.Key // private
	raw any     // private, crypto form
}

// issuerFixture is a JWKS server counting its fetches, its keys, and a
// verifier trusting it.
type issuerFixture struct {
	clock   *fakeClock
	rsa     signer
	ec      signer
	fetches atomic.Int64
	mu      sync.Mutex
	set     jwk.Set // public keys served
	srv     *httptest.Server
}

func mustSigner(tb testing.TB, kid string, alg jwa.SignatureAlgorithm) signer {
	tb.Helper()
	var raw any
	var err error
	if alg == jwa.RS256() {
		raw, err = rsa.GenerateKey(rand.Reader, 2048)
	} else {
		raw, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	require.NoError(tb, err)
	key, err := jwk.Import(raw)
	require.NoError(tb, err)
	require.NoError(tb, key.Set(jwk.KeyIDKey, kid))
	require.NoError(tb, key.Set(jwk.AlgorithmKey, alg))
	return signer{kid: kid, alg: alg, key: key, raw: raw}
}

func mustIssuer(tb testing.TB) *issuerFixture {
	tb.Helper()
	f := &issuerFixture{
		clock: newClock(),
		rsa:   mustSigner(tb, "rsa-1", jwa.RS256()),
		ec:    mustSigner(tb, "ec-1", jwa.ES256()),
		set:   jwk.NewSet(),
	}
	f.publish(tb, f.rsa)
	f.publish(tb, f.ec)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		f.fetches.Add(1)
		f.mu.Lock()
		defer f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(f.set)
	}))
	tb.Cleanup(f.srv.Close)
	return f
}

// publish adds s's public key to the served JWKS.
func (f *issuerFixture) publish(tb testing.TB, s signer) {
	tb.Helper()
	pub, err := s.key.PublicKey()
	require.NoError(tb, err)
	f.mu.Lock()
	defer f.mu.Unlock()
	require.NoError(tb, f.set.AddKey(pub))
}

func (f *issuerFixture) config() auth.Config {
	return auth.Config{
		Issuer:    testIssuer,
		Audiences: []string{testAudience, "other-api"},
		JWKSURL:   f.srv.URL,
		Clock:     f.clock.Now,
	}
}

func (f *issuerFixture) verifier(tb testing.TB) *auth.Verifier {
	tb.Helper()
	v, err := auth.NewVerifier(f.config())
	require.NoError(tb, err)
	return v
}

// claims returns valid claims; tests change them.
func (f *issuerFixture) claims() map[string]any {
	now := f.clock.Now()
	return map[string]any{
		"iss":       testIssuer,
		"aud":       testAudience,
		"sub":       "customer-1",
		"exp":       now.Add(time.Hour).Unix(),
		"iat":       now.Unix(),
		"scope":     "catalog:read orders:write",
		"client_id": "web",
	}
}

// sign builds a compact JWS of claims with s, using headerKid as the kid
// header.
func sign(tb testing.TB, s signer, headerKid string, claims map[string]any) string {
	tb.Helper()
	payload, err := json.Marshal(claims)
	require.NoError(tb, err)
	hdr := jws.NewHeaders()
	require.NoError(tb, hdr.Set(jws.KeyIDKey, headerKid))
	require.NoError(tb, hdr.Set(jws.TypeKey, "JWT"))
	out, err := jws.Sign(payload, jws.WithKey(s.alg, s.raw, jws.WithProtectedHeaders(hdr)))
	require.NoError(tb, err)
	return string(out)
}

// mintToken is sign with the signer's own kid.
func mintToken(tb testing.TB, s signer, claims map[string]any) string {
	tb.Helper()
	return sign(tb, s, s.kid, claims)
}
