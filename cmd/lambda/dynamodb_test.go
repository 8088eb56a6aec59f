package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	inventoryv1 "github.com/agoracommerce/agora/gen/proto/agora/inventory/v1"
	orderingv1 "github.com/agoracommerce/agora/gen/proto/agora/ordering/v1"
	inventorykafka "github.com/agoracommerce/agora/internal/inventory/kafka"
	"github.com/agoracommerce/agora/internal/platform/dynamo"
	"github.com/agoracommerce/agora/internal/platform/dynamo/dynamotest"
	"github.com/agoracommerce/agora/internal/platform/lambdahost"
	"github.com/agoracommerce/agora/internal/testenv"
)

// outboxItems returns the unit-of-work items of a table's outbox (not its
// sequence counter).
func outboxItems(t *testing.T, items []map[string]types.AttributeValue) []map[string]types.AttributeValue {
	t.Helper()
	var out []map[string]types.AttributeValue
	for _, it := range items {
		if dynamo.GetS(it, dynamo.AttrPK) != "OUTBOX#SEQ" {
			out = append(out, it)
		}
	}
	return out
}

// stockEvents reads the n records of inventory.stock.v1 and counts them
// by event type (records of different SKUs and orders are on different
// partitions, so there is no order between them).
func stockEvents(ctx context.Context, t *testing.T, f *fixture, n int) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for _, rec := range f.bus.Read(t, "inventory.stock.v1", n) {
		ev, err := f.bus.Codec.Decode(ctx, rec.Value)
		require.NoError(t, err)
		se, ok := ev.(*inventoryv1.StockEvent)
		require.True(t, ok, "%T", ev)
		counts[string(se.ProtoReflect().WhichOneof(se.ProtoReflect().Descriptor().Oneofs().Get(0)).Message().Name())]++
	}
	return counts
}

