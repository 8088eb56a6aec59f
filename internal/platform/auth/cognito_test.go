package auth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/platform/auth"
)

const (
	cognitoClient = "7lhlkkfbfb4q5kpp90urffao"
	cognitoPrefix = "agora/"
)

// cognitoConfig trusts the fixture's issuer the way a service behind
// Amazon Cognito does: one app client, the resource server's prefix, no
// audiences.
func (f *issuerFixture) cognitoConfig() auth.Config {
	cfg := f.config()
	cfg.Audiences = nil
	cfg.ClientIDs = []string{"other-client", cognitoClient}
	cfg.ScopePrefix = cognitoPrefix
	return cfg
}

func mustVerifier(tb testing.TB, cfg auth.Config) *auth.Verifier {
	tb.Helper()
	v, err := auth.NewVerifier(cfg)
	require.NoError(tb, err)
	return v
}

// cognitoAccess returns the claims of a Cognito access token of a signed-in
// user: no aud, the app client in client_id, token_use "access", scopes
// prefixed with the resource server's identifier.
func (f *issuerFixture) cognitoAccess() map[string]any {
	now := f.clock.Now()
	return map[string]any{
		"iss":       testIssuer,
		"sub":       "5f7e3c1a-customer-1",
		"client_id": cognitoClient,
		"token_use": "access",
		"scope":     "agora/catalog:read agora/orders:write openid",
		"auth_time": now.Unix(),
		"exp":       now.Add(time.Hour).Unix(),
		"iat":       now.Unix(),
		"jti":       "b1f0e2a4",
		"username":  "customer-1",
	}
}

// cognitoID returns the claims of a Cognito ID token: aud is the app
// client, token_use "id", and no client_id or scope.
func (f *issuerFixture) cognitoID() map[string]any {
	now := f.clock.Now()
	return map[string]any{
		"iss":       testIssuer,
		"sub":       "5f7e3c1a-customer-1",
		"aud":       cognitoClient,
		"token_use": "id",
		"email":     "customer@example.test",
		"auth_time": now.Unix(),
		"exp":       now.Add(time.Hour).Unix(),
		"iat":       now.Unix(),
	}
}

func changed(c map[string]any, change func(map[string]any)) map[string]any {
	change(c)
	return c
}

func TestVerifierAcceptsCognitoAccessTokens(t *testing.T) {
	t.Parallel()
	f := mustIssuer(t)
	mixed := f.cognitoConfig()
	mixed.Audiences = []string{testAudience}
	tests := []struct {
		name       string
		cfg        auth.Config
		claims     map[string]any
		wantClient string
		wantScopes []string
	}{
		{
			name:       "access token of a user",
			cfg:        f.cognitoConfig(),
			claims:     f.cognitoAccess(),
			wantClient: cognitoClient,
			wantScopes: []string{"agora/catalog:read", "agora/orders:write", "catalog:read", "openid", "orders:write"},
		},
		{
			name: "client-credentials access token",
			cfg:  f.cognitoConfig(),
			claims: changed(f.cognitoAccess(), func(c map[string]any) {
				c["sub"] = "other-client"
				c["client_id"] = "other-client"
				c["scope"] = "agora/inventory:write"
				delete(c, "username")
			}),
			wantClient: "other-client",
			wantScopes: []string{"agora/inventory:write", "inventory:write"},
		},
		{
			name:       "token with aud, next to Cognito",
			cfg:        mixed,
			claims:     changed(f.claims(), func(c map[string]any) { c["scope"] = "catalog:read agora/cart:write" }),
			wantClient: "web",
			wantScopes: []string{"agora/cart:write", "cart:write", "catalog:read"},
		},
		{
			name:       "access token next to audiences",
			cfg:        mixed,
			claims:     f.cognitoAccess(),
			wantClient: cognitoClient,
			wantScopes: []string{"agora/catalog:read", "agora/orders:write", "catalog:read", "openid", "orders:write"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := mustVerifier(t, tt.cfg).Verify(context.Background(), mintToken(t, f.rsa, tt.claims))
			require.NoError(t, err)
			require.Equal(t, tt.claims["sub"], p.Subject)
			require.Equal(t, tt.wantClient, p.ClientID)
			if d := cmp.Diff(tt.wantScopes, p.Scopes); d != "" {
				t.Fatalf("scopes (-want +got):\n%s", d)
			}
		})
	}
}

