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
	"github.com/agoracommerce/agora/internal/platform/dynamo/dynamotest"
	"github.com/agoracommerce/agora/internal/platform/lifecycle"
	"github.com/agoracommerce/agora/internal/services"
	"github.com/agoracommerce/agora/internal/services/servicestest"
	"github.com/agoracommerce/agora/internal/testenv"
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
			in, _, err := services.Open(context.Background(), tc.service, config.Options{LookupEnv: servicestest.Lookup(minimalEnv(t, tc.service, tc.env))})
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

// The six services with DynamoDB adapters open on a table of their own
// (DATABASE_URL dynamodb://<table>, on moto), without the inbox janitor
// (DynamoDB's TTL purges the inbox), and serve, ready, on their listener.
func TestComponentsOnDynamoDB(t *testing.T) {
	emu := testenv.AWSEmulator(t)
	// The services take credentials from the SDK's default chain, as a
	// function or task role's would be.
	t.Setenv("AWS_ACCESS_KEY_ID", emu.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", emu.SecretKey)
	w := servicestest.NewWorld(t)
	client := dynamotest.Client(t)
	for _, tc := range []struct {
		name string
		want []string
		env  map[string]string
	}{
		{"cart", []string{"cart-outbox-relay", "cart-cart-expiry", "consumer-cart.catalog-products", "consumer-cart.orders", "cart-http"}, nil},
		{"catalog", []string{"catalog-outbox-relay", "catalog-http"}, nil},
		{"inventory", []string{"inventory-outbox-relay", "inventory-reservation-expiry", "consumer-inventory.orders", "inventory-http"}, nil},
		{"notification", []string{"notification-outbox-relay", "notification-dispatcher", "consumer-notification.events", "notification-http"},
			map[string]string{"EMAIL_SENDER": "ses", "SES_FROM": "Agora <orders@shop.example>"}},
		{"orderhistory", []string{"consumer-orderhistory.projector", "orderhistory-http"}, nil},
		{"shipping", []string{"shipping-outbox-relay", "shipping-carrier-advancer", "consumer-shipping.orders", "shipping-http"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prefix := services.Prefix(tc.name) + "_"
			env := w.Env(t, tc.name)
			env[prefix+"DATABASE_URL"] = "dynamodb://" + dynamotest.NewTable(t, client, tc.name)
			env[prefix+"AWS_REGION"] = emu.Region
			env[prefix+"AWS_ENDPOINT"] = emu.Endpoint
			for k, v := range tc.env {
				env[prefix+k] = v
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			ctx := context.Background()
			in, parts, err := services.Open(ctx, tc.name, config.Options{LookupEnv: servicestest.Lookup(env)}, services.WithListener(ln))
			require.NoError(t, err)
			t.Cleanup(func() { require.NoError(t, in.Close(context.Background())) })
			require.NotNil(t, in.Dynamo)
			require.Nil(t, in.DB)

			components, err := parts.Components(in)
			require.NoError(t, err)
			var got []string
			for _, c := range components {
				got = append(got, c.Name())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
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
			}, 20*time.Second, 20*time.Millisecond, "%s never served on its listener", tc.name)
			stop()
			require.NoError(t, <-ran)
		})
	}
}

// A service's store is one thing or the other: the local mailbox needs
// SQL, and a DynamoDB URL must name a table and nothing else.
func TestOpenRejectsBadDynamoDBConfig(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		service string
		env     map[string]string
		want    string
	}{
		"ordering":      {"ordering", map[string]string{"DATABASE_URL": "dynamodb://agora-ordering"}, "AGORA_ORDERING_DATABASE_URL: the ordering service keeps its state in PostgreSQL or SQLite"},
		"payment":       {"payment", map[string]string{"DATABASE_URL": "dynamodb://agora-payment"}, "AGORA_PAYMENT_DATABASE_URL: the payment service keeps its state in PostgreSQL or SQLite"},
		"bad table":     {"catalog", map[string]string{"DATABASE_URL": "dynamodb://a"}, `DATABASE_URL: "a" is not a DynamoDB table name`},
		"extra parts":   {"catalog", map[string]string{"DATABASE_URL": "dynamodb://agora-catalog/x?region=eu-west-1"}, "DATABASE_URL: a DynamoDB URL is dynamodb://<table> and nothing else"},
		"sql idem keys": {"catalog", map[string]string{"DATABASE_URL": "sqlite::memory:", "IDEMPOTENCY_STORE": "dynamodb"}, "IDEMPOTENCY_STORE=dynamodb needs a dynamodb://<table> DATABASE_URL"},
		"expiry on sql": {"catalog", map[string]string{"OUTBOX_EXPIRE_AFTER": "72h"}, "OUTBOX_EXPIRE_AFTER applies to a DynamoDB outbox"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			in, _, err := services.Open(context.Background(), tc.service, config.Options{LookupEnv: servicestest.Lookup(minimalEnv(t, tc.service, tc.env))})
			require.Nil(t, in)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// minimalEnv is a service's settings that pass loading (nothing listens
// at the addresses), with overrides (names without the prefix).
func minimalEnv(t *testing.T, service string, overrides map[string]string) map[string]string {
	t.Helper()
	prefix := services.Prefix(service) + "_"
	env := map[string]string{}
	for k, v := range map[string]string{
		"DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "db"), "KAFKA_BROKERS": "127.0.0.1:1",
		"SCHEMA_REGISTRY_URL": "http://127.0.0.1:1", "AUTH_ISSUER": "http://127.0.0.1:1", "AUTH_JWKS_URL": "http://127.0.0.1:1/jwks",
		"CART_URL": "http://127.0.0.1:1", "METRICS_EXPORTER": "none",
	} {
		env[prefix+k] = v
	}
	for k, v := range overrides {
		env[prefix+k] = v
	}
	return env
}
