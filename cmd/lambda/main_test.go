package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	inventoryv1 "github.com/agoracommerce/agora/gen/proto/agora/inventory/v1"
	orderingv1 "github.com/agoracommerce/agora/gen/proto/agora/ordering/v1"
	"github.com/agoracommerce/agora/internal/catalog/rediscache"
	inventorykafka "github.com/agoracommerce/agora/internal/inventory/kafka"
	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/auth/devissuer"
	"github.com/agoracommerce/agora/internal/platform/consumer"
	"github.com/agoracommerce/agora/internal/platform/kafkatest"
	"github.com/agoracommerce/agora/internal/platform/lambdahost"
	"github.com/agoracommerce/agora/internal/services/servicestest"
	"github.com/agoracommerce/agora/internal/testenv"
)

// fixture is an inventory function's world: an embedded broker, a
// registry, the development issuer and the AGORA_INVENTORY_* variables of
// a SQLite database, as the services' own tests use.
type fixture struct {
	world  *servicestest.World
	bus    *kafkatest.Bus
	issuer *devissuer.Issuer
	env    map[string]string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	w := servicestest.NewWorld(t)
	env := w.Env(t, "inventory")
	env["AGORA_SERVICE"] = "inventory"
	env["AGORA_INVENTORY_METRICS_EXPORTER"] = "none"
	env["AGORA_INVENTORY_RELAY_MAX_POLL"] = "10ms"
	env["AGORA_INVENTORY_HTTP_ADDR"] = ":8080" // never listened on
	return &fixture{world: w, bus: w.Bus, issuer: w.Issuer, env: env}
}

// app builds the function for one handler kind, as a cold start does.
func (f *fixture) app(t *testing.T, kind string) *App {
	t.Helper()
	return newApp(t, f.env, kind)
}

// newApp builds the function env describes for one handler kind.
func newApp(t *testing.T, env map[string]string, kind string) *App {
	t.Helper()
	vars := map[string]string{envHandler: kind}
	for k, v := range env {
		vars[k] = v
	}
	app, err := New(context.Background(), func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, app.Close(context.Background())) })
	return app
}

// receipt is the API Gateway request of a stock receipt (testdata), with
// an operator's token.
func (f *fixture) receipt(t *testing.T) events.APIGatewayV2HTTPRequest {
	t.Helper()
	token, err := f.issuer.Mint("ops-1", auth.AdminScopes(), time.Minute)
	require.NoError(t, err)
	var req events.APIGatewayV2HTTPRequest
	require.NoError(t, json.Unmarshal(mustRead(t, "apigw-v2-receipt.json"), &req))
	req.Headers["authorization"] = "Bearer " + token
	return req
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return data
}

// The http function answers an API Gateway request with the service's own
// router (token verified by the service, problem+json, idempotency), and
// its events leave through the outbox before the invocation returns.
func TestHTTPFunction(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	app := f.app(t, kindHTTP)

	req := f.receipt(t)
	payload, err := json.Marshal(req)
	require.NoError(t, err)

	// Through the runtime's own JSON handling, as Lambda invokes it.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := lambda.NewHandler(app.Handler()).Invoke(ctx, payload)
	require.NoError(t, err)
	var resp events.APIGatewayV2HTTPResponse
	require.NoError(t, json.Unmarshal(out, &resp))
	require.Equal(t, http.StatusOK, resp.StatusCode, resp.Body)
	require.Equal(t, "application/json", resp.Headers["Content-Type"])
	require.NotEmpty(t, resp.Headers["X-Correlation-Id"])

	// The event is on Kafka already: the invocation relayed its outbox.
	require.EqualValues(t, 1, f.bus.Records(t, "inventory.stock.v1"))
	rec := f.bus.Read(t, "inventory.stock.v1", 1)[0]
	ev, err := f.bus.Codec.Decode(ctx, rec.Value)
	require.NoError(t, err)
	require.NotNil(t, ev.(*inventoryv1.StockEvent).GetStockReceived())

	// The service verifies the bearer token itself, whatever the
	// authorizer's claims say.
	req.Headers["authorization"] = "Bearer forged"
	req.Headers["idempotency-key"] = "receipt-lambda-2"
	resp, err = app.Handler().(lambdahost.HTTPHandler)(ctx, req)
	require.NoError(t, err)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, resp.Body)
	require.Equal(t, "application/problem+json", resp.Headers["Content-Type"])

	// Health endpoints work through the same router.
	resp, err = app.Handler().(lambdahost.HTTPHandler)(ctx, events.APIGatewayV2HTTPRequest{RawPath: "/readyz",
		RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: http.MethodGet}}})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, resp.Body)
}

