package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	inventoryv1 "github.com/agoracommerce/agora/gen/proto/agora/inventory/v1"
	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/services/servicestest"
)

// `agora serve inventory` runs the service as a process would: configured
// only through AGORA_INVENTORY_* variables, serving its API behind the
// chassis, publishing its events through the outbox, and stopping cleanly.
func TestServeInventory(t *testing.T) {
	w := servicestest.NewWorld(t)
	ctx, stop := context.WithCancel(context.Background())
	t.Cleanup(stop)
	base, done := startService(ctx, t, w, "inventory")

	token, err := w.Issuer.Mint("ops-1", auth.AdminScopes(), time.Minute)
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
	rec := w.Bus.Read(t, "inventory.stock.v1", 1)[0]
	ev, err := w.Bus.Codec.Decode(ctx, rec.Value)
	require.NoError(t, err)
	received := ev.(*inventoryv1.StockEvent).GetStockReceived()
	require.NotNil(t, received, "first event is %T", ev)
	require.Equal(t, "SKU-SERVE-1", string(rec.Key))

	stop()
	select {
	case <-done: // and the cleanup checks that it returned no error
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
	require.ErrorContains(t, err, "serve catalog: ")
	require.ErrorContains(t, err, "AGORA_CATALOG_DATABASE_URL: required")
	require.ErrorContains(t, err, "AGORA_CATALOG_KAFKA_BROKERS: required")
}

// `agora serve --help` lists every service with the settings of its own.
func TestServeHelp(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"serve", "--help"}, &out, &out))
	require.Contains(t, out.String(), "AGORA_CATALOG_DATABASE_URL")
	require.Regexp(t, `catalog\s+CACHE_TTL, PRODUCT_CACHE\n`, out.String())
	require.Regexp(t, `ordering\s+CART_TIMEOUT, CART_URL, DEADLINE_CAPTURE,`, out.String())
	require.Regexp(t, `orderhistory\s+\(none\)\n`, out.String())
	require.Contains(t, out.String(), "notification")
}

// startService runs `agora serve <name>` with the World's variables for it
// set in the environment (where other commands of the test read them too)
// and returns its base URL once it is ready and a channel closed when the
// command returned. The command must return no error.
func startService(ctx context.Context, t *testing.T, w *servicestest.World, name string) (string, <-chan struct{}) {
	t.Helper()
	return startServiceWith(ctx, t, w, name, nil)
}

// startServiceWith is startService with some of the service's variables
// replaced by extra.
func startServiceWith(ctx context.Context, t *testing.T, w *servicestest.World, name string, extra map[string]string) (string, <-chan struct{}) {
	t.Helper()
	env := w.Env(t, name)
	for k, v := range extra {
		env[k] = v
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	ctx, cancel := context.WithCancel(ctx)
	var (
		out    bytes.Buffer
		runErr error
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		runErr = run(ctx, []string{"serve", name}, &out, &out)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
			require.NoError(t, runErr, "%s: %s", name, out.String())
		case <-time.After(30 * time.Second):
			t.Errorf("agora serve %s did not stop", name)
		}
	})
	base := "http://" + env["AGORA_"+strings.ToUpper(name)+"_HTTP_ADDR"]
	servicestest.AwaitReady(t, base, done)
	return base, done
}
