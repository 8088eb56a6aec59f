// Package dynamotest runs Agora's DynamoDB adapters against the test
// environment's AWS emulator (moto): a client, a fresh table per test with
// the shared layout (deleted when the test ends), the pending events of an
// outbox, and stream records built from stored items for StreamRelay.
//
// moto serves requests on many threads without isolating them: a
// transaction snapshots the whole table and restores the snapshot when it
// is cancelled, wiping out writes other threads made meanwhile, and
// conditional writes check and write in separate steps. DynamoDB itself
// applies every request atomically. Client therefore sends one request at a
// time to the emulator (requests of concurrent goroutines still interleave
// freely between each other), which gives the suites DynamoDB's
// per-request atomicity to test the adapters' concurrency against.
package dynamotest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/platform/dynamo"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/testenv"
)

// serial sends one request at a time per emulator endpoint.
var (
	serialMu sync.Mutex
	serial   = map[string]*sync.Mutex{}
)

// lockOf returns the lock of the emulator at endpoint.
func lockOf(endpoint string) *sync.Mutex {
	serialMu.Lock()
	defer serialMu.Unlock()
	mu := serial[endpoint]
	if mu == nil {
		mu = &sync.Mutex{}
		serial[endpoint] = mu
	}
	return mu
}

type serialTransport struct {
	mu   *sync.Mutex
	next http.RoundTripper
}

func (s serialTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	resp, err := s.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	// Read the body under the lock too: the emulator answers as it goes.
	if resp.Body != nil {
		body, err := readAll(resp)
		if err != nil {
			return nil, err
		}
		resp.Body = body
	}
	return resp, nil
}

// AWSConfig returns the emulator's AWS config with the serializing
// transport.
func AWSConfig(tb testing.TB) aws.Config {
	tb.Helper()
	emu := testenv.AWSEmulator(tb)
	cfg, err := emu.Config(context.Background())
	require.NoError(tb, err)
	mu := lockOf(emu.Endpoint)
	cfg.HTTPClient = &http.Client{Transport: serialTransport{mu: mu, next: http.DefaultTransport}}
	return cfg
}

// Client returns a DynamoDB client of the emulator. Each call returns a
// client of its own (its own connections), as another process would have.
func Client(tb testing.TB) *dynamodb.Client {
	tb.Helper()
	return dynamodb.NewFromConfig(AWSConfig(tb))
}

// NewTable creates a table with the shared layout under a unique name and
// deletes it when the test ends.
func NewTable(tb testing.TB, client *dynamodb.Client, prefix string) string {
	tb.Helper()
	b := make([]byte, 6)
	_, err := rand.Read(b)
	require.NoError(tb, err)
	name := prefix + "-" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(tb, dynamo.CreateTable(ctx, client, name))
	tb.Cleanup(func() {
		_, err := client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
		require.NoError(tb, err)
	})
	return name
}

// Pending lists the unpublished events of a DynamoDB outbox, oldest first;
// services' repository suites use it to see what a change wrote. It leases
// the items to a test owner for an hour.
func Pending(tb testing.TB, ob *dynamo.Outbox) []events.Event {
	tb.Helper()
	rows, err := ob.Claim(context.Background(), "dynamotest-pending", 100_000, time.Hour)
	require.NoError(tb, err)
	out := make([]events.Event, len(rows))
	for i, r := range rows {
		out[i] = r.Event
	}
	return out
}

// Items returns every item of table whose pk starts with prefix (a scan;
// tests only).
func Items(tb testing.TB, client *dynamodb.Client, table, prefix string) []map[string]types.AttributeValue {
	tb.Helper()
	var (
		out   []map[string]types.AttributeValue
		start map[string]types.AttributeValue
	)
	for {
		res, err := client.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true), ExclusiveStartKey: start})
		require.NoError(tb, err)
		for _, it := range res.Items {
			if strings.HasPrefix(dynamo.GetS(it, dynamo.AttrPK), prefix) {
				out = append(out, it)
			}
		}
		if start = res.LastEvaluatedKey; len(start) == 0 {
			return out
		}
	}
}

// StreamImage converts an item to a stream record image.
func StreamImage(tb testing.TB, item map[string]types.AttributeValue) map[string]lambdaevents.DynamoDBAttributeValue {
	tb.Helper()
	out := make(map[string]lambdaevents.DynamoDBAttributeValue, len(item))
	for k, v := range item {
		out[k] = streamValue(tb, v)
	}
	return out
}

func streamValue(tb testing.TB, v types.AttributeValue) lambdaevents.DynamoDBAttributeValue {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return lambdaevents.NewStringAttribute(v.Value)
	case *types.AttributeValueMemberN:
		return lambdaevents.NewNumberAttribute(v.Value)
	case *types.AttributeValueMemberB:
		return lambdaevents.NewBinaryAttribute(v.Value)
	case *types.AttributeValueMemberBOOL:
		return lambdaevents.NewBooleanAttribute(v.Value)
	case *types.AttributeValueMemberNS:
		return lambdaevents.NewNumberSetAttribute(v.Value)
	case *types.AttributeValueMemberSS:
		return lambdaevents.NewStringSetAttribute(v.Value)
	case *types.AttributeValueMemberL:
		list := make([]lambdaevents.DynamoDBAttributeValue, len(v.Value))
		for i, e := range v.Value {
			list[i] = streamValue(tb, e)
		}
		return lambdaevents.NewListAttribute(list)
	case *types.AttributeValueMemberM:
		return lambdaevents.NewMapAttribute(StreamImage(tb, v.Value))
	case *types.AttributeValueMemberNULL:
		return lambdaevents.NewNullAttribute()
	}
	tb.Fatalf("dynamotest: attribute type %T", v)
	return lambdaevents.DynamoDBAttributeValue{}
}

// SerialEndpoint returns the URL of a proxy in front of the emulator that
// passes one request at a time, sharing the lock of Client's transport:
// for code configured with an endpoint URL rather than a client, such as
// a whole service process (AWS_ENDPOINT). The proxy stops when the test
// ends.
func SerialEndpoint(tb testing.TB) string {
	tb.Helper()
	emu := testenv.AWSEmulator(tb)
	target, err := url.Parse(emu.Endpoint)
	require.NoError(tb, err)
	mu := lockOf(emu.Endpoint)
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	tb.Cleanup(srv.Close)
	return srv.URL
}
