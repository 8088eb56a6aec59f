package dynamostore_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	notificationv1 "github.com/agoracommerce/agora/gen/proto/agora/notification/v1"
	"github.com/agoracommerce/agora/internal/notification"
	"github.com/agoracommerce/agora/internal/notification/app"
	"github.com/agoracommerce/agora/internal/notification/dynamostore"
	"github.com/agoracommerce/agora/internal/notification/notificationtest"
	"github.com/agoracommerce/agora/internal/platform/correlation"
	"github.com/agoracommerce/agora/internal/platform/dynamo"
	"github.com/agoracommerce/agora/internal/platform/dynamo/dynamotest"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/kafkatest"
)

// env is a Store over a fresh table with what it writes to.
type env struct {
	client *dynamodb.Client
	table  string
	outbox *dynamo.Outbox
	inbox  *dynamo.Inbox
	codec  *events.Codec
	store  *dynamostore.Store
}

// newEnv returns a Store over a fresh table, its outbox and its inbox.
func newEnv(t *testing.T, codec *events.Codec) *env {
	t.Helper()
	client := dynamotest.Client(t)
	table := dynamotest.NewTable(t, client, "notification")
	ob, err := dynamo.NewOutbox(dynamo.OutboxConfig{Client: client, Table: table})
	require.NoError(t, err)
	in, err := dynamo.NewInbox(dynamo.InboxConfig{Client: client, Table: table})
	require.NoError(t, err)
	st, err := dynamostore.New(client, table, ob, in, codec)
	require.NoError(t, err)
	return &env{client: client, table: table, outbox: ob, inbox: in, codec: codec, store: st}
}

// The repository contract suite on DynamoDB (moto); the SQLite and
// PostgreSQL runs are in sqlstore.
func TestRepository(t *testing.T) {
	t.Parallel()
	notificationtest.TestRepository(t, func(t *testing.T) notificationtest.Subject {
		e := newEnv(t, kafkatest.Codec(t))
		return notificationtest.Subject{Repo: e.store, Outbox: func(t *testing.T) []events.Event { return dynamotest.Pending(t, e.outbox) }}
	})
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	client := dynamotest.Client(t)
	codec := kafkatest.Codec(t)
	ob, err := dynamo.NewOutbox(dynamo.OutboxConfig{Client: client, Table: "notification"})
	require.NoError(t, err)
	in, err := dynamo.NewInbox(dynamo.InboxConfig{Client: client, Table: "notification"})
	require.NoError(t, err)
	_, err = dynamostore.New(nil, "notification", ob, in, codec)
	require.Error(t, err)
	_, err = dynamostore.New(client, "", ob, in, codec)
	require.Error(t, err)
	_, err = dynamostore.New(client, "notification", nil, in, codec)
	require.Error(t, err)
	_, err = dynamostore.New(client, "notification", ob, nil, codec)
	require.Error(t, err)
	_, err = dynamostore.New(client, "notification", ob, in, nil)
	require.Error(t, err)
	_, err = dynamostore.New(client, "other", ob, in, codec)
	require.ErrorContains(t, err, "outbox is on table", "the outbox must be on the store's table")
}

var at = time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)

func mustRecipient(t *testing.T, orderID, customerID string) notification.Recipient {
	t.Helper()
	r, err := notification.NewRecipient(orderID, customerID, customerID+"@example.com", "Ada Lovelace")
	require.NoError(t, err)
	return r
}

// mustAccept stores the message of n for r, due at due, in the flow ctx.
func mustAccept(ctx context.Context, t *testing.T, st *dynamostore.Store, r notification.Recipient, n notification.Notice, due time.Time) notification.Message {
	t.Helper()
	m, err := notification.NewMessage(n, r, due)
	require.NoError(t, err)
	out, err := st.Accept(ctx, app.EventRef{Group: "g", ID: uuid.NewString()}, &r, &m)
	require.NoError(t, err)
	require.Equal(t, app.Created, out)
	return m
}

