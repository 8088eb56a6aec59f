package services_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/agoracommerce/agora/gen/proto/agora/common/v1"
	inventoryv1 "github.com/agoracommerce/agora/gen/proto/agora/inventory/v1"
	orderingv1 "github.com/agoracommerce/agora/gen/proto/agora/ordering/v1"
	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/kafkatest"
	st "github.com/agoracommerce/agora/internal/services/servicestest"
)

// The catalog and the cart run as two services with their own databases
// and talk only through Kafka: a product created in the catalog reaches
// the cart's price read model through catalog.products.v1, and a customer
// can then put it in a cart at the catalog's price.
func TestCatalogFeedsCartThroughKafka(t *testing.T) {
	t.Parallel()
	w := st.NewWorld(t)
	catalogURL := st.Start(t, "catalog", w.Env(t, "catalog"))
	cartURL := st.Start(t, "cart", w.Env(t, "cart"))

	admin := st.Mint(t, w.Issuer, "admin-1", auth.AdminScopes())
	customer := st.Mint(t, w.Issuer, "customer-1", auth.CustomerScopes())

	_, _, added := cartWithTwo(t, catalogURL, cartURL, admin, customer, "SHOE-RED-42", 8999)

	total := added["total"].(map[string]any)
	require.EqualValues(t, 17998, total["amount_minor"], "two at the catalog's price")
	require.Equal(t, "EUR", total["currency"])
}

// The ordering service runs the checkout with its neighbours as processes
// would: a product of the catalog reaches the cart through Kafka; the
// customer checks the cart out at the ordering service, which reads the
// cart over HTTP with the customer's token and publishes OrderPlaced;
// inventory's answer, on its own topic, moves the order on
// (OrderPaymentRequested); and when payment does not answer before its
// deadline the deadline job cancels the order (OrderCancelled).
func TestOrderingCheckoutAndDeadline(t *testing.T) {
	t.Parallel()
	w := st.NewWorld(t)
	for _, topic := range []string{"inventory.stock.v1", "payment.payments.v1", "shipping.shipments.v1"} {
		w.Bus.CreateTopic(t, topic, 1)
	}
	ctx := context.Background()
	catalogURL := st.Start(t, "catalog", w.Env(t, "catalog"))
	cartURL := st.Start(t, "cart", w.Env(t, "cart"))
	env := w.Env(t, "ordering")
	env["AGORA_ORDERING_CART_URL"] = cartURL
	env["AGORA_ORDERING_DEADLINE_PAYMENT"] = "1s"
	env["AGORA_ORDERING_DEADLINE_INTERVAL"] = "100ms"
	orderingURL := st.Start(t, "ordering", env)

	admin := st.Mint(t, w.Issuer, "admin-1", auth.AdminScopes())
	customer := st.Mint(t, w.Issuer, "customer-1", auth.CustomerScopes())
	other := st.Mint(t, w.Issuer, "customer-2", auth.CustomerScopes())

	_, cartID, _ := cartWithTwo(t, catalogURL, cartURL, admin, customer, "MUG-1", 1250)

	checkout := `{"cart_id":"` + cartID + `","payment_token":"tok_visa","email":"customer@example.com",
		"shipping_address":{"name":"C. Ustomer","line1":"1 Main St","city":"Berlin","postal_code":"10115","country":"DE"}}`
	status, raw := st.DoWithKey(t, http.MethodPost, orderingURL+"/v1/orders", other, "checkout-other", checkout)
	require.Equal(t, http.StatusNotFound, status, "another customer's cart: %s", raw)
	status, raw = st.DoWithKey(t, http.MethodPost, orderingURL+"/v1/orders", customer, "checkout-1", checkout)
	require.Equal(t, http.StatusCreated, status, "%s", raw)
	var order map[string]any
	require.NoError(t, json.Unmarshal(raw, &order))
	orderID := order["id"].(string)
	require.Equal(t, "PENDING", order["status"])
	require.EqualValues(t, 2500, order["total"].(map[string]any)["amount_minor"], "two at the cart's price")

	placed := w.Bus.Read(t, "ordering.orders.v1", 1)[0]
	require.Equal(t, orderID, string(placed.Key))
	ev, err := w.Bus.Codec.Decode(ctx, placed.Value)
	require.NoError(t, err)
	op := ev.(*orderingv1.OrderEvent).GetOrderPlaced()
	require.NotNil(t, op, "the first event is %T", ev)
	require.Equal(t, cartID, op.GetCartId())
	require.Equal(t, "MUG-1", op.GetLines()[0].GetSku())
	require.Equal(t, "customer@example.com", op.GetCustomerEmail())

	// Inventory reserves the stock.
	reserved, err := w.Bus.Codec.NewEvent(ctx, "inventory.stock.v1", "agora/inventory", orderID, &inventoryv1.StockEvent{
		Event: &inventoryv1.StockEvent_StockReserved{StockReserved: &inventoryv1.StockReserved{
			OrderId: orderID, ExpiresAt: op.GetReservationExpiresAt(), OccurredAt: timestamppb.Now()}}}, time.Now())
	require.NoError(t, err)
	w.Bus.Produce(t, reserved.Record())

	// Payment stays silent: the order is cancelled at its deadline.
	var got map[string]any
	require.Eventually(t, func() bool {
		got = st.Call(t, http.MethodGet, orderingURL+"/v1/orders/"+orderID, customer, "", http.StatusOK)
		return got["status"] == "CANCELLED"
	}, 30*time.Second, 50*time.Millisecond, "the order was never cancelled: %v", got)
	require.Equal(t, "DEADLINE_EXCEEDED", got["end_reason"].(map[string]any)["code"])

	var types []string
	for _, r := range w.Bus.Read(t, "ordering.orders.v1", 3) {
		ev, err := w.Bus.Codec.Decode(ctx, r.Value)
		require.NoError(t, err)
		types = append(types, string(ev.(*orderingv1.OrderEvent).ProtoReflect().WhichOneof(
			(&orderingv1.OrderEvent{}).ProtoReflect().Descriptor().Oneofs().ByName("event")).Name()))
	}
	require.Equal(t, []string{"order_placed", "order_payment_requested", "order_cancelled"}, types)
}

