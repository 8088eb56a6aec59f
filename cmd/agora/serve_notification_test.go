package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/agoracommerce/agora/gen/proto/agora/common/v1"
	notificationv1 "github.com/agoracommerce/agora/gen/proto/agora/notification/v1"
	orderingv1 "github.com/agoracommerce/agora/gen/proto/agora/ordering/v1"
	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/services/servicestest"
)

// `agora serve notification` runs the service as a process would: an
// OrderPlaced on ordering's topic becomes a message, the dispatcher sends
// it to the local mailbox and publishes MessageSent through the outbox,
// the customer reads it through the API, and `agora mailbox` shows it.
func TestServeNotification(t *testing.T) {
	dataDir := t.TempDir()
	w := servicestest.NewWorldWithIssuerIn(t, dataDir)
	bus, issuer := w.Bus, w.Issuer
	t.Setenv("AGORA_NOTIFICATION_DISPATCH_INTERVAL", "50ms")
	t.Setenv("AGORA_NOTIFICATION_MAX_ATTEMPTS", "3")
	for _, topic := range []string{"ordering.orders.v1", "payment.payments.v1", "shipping.shipments.v1"} {
		bus.CreateTopic(t, topic, 3)
	}
	ctx := context.Background()
	base, _ := startService(ctx, t, w, "notification")

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

	customer := servicestest.Mint(t, issuer, "customer-1", auth.CustomerScopes())
	list := servicestest.Call(t, http.MethodGet, base+"/v1/notifications", customer, "", http.StatusOK)
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
