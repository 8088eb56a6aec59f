package main

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/agoracommerce/agora/gen/proto/agora/common/v1"
	orderingv1 "github.com/agoracommerce/agora/gen/proto/agora/ordering/v1"
	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/kafkatest"
)

// The saga's participants run as `agora serve` processes, each with its
// own database, and take their steps from the ordering service's events
// alone: one order's OrderPlaced, OrderPaymentRequested, OrderConfirmed
// and OrderShipped on ordering.orders.v1 make the inventory reserve and
// commit the stock, the cart close the cart, the payment service
// authorize and capture, and shipping create the shipment, each answering
// on its own topic.
func TestParticipantsTakeTheirSagaSteps(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation())
	require.NoError(t, err)
	t.Cleanup(cluster.Close)
	bus := kafkatest.New(t, cluster.ListenAddrs())
	issuer := startIssuer(t)
	ctx := context.Background()
	bus.CreateTopic(t, "ordering.orders.v1", 3) // the ordering service's topic

	urls := map[string]string{}
	for _, name := range []string{"catalog", "cart", "inventory", "payment", "shipping"} {
		urls[name] = startService(ctx, t, name, bus, cluster.ListenAddrs(), issuer)
	}
	admin := mint(t, issuer, "admin-1", auth.AdminScopes())
	customer := mint(t, issuer, "customer-1", auth.CustomerScopes())

	// Stock, a product, and a customer's cart holding it.
	const sku = "SKU-SAGA-1"
	status, body := doWithKey(t, http.MethodPost, urls["inventory"]+"/v1/stock/"+sku+"/receipts", admin, "receipt-1",
		`{"warehouse_id":"wh-1","quantity":5}`)
	require.Less(t, status, 300, "%s", body)
	category := call(t, http.MethodPost, urls["catalog"]+"/v1/categories", admin, `{"slug":"mugs","name":"Mugs"}`, http.StatusCreated)
	product := call(t, http.MethodPost, urls["catalog"]+"/v1/products", admin,
		`{"sku":"`+sku+`","name":"Mug","price":{"amount_minor":1250,"currency":"EUR"},"category_id":"`+
			category["id"].(string)+`","status":"active"}`, http.StatusCreated)
	cartID := call(t, http.MethodPost, urls["cart"]+"/v1/carts", customer, `{"currency":"EUR"}`, http.StatusCreated)["id"].(string)
	require.Eventually(t, func() bool {
		status, _ := do(t, http.MethodPost, urls["cart"]+"/v1/carts/"+cartID+"/lines", customer,
			`{"product_id":"`+product["id"].(string)+`","quantity":2}`)
		return status == http.StatusCreated
	}, 30*time.Second, 50*time.Millisecond, "the cart never learned of the product")

	// The ordering service's steps of one order, as its relay publishes
	// them (the last one twice, as the saga repeats it until the capture).
	const orderID = "0190f5a8-0000-7000-8000-000000000001"
	at := timestamppb.New(time.Now())
	lines := []*orderingv1.OrderLine{{Sku: sku, Quantity: 2, ProductId: product["id"].(string), Name: "Mug",
		UnitPrice: &commonv1.Money{AmountMinor: 1250, Currency: "EUR"}}}
	address := &orderingv1.Address{Name: "Ada Lovelace", Line1: "1 Main St", City: "Berlin", PostalCode: "10115", Country: "DE"}
	total := &commonv1.Money{AmountMinor: 2500, Currency: "EUR"}
	var recs []*kgo.Record
	for _, env := range []*orderingv1.OrderEvent{
		{Event: &orderingv1.OrderEvent_OrderPlaced{OrderPlaced: &orderingv1.OrderPlaced{
			OrderId: orderID, CustomerId: "customer-1", Lines: lines, Total: total, PlacedAt: at, CartId: cartID,
			CustomerEmail: "ada@example.com", ShippingAddress: address, ReservationExpiresAt: timestamppb.New(time.Now().Add(time.Hour))}}},
		{Event: &orderingv1.OrderEvent_OrderPaymentRequested{OrderPaymentRequested: &orderingv1.OrderPaymentRequested{
			OrderId: orderID, CustomerId: "customer-1", Amount: total, PaymentToken: "tok_approve", OccurredAt: at}}},
		{Event: &orderingv1.OrderEvent_OrderConfirmed{OrderConfirmed: &orderingv1.OrderConfirmed{
			OrderId: orderID, CustomerId: "customer-1", Lines: lines, ShippingAddress: address, Total: total, OccurredAt: at}}},
		{Event: &orderingv1.OrderEvent_OrderShipped{OrderShipped: &orderingv1.OrderShipped{OrderId: orderID, CustomerId: "customer-1", OccurredAt: at}}},
		{Event: &orderingv1.OrderEvent_OrderShipped{OrderShipped: &orderingv1.OrderShipped{OrderId: orderID, CustomerId: "customer-1", OccurredAt: at}}},
	} {
		ev, err := bus.Codec.NewEvent(ctx, "ordering.orders.v1", "agora/ordering", orderID, env, time.Now())
		require.NoError(t, err)
		recs = append(recs, ev.Record())
	}
	bus.Produce(t, recs...)

	awaitTypes(t, bus, "inventory.stock.v1", "StockReceived", "StockReserved", "StockCommitted")
	awaitTypes(t, bus, "cart.carts.v1", "CartCheckedOut")
	awaitTypes(t, bus, "payment.payments.v1", "PaymentAuthorized", "PaymentCaptured")
	awaitTypes(t, bus, "shipping.shipments.v1", "ShipmentCreated")

	// The services' own views agree.
	reservation := call(t, http.MethodGet, urls["inventory"]+"/v1/reservations/"+orderID, admin, "", http.StatusOK)
	require.Equal(t, "committed", reservation["status"])
	cart := call(t, http.MethodGet, urls["cart"]+"/v1/carts/"+cartID, customer, "", http.StatusOK)
	require.Equal(t, "checked_out", cart["status"])
}

