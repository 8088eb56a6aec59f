package lambdahost

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"go.uber.org/zap"
)

// Outbox relays one batch of a service's outbox (*outbox.Relay).
type Outbox interface {
	RelayOnce(ctx context.Context) (int, error)
}

// ForceFlusher is a telemetry provider that can export what it buffered
// (the OpenTelemetry SDK's tracer and meter providers).
type ForceFlusher interface {
	ForceFlush(ctx context.Context) error
}

// Flusher empties, at the end of an invocation, what the invocation left
// behind: the outbox rows it wrote (relayed to Kafka), records buffered in
// the producer, and buffered spans and metrics. Lambda may freeze the
// environment as soon as the handler returns, so nothing may wait for
// later. Zero fields are skipped.
type Flusher struct {
	Outbox   Outbox
	Producer interface {
		Flush(ctx context.Context) error
	}
	Telemetry []ForceFlusher
	// Timeout bounds one flush (default 5s, within the invocation's
	// deadline).
	Timeout time.Duration
	Logger  *zap.Logger
}

// Flush relays the outbox until it is empty, then flushes the producer and
// telemetry. Rows it could not relay stay in the outbox for the next
// invocation.
func (f *Flusher) Flush(ctx context.Context) error {
	timeout := f.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	var errs []error
	if f.Outbox != nil {
		for {
			n, err := f.Outbox.RelayOnce(ctx)
			if err != nil {
				errs = append(errs, fmt.Errorf("lambdahost: relay outbox: %w", err))
				break
			}
			if n == 0 {
				break
			}
		}
	}
	if f.Producer != nil {
		if err := f.Producer.Flush(ctx); err != nil {
			errs = append(errs, fmt.Errorf("lambdahost: flush producer: %w", err))
		}
	}
	for _, t := range f.Telemetry {
		if err := t.ForceFlush(ctx); err != nil {
			errs = append(errs, fmt.Errorf("lambdahost: flush telemetry: %w", err))
		}
	}
	return errors.Join(errs...)
}

// after runs flush once handle returned; a failed flush is logged and does
// not change the invocation's result (what was not relayed stays in the
// outbox, durable).
func (f *Flusher) after(ctx context.Context) {
	if f == nil {
		return
	}
	if err := f.Flush(ctx); err != nil && f.Logger != nil {
		f.Logger.Warn("flush after invocation failed; the outbox keeps what was not relayed", zap.Error(err))
	}
}

// HTTP returns h followed by a flush.
func (f *Flusher) HTTP(h HTTPHandler) HTTPHandler {
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		defer f.after(ctx)
		return h(ctx, ev)
	}
}

// Kafka returns h followed by a flush.
func (f *Flusher) Kafka(h KafkaHandler) KafkaHandler {
	return func(ctx context.Context, ev events.KafkaEvent) error {
		defer f.after(ctx)
		return h(ctx, ev)
	}
}

// Streams returns h followed by a flush.
func (f *Flusher) Streams(h StreamsHandler) StreamsHandler {
	return func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		defer f.after(ctx)
		return h(ctx, ev)
	}
}