func TestVerifierRejectsCognitoTokens(t *testing.T) {
	t.Parallel()
	f := mustIssuer(t)
	cognito := f.cognitoConfig()
	mixed := f.cognitoConfig()
	mixed.Audiences = []string{cognitoClient}
	access := func(change func(map[string]any)) map[string]any { return changed(f.cognitoAccess(), change) }
	tests := []struct {
		name   string
		cfg    auth.Config
		claims map[string]any
		why    string // in the error, for logs
	}{
		{"ID token", cognito, f.cognitoID(), `token_use "id"`},
		{"ID token whose aud is an accepted audience", mixed, f.cognitoID(), `token_use "id"`},
		{"ID token with a known client_id and no aud", cognito, changed(f.cognitoID(), func(c map[string]any) {
			delete(c, "aud")
			c["client_id"] = cognitoClient
		}), `token_use "id"`},
		{"unknown client_id", cognito, access(func(c map[string]any) { c["client_id"] = "someone-elses-app" }), `client_id "someone-elses-app" not accepted`},
		{"client_id of another case", cognito, access(func(c map[string]any) { c["client_id"] = "OTHER-CLIENT" }), "not accepted"},
		{"neither aud nor client_id", cognito, access(func(c map[string]any) { delete(c, "client_id") }), "neither aud nor client_id"},
		{"empty client_id", cognito, access(func(c map[string]any) { c["client_id"] = "" }), "neither aud nor client_id"},
		{"client_id not a string", cognito, access(func(c map[string]any) { c["client_id"] = []string{cognitoClient} }), "client_id claim is not a string"},
		{"no token_use", cognito, access(func(c map[string]any) { delete(c, "token_use") }), "no token_use"},
		{"token_use not a string", cognito, access(func(c map[string]any) { c["token_use"] = 1 }), "token_use claim is not a string"},
		{"token_use of another kind", cognito, access(func(c map[string]any) { c["token_use"] = "refresh" }), `token_use "refresh"`},
		{"aud not accepted, whatever the client_id", cognito, access(func(c map[string]any) { c["aud"] = "payments-internal" }), "audience"},
		{"empty aud list", cognito, access(func(c map[string]any) { c["aud"] = []string{} }), "audience"},
		{"wrong issuer", cognito, access(func(c map[string]any) { c["iss"] = "https://cognito-idp.example.test/other-pool" }), "iss"},
		{"expired", cognito, access(func(c map[string]any) { c["exp"] = f.clock.Now().Add(-time.Hour).Unix() }), "exp"},
		{"access token without aud, no ClientIDs configured", f.config(), f.cognitoAccess(), "no aud claim"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := mustVerifier(t, tt.cfg).Verify(context.Background(), mintToken(t, f.ec, tt.claims))
			require.ErrorIs(t, err, auth.ErrInvalidToken)
			require.ErrorContains(t, err, tt.why)
			require.Nil(t, p)
			require.Equal(t, http.StatusUnauthorized, auth.StatusOf(err))
		})
	}
}

// Prefixed scopes satisfy requirements of their plain names; other scopes
// match only exactly.
func TestScopePrefix(t *testing.T) {
	t.Parallel()
	f := mustIssuer(t)
	need := func(scopes ...string) auth.Requirements { return auth.Requirements{{"bearerAuth": scopes}} }
	noPrefix := f.cognitoConfig()
	noPrefix.ScopePrefix = ""
	tests := []struct {
		name  string
		cfg   auth.Config
		scope string
		reqs  auth.Requirements
		ok    bool
	}{
		{"prefixed scope satisfies its plain name", f.cognitoConfig(), "agora/catalog:read", need(auth.ScopeCatalogRead), true},
		{"several prefixed scopes", f.cognitoConfig(), "agora/orders:read agora/orders:admin", need(auth.ScopeOrdersRead, auth.ScopeOrdersAdmin), true},
		{"prefixed scope satisfies its own name", f.cognitoConfig(), "agora/catalog:read", need("agora/catalog:read"), true},
		{"plain scope still matches", f.cognitoConfig(), "catalog:read", need(auth.ScopeCatalogRead), true},
		{"scope with another prefix", f.cognitoConfig(), "shop/catalog:read", need(auth.ScopeCatalogRead), false},
		{"prefix not at the start", f.cognitoConfig(), "xagora/catalog:read", need(auth.ScopeCatalogRead), false},
		{"prefix alone", f.cognitoConfig(), "agora/", need(""), false},
		{"one scope missing", f.cognitoConfig(), "agora/orders:read", need(auth.ScopeOrdersRead, auth.ScopeOrdersWrite), false},
		{"no ScopePrefix configured", noPrefix, "agora/catalog:read", need(auth.ScopeCatalogRead), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			claims := changed(f.cognitoAccess(), func(c map[string]any) { c["scope"] = tt.scope })
			p, err := mustVerifier(t, tt.cfg).Verify(context.Background(), mintToken(t, f.rsa, claims))
			require.NoError(t, err)
			err = tt.reqs.Check(p)
			if tt.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, auth.ErrInsufficientScope)
			require.NotContains(t, p.Scopes, "")
		})
	}
}

