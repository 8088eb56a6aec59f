package host_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"

	orderingv1 "github.com/agoracommerce/agora/gen/proto/agora/ordering/v1"
	"github.com/agoracommerce/agora/internal/platform/auth/devissuer"
	"github.com/agoracommerce/agora/internal/platform/host"
	"github.com/agoracommerce/agora/internal/platform/httpserver"
	"github.com/agoracommerce/agora/internal/platform/kafkatest"
	"github.com/agoracommerce/agora/internal/platform/lifecycle"
)

// A service process opened by host serves its API behind the chassis (auth,
// validation, problem+json), relays its outbox to Kafka, and stops cleanly.
func TestServiceProcessEndToEnd(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation())
	require.NoError(t, err)
	t.Cleanup(cluster.Close)
	bus := kafkatest.New(t, cluster.ListenAddrs())
	registry := bus.RegistryURL

	// The development issuer, served on its own port.
	issuerLn, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	issuer, err := devissuer.New(devissuer.Config{Mode: "local", DataDir: t.TempDir(), Issuer: "http://" + issuerLn.Addr().String()})
	require.NoError(t, err)
	issuerSrv := &httptest.Server{Listener: issuerLn, Config: &http.Server{Handler: issuer.Handler(), ReadHeaderTimeout: time.Second}}
	issuerSrv.Start()
	t.Cleanup(issuerSrv.Close)

	cfg := host.Config{
		Env: "local", LogLevel: "error", HTTPAddr: "127.0.0.1:0",
		DatabaseURL:  "sqlite:" + filepath.Join(t.TempDir(), "widgets.db"),
		KafkaBrokers: cluster.ListenAddrs(), SchemaRegistryURL: registry, SchemaAutoRegister: true,
		AuthIssuer: issuer.IssuerURL(), AuthAudience: issuer.Audience(), AuthJWKSURL: issuer.JWKSURL(),
		TracesExporter: "none", MetricsExporter: "prometheus", SampleRatio: 1,
		RelayBatchSize: 100, RelayMaxPoll: 50 * time.Millisecond, ShutdownTimeout: 10 * time.Second,
		InboxRetention: time.Hour,
	}
	infra, err := host.Open(ctx, "widgets", cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, infra.Close(context.Background())) })

	spec, err := os.ReadFile("../httpserver/testdata/testapi.yaml")
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	httpComponent, _, err := infra.HTTPServer(host.HTTP{Spec: spec, Mount: func(srv *httpserver.Server) {
		srv.Router().Get("/v1/widgets/{widgetId}", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"id": chi.URLParam(r, "widgetId"), "name": "gear", "quantity": 3, "version": 1})
		})
	}}, ln)
	require.NoError(t, err)

	runner, err := lifecycle.New(lifecycle.Config{ShutdownTimeout: 10 * time.Second})
	require.NoError(t, err)
	// An inbox entry older than the retention is purged by the janitor.
	require.NoError(t, infra.DB.InTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO inbox (consumer_group, event_id, processed_at) VALUES ('g', 'old', ?)", time.Now().Add(-2*time.Hour).UnixMicro())
		return err
	}))
	require.NoError(t, runner.Add(infra.Relay(), infra.InboxJanitor(10*time.Millisecond), httpComponent))
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- runner.Run(runCtx) }()

	// An event written in a state-changing transaction reaches Kafka.
	topic := bus.Topic(t, 1)
	env := &orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderConfirmed{OrderConfirmed: &orderingv1.OrderConfirmed{OrderId: "o-1"}}}
	ev, err := infra.Codec.NewEvent(ctx, topic, "agora/widgets", "o-1", env, time.Now())
	require.NoError(t, err)
	require.NoError(t, infra.DB.InTx(ctx, func(tx *sql.Tx) error { return infra.Outbox.Add(ctx, tx, ev) }))
	got := bus.Read(t, topic, 1)
	require.Equal(t, ev.Metadata.ID, kafkatest.Headers(got[0])["ce_id"])

	// The API answers behind the chassis: a token is required and checked.
	base := "http://" + ln.Addr().String()
	url := base + "/v1/widgets/2f1e0c1a-3d2b-4c5d-9e8f-0a1b2c3d4e5f"
	resp, err := http.Get(url) //nolint:gosec // a test URL on loopback
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))

	token, err := issuer.Mint("customer-1", []string{"widgets:read"}, time.Minute)
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := http.Get(base + path) //nolint:gosec // a test URL on loopback
		require.NoError(t, err)
		_ = resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
	}

	require.Eventually(t, func() bool {
		seen, err := infra.Inbox.Seen(ctx, "g", "old")
		return err == nil && !seen
	}, 10*time.Second, 10*time.Millisecond, "the janitor purges the expired inbox entry")

	stop()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(20 * time.Second):
		t.Fatal("the process did not stop")
	}
}

func TestOpenReportsWhatFailed(t *testing.T) {
	t.Parallel()
	_, err := host.Open(context.Background(), "broken", host.Config{
		LogLevel: "info", TracesExporter: "none", MetricsExporter: "none",
		DatabaseURL: "mysql://nope", KafkaBrokers: []string{"127.0.0.1:1"},
	})
	require.ErrorContains(t, err, "host: database")
}
