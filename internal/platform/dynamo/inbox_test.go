package dynamo_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/platform/dynamo"
	"github.com/agoracommerce/agora/internal/platform/dynamo/dynamotest"
	"github.com/agoracommerce/agora/internal/platform/inbox/inboxtest"
)

// The inbox contract suite is storage-neutral (a unit of work as a
// function), so the DynamoDB inbox runs it as it is; entries expire by TTL.
func TestInbox(t *testing.T) {
	t.Parallel()
	inboxtest.TestInbox(t, func(t *testing.T, clock *inboxtest.Clock) inboxtest.Inbox {
		client := dynamotest.Client(t)
		table := dynamotest.NewTable(t, client, "inbox")
		in, err := dynamo.NewInbox(dynamo.InboxConfig{Client: client, Table: table, Retention: time.Hour, Now: clock.Now})
		require.NoError(t, err)
		return inboxtest.Inbox{
			Process: func(ctx context.Context, group, eventID string, rollback bool) (bool, error) {
				tx := dynamo.NewTx(table)
				if err := in.Mark(tx, group, eventID); err != nil {
					return false, err
				}
				tx.Update(types.Update{
					Key:                       dynamo.Key("EFFECTS", "EFFECTS"),
					UpdateExpression:          aws.String("ADD effects :one"),
					ExpressionAttributeValues: map[string]types.AttributeValue{":one": dynamo.N(1)},
				}, nil)
				if rollback {
					return true, nil // never committed
				}
				err := tx.Commit(ctx, client)
				if errors.Is(err, dynamo.ErrDuplicate) {
					return false, nil
				}
				return err == nil, err
			},
			Seen:    in.Seen,
			Cleanup: in.Cleanup,
			Effects: func(ctx context.Context) (int, error) {
				out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: dynamo.Key("EFFECTS", "EFFECTS"), ConsistentRead: aws.Bool(true)})
				if err != nil || len(out.Item) == 0 {
					return 0, err
				}
				n, err := dynamo.GetN(out.Item, "effects")
				return int(n), err
			},
		}
	}, inboxtest.Features{SelfExpiring: true})
}

// An inbox entry carries a TTL of its retention.
func TestInboxEntryExpires(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	client := dynamotest.Client(t)
	table := dynamotest.NewTable(t, client, "inbox-ttl")
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	in, err := dynamo.NewInbox(dynamo.InboxConfig{Client: client, Table: table, Retention: 48 * time.Hour, Now: func() time.Time { return at }})
	require.NoError(t, err)
	tx := dynamo.NewTx(table)
	require.NoError(t, in.Mark(tx, "billing", "ev-1"))
	require.NoError(t, tx.Commit(ctx, client))
	items := dynamotest.Items(t, client, table, "INBOX#billing#ev-1")
	require.Len(t, items, 1)
	ttl, err := dynamo.GetN(items[0], dynamo.AttrTTL)
	require.NoError(t, err)
	require.Equal(t, at.Add(48*time.Hour).Unix(), ttl)
	require.Error(t, in.Mark(tx, "", "ev"))
}