// The events a change writes to the outbox decode, through the codec a
// consumer uses, into the MessageEvent envelope with the change's fields,
// keyed by message ID, typed in the metadata and carrying the correlation
// ID of the event the message was rendered from.
func TestEventContract(t *testing.T) {
	t.Parallel()
	e := newEnv(t, kafkatest.Codec(t))
	ctx := context.Background()
	r := mustRecipient(t, "order-1", "customer-1")
	// Messages are rendered in the flow of the consumed event; they are
	// sent later, by the dispatcher, outside of it.
	flow := correlation.WithID(ctx, "checkout-flow-1")
	sent := mustAccept(flow, t, e.store, r, notification.Notice{Kind: notification.KindOrderShipped, OrderID: "order-1",
		Carrier: "agora-sim", TrackingNumber: "AG1", OccurredAt: at}, at)
	failed := mustAccept(flow, t, e.store, r, notification.Notice{Kind: notification.KindOrderConfirmed, OrderID: "order-1", OccurredAt: at}, at)
	claimed, err := e.store.Claim(ctx, at, at.Add(time.Minute), 10)
	require.NoError(t, err)
	require.Len(t, claimed, 2)
	_, err = e.store.Update(ctx, sent.ID(), func(m *notification.Message) error { return m.MarkSent(at) })
	require.NoError(t, err)
	_, err = e.store.Update(ctx, failed.ID(), func(m *notification.Message) error { return m.Fail(at, "address refused") })
	require.NoError(t, err)

	ts := timestamppb.New(at)
	want := []struct {
		key, typ string
		env      *notificationv1.MessageEvent
	}{
		{sent.ID(), "agora.notification.v1.MessageSent", &notificationv1.MessageEvent{Event: &notificationv1.MessageEvent_MessageSent{
			MessageSent: &notificationv1.MessageSent{MessageId: sent.ID(), OrderId: "order-1", CustomerId: "customer-1",
				Kind: notificationv1.MessageKind_MESSAGE_KIND_ORDER_SHIPPED, Channel: notificationv1.Channel_CHANNEL_EMAIL, Attempts: 1,
				OccurredAt: ts}}}},
		{failed.ID(), "agora.notification.v1.MessageFailed", &notificationv1.MessageEvent{Event: &notificationv1.MessageEvent_MessageFailed{
			MessageFailed: &notificationv1.MessageFailed{MessageId: failed.ID(), OrderId: "order-1", CustomerId: "customer-1",
				Kind: notificationv1.MessageKind_MESSAGE_KIND_ORDER_CONFIRMED, Channel: notificationv1.Channel_CHANNEL_EMAIL, Attempts: 1,
				Reason: "address refused", OccurredAt: ts}}}},
	}
	evs := dynamotest.Pending(t, e.outbox)
	require.Len(t, evs, len(want))
	for i, ev := range evs {
		require.Equal(t, "notification.messages.v1", ev.Topic)
		require.Equal(t, want[i].key, ev.Key, "event %d", i)
		require.Equal(t, want[i].typ, ev.Metadata.Type, "event %d", i)
		require.Equal(t, "agora/notification", ev.Metadata.Source)
		require.Equal(t, ev.Key, ev.Metadata.Subject)
		require.Equal(t, "checkout-flow-1", ev.Metadata.CorrelationID, "the flow the message came from")
		msg, err := e.codec.Decode(ctx, ev.Value)
		require.NoError(t, err)
		if diff := cmp.Diff(want[i].env, msg, protocmp.Transform()); diff != "" {
			t.Errorf("event %d (-want +got):\n%s", i, diff)
		}
	}
}

