package loadgen_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/loadgen"
	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/auth/devissuer"
)

// countingMinter numbers the tokens it mints.
type countingMinter struct {
	mu    sync.Mutex
	n     int
	calls []string
	fail  bool
}

func (m *countingMinter) Mint(subject string, scopes []string, ttl time.Duration) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return "", errors.New("no key")
	}
	m.n++
	m.calls = append(m.calls, subject)
	return subject + "#" + strings.Repeat("x", m.n), nil
}

func TestMintedTokensPerShopperCachedAndRenewed(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	var clock atomic.Pointer[time.Time]
	clock.Store(&now)
	m := &countingMinter{}
	src, err := loadgen.NewMintedTokens(loadgen.MintedTokensConfig{Minter: m, SubjectPrefix: "s-", TTL: 10 * time.Minute,
		Clock: func() time.Time { return *clock.Load() }})
	require.NoError(t, err)
	ctx := context.Background()

	a1, err := src.Token(ctx, 1)
	require.NoError(t, err)
	b1, err := src.Token(ctx, 2)
	require.NoError(t, err)
	a2, err := src.Token(ctx, 1)
	require.NoError(t, err)
	require.Equal(t, a1, a2, "cached")
	require.NotEqual(t, a1, b1)
	require.Equal(t, "s-2", src.Subject(2))

	later := now.Add(9 * time.Minute) // in the last fifth of the 10 minutes
	clock.Store(&later)
	a3, err := src.Token(ctx, 1)
	require.NoError(t, err)
	require.NotEqual(t, a1, a3, "renewed before it expires")
	require.Equal(t, []string{"s-1", "s-2", "s-1"}, m.calls)

	m.fail = true
	_, err = src.Token(ctx, 3)
	require.ErrorContains(t, err, "mint token of shopper 3: no key")
}

func TestMintedTokensConfig(t *testing.T) {
	t.Parallel()
	_, err := loadgen.NewMintedTokens(loadgen.MintedTokensConfig{SubjectPrefix: "s-"})
	require.ErrorContains(t, err, "need a minter")
	_, err = loadgen.NewMintedTokens(loadgen.MintedTokensConfig{Minter: &countingMinter{}})
	require.ErrorContains(t, err, "subject prefix")
	_, err = loadgen.NewMintedTokens(loadgen.MintedTokensConfig{Minter: &countingMinter{}, SubjectPrefix: "s-", TTL: time.Second})
	require.ErrorContains(t, err, "shorter than a minute")
}

func TestStaticToken(t *testing.T) {
	t.Parallel()
	tok, err := loadgen.StaticToken("abc").Token(context.Background(), 7)
	require.NoError(t, err)
	require.Equal(t, "abc", tok)
	_, err = loadgen.StaticToken("").Token(context.Background(), 0)
	require.ErrorContains(t, err, "empty")
}

