package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/agoracommerce/agora/internal/platform/fault"
)

// ErrDuplicate: the consumer group already processed the event; the
// transaction that would have applied its effect again was cancelled.
// Permanent: the caller skips the event.
var ErrDuplicate = errors.New("dynamo: event already processed")

// DefaultInboxRetention is how long inbox entries are kept by default.
const DefaultInboxRetention = 7 * 24 * time.Hour

// InboxConfig configures an Inbox.
type InboxConfig struct {
	Client API    // required
	Table  string // required: the service's table
	// Retention is how long an entry is kept before DynamoDB's TTL may
	// delete it (default DefaultInboxRetention). Keep it longer than any
	// redelivery window (topic retention, DLQ redrive).
	Retention time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Inbox dedupes a service's consumers on DynamoDB: Mark adds the event's
// entry to the transaction of its effect, conditional on its absence.
// Safe for concurrent use.
type Inbox struct {
	api       API
	table     string
	retention time.Duration
	now       func() time.Time
}

// NewInbox validates cfg and returns the inbox.
func NewInbox(cfg InboxConfig) (*Inbox, error) {
	if cfg.Client == nil || cfg.Table == "" {
		return nil, errors.New("dynamo: inbox needs a Client and a Table")
	}
	if cfg.Retention < 0 {
		return nil, errors.New("dynamo: inbox Retention must not be negative")
	}
	if cfg.Retention == 0 {
		cfg.Retention = DefaultInboxRetention
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Inbox{api: cfg.Client, table: cfg.Table, retention: cfg.Retention, now: cfg.Now}, nil
}

// Table is the table the inbox lives in.
func (i *Inbox) Table() string { return i.table }

func inboxKey(group, eventID string) map[string]types.AttributeValue {
	return Key("INBOX#"+group+"#"+eventID, "INBOX")
}

// Mark adds to tx the put that records group processed eventID. Committing
// tx fails with an error matching ErrDuplicate (errors.Is) when the event
// was processed before; the effects in tx are then not applied.
func (i *Inbox) Mark(tx *Tx, group, eventID string) error {
	if group == "" || eventID == "" {
		return fault.Permanent(errors.New("dynamo: inbox mark without group or event ID"))
	}
	now := i.now()
	item := inboxKey(group, eventID)
	item["processed_at"] = N(now.UnixMicro())
	item[AttrTTL] = TTL(now.Add(i.retention))
	tx.Put(types.Put{TableName: aws.String(i.table), Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")}, ErrDuplicate)
	return nil
}

// Seen reports whether group already processed eventID (a strongly
// consistent read; a cheap pre-check before doing the work of an effect).
func (i *Inbox) Seen(ctx context.Context, group, eventID string) (bool, error) {
	out, err := i.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(i.table), Key: inboxKey(group, eventID), ConsistentRead: aws.Bool(true),
		ProjectionExpression: aws.String("pk"),
	})
	if err != nil {
		return false, Classify(fmt.Errorf("inbox: seen %s: %w", eventID, err))
	}
	return len(out.Item) > 0, nil
}

// Cleanup does nothing and returns 0: DynamoDB's TTL deletes entries
// after the retention.
func (i *Inbox) Cleanup(context.Context, time.Time) (int64, error) { return 0, nil }
