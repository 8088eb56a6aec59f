// Package servicestest runs Agora services in tests the way their
// processes run: on an embedded Kafka-protocol broker with a schema
// registry, a SQLite database each and the development token issuer,
// configured only through AGORA_<SERVICE>_* variables; and it calls their
// APIs with minted tokens.
package servicestest

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/agoracommerce/agora/internal/platform/auth/devissuer"
	"github.com/agoracommerce/agora/internal/platform/config"
	"github.com/agoracommerce/agora/internal/platform/kafkatest"
	"github.com/agoracommerce/agora/internal/services"
)

// World is what the services of a test share: an embedded broker, its
// registry and codec (Bus) and a development issuer.
type World struct {
	Bus     *kafkatest.Bus
	Brokers []string
	Issuer  *devissuer.Issuer
}

// NewWorld starts a World whose issuer keeps its key in a temporary
// directory; everything stops when the test ends.
func NewWorld(t *testing.T) *World {
	t.Helper()
	return NewWorldWithIssuerIn(t, t.TempDir())
}

// NewWorldWithIssuerIn is NewWorld with the issuer's key in dataDir, where
// `agora token --data-dir` finds it.
func NewWorldWithIssuerIn(t *testing.T, dataDir string) *World {
	t.Helper()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation())
	require.NoError(t, err)
	t.Cleanup(cluster.Close)
	return &World{Bus: kafkatest.New(t, cluster.ListenAddrs()), Brokers: cluster.ListenAddrs(), Issuer: StartIssuer(t, dataDir)}
}

// StartIssuer serves a development issuer signing with the key in dataDir,
// as `agora issuer --data-dir` does.
func StartIssuer(t *testing.T, dataDir string) *devissuer.Issuer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	issuer, err := devissuer.New(devissuer.Config{Mode: "local", DataDir: dataDir, Issuer: "http://" + ln.Addr().String()})
	require.NoError(t, err)
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: issuer.Handler(), ReadHeaderTimeout: time.Second}}
	srv.Start()
	t.Cleanup(srv.Close)
	return issuer
}

// Env returns the variables of service name in the World: a SQLite
// database of its own, the broker, the registry (registering schemas), the
// issuer and a free loopback HTTP address. Keys carry the prefix
// (AGORA_<SERVICE>_); callers add or change any.
func (w *World) Env(t *testing.T, name string) map[string]string {
	t.Helper()
	prefix := services.Prefix(name) + "_"
	env := map[string]string{}
	for k, v := range map[string]string{
		"DATABASE_URL":         "sqlite:" + filepath.Join(t.TempDir(), name+".db"),
		"KAFKA_BROKERS":        strings.Join(w.Brokers, ","),
		"SCHEMA_REGISTRY_URL":  w.Bus.RegistryURL,
		"SCHEMA_AUTO_REGISTER": "true",
		"AUTH_ISSUER":          w.Issuer.IssuerURL(),
		"AUTH_JWKS_URL":        w.Issuer.JWKSURL(),
		"HTTP_ADDR":            FreeAddr(t),
		"LOG_LEVEL":            "error",
		"RELAY_MAX_POLL":       "50ms",
	} {
		env[prefix+k] = v
	}
	return env
}

// Lookup reads variables from env, as os.LookupEnv would; an empty value
// counts as unset.
func Lookup(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok && v != "" }
}

// Start runs service name as `agora serve` does (services.Run), configured
// by env alone, and returns its base URL once it is ready. When the test
// ends the service is stopped and must have stopped cleanly.
func Start(t *testing.T, name string, env map[string]string, opts ...services.Option) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var runErr error
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		runErr = services.Run(ctx, name, config.Options{LookupEnv: Lookup(env)}, opts...)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-stopped:
			require.NoError(t, runErr, name)
		case <-time.After(30 * time.Second):
			t.Errorf("%s did not stop", name)
		}
	})
	base := "http://" + env[services.Prefix(name)+"_HTTP_ADDR"]
	AwaitReady(t, base, stopped)
	return base
}

// AwaitReady waits until the service at base answers /readyz, failing the
// test if it does not within 20 seconds or if stopped is closed first
// (the service's run ended).
func AwaitReady(t *testing.T, base string, stopped <-chan struct{}) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-stopped:
			require.FailNow(t, "the service stopped before it was ready", base)
		case <-time.After(20 * time.Millisecond):
		}
		resp, err := http.Get(base + "/readyz") //nolint:gosec // loopback test URL
		if err != nil {
			continue
		}
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return
		}
	}
	require.FailNow(t, "the service never became ready", base)
}

// FreeAddr returns a loopback address nothing listens on.
func FreeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// Mint returns a token of the issuer for subject with scopes.
func Mint(t *testing.T, issuer *devissuer.Issuer, subject string, scopes []string) string {
	t.Helper()
	token, err := issuer.Mint(subject, scopes, 5*time.Minute)
	require.NoError(t, err)
	return token
}

// Do sends a JSON request with a bearer token and returns the status and
// body of the answer.
func Do(t *testing.T, method, url, token, body string) (int, []byte) {
	t.Helper()
	return DoWithKey(t, method, url, token, "", body)
}

// DoWithKey is Do with an Idempotency-Key (none when key is empty).
func DoWithKey(t *testing.T, method, url, token, key, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

// Call is Do that requires the status want and decodes the JSON object
// answered.
func Call(t *testing.T, method, url, token, body string, want int) map[string]any {
	t.Helper()
	status, b := Do(t, method, url, token, body)
	require.Equal(t, want, status, "%s %s: %s", method, url, b)
	var out map[string]any
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}
