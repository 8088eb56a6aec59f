package consumer

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/agoracommerce/agora/internal/platform/events"
)

// Headers the runtime adds to a dead-lettered record (the original headers,
// key and value are kept as they were).
const (
	HeaderDLQReason         = "dlq_reason"
	HeaderDLQError          = "dlq_error"
	HeaderDLQTopic          = "dlq_original_topic"
	HeaderDLQPartition      = "dlq_original_partition"
	HeaderDLQOffset         = "dlq_original_offset"
	HeaderDLQAttempts       = "dlq_attempts"
	HeaderDLQGroup          = "dlq_consumer_group"
	HeaderDLQFailedAt       = "dlq_failed_at"
	HeaderRedrives          = "agora_redrives"
	maxErrorHeaderBytes     = 2048
	ReasonMalformed         = "malformed"
	ReasonUnknownSchema     = "unknown_schema"
	ReasonUnknownType       = "unknown_event_type"
	ReasonInvalidMetadata   = "invalid_metadata"
	ReasonHandlerFailed     = "handler_failed"
	ReasonRetriesExhausted  = "retries_exhausted"
	ReasonPanic             = "panic"
	dlqHeaderPrefixToStrip  = "dlq_"
	deadLetterProduceTimout = 30 * time.Second
)

func reasonOf(err error) string {
	switch {
	case errors.Is(err, events.ErrInvalidMetadata):
		return ReasonInvalidMetadata
	case errors.Is(err, events.ErrNoSchema), errors.Is(err, events.ErrUnknownSchema):
		return ReasonUnknownSchema
	case errors.Is(err, events.ErrUnknownType):
		return ReasonUnknownType
	default:
		return ReasonMalformed
	}
}

// deadLetter publishes m's record to the dead-letter topic, retrying until
// the broker takes it or ctx ends (then it reports false and the record is
// not committed: it will be consumed again).
func (c *Consumer) deadLetter(ctx context.Context, m *Message, reason string, cause error) bool {
	r := m.Record
	msg := cause.Error()
	if len(msg) > maxErrorHeaderBytes {
		msg = msg[:maxErrorHeaderBytes]
	}
	headers := make([]kgo.RecordHeader, 0, len(r.Headers)+8)
	for _, h := range r.Headers {
		if len(h.Key) >= len(dlqHeaderPrefixToStrip) && h.Key[:len(dlqHeaderPrefixToStrip)] == dlqHeaderPrefixToStrip {
			continue // a redriven record failing again: replace the old verdict
		}
		headers = append(headers, h)
	}
	attempts := m.Attempt
	if attempts == 0 {
		attempts = 1
	}
	headers = append(headers,
		kgo.RecordHeader{Key: HeaderDLQReason, Value: []byte(reason)},
		kgo.RecordHeader{Key: HeaderDLQError, Value: []byte(msg)},
		kgo.RecordHeader{Key: HeaderDLQTopic, Value: []byte(r.Topic)},
		kgo.RecordHeader{Key: HeaderDLQPartition, Value: []byte(strconv.Itoa(int(r.Partition)))},
		kgo.RecordHeader{Key: HeaderDLQOffset, Value: []byte(strconv.FormatInt(r.Offset, 10))},
		kgo.RecordHeader{Key: HeaderDLQAttempts, Value: []byte(strconv.Itoa(attempts))},
		kgo.RecordHeader{Key: HeaderDLQGroup, Value: []byte(c.cfg.Group)},
		kgo.RecordHeader{Key: HeaderDLQFailedAt, Value: []byte(time.Now().UTC().Format(time.RFC3339Nano))},
	)
	dead := &kgo.Record{Topic: c.cfg.DeadLetterTopic, Key: r.Key, Value: r.Value, Headers: headers}
	_, err := backoff.Retry(ctx, func() (struct{}, error) {
		produceCtx, cancel := context.WithTimeout(ctx, deadLetterProduceTimout)
		defer cancel()
		return struct{}{}, c.client.ProduceSync(produceCtx, dead).FirstErr()
	}, backoff.WithMaxElapsedTime(0))
	if err != nil {
		c.cfg.Logger.Error("dead-lettering failed; the record stays uncommitted", zap.String("topic", r.Topic),
			zap.Int32("partition", r.Partition), zap.Int64("offset", r.Offset), zap.Error(err))
		return false
	}
	c.metrics.deadLettered.Add(ctx, 1, metric.WithAttributes(
		attribute.String("messaging.destination.name", r.Topic), attribute.String("reason", reason)))
	c.cfg.Logger.Warn("record dead-lettered", zap.String("reason", reason), zap.String("topic", r.Topic),
		zap.Int32("partition", r.Partition), zap.Int64("offset", r.Offset), zap.String("event_id", m.Meta.ID),
		zap.Int("attempts", attempts), zap.Error(cause))
	return true
}
