package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/services/servicestest"
)

// `agora issuer` serves the JWKS that verifies what `agora token` prints
// (same data directory), and a client-credentials token endpoint.
func TestIssuerServesWhatTokenSigns(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	issuerURL := "http://" + servicestest.FreeAddr(t)

	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var out bytes.Buffer
	go func() {
		done <- run(ctx, []string{"issuer", "--issuer", issuerURL, "--data-dir", dir, "--env", "local"}, &out, &out)
	}()
	t.Cleanup(func() {
		stop()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Error("agora issuer did not stop")
		}
	})
	require.Eventually(t, func() bool {
		resp, err := http.Get(issuerURL + "/.well-known/jwks.json") //nolint:gosec // loopback test URL
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 10*time.Second, 20*time.Millisecond)

	var tok bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"token", "--customer", "--issuer", issuerURL, "--data-dir", dir, "--env", "local"}, &tok, &tok))
	verifier, err := auth.NewVerifier(auth.Config{Issuer: issuerURL, Audiences: []string{"agora"}, JWKSURL: issuerURL + "/.well-known/jwks.json"})
	require.NoError(t, err)
	p, err := verifier.Verify(context.Background(), strings.TrimSpace(tok.String()))
	require.NoError(t, err)
	require.Equal(t, "customer-dev", p.Subject)

	form := url.Values{"grant_type": {"client_credentials"}, "scope": {auth.ScopeCatalogRead}}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, issuerURL+"/oauth2/token", strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.SetBasicAuth("dev-client", "dev-secret")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var body struct {
		AccessToken string `json:"access_token"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	p, err = verifier.Verify(context.Background(), body.AccessToken)
	require.NoError(t, err)
	require.True(t, p.HasScope(auth.ScopeCatalogRead))
}

func TestIssuerRefusesProduction(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	err := run(context.Background(), []string{"issuer", "--issuer", "http://127.0.0.1:1", "--data-dir", t.TempDir(), "--env", "production"}, &out, &out)
	require.ErrorContains(t, err, "production")
}
