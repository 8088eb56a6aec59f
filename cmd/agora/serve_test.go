package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"

	inventoryv1 "github.com/agoracommerce/agora/gen/proto/agora/inventory/v1"
	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/auth/devissuer"
	"github.com/agoracommerce/agora/internal/platform/kafkatest"
)

// `agora serve inventory` runs the service as a process would: configured
// only through AGORA_INVENTORY_* variables, serving its API behind the
// chassis, publishing its events through the outbox, and stopping cleanly.
func TestServeInventory(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation())
	require.NoError(t, err)
	t.Cleanup(cluster.Close)
	bus := kafkatest.New(t, cluster.ListenAddrs())
	issuer := startIssuer(t)
	addr := freeAddr(t)

	for k, v := range map[string]string{
		"DATABASE_URL":         "sqlite:" + filepath.Join(t.TempDir(), "inventory.db"),
		"KAFKA_BROKERS":        strings.Join(cluster.ListenAddrs(), ","),
		"SCHEMA_REGISTRY_URL":  bus.RegistryURL,
		"SCHEMA_AUTO_REGISTER": "true",
		"AUTH_ISSUER":          issuer.IssuerURL(),
		"AUTH_JWKS_URL":        issuer.JWKSURL(),
		"HTTP_ADDR":            addr,
		"LOG_LEVEL":            "error",
		"RELAY_MAX_POLL":       "50ms",
	} {
		t.Setenv("AGORA_INVENTORY_"+k, v)
	}

	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var out bytes.Buffer
	go func() { done <- run(ctx, []string{"serve", "inventory"}, &out, &out) }()
	t.Cleanup(stop)

	base := "http://" + addr
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/readyz") //nolint:gosec // loopback test URL
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 20*time.Second, 20*time.Millisecond, "the service never became ready: %s", out.String())

	token, err := issuer.Mint("ops-1", auth.AdminScopes(), time.Minute)
	require.NoError(t, err)
	body := `{"warehouse_id":"wh-1","quantity":25}`
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/stock/SKU-SERVE-1/receipts", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", "receipt-1")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	var created map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&created))
	_ = resp.Body.Close()
	require.Less(t, resp.StatusCode, 300, "receipt answered %d: %v", resp.StatusCode, created)

	// The receipt's event went through the outbox to Kafka and decodes.
	rec := bus.Read(t, "inventory.stock.v1", 1)[0]
	ev, err := bus.Codec.Decode(ctx, rec.Value)
	require.NoError(t, err)
	received := ev.(*inventoryv1.StockEvent).GetStockReceived()
	require.NotNil(t, received, "first event is %T", ev)
	require.Equal(t, "SKU-SERVE-1", string(rec.Key))

	stop()
	select {
	case err := <-done:
		require.NoError(t, err, out.String())
	case <-time.After(30 * time.Second):
		t.Fatal("agora serve did not stop")
	}
}

func TestServeRejectsBadInput(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"serve", "no-such-service"}, &out, &out)
	require.ErrorContains(t, err, `unknown service "no-such-service"`)

	t.Setenv("AGORA_CATALOG_DATABASE_URL", "")
	t.Setenv("AGORA_CATALOG_KAFKA_BROKERS", "")
	err = run(context.Background(), []string{"serve", "catalog"}, &out, &out)
	require.ErrorContains(t, err, "AGORA_CATALOG_DATABASE_URL: required")
	require.ErrorContains(t, err, "AGORA_CATALOG_KAFKA_BROKERS: required")
}

func startIssuer(t *testing.T) *devissuer.Issuer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	issuer, err := devissuer.New(devissuer.Config{Mode: "local", DataDir: t.TempDir(), Issuer: "http://" + ln.Addr().String()})
	require.NoError(t, err)
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: issuer.Handler(), ReadHeaderTimeout: time.Second}}
	srv.Start()
	t.Cleanup(srv.Close)
	return issuer
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return fmt.Sprint(addr)
}