// The items follow the key design of the package doc: a pending message
// is in both indexes, a final one only in the customer's listing; the
// inbox entry lives in the same table.
func TestKeyDesign(t *testing.T) {
	t.Parallel()
	e := newEnv(t, kafkatest.Codec(t))
	ctx := context.Background()
	r := mustRecipient(t, "order-1", "customer-1")
	m := mustAccept(ctx, t, e.store, r, notification.Notice{Kind: notification.KindOrderConfirmed, OrderID: "order-1", OccurredAt: at}, at)

	recipients := dynamotest.Items(t, e.client, e.table, "RECIPIENT#")
	require.Len(t, recipients, 1)
	require.Equal(t, "RECIPIENT#order-1", dynamo.GetS(recipients[0], dynamo.AttrPK))
	require.Equal(t, "customer-1@example.com", dynamo.GetS(recipients[0], "email"))
	require.Len(t, dynamotest.Items(t, e.client, e.table, "INBOX#g#"), 1)

	item := func() map[string]types.AttributeValue {
		t.Helper()
		items := dynamotest.Items(t, e.client, e.table, "MSG#")
		require.Len(t, items, 1)
		return items[0]
	}
	pending := item()
	require.Equal(t, "MSG#"+m.ID(), dynamo.GetS(pending, dynamo.AttrPK))
	require.Equal(t, "CUSTOMER#customer-1", dynamo.GetS(pending, dynamo.AttrGSI1PK))
	require.Equal(t, "MSG#PENDING", dynamo.GetS(pending, dynamo.AttrGSI2PK))
	require.True(t, strings.HasSuffix(dynamo.GetS(pending, dynamo.AttrGSI2SK), "#"+m.ID()))
	require.NotContains(t, pending, "sent_at", "unset times are absent")

	_, err := e.store.Update(ctx, m.ID(), func(m *notification.Message) error { return m.MarkSent(at) })
	require.NoError(t, err)
	sent := item()
	require.Equal(t, "CUSTOMER#customer-1", dynamo.GetS(sent, dynamo.AttrGSI1PK))
	require.NotContains(t, sent, dynamo.AttrGSI2PK, "a final message leaves the pending index")
	require.NotContains(t, sent, "next_attempt_at")
}

// staleIndex answers the first query of gsi2 with a page read earlier, as
// an eventually consistent index may.
type staleIndex struct {
	dynamo.API
	mu    sync.Mutex
	stale *dynamodb.QueryOutput
}

func (s *staleIndex) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	s.mu.Lock()
	page := s.stale
	if aws.ToString(in.IndexName) == dynamo.GSI2 {
		s.stale = nil
	}
	s.mu.Unlock()
	if page != nil && aws.ToString(in.IndexName) == dynamo.GSI2 {
		return page, nil
	}
	return s.API.Query(ctx, in, opts...)
}

// Index entries of messages claimed meanwhile lose their conditional
// claim and are skipped, and the claim reads on to the messages still
// due.
func TestClaimSkipsStaleIndexEntries(t *testing.T) {
	t.Parallel()
	e := newEnv(t, kafkatest.Codec(t))
	ctx := context.Background()
	r := mustRecipient(t, "order-1", "customer-1")
	var ids []string
	for i, k := range []notification.Kind{notification.KindOrderConfirmed, notification.KindOrderDelivered, notification.KindOrderCompleted} {
		n := notification.Notice{Kind: k, OrderID: "order-1", OccurredAt: at}
		m := mustAccept(ctx, t, e.store, r, n, at.Add(time.Duration(i)*time.Minute))
		ids = append(ids, m.ID())
	}
	// The index as it was before the first two were claimed.
	before, err := e.client.Query(ctx, &dynamodb.QueryInput{
		TableName: aws.String(e.table), IndexName: aws.String(dynamo.GSI2), KeyConditionExpression: aws.String("gsi2pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": dynamo.S("MSG#PENDING")}, Limit: aws.Int32(2),
	})
	require.NoError(t, err)
	require.Len(t, before.Items, 2)
	require.NotEmpty(t, before.LastEvaluatedKey)

	now := at.Add(time.Hour)
	first, err := e.store.Claim(ctx, now, now.Add(time.Minute), 2)
	require.NoError(t, err)
	require.Len(t, first, 2)

	lagging, err := dynamostore.New(&staleIndex{API: e.client, stale: before}, e.table, e.outbox, e.inbox, e.codec)
	require.NoError(t, err)
	got, err := lagging.Claim(ctx, now, now.Add(time.Minute), 2)
	require.NoError(t, err)
	require.Len(t, got, 1, "the stale entries are skipped")
	require.Equal(t, ids[2], got[0].ID())
	for _, id := range ids[:2] {
		m, err := e.store.Message(ctx, id)
		require.NoError(t, err)
		require.Equal(t, int64(2), m.Version(), "message %s claimed once", id)
		require.Equal(t, 1, m.Attempts())
	}
}