// mustIssuer serves a development issuer that knows one client and counts
// the token requests.
func mustIssuer(t *testing.T) (*devissuer.Issuer, string, *atomic.Int64) {
	t.Helper()
	iss, err := devissuer.New(devissuer.Config{Mode: "local", DataDir: t.TempDir(), Issuer: "http://issuer.test",
		Clients: []devissuer.Client{{ID: "load", Secret: "s3cret", Scopes: auth.CustomerScopes()}}, TokenTTL: time.Hour})
	require.NoError(t, err)
	var calls atomic.Int64
	h := iss.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == devissuer.TokenPath {
			calls.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return iss, srv.URL, &calls
}

func TestClientCredentialsAgainstTheDevelopmentIssuer(t *testing.T) {
	t.Parallel()
	iss, url, calls := mustIssuer(t)
	src, err := loadgen.NewClientCredentials(loadgen.ClientCredentialsConfig{TokenURL: url + devissuer.TokenPath, ClientID: "load",
		ClientSecret: "s3cret", Scopes: []string{auth.ScopeCartRead, auth.ScopeOrdersWrite}})
	require.NoError(t, err)
	ctx := context.Background()
	tok, err := src.Token(ctx, 0)
	require.NoError(t, err)
	again, err := src.Token(ctx, 5)
	require.NoError(t, err)
	require.Equal(t, tok, again, "one token shared by every shopper")
	require.Equal(t, int64(1), calls.Load())

	jwks := httptest.NewServer(iss.Handler())
	t.Cleanup(jwks.Close)
	v, err := auth.NewVerifier(auth.Config{Issuer: iss.IssuerURL(), Audiences: []string{iss.Audience()}, JWKSURL: jwks.URL + devissuer.JWKSPath})
	require.NoError(t, err)
	p, err := v.Verify(ctx, tok)
	require.NoError(t, err)
	require.Equal(t, "load", p.Subject)
	require.ElementsMatch(t, []string{auth.ScopeCartRead, auth.ScopeOrdersWrite}, p.Scopes)
}

func TestClientCredentialsRefusals(t *testing.T) {
	t.Parallel()
	_, url, _ := mustIssuer(t)
	ctx := context.Background()

	src, err := loadgen.NewClientCredentials(loadgen.ClientCredentialsConfig{TokenURL: url + devissuer.TokenPath, ClientID: "load", ClientSecret: "wrong"})
	require.NoError(t, err)
	_, err = src.Token(ctx, 0)
	require.ErrorContains(t, err, "answered 401 invalid_client")

	src, err = loadgen.NewClientCredentials(loadgen.ClientCredentialsConfig{TokenURL: url + devissuer.TokenPath, ClientID: "load", ClientSecret: "s3cret",
		Scopes: []string{auth.ScopeAdmin}})
	require.NoError(t, err)
	_, err = src.Token(ctx, 0)
	require.ErrorContains(t, err, "invalid_scope")

	src, err = loadgen.NewClientCredentials(loadgen.ClientCredentialsConfig{TokenURL: "http://127.0.0.1:1/token", ClientID: "a", ClientSecret: "b"})
	require.NoError(t, err)
	_, err = src.Token(ctx, 0)
	require.ErrorContains(t, err, "token request to http://127.0.0.1:1/token")

	for _, cfg := range []loadgen.ClientCredentialsConfig{
		{TokenURL: "not a url", ClientID: "a", ClientSecret: "b"},
		{TokenURL: "ftp://host/token", ClientID: "a", ClientSecret: "b"},
		{TokenURL: "http://host/token", ClientID: "a"},
	} {
		_, err := loadgen.NewClientCredentials(cfg)
		require.Error(t, err, "%+v", cfg)
	}
}

func TestClientCredentialsRenewsBeforeExpiry(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		user, pass, ok := r.BasicAuth()
		if !ok || user != "id" || pass != "secret" || r.PostFormValue("grant_type") != "client_credentials" {
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"tok-` + strings.Repeat("i", int(n)) + `","token_type":"Bearer","expires_in":100}`))
	}))
	t.Cleanup(srv.Close)
	now := time.Now()
	var clock atomic.Pointer[time.Time]
	clock.Store(&now)
	src, err := loadgen.NewClientCredentials(loadgen.ClientCredentialsConfig{TokenURL: srv.URL, ClientID: "id", ClientSecret: "secret",
		Clock: func() time.Time { return *clock.Load() }})
	require.NoError(t, err)
	first, err := src.Token(context.Background(), 0)
	require.NoError(t, err)
	require.Equal(t, "tok-i", first)
	soon := now.Add(70 * time.Second)
	clock.Store(&soon)
	same, err := src.Token(context.Background(), 1)
	require.NoError(t, err)
	require.Equal(t, first, same)
	late := now.Add(85 * time.Second)
	clock.Store(&late)
	renewed, err := src.Token(context.Background(), 1)
	require.NoError(t, err)
	require.Equal(t, "tok-ii", renewed)
}

func TestDiscoverIssuer(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/good" + loadgen.DiscoveryPath:
			_, _ = w.Write([]byte(`{"issuer":"http://localhost:8080","jwks_uri":"x"}`))
		case "/empty" + loadgen.DiscoveryPath:
			_, _ = w.Write([]byte(`{}`))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	ctx := context.Background()
	iss, err := loadgen.DiscoverIssuer(ctx, srv.Client(), srv.URL+"/good/")
	require.NoError(t, err)
	require.Equal(t, "http://localhost:8080", iss)
	_, err = loadgen.DiscoverIssuer(ctx, srv.Client(), srv.URL+"/empty")
	require.ErrorContains(t, err, "names no issuer")
	_, err = loadgen.DiscoverIssuer(ctx, srv.Client(), srv.URL+"/none")
	require.ErrorContains(t, err, "HTTP 404")
}
