package lambdahost

import (
	"context"
	"errors"

	"github.com/aws/aws-lambda-go/events"
)

// ErrStreamsUnavailable is what the streams handler returns when it was
// built without a DynamoDB Streams outbox relay: the event source mapping
// keeps the batch and retries it, so no outbox record is skipped.
var ErrStreamsUnavailable = errors.New("streams relay not available in this build")

// StreamRelay publishes the outbox items of a DynamoDB Streams batch to
// Kafka (*dynamo.StreamRelay). Records it could not publish come back as
// batch item failures (the mapping needs FunctionResponseTypes
// ReportBatchItemFailures), so the stream is retried from the first.
type StreamRelay interface {
	Handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error)
}

// StreamsHandler is the Lambda handler of a DynamoDB Streams event source
// mapping on a service's outbox table.
type StreamsHandler func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error)

// Streams adapts relay to DynamoDB Streams batches. With a nil relay every
// batch fails with ErrStreamsUnavailable.
func Streams(relay StreamRelay) StreamsHandler {
	return func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		if relay == nil {
			return events.DynamoDBEventResponse{}, ErrStreamsUnavailable
		}
		return relay.Handle(ctx, ev)
	}
}