// The saga's participants run as services, each with its own database, and
// take their steps from the ordering service's events alone: one order's
// OrderPlaced, OrderPaymentRequested, OrderConfirmed and OrderShipped on
// ordering.orders.v1 make the inventory reserve and commit the stock, the
// cart close the cart, the payment service authorize and capture, and
// shipping create the shipment, each answering on its own topic.
func TestParticipantsTakeTheirSagaSteps(t *testing.T) {
	t.Parallel()
	w := st.NewWorld(t)
	ctx := context.Background()
	w.Bus.CreateTopic(t, "ordering.orders.v1", 3) // the ordering service's topic

	urls := map[string]string{}
	for _, name := range []string{"catalog", "cart", "inventory", "payment", "shipping"} {
		urls[name] = st.Start(t, name, w.Env(t, name))
	}
	admin := st.Mint(t, w.Issuer, "admin-1", auth.AdminScopes())
	customer := st.Mint(t, w.Issuer, "customer-1", auth.CustomerScopes())

	// Stock, a product, and a customer's cart holding it.
	const sku = "SKU-SAGA-1"
	status, body := st.DoWithKey(t, http.MethodPost, urls["inventory"]+"/v1/stock/"+sku+"/receipts", admin, "receipt-1",
		`{"warehouse_id":"wh-1","quantity":5}`)
	require.Less(t, status, 300, "%s", body)
	productID, cartID, _ := cartWithTwo(t, urls["catalog"], urls["cart"], admin, customer, sku, 1250)

	// The ordering service's steps of one order, as its relay publishes
	// them (the last one twice, as the saga repeats it until the capture).
	const orderID = "0190f5a8-0000-7000-8000-000000000001"
	at := timestamppb.New(time.Now())
	lines := []*orderingv1.OrderLine{{Sku: sku, Quantity: 2, ProductId: productID, Name: sku,
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
		ev, err := w.Bus.Codec.NewEvent(ctx, "ordering.orders.v1", "agora/ordering", orderID, env, time.Now())
		require.NoError(t, err)
		recs = append(recs, ev.Record())
	}
	w.Bus.Produce(t, recs...)

	awaitTypes(t, w.Bus, "inventory.stock.v1", "StockReceived", "StockReserved", "StockCommitted")
	awaitTypes(t, w.Bus, "cart.carts.v1", "CartCheckedOut")
	awaitTypes(t, w.Bus, "payment.payments.v1", "PaymentAuthorized", "PaymentCaptured")
	awaitTypes(t, w.Bus, "shipping.shipments.v1", "ShipmentCreated")

	// The services' own views agree.
	reservation := st.Call(t, http.MethodGet, urls["inventory"]+"/v1/reservations/"+orderID, admin, "", http.StatusOK)
	require.Equal(t, "committed", reservation["status"])
	cart := st.Call(t, http.MethodGet, urls["cart"]+"/v1/carts/"+cartID, customer, "", http.StatusOK)
	require.Equal(t, "checked_out", cart["status"])
}

// cartWithTwo creates a category and an active product sku priced at
// price (EUR minor units) in the catalog, and a customer's cart holding two
// of it. The cart learns of the product only through the catalog's event:
// until its consumer applied it, the product is unknown to the cart (422).
// It returns the product's ID, the cart's ID and the cart as last answered.
func cartWithTwo(t *testing.T, catalogURL, cartURL, admin, customer, sku string, price int) (string, string, map[string]any) {
	t.Helper()
	category := st.Call(t, http.MethodPost, catalogURL+"/v1/categories", admin,
		`{"slug":"`+strings.ToLower(sku)+`","name":"`+sku+`"}`, http.StatusCreated)
	product := st.Call(t, http.MethodPost, catalogURL+"/v1/products", admin, fmt.Sprintf(
		`{"sku":%q,"name":%q,"price":{"amount_minor":%d,"currency":"EUR"},"category_id":%q,"status":"active"}`,
		sku, sku, price, category["id"].(string)), http.StatusCreated)
	productID := product["id"].(string)
	cartID := st.Call(t, http.MethodPost, cartURL+"/v1/carts", customer, `{"currency":"EUR"}`, http.StatusCreated)["id"].(string)
	var added map[string]any
	require.Eventually(t, func() bool {
		status, body := st.Do(t, http.MethodPost, cartURL+"/v1/carts/"+cartID+"/lines", customer, `{"product_id":"`+productID+`","quantity":2}`)
		if status == http.StatusCreated {
			require.NoError(t, json.Unmarshal(body, &added))
			return true
		}
		require.Equal(t, http.StatusUnprocessableEntity, status, "%s", body)
		return false
	}, 30*time.Second, 50*time.Millisecond, "the cart never learned of the catalog's product")
	return productID, cartID, added
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