// Through the Guard, a Cognito access token passes an operation that
// requires a plain scope; an ID token and a token with another resource
// server's scope do not.
func TestGuardWithCognitoTokens(t *testing.T) {
	t.Parallel()
	f := mustIssuer(t)
	guard, err := auth.NewGuard(auth.GuardConfig{Verifier: mustVerifier(t, f.cognitoConfig())})
	require.NoError(t, err)
	h := guard.Require(auth.Requirements{{"bearerAuth": {auth.ScopeCatalogRead}}})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := auth.PrincipalFrom(r.Context()); !ok || p.ClientID != cognitoClient {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	for _, tt := range []struct {
		name   string
		claims map[string]any
		want   int
	}{
		{"access token", f.cognitoAccess(), http.StatusNoContent},
		{"another resource server's scope", changed(f.cognitoAccess(), func(c map[string]any) { c["scope"] = "shop/catalog:read" }), http.StatusForbidden},
		{"ID token", f.cognitoID(), http.StatusUnauthorized},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/v1/products", nil)
			req.Header.Set("Authorization", "Bearer "+mintToken(t, f.ec, tt.claims))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			require.Equal(t, tt.want, rec.Code)
		})
	}
}

// The cache of verified tokens serves a Cognito token's principal as it was
// verified (client and expanded scopes), hands every caller its own scope
// list, and never remembers a refused token.
func TestVerifiedCacheWithCognitoTokens(t *testing.T) {
	t.Parallel()
	f := mustIssuer(t)
	v := mustVerifier(t, f.cognitoConfig())
	ctx := context.Background()
	tok := mintToken(t, f.ec, f.cognitoAccess())
	idTok := mintToken(t, f.ec, f.cognitoID())

	first, err := v.Verify(ctx, tok)
	require.NoError(t, err)
	want := []string{"agora/catalog:read", "agora/orders:write", "catalog:read", "openid", "orders:write"}
	require.Equal(t, want, first.Scopes)
	first.Scopes[0] = auth.ScopeAdmin
	_, err = v.Verify(ctx, idTok)
	require.ErrorIs(t, err, auth.ErrInvalidToken)

	// Withdraw the keys: only what the cache holds still verifies.
	f.mu.Lock()
	f.set = jwk.NewSet()
	f.mu.Unlock()
	f.clock.Advance(time.Second)
	again, err := v.Verify(ctx, tok)
	require.NoError(t, err)
	require.Equal(t, cognitoClient, again.ClientID)
	require.Equal(t, want, again.Scopes, "the first caller's change did not reach the cache")
	require.False(t, again.HasScope(auth.ScopeAdmin))
	_, err = v.Verify(ctx, idTok)
	require.ErrorIs(t, err, auth.ErrInvalidToken)

	// The same token is judged by each verifier's own configuration.
	_, err = f.verifier(t).Verify(ctx, tok)
	require.ErrorIs(t, err, auth.ErrInvalidToken)
}

func TestConfigValidateCognito(t *testing.T) {
	t.Parallel()
	base := auth.Config{Issuer: testIssuer, ClientIDs: []string{cognitoClient}, ScopePrefix: cognitoPrefix, JWKSURL: "https://issuer.test/jwks"}
	tests := []struct {
		name   string
		change func(*auth.Config)
		want   string
	}{
		{"neither audiences nor client IDs", func(c *auth.Config) { c.ClientIDs = nil }, "Config.Audiences needs at least one audience, unless Config.ClientIDs"},
		{"empty audience", func(c *auth.Config) { c.Audiences = []string{""} }, "Config.Audiences may not contain an empty audience"},
		{"empty client ID", func(c *auth.Config) { c.ClientIDs = []string{cognitoClient, ""} }, "Config.ClientIDs may not contain an empty client ID"},
		{"scope prefix with a space", func(c *auth.Config) { c.ScopePrefix = "agora /" }, "Config.ScopePrefix"},
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
	require.NoError(t, err, "client IDs without audiences")
	withAud := base
	withAud.Audiences = []string{testAudience}
	_, err = auth.NewVerifier(withAud)
	require.NoError(t, err)
}
