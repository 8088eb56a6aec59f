// Package dynamo is Agora's DynamoDB chassis: a client built from typed
// config, the table layout every service table shares, a transaction
// builder over TransactWriteItems that turns cancellation reasons into
// typed errors, the transactional outbox on DynamoDB (with a polling
// outbox.Source and a DynamoDB Streams relay function) and the consumer
// inbox.
//
// # Table layout
//
// One table per service, single-table design. Every table has the same
// key schema so that the platform's items (outbox, inbox) live next to the
// service's own items and join their transactions:
//
//	pk (S, hash) + sk (S, range)     the item's identity
//	gsi1pk (S) + gsi1sk (S)          index "gsi1", projection ALL, sparse
//	gsi2pk (S) + gsi2sk (S)          index "gsi2", projection ALL, sparse
//	ttl (N, epoch seconds)           time-to-live attribute
//	stream NEW_IMAGE                 feeds StreamRelay
//
// Services document their own access patterns on these keys.
//
// # Outbox items
//
//	pk = "OUTBOX#<shard>"            shard = FNV-1a(topic, key) mod Shards
//	sk = "<20-digit sequence>"       allocated from the counter item
//	                                 pk "OUTBOX#SEQ", sk "SEQ" (ADD, one
//	                                 write per unit of work)
//	n, created_at (µs),
//	events = [{id, topic, key, value (B), metadata (JSON)}, ...]
//	lo_<i>, lu_<i>                   lease owner and end (µs) of event i
//	done (NS)                        indexes of events already published
//	ttl                              only with OutboxConfig.ExpireAfter
//
// One item holds the events a unit of work wrote to one shard, in the
// order given (up to 256 events and about 300 KB, then another item), so a
// transaction carries one outbox item per shard it touched rather than one
// per event (TransactWriteItems takes at most 100 items). The sequence is
// allocated after the unit of work read the state it changes: two changes
// of one aggregate are serialized by the aggregate's own condition, so
// the later change always gets the higher sequence, and per-aggregate
// order is (sequence, index) order. Leases are per event, so relays share
// an item's events by aggregate.
//
// Items are deleted once all their events are published, so the outbox
// partitions hold exactly the backlog and Claim reads them with strongly
// consistent queries. A sparse "pending" GSI was not used: GSIs are only
// eventually consistent, and a claim that saw a later event of an
// aggregate before an earlier one would publish out of order.
// Row.Seq encodes sequence<<16 | shard<<10 | event index.
//
// # Inbox items
//
//	pk = "INBOX#<group>#<event id>", sk = "INBOX", processed_at (µs), ttl
//
// put with attribute_not_exists(pk) in the transaction of the effect; a
// duplicate cancels the transaction with ErrDuplicate. DynamoDB's TTL
// purges entries after the retention.
package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/agoracommerce/agora/internal/platform/fault"
)

// Attribute and index names of the shared table layout.
const (
	AttrPK     = "pk"
	AttrSK     = "sk"
	AttrGSI1PK = "gsi1pk"
	AttrGSI1SK = "gsi1sk"
	AttrGSI2PK = "gsi2pk"
	AttrGSI2SK = "gsi2sk"
	AttrTTL    = "ttl"
	GSI1       = "gsi1"
	GSI2       = "gsi2"
)

// API is the part of *dynamodb.Client Agora's DynamoDB adapters use.
type API interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

var _ API = (*dynamodb.Client)(nil)

// Config locates a service's table.
type Config struct {
	// Region is the AWS region (required).
	Region string
	// Endpoint overrides the DynamoDB endpoint (moto, DynamoDB Local);
	// empty for AWS.
	Endpoint string
	// Table is the service's table name (required).
	Table string
}

// Validate reports the first missing setting.
func (c Config) Validate() error {
	switch {
	case c.Region == "":
		return errors.New("dynamo: Region is required")
	case c.Table == "":
		return errors.New("dynamo: Table is required")
	}
	return nil
}

// NewClient returns a DynamoDB client for cfg with the SDK's default
// credential chain (IAM role on AWS); opts adjust the SDK's loading (e.g.
// static credentials for an emulator).
func NewClient(ctx context.Context, cfg Config, opts ...func(*config.LoadOptions) error) (*dynamodb.Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, append([]func(*config.LoadOptions) error{config.WithRegion(cfg.Region)}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("dynamo: aws config: %w", err)
	}
	return NewClientFromAWS(awsCfg, cfg), nil
}

// NewClientFromAWS returns a DynamoDB client over an already loaded AWS
// config, with cfg's endpoint override.
func NewClientFromAWS(awsCfg aws.Config, cfg Config) *dynamodb.Client {
	return dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
	})
}

// TableInput is the CreateTable request of a service table with the
// shared layout (on-demand billing, stream of new images). Terraform
// declares the same.
func TableInput(name string) *dynamodb.CreateTableInput {
	str := func(n string) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: aws.String(n), AttributeType: types.ScalarAttributeTypeS}
	}
	gsi := func(name, pk, sk string) types.GlobalSecondaryIndex {
		return types.GlobalSecondaryIndex{
			IndexName: aws.String(name),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(pk), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(sk), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}
	}
	return &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{str(AttrPK), str(AttrSK), str(AttrGSI1PK), str(AttrGSI1SK), str(AttrGSI2PK), str(AttrGSI2SK)},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(AttrPK), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(AttrSK), KeyType: types.KeyTypeRange},
		},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{gsi(GSI1, AttrGSI1PK, AttrGSI1SK), gsi(GSI2, AttrGSI2PK, AttrGSI2SK)},
		StreamSpecification:    &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewTypeNewImage},
	}
}

// CreateTable creates a service table with the shared layout, waits until
// it is active and turns its TTL on.
func CreateTable(ctx context.Context, client *dynamodb.Client, name string) error {
	if _, err := client.CreateTable(ctx, TableInput(name)); err != nil {
		return Classify(fmt.Errorf("dynamo: create table %s: %w", name, err))
	}
	if err := dynamodb.NewTableExistsWaiter(client).Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, time.Minute); err != nil {
		return fault.Retryable(fmt.Errorf("dynamo: wait for table %s: %w", name, err))
	}
	if _, err := client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(AttrTTL), Enabled: aws.Bool(true)},
	}); err != nil {
		return Classify(fmt.Errorf("dynamo: enable TTL on %s: %w", name, err))
	}
	return nil
}

// Key returns the primary key of the item pk/sk.
func Key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{AttrPK: S(pk), AttrSK: S(sk)}
}

// S is a string attribute.
func S(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

// N is a number attribute.
func N(v int64) types.AttributeValue { return &types.AttributeValueMemberN{Value: fmt.Sprint(v)} }

// B is a binary attribute.
func B(v []byte) types.AttributeValue { return &types.AttributeValueMemberB{Value: v} }

// TTL is the ttl attribute value of an item that may go at t.
func TTL(t time.Time) types.AttributeValue { return N(t.Unix()) }