// The kafka function runs an MSK batch through the consumer's handler
// chain: the AWS sample record (no event metadata) is dead-lettered, the
// OrderPlaced reserves stock and its StockReserved leaves through the
// outbox; the same batch again changes nothing (the inbox dedupes).
func TestKafkaFunction(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// Stock to reserve, received through the http function.
	web := f.app(t, kindHTTP)
	resp, err := web.Handler().(lambdahost.HTTPHandler)(ctx, f.receipt(t))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, resp.Body)

	app := f.app(t, kindKafka)
	var batch events.KafkaEvent
	require.NoError(t, json.Unmarshal(mustRead(t, "msk-orders.json"), &batch))
	placed, err := f.bus.Codec.NewEvent(ctx, inventorykafka.OrdersTopic, "agora/ordering", "order-l1",
		&orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderPlaced{OrderPlaced: &orderingv1.OrderPlaced{
			OrderId: "order-l1", CustomerId: "cust-1", CartId: "0190f5a8-3c4e-7b1a-9d2e-5f6a7b8c9d0e",
			Lines:    []*orderingv1.OrderLine{{Sku: "SKU-LAMBDA-1", Quantity: 2}},
			PlacedAt: timestamppb.Now(), ReservationExpiresAt: timestamppb.New(time.Now().Add(time.Hour)),
		}}}, time.Now())
	require.NoError(t, err)
	r := placed.Record()
	msk := &batch.Records["ordering.orders.v1-0"][1]
	msk.Key = base64.StdEncoding.EncodeToString(r.Key)
	msk.Value = base64.StdEncoding.EncodeToString(r.Value)
	for _, h := range r.Headers {
		msk.Headers = append(msk.Headers, map[string]events.JSONNumberBytes{h.Key: h.Value})
	}
	payload, err := json.Marshal(batch)
	require.NoError(t, err)

	handler := lambda.NewHandler(app.Handler())
	_, err = handler.Invoke(ctx, payload)
	require.NoError(t, err)

	dead := f.bus.Read(t, inventorykafka.OrdersGroup+".dlq", 1)[0]
	require.Equal(t, consumer.ReasonInvalidMetadata, kafkatest.Headers(dead)[consumer.HeaderDLQReason])
	require.Equal(t, "15", kafkatest.Headers(dead)[consumer.HeaderDLQOffset])
	require.Equal(t, "Hello, this is a test.", string(dead.Value))

	require.Equal(t, map[string]int{"StockReceived": 1, "StockReserved": 1}, stockEvents(ctx, t, f, 2))

	// The event source mapping delivers the batch again: nothing new.
	_, err = handler.Invoke(ctx, payload)
	require.NoError(t, err)
	require.EqualValues(t, 2, f.bus.Records(t, "inventory.stock.v1"))
	require.EqualValues(t, 2, f.bus.Records(t, inventorykafka.OrdersGroup+".dlq"), "the poison record is dead-lettered again, with its offset")
}

// The streams function relays the outbox table's stream: a record that is
// not a valid outbox item is reported as a batch item failure, so the
// stream is retried from it (and, past the retries, goes to the mapping's
// on-failure destination); nothing is produced.
func TestStreamsFunction(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	app := f.app(t, kindStreams)
	out, err := lambda.NewHandler(app.Handler()).Invoke(context.Background(), mustRead(t, "dynamodb-streams-event.json"))
	require.NoError(t, err)
	var resp events.DynamoDBEventResponse
	require.NoError(t, json.Unmarshal(out, &resp))
	require.Equal(t, []events.DynamoDBBatchItemFailure{{ItemIdentifier: "4421584500000000017450439091"}}, resp.BatchItemFailures)

	// A record of another item (not the outbox) is none of the relay's
	// business.
	var ev events.DynamoDBEvent
	require.NoError(t, json.Unmarshal(mustRead(t, "dynamodb-streams-event.json"), &ev))
	ev.Records[0].Change.Keys["pk"] = events.NewStringAttribute("STOCK#SKU-1")
	resp, err = app.Handler().(lambdahost.StreamsHandler)(context.Background(), ev)
	require.NoError(t, err)
	require.Empty(t, resp.BatchItemFailures)
}

