package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/agoracommerce/agora/gen/proto/agora/common/v1"
	notificationv1 "github.com/agoracommerce/agora/gen/proto/agora/notification/v1"
	orderingv1 "github.com/agoracommerce/agora/gen/proto/agora/ordering/v1"
	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/auth/devissuer"
	"github.com/agoracommerce/agora/internal/platform/kafkatest"
)

// startIssuerIn serves a development issuer signing with the key in
// dataDir, as `agora issuer --data-dir` does.
func startIssuerIn(t *testing.T, dataDir string) *devissuer.Issuer {
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

// `agora serve notification` runs the service as a process would: an
// OrderPlaced on ordering's topic becomes a message, the dispatcher sends
// it to the local mailbox and publishes MessageSent through the outbox,
// the customer reads it through the API, and `agora mailbox` shows it.
func TestServeNotification(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation())
	require.NoError(t, err)
	t.Cleanup(cluster.Close)
	bus := kafkatest.New(t, cluster.ListenAddrs())
	dataDir := t.TempDir()
	issuer := startIssuerIn(t, dataDir)
	t.Setenv("AGORA_NOTIFICATION_DISPATCH_INTERVAL", "50ms")
	t.Setenv("AGORA_NOTIFICATION_MAX_ATTEMPTS", "3")
	for _, topic := range []string{"ordering.orders.v1", "payment.payments.v1", "shipping.shipments.v1"} {
		bus.CreateTopic(t, topic, 3)
	}
	ctx := context.Background()
	base := startService(ctx, t, "notification", bus, cluster.ListenAddrs(), issuer)

	eur := func(a int64) *commonv1.Money { return &commonv1.Money{AmountMinor: a, Currency: "EUR"} }
	orderID := uuid.NewString()
	ev, err := bus.Codec.NewEvent(ctx, "ordering.orders.v1", "agora/ordering", orderID, &orderingv1.OrderEvent{
		Event: &orderingv1.OrderEvent_OrderPlaced{OrderPlaced: &orderingv1.OrderPlaced{
			OrderId: orderID, CustomerId: "customer-1", CustomerEmail: "ada@example.com", Total: eur(1798),
			Lines:           []*orderingv1.OrderLine{{Sku: "MUG-1", Name: "Mug", Quantity: 2, UnitPrice: eur(899)}},
			ShippingAddress: &orderingv1.Address{Name: "Ada Lovelace"}, PlacedAt: timestamppb.Now(),
		}}}, time.Now())
	require.NoError(t, err)
	bus.Produce(t, ev.Record())

	// The message was sent: MessageSent on notification.messages.v1.
	rec := bus.Read(t, "notification.messages.v1", 1)[0]
	decoded, err := bus.Codec.Decode(ctx, rec.Value)
	require.NoError(t, err)
	sent := decoded.(*notificationv1.MessageEvent).GetMessageSent()
	require.NotNil(t, sent, "first event is %T", decoded)
	require.Equal(t, orderID, sent.GetOrderId())
	require.Equal(t, notificationv1.MessageKind_MESSAGE_KIND_ORDER_RECEIVED, sent.GetKind())
	require.Equal(t, sent.GetMessageId(), string(rec.Key))

	customer := mint(t, issuer, "customer-1", auth.CustomerScopes())
	list := call(t, http.MethodGet, base+"/v1/notifications", customer, "", http.StatusOK)
	items := list["items"].([]any)
	require.Len(t, items, 1)
	msg := items[0].(map[string]any)
	require.Equal(t, "sent", msg["status"])
	require.Equal(t, "We received your order "+orderID, msg["subject"])

	// The CLI mints its token from the issuer's data directory.
	var out bytes.Buffer
	require.NoError(t, run(ctx, []string{"mailbox", "list", "--url", base, "--data-dir", dataDir, "--issuer", issuer.IssuerURL(),
		"--to", "ada@example.com"}, &out, &out))
	require.Contains(t, out.String(), sent.GetMessageId())
	require.Contains(t, out.String(), "We received your order "+orderID)

	out.Reset()
	require.NoError(t, run(ctx, []string{"mailbox", "show", sent.GetMessageId(), "--url", base, "--data-dir", dataDir,
		"--issuer", issuer.IssuerURL()}, &out, &out))
	require.Contains(t, out.String(), "To:       ada@example.com")
	require.Contains(t, out.String(), "Hello Ada Lovelace,")
	require.Contains(t, out.String(), "2 x Mug (MUG-1) at EUR 8.99: EUR 17.98")

	out.Reset()
	require.NoError(t, run(ctx, []string{"mailbox", "show", sent.GetMessageId(), "--json", "--url", base, "--data-dir", dataDir,
		"--issuer", issuer.IssuerURL()}, &out, &out))
	var shown map[string]any
	require.NoError(t, json.Unmarshal(out.Bytes(), &shown))
	require.True(t, strings.HasPrefix(shown["html"].(string), "<!DOCTYPE html>"))
}

func TestServeNotificationRejectsBadConfig(t *testing.T) {
	t.Setenv("AGORA_NOTIFICATION_DATABASE_URL", "sqlite:"+t.TempDir()+"/n.db")
	t.Setenv("AGORA_NOTIFICATION_KAFKA_BROKERS", "127.0.0.1:1")
	t.Setenv("AGORA_NOTIFICATION_SCHEMA_REGISTRY_URL", "http://127.0.0.1:1")
	t.Setenv("AGORA_NOTIFICATION_AUTH_ISSUER", "http://127.0.0.1:1")
	t.Setenv("AGORA_NOTIFICATION_AUTH_JWKS_URL", "http://127.0.0.1:1/jwks")
	t.Setenv("AGORA_NOTIFICATION_DISPATCH_INTERVAL", "0s")
	t.Setenv("AGORA_NOTIFICATION_EMAIL_SENDER", "ses")
	t.Setenv("AGORA_NOTIFICATION_MAX_ATTEMPTS", "0")
	var out bytes.Buffer
	err := run(context.Background(), []string{"serve", "notification"}, &out, &out)
	require.ErrorContains(t, err, "AGORA_NOTIFICATION_DISPATCH_INTERVAL")
	require.ErrorContains(t, err, "AGORA_NOTIFICATION_EMAIL_SENDER")
	require.ErrorContains(t, err, "AGORA_NOTIFICATION_MAX_ATTEMPTS")
}

func TestServeNotificationRejectsRetryBounds(t *testing.T) {
	t.Setenv("AGORA_NOTIFICATION_DATABASE_URL", "sqlite:"+t.TempDir()+"/n.db")
	t.Setenv("AGORA_NOTIFICATION_KAFKA_BROKERS", "127.0.0.1:1")
	t.Setenv("AGORA_NOTIFICATION_SCHEMA_REGISTRY_URL", "http://127.0.0.1:1")
	t.Setenv("AGORA_NOTIFICATION_AUTH_ISSUER", "http://127.0.0.1:1")
	t.Setenv("AGORA_NOTIFICATION_AUTH_JWKS_URL", "http://127.0.0.1:1/jwks")
	t.Setenv("AGORA_NOTIFICATION_METRICS_EXPORTER", "none")
	t.Setenv("AGORA_NOTIFICATION_RETRY_INITIAL", "1m")
	t.Setenv("AGORA_NOTIFICATION_RETRY_MAX", "10s")
	var out bytes.Buffer
	err := run(context.Background(), []string{"serve", "notification"}, &out, &out)
	require.ErrorContains(t, err, "AGORA_NOTIFICATION_RETRY_MAX (10s) must not be below AGORA_NOTIFICATION_RETRY_INITIAL (1m0s)")
}
