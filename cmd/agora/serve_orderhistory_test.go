package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/agoracommerce/agora/gen/proto/agora/common/v1"
	inventoryv1 "github.com/agoracommerce/agora/gen/proto/agora/inventory/v1"
	orderingv1 "github.com/agoracommerce/agora/gen/proto/agora/ordering/v1"
	paymentv1 "github.com/agoracommerce/agora/gen/proto/agora/payment/v1"
	shippingv1 "github.com/agoracommerce/agora/gen/proto/agora/shipping/v1"
	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/dynamo/dynamotest"
	"github.com/agoracommerce/agora/internal/platform/kafkatest"
	"github.com/agoracommerce/agora/internal/services/servicestest"
	"github.com/agoracommerce/agora/internal/testenv"
)

// checkoutEvents are the events of a shipped checkout of orderID as
// ordering, inventory, payment and shipping publish them.
func checkoutEvents(t *testing.T, bus *kafkatest.Bus, orderID, customer string, at time.Time) []*kgo.Record {
	t.Helper()
	eur := &commonv1.Money{AmountMinor: 2500, Currency: "EUR"}
	ts := func(n int) *timestamppb.Timestamp { return timestamppb.New(at.Add(time.Duration(n) * time.Second)) }
	evs := []struct {
		topic, source, key string
		env                proto.Message
	}{
		{"ordering.orders.v1", "agora/ordering", orderID, &orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderPlaced{OrderPlaced: &orderingv1.OrderPlaced{
			OrderId: orderID, CustomerId: customer, Total: eur, PlacedAt: ts(1),
			Lines: []*orderingv1.OrderLine{{Sku: "LAMP-1", Quantity: 1, UnitPrice: eur, Name: "Lamp"}}}}}},
		{"inventory.stock.v1", "agora/inventory", orderID, &inventoryv1.StockEvent{Event: &inventoryv1.StockEvent_StockReserved{StockReserved: &inventoryv1.StockReserved{
			OrderId: orderID, Allocations: []*inventoryv1.Allocation{{Sku: "LAMP-1", WarehouseId: "wh-1", Quantity: 1}}, OccurredAt: ts(2)}}}},
		{"payment.payments.v1", "agora/payment", "pay-" + orderID, &paymentv1.PaymentEvent{Event: &paymentv1.PaymentEvent_PaymentAuthorized{PaymentAuthorized: &paymentv1.PaymentAuthorized{
			PaymentId: "pay-" + orderID, OrderId: orderID, CustomerId: customer, Amount: eur, OccurredAt: ts(3)}}}},
		{"ordering.orders.v1", "agora/ordering", orderID, &orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderConfirmed{OrderConfirmed: &orderingv1.OrderConfirmed{
			OrderId: orderID, CustomerId: customer, Total: eur, PaymentId: "pay-" + orderID, OccurredAt: ts(4)}}}},
		{"shipping.shipments.v1", "agora/shipping", "ship-" + orderID, &shippingv1.ShipmentEvent{Event: &shippingv1.ShipmentEvent_ShipmentShipped{ShipmentShipped: &shippingv1.ShipmentShipped{
			ShipmentId: "ship-" + orderID, OrderId: orderID, Carrier: "agora-sim", TrackingNumber: "AG-1", OccurredAt: ts(5)}}}},
		{"ordering.orders.v1", "agora/ordering", orderID, &orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderShipped{OrderShipped: &orderingv1.OrderShipped{
			OrderId: orderID, CustomerId: customer, ShipmentId: "ship-" + orderID, Carrier: "agora-sim", TrackingNumber: "AG-1", OccurredAt: ts(6)}}}},
	}
	var out []*kgo.Record
	for _, e := range evs {
		ev, err := bus.Codec.NewEvent(context.Background(), e.topic, e.source, e.key, e.env, at)
		require.NoError(t, err)
		out = append(out, ev.Record())
	}
	return out
}

// `agora serve orderhistory` projects the saga's events from the four
// topics and serves them; `agora projections rebuild orderhistory`, run
// against the same database while the service keeps running, rebuilds the
// read model into a new generation and switches to it without the
// service noticing, and the live projector goes on into the new one.
func TestServeOrderhistoryAndRebuild(t *testing.T) {
	testServeOrderhistoryAndRebuild(t, nil)
}

