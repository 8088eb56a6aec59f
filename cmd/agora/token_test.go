package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/auth/devissuer"
)

// verifierFor serves the dev issuer of dataDir over HTTP and returns a
// verifier that fetches its JWKS, as the running platform would.
func verifierFor(t *testing.T, dataDir string) *auth.Verifier {
	t.Helper()
	iss, err := devissuer.New(devissuer.Config{Mode: "local", DataDir: dataDir, Issuer: defaultIssuer})
	require.NoError(t, err)
	srv := httptest.NewServer(iss.Handler())
	t.Cleanup(srv.Close)
	v, err := auth.NewVerifier(auth.Config{Issuer: defaultIssuer, Audiences: []string{devissuer.DefaultAudience}, JWKSURL: srv.URL + devissuer.JWKSPath})
	require.NoError(t, err)
	return v
}

func TestTokenCustomerVerifies(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"token", "--customer", "--data-dir", dir, "--env", "local"}, &out, &out))
	p, err := verifierFor(t, dir).Verify(context.Background(), strings.TrimSpace(out.String()))
	require.NoError(t, err)
	require.Equal(t, customerSubject, p.Subject)
	require.ElementsMatch(t, auth.CustomerScopes(), p.Scopes)
	require.False(t, p.HasScope(auth.ScopeAdmin))
}

func TestTokenAdminAndCustomFlags(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"token", "--admin", "--data-dir", dir, "--env", "development"}, &out, &out))
	v := verifierFor(t, dir)
	p, err := v.Verify(context.Background(), strings.TrimSpace(out.String()))
	require.NoError(t, err)
	require.Equal(t, adminSubject, p.Subject)
	require.True(t, p.HasScope(auth.ScopeAdmin))

	out.Reset()
	require.NoError(t, run(context.Background(), []string{"token", "--subject", "svc-ordering", "--scope", "orders:read", "--scope", "payments:write", "--ttl", "5m", "--env", "local", "--data-dir", dir}, &out, &out))
	p, err = v.Verify(context.Background(), strings.TrimSpace(out.String()))
	require.NoError(t, err)
	require.Equal(t, "svc-ordering", p.Subject)
	require.Equal(t, []string{"orders:read", "payments:write"}, p.Scopes)
}

func TestTokenRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"production mode", []string{"--customer", "--env", "production"}, `refusing to run in environment mode "production"`},
		{"no subject", nil, "--subject is required"},
		{"both presets", []string{"--customer", "--admin"}, "cannot be combined"},
		{"ttl too long", []string{"--customer", "--ttl", "48h"}, "ttl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			args := append([]string{"token", "--env", "local", "--data-dir", t.TempDir()}, tt.args...)
			err := run(context.Background(), args, &out, &out)
			require.ErrorContains(t, err, tt.want)
			require.Empty(t, out.String())
		})
	}
}
