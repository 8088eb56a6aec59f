package dynamostore_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/platform/dynamo"
	"github.com/agoracommerce/agora/internal/platform/dynamo/dynamotest"
	"github.com/agoracommerce/agora/internal/platform/fault"
	"github.com/agoracommerce/agora/internal/platform/idempotency"
	"github.com/agoracommerce/agora/internal/platform/idempotency/dynamostore"
	"github.com/agoracommerce/agora/internal/platform/idempotency/idempotencytest"
)

// mustStore returns a store over a fresh table of its own, the client and
// the table's name.
func mustStore(t *testing.T, cfg dynamostore.Config) (*dynamostore.Store, *dynamodb.Client, string) {
	t.Helper()
	client := dynamotest.Client(t)
	table := dynamotest.NewTable(t, client, "idem")
	s, err := dynamostore.New(client, table, cfg)
	require.NoError(t, err)
	return s, client, table
}

// Records expire by the caller's clock and DynamoDB's TTL deletes them, so
// Purge has nothing to do, as with Redis.
func TestDynamoStore(t *testing.T) {
	t.Parallel()
	idempotencytest.TestStore(t, func(t *testing.T) idempotency.Store {
		s, _, _ := mustStore(t, dynamostore.Config{})
		return s
	}, idempotencytest.Features{SelfExpiring: true})
}

// A record is one item under its own key, with a TTL that DynamoDB never
// reaches before the record expired.
func TestItemLayout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, client, table := mustStore(t, dynamostore.Config{})
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	claimExp := now.Add(time.Minute + 250*time.Millisecond)
	_, ok, err := s.Claim(ctx, "abc", idempotency.Claim{Token: "tok", Fingerprint: "fp", Now: now, ExpiresAt: claimExp})
	require.NoError(t, err)
	require.True(t, ok)

	items := dynamotest.Items(t, client, table, dynamostore.PKPrefix)
	require.Len(t, items, 1)
	it := items[0]
	require.Equal(t, "IDEMPOTENCY#abc", dynamo.GetS(it, dynamo.AttrPK))
	require.Equal(t, "IDEMPOTENCY", dynamo.GetS(it, dynamo.AttrSK))
	ttl, err := dynamo.GetN(it, dynamo.AttrTTL)
	require.NoError(t, err)
	require.Equal(t, claimExp.Unix()+1, ttl, "rounded up to the next second")
	require.NotContains(t, it, "body")
	require.NotContains(t, it, "header")

	done := now.Add(24 * time.Hour)
	resp := idempotency.Response{Status: 201, Header: http.Header{"Location": {"/v1/x/1"}}, Body: []byte(`{}`)}
	require.NoError(t, s.Complete(ctx, "abc", "tok", resp, done))
	items = dynamotest.Items(t, client, table, dynamostore.PKPrefix)
	require.Len(t, items, 1)
	ttl, err = dynamo.GetN(items[0], dynamo.AttrTTL)
	require.NoError(t, err)
	require.Equal(t, done.Unix(), ttl, "a whole second stays as it is")
	require.Empty(t, dynamo.GetS(items[0], dynamo.AttrGSI1PK), "no index entries")

	rec, ok, err := s.Claim(ctx, "abc", idempotency.Claim{Token: "other", Fingerprint: "fp", Now: now, ExpiresAt: now.Add(time.Minute)})
	require.NoError(t, err)
	require.False(t, ok)
	require.Equal(t, "tok", rec.Token)
	require.True(t, done.Equal(rec.ExpiresAt), "microsecond precision: %s", rec.ExpiresAt)
	if d := cmp.Diff(resp, *rec.Response); d != "" {
		t.Fatalf("response (-want +got):\n%s", d)
	}
}

// spyAPI counts reads; with strip it hides the record DynamoDB returns
// with a refused put, as an emulator that does not support
// ReturnValuesOnConditionCheckFailure would.
type spyAPI struct {
	dynamo.API
	strip bool
	gets  int
}

func (n *spyAPI) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	out, err := n.API.PutItem(ctx, in, opts...)
	var ccf *types.ConditionalCheckFailedException
	if n.strip && errors.As(err, &ccf) {
		ccf.Item = nil
	}
	return out, err
}

func (n *spyAPI) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	n.gets++
	return n.API.GetItem(ctx, in, opts...)
}