func TestNewRejectsBadSettings(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for name, tc := range map[string]struct {
		env  map[string]string
		want string
	}{
		"unknown service":  {map[string]string{envService: "warehouse", envHandler: "http"}, `AGORA_SERVICE: "warehouse" is not a service`},
		"unknown handler":  {map[string]string{envHandler: "sqs"}, `AGORA_LAMBDA_HANDLER: "sqs" is not one of http, kafka, streams, jobs`},
		"bad outbox mode":  {map[string]string{envHandler: "http", envOutbox: "later"}, `AGORA_LAMBDA_OUTBOX: "later"`},
		"missing database": {map[string]string{envHandler: "http", "AGORA_INVENTORY_DATABASE_URL": ""}, "AGORA_INVENTORY_DATABASE_URL"},
		"no consumer":      {map[string]string{envService: "catalog", envHandler: "kafka"}, "AGORA_CATALOG_"},
	} {
		t.Run(name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range f.env {
				env[k] = v
			}
			for k, v := range tc.env {
				env[k] = v
			}
			_, err := New(context.Background(), func(k string) (string, bool) { v, ok := env[k]; return v, ok && v != "" })
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// A function gets its service exactly as agora serve wires it, with the
// adapters the configuration selects: the catalog reads its products
// through the Redis cache, and the notification service sends through SES.
func TestFunctionsGetTheServiceWiring(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	redisAddr := testenv.RedisAddr(t)

	env := f.world.Env(t, "catalog")
	env[envService] = "catalog"
	env["AGORA_CATALOG_METRICS_EXPORTER"] = "none"
	env["AGORA_CATALOG_PRODUCT_CACHE"] = "redis"
	env["AGORA_CATALOG_REDIS_ADDR"] = redisAddr
	catalog := newApp(t, env, kindHTTP).Handler().(lambdahost.HTTPHandler)
	admin, err := f.issuer.Mint("admin-1", auth.AdminScopes(), time.Minute)
	require.NoError(t, err)
	invoke := func(method, path, body string, want int) map[string]any {
		resp, err := catalog(ctx, events.APIGatewayV2HTTPRequest{RawPath: path, Body: body,
			Headers:        map[string]string{"authorization": "Bearer " + admin, "content-type": "application/json"},
			RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path}}})
		require.NoError(t, err)
		require.Equal(t, want, resp.StatusCode, resp.Body)
		var out map[string]any
		require.NoError(t, json.Unmarshal([]byte(resp.Body), &out))
		return out
	}
	category := invoke(http.MethodPost, "/v1/categories", `{"slug":"lamps","name":"Lamps"}`, http.StatusCreated)
	product := invoke(http.MethodPost, "/v1/products", `{"sku":"LAMP-L1","name":"Lamp","price":{"amount_minor":4999,"currency":"EUR"},`+
		`"category_id":"`+category["id"].(string)+`","status":"active"}`, http.StatusCreated)
	id := product["id"].(string)
	require.Equal(t, "LAMP-L1", invoke(http.MethodGet, "/v1/products/"+id, "", http.StatusOK)["sku"])
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	t.Cleanup(func() { _ = rdb.Close() })
	require.EqualValues(t, 1, rdb.Exists(ctx, rediscache.DefaultPrefix+id).Val(), "the product read went through the cache")

	env = f.world.Env(t, "notification")
	env[envService] = "notification"
	env["AGORA_NOTIFICATION_METRICS_EXPORTER"] = "none"
	env["AGORA_NOTIFICATION_EMAIL_SENDER"] = "ses"
	env["AGORA_NOTIFICATION_AWS_REGION"] = "eu-west-1"
	env[envHandler] = kindKafka
	_, err = New(ctx, servicestest.Lookup(env))
	require.ErrorContains(t, err, "AGORA_NOTIFICATION_SES_FROM is required with AGORA_NOTIFICATION_EMAIL_SENDER=ses")
	env["AGORA_NOTIFICATION_SES_FROM"] = "Agora <orders@shop.example>"
	require.NotNil(t, newApp(t, env, kindKafka).Handler())
}
