package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/loadgen"
	"github.com/agoracommerce/agora/internal/loadgen/loadgentest"
	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/auth/devissuer"
)

// verifyingShop is a fake shop that accepts only tokens of the
// development issuer iss.
func verifyingShop(t *testing.T, iss *devissuer.Issuer) *loadgentest.Shop {
	t.Helper()
	jwks := httptest.NewServer(iss.Handler())
	t.Cleanup(jwks.Close)
	v, err := auth.NewVerifier(auth.Config{Issuer: iss.IssuerURL(), Audiences: []string{iss.Audience()}, JWKSURL: jwks.URL + devissuer.JWKSPath})
	require.NoError(t, err)
	shop := loadgentest.NewShop(loadgentest.Options{Authenticate: func(r *http.Request) (string, bool) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			return "", false
		}
		p, err := v.Verify(r.Context(), tok)
		if err != nil || !p.HasScope(auth.ScopeOrdersWrite) {
			return "", false
		}
		return p.Subject, true
	}})
	return shop
}

// mustServe serves h for the test.
func mustServe(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestLoadgenWithTheDevelopmentIssuersKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	iss, err := devissuer.New(devissuer.Config{Mode: "local", DataDir: dir, Issuer: defaultIssuer})
	require.NoError(t, err)
	shop := verifyingShop(t, iss)
	url := mustServe(t, shop)
	reportFile := filepath.Join(t.TempDir(), "report.json")

	var stdout, stderr bytes.Buffer
	err = run(context.Background(), []string{"loadgen", "--url", url, "--data-dir", dir, "--env", "local", "--issuer", defaultIssuer,
		"--concurrency", "3", "--sessions", "30", "--seed", "5", "--progress", "lines", "--poll-interval", "20ms", "--settle", "10s",
		"--json", reportFile}, &stdout, &stderr)
	require.NoError(t, err, stderr.String())
	require.Contains(t, stdout.String(), "Agora load run against "+url)
	require.Contains(t, stdout.String(), "closed model, 3 shoppers, mix browse=60,search=20,cart=12,checkout=8, seed 5")
	require.Contains(t, stdout.String(), "checkout saga")

	data, err := os.ReadFile(reportFile) // #nosec G304 -- the test's own file
	require.NoError(t, err)
	var rep loadgen.Report
	require.NoError(t, json.Unmarshal(data, &rep))
	require.Equal(t, int64(30), rep.Sessions.Started)
	require.Equal(t, int64(30), rep.Sessions.Completed)
	require.Empty(t, rep.Errors)
	require.Equal(t, uint64(5), rep.Seed)

	// Every shopper is its own customer.
	subjects := shop.Subjects()
	require.Len(t, subjects, 3)
	pattern := regexp.MustCompile(`^loadgen-[0-9a-f]{8}-[0-2]$`)
	for _, s := range subjects {
		require.Regexp(t, pattern, s)
	}
}

func TestLoadgenWithClientCredentials(t *testing.T) {
	t.Parallel()
	iss, err := devissuer.New(devissuer.Config{Mode: "local", DataDir: t.TempDir(), Issuer: defaultIssuer,
		Clients: []devissuer.Client{{ID: "load", Secret: "s3cret", Scopes: auth.CustomerScopes()}}})
	require.NoError(t, err)
	issuerSrv := httptest.NewServer(iss.Handler())
	t.Cleanup(issuerSrv.Close)
	shop := verifyingShop(t, iss)
	url := mustServe(t, shop)

	var stdout, stderr bytes.Buffer
	err = run(context.Background(), []string{"loadgen", "--url", url, "--token-url", issuerSrv.URL + devissuer.TokenPath,
		"--client-id", "load", "--client-secret", "s3cret", "--concurrency", "2", "--sessions", "10", "--progress", "off",
		"--track-orders", "0", "--json", "-"}, &stdout, &stderr)
	require.NoError(t, err, stderr.String())
	var rep loadgen.Report
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &rep), "--json - prints only the JSON report")
	require.Equal(t, int64(10), rep.Sessions.Completed)
	require.Zero(t, rep.Saga.Tracked)
	require.Equal(t, []string{"load"}, shop.Subjects(), "every shopper acts as the client")
	require.Empty(t, stderr.String(), "no progress with --progress off")
}

