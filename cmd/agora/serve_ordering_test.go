package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"google.golang.org/protobuf/types/known/timestamppb"

	inventoryv1 "github.com/agoracommerce/agora/gen/proto/agora/inventory/v1"
	orderingv1 "github.com/agoracommerce/agora/gen/proto/agora/ordering/v1"
	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/kafkatest"
)

// `agora serve ordering` runs the checkout with its neighbours as
// processes would: a product of the catalog reaches the cart through
// Kafka; the customer checks the cart out at the ordering service, which
// reads the cart over HTTP with the customer's token and publishes
// OrderPlaced; inventory's answer, on its own topic, moves the order on
// (OrderPaymentRequested); and when payment does not answer before its
// deadline the deadline job cancels the order (OrderCancelled).
func TestServeOrdering(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation())
	require.NoError(t, err)
	t.Cleanup(cluster.Close)
	bus := kafkatest.New(t, cluster.ListenAddrs())
	for _, topic := range []string{"inventory.stock.v1", "payment.payments.v1", "shipping.shipments.v1"} {
		bus.CreateTopic(t, topic, 1)
	}
	issuer := startIssuer(t)
	ctx := context.Background()
	catalogURL := startService(ctx, t, "catalog", bus, cluster.ListenAddrs(), issuer)
	cartURL := startService(ctx, t, "cart", bus, cluster.ListenAddrs(), issuer)
	t.Setenv("AGORA_ORDERING_CART_URL", cartURL)
	t.Setenv("AGORA_ORDERING_DEADLINE_PAYMENT", "1s")
	t.Setenv("AGORA_ORDERING_DEADLINE_INTERVAL", "100ms")
	orderingURL := startService(ctx, t, "ordering", bus, cluster.ListenAddrs(), issuer)

	admin := mint(t, issuer, "admin-1", auth.AdminScopes())
	customer := mint(t, issuer, "customer-1", auth.CustomerScopes())
	other := mint(t, issuer, "customer-2", auth.CustomerScopes())

	category := call(t, http.MethodPost, catalogURL+"/v1/categories", admin, `{"slug":"mugs","name":"Mugs"}`, http.StatusCreated)
	product := call(t, http.MethodPost, catalogURL+"/v1/products", admin,
		`{"sku":"MUG-1","name":"Mug","price":{"amount_minor":1250,"currency":"EUR"},"category_id":"`+
			category["id"].(string)+`","status":"active"}`, http.StatusCreated)
	cart := call(t, http.MethodPost, cartURL+"/v1/carts", customer, `{"currency":"EUR"}`, http.StatusCreated)
	cartID := cart["id"].(string)
	require.Eventually(t, func() bool {
		status, body := do(t, http.MethodPost, cartURL+"/v1/carts/"+cartID+"/lines", customer, `{"product_id":"`+product["id"].(string)+`","quantity":2}`)
		require.Contains(t, []int{http.StatusCreated, http.StatusUnprocessableEntity}, status, "%s", body)
		return status == http.StatusCreated
	}, 30*time.Second, 50*time.Millisecond, "the cart never learned of the catalog's product")

	checkout := `{"cart_id":"` + cartID + `","payment_token":"tok_visa","email":"customer@example.com",
		"shipping_address":{"name":"C. Ustomer","line1":"1 Main St","city":"Berlin","postal_code":"10115","country":"DE"}}`
	status, raw := post(t, orderingURL+"/v1/orders", other, checkout, "checkout-other")
	require.Equal(t, http.StatusNotFound, status, "another customer's cart: %s", raw)
	status, raw = post(t, orderingURL+"/v1/orders", customer, checkout, "checkout-1")
	require.Equal(t, http.StatusCreated, status, "%s", raw)
	var order map[string]any
	require.NoError(t, json.Unmarshal(raw, &order))
	orderID := order["id"].(string)
	require.Equal(t, "PENDING", order["status"])
	require.EqualValues(t, 2500, order["total"].(map[string]any)["amount_minor"], "two at the cart's price")

	placed := bus.Read(t, "ordering.orders.v1", 1)[0]
	require.Equal(t, orderID, string(placed.Key))
	ev, err := bus.Codec.Decode(ctx, placed.Value)
	require.NoError(t, err)
	op := ev.(*orderingv1.OrderEvent).GetOrderPlaced()
	require.NotNil(t, op, "the first event is %T", ev)
	require.Equal(t, cartID, op.GetCartId())
	require.Equal(t, "MUG-1", op.GetLines()[0].GetSku())
	require.Equal(t, "customer@example.com", op.GetCustomerEmail())

	// Inventory reserves the stock.
	reserved, err := bus.Codec.NewEvent(ctx, "inventory.stock.v1", "agora/inventory", orderID, &inventoryv1.StockEvent{
		Event: &inventoryv1.StockEvent_StockReserved{StockReserved: &inventoryv1.StockReserved{
			OrderId: orderID, ExpiresAt: op.GetReservationExpiresAt(), OccurredAt: timestamppb.Now()}}}, time.Now())
	require.NoError(t, err)
	bus.Produce(t, reserved.Record())

	// Payment stays silent: the order is cancelled at its deadline.
	var got map[string]any
	require.Eventually(t, func() bool {
		got = call(t, http.MethodGet, orderingURL+"/v1/orders/"+orderID, customer, "", http.StatusOK)
		return got["status"] == "CANCELLED"
	}, 30*time.Second, 50*time.Millisecond, "the order was never cancelled: %v", got)
	require.Equal(t, "DEADLINE_EXCEEDED", got["end_reason"].(map[string]any)["code"])

	var types []string
	for _, r := range bus.Read(t, "ordering.orders.v1", 3) {
		ev, err := bus.Codec.Decode(ctx, r.Value)
		require.NoError(t, err)
		types = append(types, string(ev.(*orderingv1.OrderEvent).ProtoReflect().WhichOneof(
			(&orderingv1.OrderEvent{}).ProtoReflect().Descriptor().Oneofs().ByName("event")).Name()))
	}
	require.Equal(t, []string{"order_placed", "order_payment_requested", "order_cancelled"}, types)
}

// post sends a checkout with its Idempotency-Key.
func post(t *testing.T, url, token, body, key string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

func TestServeOrderingConfig(t *testing.T) {
	var out bytes.Buffer
	t.Setenv("AGORA_ORDERING_CART_URL", "")
	t.Setenv("AGORA_ORDERING_DEADLINE_RESERVE", "10ms")
	err := run(context.Background(), []string{"serve", "ordering"}, &out, &out)
	require.ErrorContains(t, err, "AGORA_ORDERING_CART_URL: required")
	require.ErrorContains(t, err, "AGORA_ORDERING_DEADLINE_RESERVE")

	cfg := orderingConfig{DeadlineReserve: 30 * time.Second, DeadlinePayment: time.Minute, DeadlineShipping: 15 * time.Minute,
		DeadlineCapture: 2 * time.Minute, ReservationTTL: 10 * time.Minute}
	_, err = cfg.policy("AGORA_ORDERING")
	require.ErrorContains(t, err, "AGORA_ORDERING_RESERVATION_TTL (10m0s) must exceed AGORA_ORDERING_DEADLINE_RESERVE")
	cfg.ReservationTTL = time.Hour
	p, err := cfg.policy("AGORA_ORDERING")
	require.NoError(t, err)
	require.Equal(t, 2*time.Minute, p.Deadlines.CapturingPayment)
}