// The same on a DynamoDB table, as the order history runs on AWS: the
// emulator's, reached one request at a time (it does not isolate
// concurrent requests as DynamoDB does; see dynamotest).
func TestServeOrderhistoryAndRebuildOnDynamoDB(t *testing.T) {
	emu := testenv.AWSEmulator(t)
	t.Setenv("AWS_ACCESS_KEY_ID", emu.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", emu.SecretKey)
	table := dynamotest.NewTable(t, dynamotest.Client(t), "orderhistory")
	testServeOrderhistoryAndRebuild(t, map[string]string{
		"AGORA_ORDERHISTORY_DATABASE_URL": "dynamodb://" + table,
		"AGORA_ORDERHISTORY_AWS_REGION":   emu.Region,
		"AGORA_ORDERHISTORY_AWS_ENDPOINT": dynamotest.SerialEndpoint(t),
	})
}

func testServeOrderhistoryAndRebuild(t *testing.T, extra map[string]string) {
	w := servicestest.NewWorld(t)
	bus, issuer := w.Bus, w.Issuer
	ctx := context.Background()
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

	for _, topic := range []string{"ordering.orders.v1", "inventory.stock.v1", "payment.payments.v1", "shipping.shipments.v1"} {
		bus.CreateTopic(t, topic, 3)
	}
	recs := checkoutEvents(t, bus, "order-1", "alice", at)
	bus.Produce(t, recs[1:]...) // the others first: the order shows once it is placed
	base, _ := startServiceWith(ctx, t, w, "orderhistory", extra)
	alice := servicestest.Mint(t, issuer, "alice", auth.CustomerScopes())
	bob := servicestest.Mint(t, issuer, "bob", auth.CustomerScopes())

	status, _ := servicestest.Do(t, http.MethodGet, base+"/v1/order-history/order-1", alice, "")
	require.Equal(t, http.StatusNotFound, status)
	bus.Produce(t, recs[0])
	var before map[string]any
	require.Eventually(t, func() bool {
		status, body := servicestest.Do(t, http.MethodGet, base+"/v1/order-history/order-1", alice, "")
		if status != http.StatusOK {
			return false
		}
		require.NoError(t, json.Unmarshal(body, &before))
		return len(before["timeline"].([]any)) == 6
	}, 30*time.Second, 50*time.Millisecond, "the order never showed in full")
	require.Equal(t, "SHIPPED", before["summary"].(map[string]any)["status"])
	status, _ = servicestest.Do(t, http.MethodGet, base+"/v1/order-history/order-1", bob, "")
	require.Equal(t, http.StatusNotFound, status)
	list := servicestest.Call(t, http.MethodGet, base+"/v1/order-history?status=SHIPPED", alice, "", http.StatusOK)
	require.Len(t, list["items"], 1)

	// The rebuild reads the service's own variables (set by startService).
	require.NotEmpty(t, os.Getenv("AGORA_ORDERHISTORY_DATABASE_URL"))
	var out bytes.Buffer
	require.NoError(t, run(ctx, []string{"projections", "rebuild", "orderhistory"}, &out, &out), out.String())
	t.Log(out.String())
	require.Contains(t, out.String(), "generation 2 is active; generation 1 is retired")
	require.Regexp(t, `ordering\.orders\.v1\s+3\s+3\s+0\s+0`, out.String())
	require.Regexp(t, `orders\s+1\n`, out.String())
	require.Regexp(t, `timeline entries\s+6\n`, out.String())

	after := servicestest.Call(t, http.MethodGet, base+"/v1/order-history/order-1", alice, "", http.StatusOK)
	require.Equal(t, before, after, "the rebuilt model serves the same history")

	// The live projector now records into generation 2.
	done, err := bus.Codec.NewEvent(ctx, "ordering.orders.v1", "agora/ordering", "order-1", &orderingv1.OrderEvent{
		Event: &orderingv1.OrderEvent_OrderCompleted{OrderCompleted: &orderingv1.OrderCompleted{OrderId: "order-1", CustomerId: "alice",
			OccurredAt: timestamppb.New(at.Add(time.Minute))}}}, at)
	require.NoError(t, err)
	bus.Produce(t, done.Record())
	require.Eventually(t, func() bool {
		got := servicestest.Call(t, http.MethodGet, base+"/v1/order-history/order-1", alice, "", http.StatusOK)
		return got["summary"].(map[string]any)["status"] == "COMPLETED"
	}, 30*time.Second, 50*time.Millisecond)
}

func TestProjectionsRebuildConfig(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"projections", "rebuild", "no-such-projection"}, &out, &out)
	require.ErrorContains(t, err, `unknown projection "no-such-projection" (projections: orderhistory)`)

	for _, name := range []string{"DATABASE_URL", "KAFKA_BROKERS", "SCHEMA_REGISTRY_URL"} {
		t.Setenv("AGORA_ORDERHISTORY_"+name, "")
	}
	err = run(context.Background(), []string{"projections", "rebuild", "orderhistory"}, &out, &out)
	require.ErrorContains(t, err, "AGORA_ORDERHISTORY_DATABASE_URL: required")
	require.ErrorContains(t, err, "AGORA_ORDERHISTORY_KAFKA_BROKERS: required")
	err = run(context.Background(), []string{"projections", "rebuild", "orderhistory", "--database-url", "sqlite:" + t.TempDir() + "/oh.db",
		"--brokers", "127.0.0.1:1"}, &out, &out)
	require.ErrorContains(t, err, "AGORA_ORDERHISTORY_SCHEMA_REGISTRY_URL: required with AGORA_ORDERHISTORY_SCHEMA_REGISTRY=confluent")

	// Flags stand in for the variables.
	err = run(context.Background(), []string{"projections", "rebuild", "orderhistory", "--database-url", "sqlite:" + t.TempDir() + "/oh.db",
		"--brokers", "127.0.0.1:1", "--schema-registry", "not a url"}, &out, &out)
	require.ErrorContains(t, err, "AGORA_ORDERHISTORY_SCHEMA_REGISTRY_URL")
	require.NotContains(t, err.Error(), "DATABASE_URL")
}