// The inventory as AWS runs it: DATABASE_URL dynamodb://<table> selects
// the DynamoDB store, outbox, inbox and idempotency keys (on moto), and
// each function kind works on it — an API request whose event is relayed
// from the DynamoDB outbox before the invocation returns, an MSK batch
// that reserves stock, a scheduled round of the expiry job, and, with the
// outbox left to the table's stream, the streams function publishing an
// outbox item from its stream record.
func TestInventoryFunctionsOnDynamoDB(t *testing.T) {
	emu := testenv.AWSEmulator(t)
	t.Setenv("AWS_ACCESS_KEY_ID", emu.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", emu.SecretKey)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	f := newFixture(t)
	client := dynamotest.Client(t)
	table := dynamotest.NewTable(t, client, "inventory-fn")
	env := map[string]string{}
	for k, v := range f.env {
		env[k] = v
	}
	env["AGORA_INVENTORY_DATABASE_URL"] = "dynamodb://" + table
	env["AGORA_INVENTORY_AWS_REGION"] = emu.Region
	env["AGORA_INVENTORY_AWS_ENDPOINT"] = emu.Endpoint

	// http: the receipt lands in the table, its event on Kafka.
	web := newApp(t, env, kindHTTP)
	require.NotNil(t, web.Infra.Dynamo)
	require.Nil(t, web.Infra.DB)
	resp, err := web.Handler().(lambdahost.HTTPHandler)(ctx, f.receipt(t))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, resp.Body)
	require.Len(t, dynamotest.Items(t, client, table, "STOCK#SKU-LAMBDA-1"), 1)
	require.Len(t, dynamotest.Items(t, client, table, "IDEMPOTENCY#"), 1, "the Idempotency-Key is kept in the service's table")
	require.EqualValues(t, 1, f.bus.Records(t, "inventory.stock.v1"))
	require.Empty(t, outboxItems(t, dynamotest.Items(t, client, table, "OUTBOX#")), "relayed and deleted before the invocation returned")

	// The same request again replays the stored answer: no second receipt.
	resp, err = web.Handler().(lambdahost.HTTPHandler)(ctx, f.receipt(t))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, resp.Body)
	require.EqualValues(t, 1, f.bus.Records(t, "inventory.stock.v1"))

	// kafka: an OrderPlaced reserves stock, conditionally on DynamoDB.
	placed, err := f.bus.Codec.NewEvent(ctx, inventorykafka.OrdersTopic, "agora/ordering", "order-d1",
		&orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderPlaced{OrderPlaced: &orderingv1.OrderPlaced{
			OrderId: "order-d1", CustomerId: "cust-1", CartId: "0190f5a8-3c4e-7b1a-9d2e-5f6a7b8c9d0f",
			Lines:    []*orderingv1.OrderLine{{Sku: "SKU-LAMBDA-1", Quantity: 2}},
			PlacedAt: timestamppb.Now(), ReservationExpiresAt: timestamppb.New(time.Now().Add(time.Second)),
		}}}, time.Now())
	require.NoError(t, err)
	r := placed.Record()
	rec := events.KafkaRecord{Topic: inventorykafka.OrdersTopic, Partition: 0, Offset: 7, Timestamp: events.MilliSecondsEpochTime{Time: time.Now()},
		TimestampType: "CREATE_TIME", Key: b64(r.Key), Value: b64(r.Value)}
	for _, h := range r.Headers {
		rec.Headers = append(rec.Headers, map[string]events.JSONNumberBytes{h.Key: h.Value})
	}
	batch := events.KafkaEvent{EventSource: "aws:kafka", Records: map[string][]events.KafkaRecord{inventorykafka.OrdersTopic + "-0": {rec}}}
	payload, err := json.Marshal(batch)
	require.NoError(t, err)
	_, err = lambda.NewHandler(newApp(t, env, kindKafka).Handler()).Invoke(ctx, payload)
	require.NoError(t, err)
	require.Len(t, dynamotest.Items(t, client, table, "RES#order-d1"), 1)
	require.Equal(t, map[string]int{"StockReceived": 1, "StockReserved": 1}, stockEvents(ctx, t, f, 2))

	// jobs: once the reservation's second is over, a scheduled round
	// expires it and its StockReleased goes out.
	jobs := lambda.NewHandler(newApp(t, env, kindJobs).Handler())
	require.Eventually(t, func() bool {
		out, err := jobs.Invoke(ctx, []byte(`{"jobs":["reservation-expiry"]}`))
		require.NoError(t, err)
		var report lambdahost.JobsReport
		require.NoError(t, json.Unmarshal(out, &report))
		require.Equal(t, []string{"reservation-expiry"}, report.Ran)
		return f.bus.Records(t, "inventory.stock.v1") == 3
	}, 20*time.Second, 250*time.Millisecond)
	require.Equal(t, map[string]int{"StockReceived": 1, "StockReserved": 1, "StockReleased": 1}, stockEvents(ctx, t, f, 3))
	_, err = jobs.Invoke(ctx, []byte(`{"jobs":["cart-expiry"]}`))
	require.ErrorContains(t, err, "unknown job")

	// streams: with the outbox left to the table's stream, the http
	// function publishes nothing itself; its outbox item expires by TTL
	// and the streams function publishes it from the stream record.
	env[envOutbox] = "off"
	env["AGORA_INVENTORY_OUTBOX_EXPIRE_AFTER"] = "72h"
	req := f.receipt(t)
	req.Headers["idempotency-key"] = "receipt-dynamodb-2"
	resp, err = newApp(t, env, kindHTTP).Handler().(lambdahost.HTTPHandler)(ctx, req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, resp.Body)
	require.EqualValues(t, 3, f.bus.Records(t, "inventory.stock.v1"))
	items := outboxItems(t, dynamotest.Items(t, client, table, "OUTBOX#"))
	require.Len(t, items, 1)
	require.Contains(t, items[0], dynamo.AttrTTL)
	stream := events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{{EventName: "INSERT", EventSource: "aws:dynamodb", Change: events.DynamoDBStreamRecord{
		SequenceNumber: "500",
		Keys:           dynamotest.StreamImage(t, map[string]types.AttributeValue{dynamo.AttrPK: items[0][dynamo.AttrPK], dynamo.AttrSK: items[0][dynamo.AttrSK]}),
		NewImage:       dynamotest.StreamImage(t, items[0]),
	}}}}
	delete(env, "AGORA_INVENTORY_OUTBOX_EXPIRE_AFTER")
	streams := newApp(t, env, kindStreams).Handler().(lambdahost.StreamsHandler)
	sresp, err := streams(ctx, stream)
	require.NoError(t, err)
	require.Empty(t, sresp.BatchItemFailures)
	require.Equal(t, map[string]int{"StockReceived": 2, "StockReserved": 1, "StockReleased": 1}, stockEvents(ctx, t, f, 4))
}

// The relational services refuse a DynamoDB store, naming the variable.
func TestRelationalServicesRefuseDynamoDB(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, svc := range []string{"ordering", "payment"} {
		env := f.world.Env(t, svc)
		env[envService] = svc
		env[envHandler] = kindHTTP
		prefix := "AGORA_" + map[string]string{"ordering": "ORDERING", "payment": "PAYMENT"}[svc]
		env[prefix+"_METRICS_EXPORTER"] = "none"
		env[prefix+"_DATABASE_URL"] = "dynamodb://agora-" + svc
		env[prefix+"_AWS_REGION"] = "eu-west-1"
		env[prefix+"_AWS_ENDPOINT"] = "http://127.0.0.1:1" // never reached
		env[prefix+"_CART_URL"] = "http://127.0.0.1:1"
		_, err := New(context.Background(), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		require.Error(t, err, svc)
		require.Contains(t, err.Error(), prefix+"_DATABASE_URL", svc)
	}
}

// A service without periodic jobs has no jobs function.
func TestJobsFunctionNeedsJobs(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	env := f.world.Env(t, "catalog")
	env[envService] = "catalog"
	env[envHandler] = kindJobs
	env["AGORA_CATALOG_METRICS_EXPORTER"] = "none"
	_, err := New(context.Background(), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	require.ErrorContains(t, err, "AGORA_LAMBDA_HANDLER: the catalog service has no periodic job")
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
