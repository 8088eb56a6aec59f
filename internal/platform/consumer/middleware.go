package consumer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime/debug"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/agoracommerce/agora/internal/platform/correlation"
	"github.com/agoracommerce/agora/internal/platform/fault"
	"github.com/agoracommerce/agora/internal/platform/inbox"
)

var errPanic = errors.New("consumer: handler panicked")

// Recover turns a panic in the handler into a permanent error (the message
// is dead-lettered with reason "panic"), keeping the stack in the message.
func Recover() Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, m *Message) (err error) {
			defer func() {
				if p := recover(); p != nil {
					err = fault.Permanent(fmt.Errorf("%w: %v\n%s", errPanic, p, debug.Stack()))
				}
			}()
			return next(ctx, m)
		}
	}
}

// Trace continues the producer's trace (traceparent header) with a consumer
// span per attempt.
func Trace(tracer trace.Tracer) Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, m *Message) error {
			ctx = m.Meta.Context(ctx)
			ctx, span := tracer.Start(ctx, "process "+m.Record.Topic, trace.WithSpanKind(trace.SpanKindConsumer),
				trace.WithAttributes(
					attribute.String("messaging.system", "kafka"),
					attribute.String("messaging.destination.name", m.Record.Topic),
					attribute.Int("messaging.destination.partition.id", int(m.Record.Partition)),
					attribute.Int64("messaging.kafka.offset", m.Record.Offset),
					attribute.String("messaging.message.id", m.Meta.ID),
					attribute.String("agora.event.type", m.Meta.Type),
					attribute.Int("agora.attempt", m.Attempt)))
			defer span.End()
			err := next(ctx, m)
			if err != nil {
				span.RecordError(err)
				span.SetStatus(codes.Error, err.Error())
			}
			return err
		}
	}
}

// Correlation puts the event's correlation ID into the context (a new one
// when the event has none), so logs and the events this handler causes
// carry it.
func Correlation() Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, m *Message) error {
			if m.Meta.CorrelationID != "" {
				ctx = correlation.WithID(ctx, m.Meta.CorrelationID)
			} else {
				ctx, _ = correlation.Ensure(ctx)
			}
			return next(ctx, m)
		}
	}
}

// TxHandler applies one event inside the transaction that also records it in
// the inbox.
type TxHandler func(ctx context.Context, tx *sql.Tx, m *Message) error

// BatchTxHandler applies several events in one transaction.
type BatchTxHandler func(ctx context.Context, tx *sql.Tx, ms []*Message) error

// Dedupe adapts fn into a Handler that runs it in a transaction together with
// the inbox entry of the event: an event the group already processed is
// skipped (Message.Duplicate), and a failed effect leaves no inbox entry.
func Dedupe(in *inbox.Store, group string, fn TxHandler) Handler {
	return func(ctx context.Context, m *Message) error {
		return in.DB().InTx(ctx, func(tx *sql.Tx) error {
			fresh, err := in.Mark(ctx, tx, group, m.Meta.ID)
			if err != nil {
				return err
			}
			if !fresh {
				m.Duplicate = true
				return nil
			}
			return fn(ctx, tx, m)
		})
	}
}

// DedupeBatch adapts fn into a BatchHandler that records every event of the
// batch in the inbox and applies the new ones, all in one transaction.
func DedupeBatch(in *inbox.Store, group string, fn BatchTxHandler) BatchHandler {
	return func(ctx context.Context, ms []*Message) error {
		return in.DB().InTx(ctx, func(tx *sql.Tx) error {
			ids := make([]string, len(ms))
			for i, m := range ms {
				ids[i] = m.Meta.ID
			}
			isNew, err := in.MarkMany(ctx, tx, group, ids)
			if err != nil {
				return err
			}
			fresh := make([]*Message, 0, len(ms))
			for _, m := range ms {
				// The same event twice in one batch (a redelivered copy) is
				// applied once: the first copy takes the mark.
				m.Duplicate = !isNew[m.Meta.ID]
				if !m.Duplicate {
					delete(isNew, m.Meta.ID)
					fresh = append(fresh, m)
				}
			}
			if len(fresh) == 0 {
				return nil
			}
			return fn(ctx, tx, fresh)
		})
	}
}
