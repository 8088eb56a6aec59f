package services_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/platform/config"
	"github.com/agoracommerce/agora/internal/platform/lifecycle"
	"github.com/agoracommerce/agora/internal/services"
	"github.com/agoracommerce/agora/internal/services/servicestest"
)

func TestNamesAndVariables(t *testing.T) {
	t.Parallel()
	want := []string{"cart", "catalog", "inventory", "notification", "orderhistory", "ordering", "payment", "shipping"}
	if diff := cmp.Diff(want, services.Names()); diff != "" {
		t.Errorf("Names (-want +got):\n%s", diff)
	}
	require.True(t, services.Known("cart"))
	require.False(t, services.Known("warehouse"))
	require.Equal(t, "AGORA_ORDERHISTORY", services.Prefix("orderhistory"))

	// The service's own variables, without the common ones of host.Config.
	require.Equal(t, []string{"CACHE_TTL", "PRODUCT_CACHE"}, services.Variables("catalog"))
	require.Contains(t, services.Variables("ordering"), "CART_URL")
	require.Empty(t, services.Variables("orderhistory"))
	require.Nil(t, services.Variables("warehouse"))
}

// Open checks the whole configuration before it opens anything: every
// bad variable is named, and the rules across variables hold.
func TestOpenRejectsBadConfig(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		service string
		env     map[string]string
		want    []string
	}{
		"unknown service": {"warehouse", nil, []string{`unknown service "warehouse"`}},
		"missing common settings": {"catalog", map[string]string{"DATABASE_URL": "", "KAFKA_BROKERS": ""},
			[]string{"AGORA_CATALOG_DATABASE_URL: required", "AGORA_CATALOG_KAFKA_BROKERS: required"}},
		"product cache without redis": {"catalog", map[string]string{"PRODUCT_CACHE": "redis"},
			[]string{"AGORA_CATALOG_PRODUCT_CACHE=redis needs AGORA_CATALOG_REDIS_ADDR"}},
		"bad notification settings": {"notification", map[string]string{"DISPATCH_INTERVAL": "0s", "EMAIL_SENDER": "smtp", "MAX_ATTEMPTS": "0"},
			[]string{"AGORA_NOTIFICATION_DISPATCH_INTERVAL", "AGORA_NOTIFICATION_EMAIL_SENDER", "AGORA_NOTIFICATION_MAX_ATTEMPTS"}},
		"retry bounds": {"notification", map[string]string{"RETRY_INITIAL": "1m", "RETRY_MAX": "10s"},
			[]string{"AGORA_NOTIFICATION_RETRY_MAX (10s) must not be below AGORA_NOTIFICATION_RETRY_INITIAL (1m0s)"}},
		"ses without sender": {"notification", map[string]string{"EMAIL_SENDER": "ses"},
			[]string{"AGORA_NOTIFICATION_SES_FROM is required with AGORA_NOTIFICATION_EMAIL_SENDER=ses"}},
		"ordering settings": {"ordering", map[string]string{"CART_URL": "", "DEADLINE_RESERVE": "10ms"},
			[]string{"AGORA_ORDERING_CART_URL: required", "AGORA_ORDERING_DEADLINE_RESERVE"}},
		"reservation shorter than the saga": {"ordering", map[string]string{"RESERVATION_TTL": "10m"},
			[]string{"AGORA_ORDERING_RESERVATION_TTL (10m0s) must exceed AGORA_ORDERING_DEADLINE_RESERVE"}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			prefix := services.Prefix(tc.service) + "_"
			env := map[string]string{}
			for k, v := range map[string]string{
				"DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "db"), "KAFKA_BROKERS": "127.0.0.1:1",
				"SCHEMA_REGISTRY_URL": "http://127.0.0.1:1", "AUTH_ISSUER": "http://127.0.0.1:1", "AUTH_JWKS_URL": "http://127.0.0.1:1/jwks",
				"CART_URL": "http://127.0.0.1:1", "METRICS_EXPORTER": "none",
			} {
				env[prefix+k] = v
			}
			for k, v := range tc.env {
				env[prefix+k] = v
			}
			in, _, err := services.Open(context.Background(), tc.service, config.Options{LookupEnv: servicestest.Lookup(env)})
			require.Nil(t, in)
			for _, want := range tc.want {
				require.ErrorContains(t, err, want)
			}
		})
	}
	_, _, err := services.Open(context.Background(), "warehouse", config.Options{})
	require.True(t, errors.Is(err, services.ErrUnknownService), "%v", err)
}

// Every service opens on the embedded infrastructure with its parts in the
// order a process runs them — relay, inbox janitor, jobs, consumers, HTTP
// last — and serves on the listener it is given.
func TestComponents(t *testing.T) {
	t.Parallel()
	w := servicestest.NewWorld(t)
	for name, want := range map[string][]string{
		"cart":    {"cart-outbox-relay", "cart-inbox-janitor", "cart-cart-expiry", "consumer-cart.catalog-products", "consumer-cart.orders", "cart-http"},
		"catalog": {"catalog-outbox-relay", "catalog-http"},
		"inventory": {"inventory-outbox-relay", "inventory-inbox-janitor", "inventory-reservation-expiry", "consumer-inventory.orders",
			"inventory-http"},
		"notification": {"notification-outbox-relay", "notification-inbox-janitor", "notification-dispatcher", "consumer-notification.events",
			"notification-http"},
		"orderhistory": {"consumer-orderhistory.projector", "orderhistory-http"},
		"ordering":     {"ordering-outbox-relay", "ordering-inbox-janitor", "ordering-saga-deadlines", "consumer-ordering.saga", "ordering-http"},
		"payment":      {"payment-outbox-relay", "payment-inbox-janitor", "consumer-payment.orders", "payment-http"},
		"shipping":     {"shipping-outbox-relay", "shipping-inbox-janitor", "shipping-carrier-advancer", "consumer-shipping.orders", "shipping-http"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			env := w.Env(t, name)
			env[services.Prefix(name)+"_CART_URL"] = "http://127.0.0.1:1"
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			ctx := context.Background()
			in, parts, err := services.Open(ctx, name, config.Options{LookupEnv: servicestest.Lookup(env)}, services.WithListener(ln))
			require.NoError(t, err)
			t.Cleanup(func() { require.NoError(t, in.Close(context.Background())) })
			require.Equal(t, name != "orderhistory", parts.Relay)

			components, err := parts.Components(in)
			require.NoError(t, err)
			var got []string
			for _, c := range components {
				got = append(got, c.Name())
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("components (-want +got):\n%s", diff)
			}

			runner, err := lifecycle.New(lifecycle.Config{ShutdownTimeout: 10 * time.Second, Logger: in.Logger})
			require.NoError(t, err)
			require.NoError(t, runner.Add(components...))
			runCtx, stop := context.WithCancel(ctx)
			ran := make(chan error, 1)
			go func() { ran <- runner.Run(runCtx) }()
			require.Eventually(t, func() bool {
				resp, err := http.Get("http://" + ln.Addr().String() + "/readyz") //nolint:gosec // loopback test URL
				if err != nil {
					return false
				}
				_ = resp.Body.Close()
				return resp.StatusCode == http.StatusOK
			}, 20*time.Second, 20*time.Millisecond, "%s never served on its listener", name)
			stop()
			require.NoError(t, <-ran)
		})
	}
}
