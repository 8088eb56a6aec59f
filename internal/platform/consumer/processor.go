package consumer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel"
	"go.uber.org/zap"

	"github.com/agoracommerce/agora/internal/platform/fault"
)

// Processor applies a consumer's handler chain to records that were fetched
// by someone else — the batches an AWS Lambda event source mapping for
// Amazon MSK delivers — with the Consumer's decoding, middlewares (dedupe
// among them), in-place retries and dead-lettering, but without joining a
// consumer group or committing offsets: whoever fetched the records owns
// their offsets.
//
// It differs from the Consumer in one respect: a retryable error that
// outlives the retries (or the context) is returned instead of
// dead-lettered, so the fetcher delivers the records again (the inbox
// skips those already applied). Permanent failures are dead-lettered as
// the Consumer does. A Processor is safe for concurrent use on different
// partitions.
type Processor struct {
	c *Consumer
}

// NewProcessor validates cfg like New (ClientOpts, Workers and
// MaxPollRecords are ignored) and returns a Processor that produces
// dead-lettered records with producer, a client it does not close.
func NewProcessor(cfg Config, producer *kgo.Client) (*Processor, error) {
	if cfg.Group == "" || len(cfg.Topics) == 0 || cfg.Decoder == nil || (cfg.Handler == nil && cfg.BatchHandler == nil) {
		return nil, errors.New("consumer: Group, Topics, Decoder and a Handler or BatchHandler are required")
	}
	if producer == nil {
		return nil, errors.New("consumer: a processor needs a producer for the dead-letter topic")
	}
	if cfg.Retry.MaxAttempts <= 0 {
		cfg.Retry.MaxAttempts = 5
	}
	if cfg.Retry.InitialInterval <= 0 {
		cfg.Retry.InitialInterval = 100 * time.Millisecond
	}
	if cfg.Retry.MaxInterval <= 0 {
		cfg.Retry.MaxInterval = 5 * time.Second
	}
	if cfg.DeadLetterTopic == "" {
		cfg.DeadLetterTopic = cfg.Group + ".dlq"
	}
	if cfg.HandlerTimeout <= 0 {
		cfg.HandlerTimeout = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Meter == nil {
		cfg.Meter = otel.Meter("github.com/agoracommerce/agora/internal/platform/consumer")
	}
	if cfg.Tracer == nil {
		cfg.Tracer = otel.Tracer("github.com/agoracommerce/agora/internal/platform/consumer")
	}
	if cfg.Handler == nil {
		batch := cfg.BatchHandler
		cfg.Handler = func(ctx context.Context, m *Message) error { return batch(ctx, []*Message{m}) }
	}
	c := &Consumer{cfg: cfg, client: producer, lag: map[topicPartition]int64{}}
	if err := c.initMetrics(); err != nil {
		return nil, err
	}
	mws := append([]Middleware{Recover(), Trace(cfg.Tracer), Correlation()}, cfg.Middleware...)
	c.handle = Chain(cfg.Handler, mws...)
	return &Processor{c: c}, nil
}

// Group is the consumer group the processor dedupes and dead-letters as.
func (p *Processor) Group() string { return p.c.cfg.Group }

// Topics are the topics whose records the processor handles.
func (p *Processor) Topics() []string { return append([]string(nil), p.c.cfg.Topics...) }

// DeadLetterTopic is where permanently failing records go.
func (p *Processor) DeadLetterTopic() string { return p.c.cfg.DeadLetterTopic }

// Process handles the records of one partition, in the order given (sort
// them by offset). It returns nil when every record was applied, skipped
// as a duplicate or dead-lettered; otherwise an error naming the first
// record that is still to do — a retryable failure outlasting the retries,
// an unreachable schema registry or broker, or ctx ending — and the
// records from there on are left for redelivery. No attempt runs past
// ctx's deadline.
func (p *Processor) Process(ctx context.Context, recs []*kgo.Record) error {
	c := p.c
	msgs := make([]*Message, 0, len(recs))
	for _, r := range recs {
		m, err := c.decode(ctx, r)
		if err != nil {
			if ctx.Err() != nil || fault.IsRetryable(err) {
				return p.undone(r, fmt.Errorf("decode: %w", err))
			}
			if err := p.run(ctx, msgs); err != nil {
				return err
			}
			msgs = msgs[:0]
			if !c.deadLetter(ctx, &Message{Record: r, Attempt: 1}, reasonOf(err), err) {
				return p.undone(r, errors.New("dead-letter topic unreachable"))
			}
			continue
		}
		msgs = append(msgs, m)
	}
	return p.run(ctx, msgs)
}

// run handles consecutive decoded messages of one partition, as one batch
// first when a BatchHandler is configured.
func (p *Processor) run(ctx context.Context, msgs []*Message) error {
	c := p.c
	if len(msgs) == 0 {
		return nil
	}
	if c.cfg.BatchHandler != nil && len(msgs) > 1 {
		start := time.Now()
		err := p.retry(ctx, func(attemptCtx context.Context, attempt int) error {
			for _, m := range msgs {
				m.Attempt = attempt
			}
			return c.cfg.BatchHandler(attemptCtx, msgs)
		})
		if err == nil {
			for _, m := range msgs {
				c.metrics.observe(ctx, m, "ok", time.Since(start))
			}
			return nil
		}
		if ctx.Err() != nil {
			return p.undone(msgs[0].Record, err)
		}
		c.cfg.Logger.Info("batch failed; handling its messages one by one", zap.Error(err), zap.Int("messages", len(msgs)))
	}
	for _, m := range msgs {
		if err := ctx.Err(); err != nil {
			return p.undone(m.Record, err)
		}
		start := time.Now()
		err := p.retry(ctx, func(attemptCtx context.Context, attempt int) error {
			m.Attempt = attempt
			return c.handle(attemptCtx, m)
		})
		switch {
		case err == nil:
			c.metrics.observe(ctx, m, "ok", time.Since(start))
		case fault.IsRetryable(err) || ctx.Err() != nil:
			c.metrics.observe(ctx, m, "retry_later", time.Since(start))
			return p.undone(m.Record, err)
		default:
			c.metrics.observe(ctx, m, "dead_lettered", time.Since(start))
			reason := ReasonHandlerFailed
			if errors.Is(err, errPanic) {
				reason = ReasonPanic
			}
			if !c.deadLetter(ctx, m, reason, err) {
				return p.undone(m.Record, errors.New("dead-letter topic unreachable"))
			}
		}
	}
	return nil
}

// retry is the Consumer's retry with every attempt also bounded by ctx's
// deadline.
func (p *Processor) retry(ctx context.Context, fn func(ctx context.Context, attempt int) error) error {
	deadline, bounded := ctx.Deadline()
	return p.c.retry(ctx, func(attemptCtx context.Context, attempt int) error {
		if bounded {
			var cancel context.CancelFunc
			attemptCtx, cancel = context.WithDeadline(attemptCtx, deadline)
			defer cancel()
		}
		return fn(attemptCtx, attempt)
	})
}

func (p *Processor) undone(r *kgo.Record, cause error) error {
	return fmt.Errorf("consumer %s: %s[%d]@%d left for redelivery: %w", p.c.cfg.Group, r.Topic, r.Partition, r.Offset, cause)
}
