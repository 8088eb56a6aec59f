package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/agoracommerce/agora/internal/platform/outbox"
)

// StreamRelayConfig configures a StreamRelay.
type StreamRelayConfig struct {
	// Producer must keep franz-go's idempotent producer with acks=all
	// (required).
	Producer outbox.Producer
	// TopicPrefix is put in front of every event's topic.
	TopicPrefix string
	// Logger defaults to zap.NewNop.
	Logger *zap.Logger
}

// StreamRelay publishes outbox items from a table's DynamoDB stream: the
// alternative to polling with Outbox.Claim when a Lambda function (event
// source mapping with ReportBatchItemFailures) reads the stream. It
// produces the events of every INSERT of an outbox item, in stream order
// (so in order per aggregate: one aggregate's items share a partition and
// so a stream shard), and reports the first record whose events were not
// acknowledged and every record after it as batch item failures, so the
// stream is retried from there. Items written with
// OutboxConfig.ExpireAfter expire by TTL; their REMOVE records are
// ignored. Safe for concurrent use.
type StreamRelay struct {
	cfg StreamRelayConfig
}

// NewStreamRelay validates cfg and returns the relay.
func NewStreamRelay(cfg StreamRelayConfig) (*StreamRelay, error) {
	if cfg.Producer == nil {
		return nil, errors.New("dynamo: stream relay needs a Producer")
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	return &StreamRelay{cfg: cfg}, nil
}

// Handle relays one batch of stream records (one stream shard). It
// returns an error only for a batch it could not start on; everything
// else is reported per record in the response.
func (r *StreamRelay) Handle(ctx context.Context, ev lambdaevents.DynamoDBEvent) (lambdaevents.DynamoDBEventResponse, error) {
	var (
		resp    lambdaevents.DynamoDBEventResponse
		records []*kgo.Record
		owner   []int // record index -> stream record index
	)
	firstBad := -1
	for i, rec := range ev.Records {
		if rec.EventName != string(lambdaevents.DynamoDBOperationTypeInsert) {
			continue
		}
		pk := rec.Change.Keys[AttrPK]
		if pk.DataType() != lambdaevents.DataTypeString || !IsOutboxItem(pk.String()) {
			continue
		}
		item, err := FromStreamImage(rec.Change.NewImage)
		if err == nil {
			var evs []outboxEvent
			evs, err = itemRecords(item)
			for _, e := range evs {
				e.rec.Topic = r.cfg.TopicPrefix + e.rec.Topic
				records = append(records, e.rec)
				owner = append(owner, i)
			}
		}
		if err != nil {
			// A record that cannot be decoded will never be: it stops the
			// shard until the event source mapping's retry limit sends it
			// to its on-failure destination.
			r.cfg.Logger.Error("outbox stream record is not a valid outbox item",
				zap.String("sequence_number", rec.Change.SequenceNumber), zap.Error(err))
			firstBad = i
			break
		}
	}
	if len(records) > 0 {
		results := r.cfg.Producer.ProduceSync(ctx, records...)
		acked := make(map[*kgo.Record]error, len(results))
		for _, res := range results {
			acked[res.Record] = res.Err
		}
		for j, rec := range records {
			err, ok := acked[rec]
			if !ok {
				err = errors.New("no produce result")
			}
			if err != nil {
				if firstBad < 0 || owner[j] < firstBad {
					firstBad = owner[j]
				}
				r.cfg.Logger.Warn("outbox stream produce failed; the stream retries from this record",
					zap.String("sequence_number", ev.Records[owner[j]].Change.SequenceNumber), zap.Error(err))
				break
			}
		}
	}
	if firstBad >= 0 {
		for _, rec := range ev.Records[firstBad:] {
			resp.BatchItemFailures = append(resp.BatchItemFailures, lambdaevents.DynamoDBBatchItemFailure{ItemIdentifier: rec.Change.SequenceNumber})
		}
	}
	return resp, nil
}

type outboxEvent struct{ rec *kgo.Record }

func itemRecords(item map[string]types.AttributeValue) ([]outboxEvent, error) {
	evs, err := decodeEvents(item)
	if err != nil {
		return nil, err
	}
	out := make([]outboxEvent, len(evs))
	for i, ev := range evs {
		out[i] = outboxEvent{rec: ev.Record()}
	}
	return out, nil
}

// FromStreamImage converts a stream record's image to the SDK's attribute
// values.
func FromStreamImage(img map[string]lambdaevents.DynamoDBAttributeValue) (map[string]types.AttributeValue, error) {
	out := make(map[string]types.AttributeValue, len(img))
	for k, v := range img {
		av, err := fromStreamValue(v)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", k, err)
		}
		out[k] = av
	}
	return out, nil
}

func fromStreamValue(v lambdaevents.DynamoDBAttributeValue) (types.AttributeValue, error) {
	switch v.DataType() {
	case lambdaevents.DataTypeString:
		return &types.AttributeValueMemberS{Value: v.String()}, nil
	case lambdaevents.DataTypeNumber:
		if _, err := strconv.ParseFloat(v.Number(), 64); err != nil {
			return nil, fmt.Errorf("number %q: %w", v.Number(), err)
		}
		return &types.AttributeValueMemberN{Value: v.Number()}, nil
	case lambdaevents.DataTypeBinary:
		return &types.AttributeValueMemberB{Value: v.Binary()}, nil
	case lambdaevents.DataTypeBoolean:
		return &types.AttributeValueMemberBOOL{Value: v.Boolean()}, nil
	case lambdaevents.DataTypeNull:
		return &types.AttributeValueMemberNULL{Value: true}, nil
	case lambdaevents.DataTypeStringSet:
		return &types.AttributeValueMemberSS{Value: v.StringSet()}, nil
	case lambdaevents.DataTypeNumberSet:
		return &types.AttributeValueMemberNS{Value: v.NumberSet()}, nil
	case lambdaevents.DataTypeBinarySet:
		return &types.AttributeValueMemberBS{Value: v.BinarySet()}, nil
	case lambdaevents.DataTypeList:
		list := v.List()
		out := make([]types.AttributeValue, len(list))
		for i, e := range list {
			av, err := fromStreamValue(e)
			if err != nil {
				return nil, err
			}
			out[i] = av
		}
		return &types.AttributeValueMemberL{Value: out}, nil
	case lambdaevents.DataTypeMap:
		m, err := FromStreamImage(v.Map())
		if err != nil {
			return nil, err
		}
		return &types.AttributeValueMemberM{Value: m}, nil
	}
	return nil, fmt.Errorf("unknown attribute type %d", v.DataType())
}