// A refused claim takes the live record from the refusal, in one request;
// when the refusal lacks it, the claim reads the record.
func TestRefusedClaimReturnsRecord(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		strip    bool
		wantGets int
	}{
		{"from the refusal", false, 0},
		{"read after the refusal", true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			client := dynamotest.Client(t)
			table := dynamotest.NewTable(t, client, "idem-refused")
			api := &spyAPI{API: client, strip: tc.strip}
			s, err := dynamostore.New(api, table, dynamostore.Config{})
			require.NoError(t, err)
			now := time.Now()
			_, ok, err := s.Claim(ctx, "k", idempotency.Claim{Token: "t1", Fingerprint: "fp-1", Now: now, ExpiresAt: now.Add(time.Minute)})
			require.NoError(t, err)
			require.True(t, ok)
			rec, ok, err := s.Claim(ctx, "k", idempotency.Claim{Token: "t2", Fingerprint: "fp-2", Now: now, ExpiresAt: now.Add(time.Minute)})
			require.NoError(t, err)
			require.False(t, ok)
			require.Equal(t, "t1", rec.Token)
			require.Equal(t, "fp-1", rec.Fingerprint)
			require.Equal(t, tc.wantGets, api.gets)
		})
	}
}

// A response too large for an item is not stored and frees its key.
func TestResponseTooLarge(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _, _ := mustStore(t, dynamostore.Config{MaxResponseBytes: 100})
	now := time.Now()
	c := idempotency.Claim{Token: "t1", Fingerprint: "fp", Now: now, ExpiresAt: now.Add(time.Minute)}
	_, ok, err := s.Claim(ctx, "big", c)
	require.NoError(t, err)
	require.True(t, ok)

	big := idempotency.Response{Status: 200, Body: []byte(strings.Repeat("x", 80)), Header: http.Header{"Content-Type": {"application/json"}}}
	err = s.Complete(ctx, "big", "someone-else", big, now.Add(time.Hour))
	require.ErrorIs(t, err, idempotency.ErrNotOwner, "only the owner may even release")

	err = s.Complete(ctx, "big", c.Token, big, now.Add(time.Hour))
	require.ErrorIs(t, err, dynamostore.ErrResponseTooLarge)
	require.True(t, fault.IsPermanent(err))
	_, ok, err = s.Claim(ctx, "big", idempotency.Claim{Token: "t2", Fingerprint: "fp", Now: now, ExpiresAt: now.Add(time.Minute)})
	require.NoError(t, err)
	require.True(t, ok, "the key was released")

	small := idempotency.Response{Status: 200, Body: []byte(strings.Repeat("x", 60)), Header: http.Header{"Content-Type": {"application/json"}}}
	require.NoError(t, s.Complete(ctx, "big", "t2", small, now.Add(time.Hour)))
}

// Errors say whether a retry may help.
func TestErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, client, table := mustStore(t, dynamostore.Config{})
	now := time.Now()
	claim := idempotency.Claim{Token: "t", Fingerprint: "fp", Now: now, ExpiresAt: now.Add(time.Minute)}

	t.Run("malformed record", func(t *testing.T) {
		item := dynamo.Key(dynamostore.PKPrefix+"bad", dynamostore.SK)
		item["state"] = dynamo.N(7)
		item["expires_at"] = dynamo.N(now.Add(time.Hour).UnixMicro())
		_, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: item})
		require.NoError(t, err)
		_, _, err = s.Claim(ctx, "bad", claim)
		require.ErrorContains(t, err, "unknown state 7")
		require.True(t, fault.IsPermanent(err))
	})
	t.Run("missing table", func(t *testing.T) {
		gone, err := dynamostore.New(client, table+"-missing", dynamostore.Config{})
		require.NoError(t, err)
		_, _, err = gone.Claim(ctx, "k", claim)
		require.Error(t, err)
		require.True(t, fault.IsPermanent(err))
		err = gone.Release(ctx, "k", "t")
		require.Error(t, err)
		require.NotErrorIs(t, err, idempotency.ErrNotOwner)
	})
	t.Run("cancelled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, _, err := s.Claim(cctx, "k", claim)
		require.ErrorIs(t, err, context.Canceled)
		require.False(t, fault.IsRetryable(err))
	})
}

func TestNewRejectsBadInput(t *testing.T) {
	t.Parallel()
	client := &dynamodb.Client{}
	for name, tc := range map[string]struct {
		client dynamo.API
		table  string
		cfg    dynamostore.Config
		want   string
	}{
		"no client":         {nil, "t", dynamostore.Config{}, "client"},
		"no table":          {client, "", dynamostore.Config{}, "table"},
		"negative limit":    {client, "t", dynamostore.Config{MaxResponseBytes: -1}, "MaxResponseBytes"},
		"limit over 380KiB": {client, "t", dynamostore.Config{MaxResponseBytes: dynamostore.MaxResponseBytes + 1}, "MaxResponseBytes"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := dynamostore.New(tc.client, tc.table, tc.cfg)
			require.ErrorContains(t, err, tc.want)
		})
	}
	_, err := dynamostore.New(client, "t", dynamostore.Config{MaxResponseBytes: dynamostore.MaxResponseBytes})
	require.NoError(t, err)
}
