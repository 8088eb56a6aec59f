package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/auth/devissuer"
	"github.com/agoracommerce/agora/internal/platform/kafkatest"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
)

// The catalog and the cart run as two `agora serve` services with their own
// databases and talk only through Kafka: a product created in the catalog
// reaches the cart's price read model through catalog.products.v1, and a
// customer can then put it in a cart at the catalog's price.
func TestCatalogFeedsCartThroughKafka(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation())
	require.NoError(t, err)
	t.Cleanup(cluster.Close)
	bus := kafkatest.New(t, cluster.ListenAddrs())
	issuer := startIssuer(t)

	ctx := context.Background()
	catalogURL := startService(ctx, t, "catalog", bus, cluster.ListenAddrs(), issuer)
	cartURL := startService(ctx, t, "cart", bus, cluster.ListenAddrs(), issuer)

	admin := mint(t, issuer, "admin-1", auth.AdminScopes())
	customer := mint(t, issuer, "customer-1", auth.CustomerScopes())

	category := call(t, http.MethodPost, catalogURL+"/v1/categories", admin, `{"slug":"shoes","name":"Shoes"}`, http.StatusCreated)
	product := call(t, http.MethodPost, catalogURL+"/v1/products", admin,
		`{"sku":"SHOE-RED-42","name":"Red shoe","price":{"amount_minor":8999,"currency":"EUR"},"category_id":"`+
			category["id"].(string)+`","status":"active"}`, http.StatusCreated)

	cart := call(t, http.MethodPost, cartURL+"/v1/carts", customer, `{"currency":"EUR"}`, http.StatusCreated)
	cartID := cart["id"].(string)
	line := `{"product_id":"` + product["id"].(string) + `","quantity":2}`

	// The cart learns of the product only through the event: until the
	// consumer applied it, the product is unknown to the cart (422).
	var added map[string]any
	require.Eventually(t, func() bool {
		status, body := do(t, http.MethodPost, cartURL+"/v1/carts/"+cartID+"/lines", customer, line)
		if status == http.StatusCreated {
			require.NoError(t, json.Unmarshal(body, &added))
			return true
		}
		require.Equal(t, http.StatusUnprocessableEntity, status, "%s", body)
		return false
	}, 30*time.Second, 50*time.Millisecond, "the cart never learned of the catalog's product")

	total := added["total"].(map[string]any)
	require.EqualValues(t, 17998, total["amount_minor"], "two at the catalog's price")
	require.Equal(t, "EUR", total["currency"])
}

// startService runs `agora serve <name>` on its own SQLite database and
// returns its base URL once it is ready.
func startService(ctx context.Context, t *testing.T, name string, bus *kafkatest.Bus, brokers []string, issuer *devissuer.Issuer) string {
	t.Helper()
	addr := freeAddr(t)
	prefix := "AGORA_" + strings.ToUpper(name) + "_"
	for k, v := range map[string]string{
		"DATABASE_URL":         "sqlite:" + filepath.Join(t.TempDir(), name+".db"),
		"KAFKA_BROKERS":        strings.Join(brokers, ","),
		"SCHEMA_REGISTRY_URL":  bus.RegistryURL,
		"SCHEMA_AUTO_REGISTER": "true",
		"AUTH_ISSUER":          issuer.IssuerURL(),
		"AUTH_JWKS_URL":        issuer.JWKSURL(),
		"HTTP_ADDR":            addr,
		"LOG_LEVEL":            "error",
		"RELAY_MAX_POLL":       "50ms",
	} {
		t.Setenv(prefix+k, v)
	}
	done := make(chan error, 1)
	var out bytes.Buffer
	ctx, cancel := context.WithCancel(ctx)
	go func() { done <- run(ctx, []string{"serve", name}, &out, &out) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err, "%s: %s", name, out.String())
		case <-time.After(30 * time.Second):
			t.Errorf("agora serve %s did not stop", name)
		}
	})
	base := "http://" + addr
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/readyz") //nolint:gosec // loopback test URL
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 20*time.Second, 20*time.Millisecond, "%s never became ready", name)
	return base
}

func mint(t *testing.T, issuer *devissuer.Issuer, subject string, scopes []string) string {
	t.Helper()
	token, err := issuer.Mint(subject, scopes, 5*time.Minute)
	require.NoError(t, err)
	return token
}

func do(t *testing.T, method, url, token, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

func call(t *testing.T, method, url, token, body string, want int) map[string]any {
	t.Helper()
	status, b := do(t, method, url, token, body)
	require.Equal(t, want, status, "%s %s: %s", method, url, b)
	var out map[string]any
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}
