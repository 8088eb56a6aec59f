package devissuer_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/auth/devissuer"
)

var clients = []devissuer.Client{{ID: "storefront", Secret: "s3cret", Scopes: []string{auth.ScopeCatalogRead, auth.ScopeOrdersWrite}}}

// mustServed starts the issuer's handler and an issuer whose URL is the
// server's, plus a verifier trusting it.
func mustServed(t *testing.T, dir string) (*devissuer.Issuer, *httptest.Server, *auth.Verifier) {
	t.Helper()
	var iss *devissuer.Issuer
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { iss.Handler().ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	var err error
	iss, err = devissuer.New(devissuer.Config{Mode: "local", DataDir: dir, Issuer: srv.URL, Clients: clients})
	require.NoError(t, err)
	v, err := auth.NewVerifier(iss.VerifierConfig())
	require.NoError(t, err)
	return iss, srv, v
}

func TestRefusesOutsideLocalModes(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"production", "staging", "", "LOCAL"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			_, err := devissuer.New(devissuer.Config{Mode: mode, DataDir: dir, Issuer: "http://localhost:8080"})
			require.ErrorContains(t, err, `refusing to run in environment mode "`+mode+`"`)
			_, statErr := os.Stat(filepath.Join(dir, "devissuer"))
			require.ErrorIs(t, statErr, os.ErrNotExist, "no key is created")
		})
	}
	for _, mode := range []string{"local", "development"} {
		_, err := devissuer.New(devissuer.Config{Mode: mode, DataDir: t.TempDir(), Issuer: "http://localhost:8080"})
		require.NoError(t, err)
	}
}

func TestKeyIsPersistedPrivatelyAndReused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := devissuer.Config{Mode: "local", DataDir: dir, Issuer: "http://localhost:8080"}
	first, err := devissuer.New(cfg)
	require.NoError(t, err)
	path := filepath.Join(dir, "devissuer", devissuer.KeyFile)
	info, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	tok, err := first.Mint("alice", []string{auth.ScopeCartWrite}, time.Minute)
	require.NoError(t, err)

	// A second issuer on the same directory (the CLI next to a running
	// platform) serves the same key: its JWKS verifies the first's token.
	second, _, _ := mustServed(t, dir)
	cfgV := second.VerifierConfig()
	cfgV.Issuer = first.IssuerURL()
	v, err := auth.NewVerifier(cfgV)
	require.NoError(t, err)
	p, err := v.Verify(context.Background(), tok)
	require.NoError(t, err)
	require.Equal(t, "alice", p.Subject)

	require.NoError(t, os.Chmod(path, 0o644))
	_, err = devissuer.New(cfg)
	require.ErrorContains(t, err, "0600")
}

func postToken(t *testing.T, srv *httptest.Server, form url.Values, basicID, basicSecret string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+devissuer.TokenPath, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicID != "" {
		req.SetBasicAuth(url.QueryEscape(basicID), url.QueryEscape(basicSecret))
	}
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	require.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	var body map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	return resp.StatusCode, body
}

func TestClientCredentialsEndToEnd(t *testing.T) {
	t.Parallel()
	_, srv, v := mustServed(t, t.TempDir())

	status, body := postToken(t, srv, url.Values{"grant_type": {"client_credentials"}, "scope": {auth.ScopeCatalogRead}}, "storefront", "s3cret")
	require.Equal(t, 200, status, body)
	require.Equal(t, "Bearer", body["token_type"])
	require.EqualValues(t, 3600, body["expires_in"])
	require.Equal(t, auth.ScopeCatalogRead, body["scope"])
	p, err := v.Verify(context.Background(), body["access_token"].(string))
	require.NoError(t, err)
	require.Equal(t, "storefront", p.Subject)
	require.Equal(t, "storefront", p.ClientID)
	require.Equal(t, []string{auth.ScopeCatalogRead}, p.Scopes)

	// Credentials in the form, no scope parameter: every allowed scope.
	status, body = postToken(t, srv, url.Values{"grant_type": {"client_credentials"}, "client_id": {"storefront"}, "client_secret": {"s3cret"}}, "", "")
	require.Equal(t, 200, status, body)
	p, err = v.Verify(context.Background(), body["access_token"].(string))
	require.NoError(t, err)
	require.Equal(t, []string{auth.ScopeCatalogRead, auth.ScopeOrdersWrite}, p.Scopes)
}

func TestTokenEndpointErrors(t *testing.T) {
	t.Parallel()
	_, srv, _ := mustServed(t, t.TempDir())
	cc := url.Values{"grant_type": {"client_credentials"}}
	tests := []struct {
		name       string
		form       url.Values
		id, secret string
		status     int
		wantError  string
	}{
		{"wrong secret", cc, "storefront", "nope", 401, "invalid_client"},
		{"unknown client", cc, "mallory", "s3cret", 401, "invalid_client"},
		{"no credentials", cc, "", "", 401, "invalid_client"},
		{"scope not allowed", url.Values{"grant_type": {"client_credentials"}, "scope": {auth.ScopeAdmin}}, "storefront", "s3cret", 400, "invalid_scope"},
		{"other grant", url.Values{"grant_type": {"password"}}, "storefront", "s3cret", 400, "unsupported_grant_type"},
		{"no grant", url.Values{}, "storefront", "s3cret", 400, "invalid_request"},
		{"both auth methods", url.Values{"grant_type": {"client_credentials"}, "client_secret": {"s3cret"}}, "storefront", "s3cret", 400, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := postToken(t, srv, tt.form, tt.id, tt.secret)
			require.Equal(t, tt.status, status)
			require.Equal(t, tt.wantError, body["error"])
			require.NotContains(t, body, "access_token")
		})
	}
}

func TestDiscovery(t *testing.T) {
	t.Parallel()
	_, srv, _ := mustServed(t, t.TempDir())
	resp, err := srv.Client().Get(srv.URL + devissuer.DiscoveryPath)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	var doc map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&doc))
	require.Equal(t, srv.URL, doc["issuer"])
	require.Equal(t, srv.URL+devissuer.JWKSPath, doc["jwks_uri"])
	require.Equal(t, srv.URL+devissuer.TokenPath, doc["token_endpoint"])
}

func TestMintValidates(t *testing.T) {
	t.Parallel()
	iss, err := devissuer.New(devissuer.Config{Mode: "development", DataDir: t.TempDir(), Issuer: "http://localhost:8080"})
	require.NoError(t, err)
	_, err = iss.Mint("", nil, time.Minute)
	require.Error(t, err)
	_, err = iss.Mint("a", nil, 0)
	require.Error(t, err)
	_, err = iss.Mint("a", []string{"bad scope"}, time.Minute)
	require.Error(t, err)
	_, err = iss.Mint("a", nil, devissuer.MaxTTL+time.Second)
	require.Error(t, err)
}