// doWithKey is do with an Idempotency-Key.
func doWithKey(t *testing.T, method, url, token, key, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	var raw json.RawMessage
	_ = json.NewDecoder(resp.Body).Decode(&raw)
	return resp.StatusCode, raw
}

// awaitTypes waits until topic holds an event of each of the types (the
// short names of their messages), each exactly once.
func awaitTypes(t *testing.T, bus *kafkatest.Bus, topic string, want ...string) {
	t.Helper()
	var seen []string
	require.Eventually(t, func() bool {
		n := records(bus, topic)
		if n == 0 {
			return false
		}
		seen = seen[:0]
		for _, r := range bus.Read(t, topic, int(n)) {
			typ := kafkatest.Headers(r)["ce_type"]
			seen = append(seen, typ[strings.LastIndex(typ, ".")+1:])
		}
		for _, w := range want {
			if !slices.Contains(seen, w) {
				return false
			}
		}
		return true
	}, 60*time.Second, 100*time.Millisecond, "%s: want %v", topic, want)
	for _, w := range want {
		count := 0
		for _, s := range seen {
			if s == w {
				count++
			}
		}
		require.Equal(t, 1, count, "%s holds %v", topic, seen)
	}
}

// records counts the records of topic; 0 while it does not exist.
func records(bus *kafkatest.Bus, topic string) int64 {
	ctx := context.Background()
	starts, err := bus.Admin.ListStartOffsets(ctx, topic)
	if err != nil || starts.Error() != nil {
		return 0
	}
	ends, err := bus.Admin.ListEndOffsets(ctx, topic)
	if err != nil || ends.Error() != nil {
		return 0
	}
	var n int64
	ends.Each(func(o kadm.ListedOffset) {
		if s, ok := starts.Lookup(topic, o.Partition); ok {
			n += o.Offset - s.Offset
		}
	})
	return n
}