func TestLoadgenFailsOverTheErrorBudget(t *testing.T) {
	t.Parallel()
	shop := loadgentest.NewShop(loadgentest.Options{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1/products/") {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		shop.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"loadgen", "--url", srv.URL, "--token", "t", "--mix", "browse=1", "--sessions", "5",
		"--concurrency", "1", "--progress", "off", "--max-error-rate", "0.01"}, &stdout, &stderr)
	require.ErrorContains(t, err, "50.00% of the requests failed, more than the --max-error-rate of 1.00%")
	require.Contains(t, stdout.String(), "http_500", "the report is printed first")
}

func TestLoadgenRefusals(t *testing.T) {
	t.Parallel()
	empty := httptest.NewServer(loadgentest.NewShop(loadgentest.Options{Products: -1}))
	t.Cleanup(empty.Close)
	noKey := t.TempDir()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no signing key", []string{"--data-dir", noKey}, "no development signing key at " + filepath.Join(noKey, "devissuer", devissuer.KeyFile)},
		{"bad mix", []string{"--token", "t", "--mix", "browse=x"}, "--mix: mix: weight of browse"},
		{"both models", []string{"--token", "t", "--rate", "5", "--concurrency", "2"}, "[rate concurrency] are set none of the others can be"},
		{"both token kinds", []string{"--token", "t", "--token-url", "http://127.0.0.1:1/t"}, "[token token-url] are set none of the others"},
		{"token and data dir", []string{"--token", "t", "--data-dir", noKey}, "--token cannot be combined"},
		{"client id alone", []string{"--client-id", "x"}, "need --token-url"},
		{"token url without secret", []string{"--token-url", "http://127.0.0.1:1/t", "--client-id", "x"}, "needs a client ID and a client secret"},
		{"zero rate", []string{"--token", "t", "--rate", "0"}, "--rate 0 must be positive"},
		{"bad progress", []string{"--token", "t", "--progress", "loud"}, `--progress "loud"`},
		{"bad error budget", []string{"--token", "t", "--max-error-rate", "2"}, "--max-error-rate 2 is outside 0..1"},
		{"zero duration", []string{"--token", "t", "--duration", "0s"}, "--duration 0s must be positive"},
		{"production issuer", []string{"--env", "production", "--data-dir", t.TempDir()}, "no development signing key"},
		{"empty catalog", []string{"--token", "t"}, "has no active products"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			args := append([]string{"loadgen", "--url", empty.URL, "--progress", "off", "--duration", "1s"}, tt.args...)
			err := run(context.Background(), args, &stdout, &stderr)
			require.ErrorContains(t, err, tt.want)
			require.Empty(t, stdout.String())
		})
	}
}

func TestLoadgenRefusesProductionMode(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, err := devissuer.New(devissuer.Config{Mode: "local", DataDir: dir, Issuer: defaultIssuer})
	require.NoError(t, err)
	var out bytes.Buffer
	err = run(context.Background(), []string{"loadgen", "--data-dir", dir, "--env", "production", "--progress", "off"}, &out, &out)
	require.ErrorContains(t, err, `refusing to run in environment mode "production"`)
}

func TestLoadgenTakesTheIssuerTheGatewayAnnounces(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const announced = "http://localhost:9191"
	iss, err := devissuer.New(devissuer.Config{Mode: "local", DataDir: dir, Issuer: announced})
	require.NoError(t, err)
	shop := verifyingShop(t, iss)
	gateway := mustServe(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == loadgen.DiscoveryPath {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"issuer":"` + announced + `"}`))
			return
		}
		shop.ServeHTTP(w, r)
	}))

	var stdout, stderr bytes.Buffer
	err = run(context.Background(), []string{"loadgen", "--url", gateway, "--data-dir", dir, "--env", "local",
		"--concurrency", "1", "--sessions", "3", "--mix", "cart=1", "--progress", "off"}, &stdout, &stderr)
	require.NoError(t, err, stderr.String())
	require.Len(t, shop.Subjects(), 1)
}
