// Package consumer runs Kafka consumer groups for Agora's services on
// franz-go. It delivers each record at least once and makes effects happen
// exactly once together with the inbox:
//
//   - offsets are committed only after every polled record was handled, and a
//     rebalance waits until that commit (BlockRebalanceOnPoll), so revoking a
//     partition neither loses nor repeats finished work;
//   - records keep their order per partition (and so per key); partitions are
//     processed concurrently by a bounded worker pool;
//   - each record passes a handler chain: dead-letter → retry (exponential
//     backoff with jitter, bounded, only for retryable errors) → recover →
//     trace → correlation ID → the service's middlewares (the inbox dedupe
//     among them) → the handler;
//   - records that cannot succeed — undecodable, unknown schema or event
//     type, invalid metadata, a permanent handler error, exhausted retries,
//     a panic — go to the dead-letter topic with the reason and their origin
//     in headers, and the partition keeps flowing;
//   - on shutdown the runtime stops fetching, lets in-flight handlers finish,
//     commits what was processed and leaves the group.
package consumer

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/fault"
)

// Message is one consumed event.
type Message struct {
	Record   *kgo.Record
	Meta     events.Metadata
	Event    proto.Message // the decoded envelope
	Attempt  int           // 1 for the first try of this delivery
	Redrives int           // times the event came back from the dead-letter topic
	// Duplicate is set by the dedupe middleware when the inbox already had
	// the event and the handler was skipped.
	Duplicate bool
}

// Handler processes one message. Return an error marked with fault.Retryable
// for transient failures; any other error is permanent and dead-letters the
// message.
type Handler func(ctx context.Context, m *Message) error

// BatchHandler processes the messages of one partition from one poll in one
// go (e.g. one database transaction). When it fails, the runtime falls back
// to handling the messages one at a time, so a poison message cannot block
// its neighbours.
type BatchHandler func(ctx context.Context, ms []*Message) error

// Middleware wraps a Handler.
type Middleware func(Handler) Handler

// Decoder turns a record value into an event; *events.Codec implements it.
type Decoder interface {
	Decode(ctx context.Context, value []byte) (proto.Message, error)
}

// RetryPolicy bounds in-place retries of retryable errors.
type RetryPolicy struct {
	MaxAttempts     int           // including the first; default 5
	InitialInterval time.Duration // default 100ms
	MaxInterval     time.Duration // default 5s
}

// Config configures a Consumer.
type Config struct {
	// ClientOpts connect to the cluster (kgo.SeedBrokers, SASL, TLS ...).
	ClientOpts []kgo.Opt
	Group      string   // consumer group; required
	Topics     []string // required
	Decoder    Decoder  // required
	// Handler or BatchHandler (or both) is required. With only a
	// BatchHandler, single messages are handled as batches of one.
	Handler      Handler
	BatchHandler BatchHandler
	// Middleware wraps the handler, outermost first, inside the runtime's
	// recover, trace and correlation middlewares (put Dedupe here).
	Middleware []Middleware
	// Workers is how many partitions are processed at once (default 4).
	Workers int
	// MaxPollRecords bounds one poll (default 500).
	MaxPollRecords int
	Retry          RetryPolicy
	// DeadLetterTopic defaults to "<group>.dlq".
	DeadLetterTopic string
	// HandlerTimeout bounds one attempt (default 30s).
	HandlerTimeout time.Duration
	Logger         *zap.Logger
	Meter          metric.Meter
	Tracer         trace.Tracer
}

// Consumer is one member of a consumer group.
type Consumer struct {
	cfg     Config
	client  *kgo.Client
	handle  Handler
	metrics metrics

	lagMu sync.Mutex
	lag   map[topicPartition]int64
}

type topicPartition struct {
	topic     string
	partition int32
}

// New validates cfg and connects the consumer's client. Call Run to consume.
func New(cfg Config) (*Consumer, error) {
	if cfg.Group == "" || len(cfg.Topics) == 0 || cfg.Decoder == nil || (cfg.Handler == nil && cfg.BatchHandler == nil) {
		return nil, errors.New("consumer: Group, Topics, Decoder and a Handler or BatchHandler are required")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.MaxPollRecords <= 0 {
		cfg.MaxPollRecords = 500
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
	c := &Consumer{cfg: cfg, lag: map[topicPartition]int64{}}
	if err := c.initMetrics(); err != nil {
		return nil, err
	}
	mws := append([]Middleware{Recover(), Trace(cfg.Tracer), Correlation()}, cfg.Middleware...)
	c.handle = Chain(cfg.Handler, mws...)

	opts := append([]kgo.Opt{
		kgo.ConsumerGroup(cfg.Group),
		kgo.ConsumeTopics(cfg.Topics...),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.RequiredAcks(kgo.AllISRAcks()),
	}, cfg.ClientOpts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("consumer %s: client: %w", cfg.Group, err)
	}
	c.client = cl
	return c, nil
}

// Name implements the lifecycle component contract.
func (c *Consumer) Name() string { return "consumer-" + c.cfg.Group }

// Chain wraps h with mws; the first middleware is the outermost.
func Chain(h Handler, mws ...Middleware) Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}

// Run consumes until ctx ends, then finishes in-flight work, commits and
// leaves the group. It returns nil after a clean stop.
func (c *Consumer) Run(ctx context.Context) error {
	defer c.client.CloseAllowingRebalance() // leaves the group
	c.ensureDeadLetterTopic(ctx)
	for {
		fetches := c.client.PollRecords(ctx, c.cfg.MaxPollRecords)
		if fetches.IsClientClosed() || ctx.Err() != nil && fetches.Empty() {
			return nil
		}
		fetches.EachError(func(topic string, partition int32, err error) {
			if !errors.Is(err, context.Canceled) {
				c.cfg.Logger.Warn("fetch failed", zap.String("topic", topic), zap.Int32("partition", partition), zap.Error(err))
			}
		})
		var parts [][]*kgo.Record
		fetches.EachPartition(func(p kgo.FetchTopicPartition) {
			if len(p.Records) == 0 {
				return
			}
			last := p.Records[len(p.Records)-1]
			c.setLag(p.Topic, p.Partition, p.HighWatermark-last.Offset-1)
			parts = append(parts, p.Records)
		})
		done := c.processPartitions(ctx, parts)
		if len(done) > 0 {
			// Commit even while stopping: these records were handled.
			commitCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			if err := c.client.CommitRecords(commitCtx, done...); err != nil {
				c.cfg.Logger.Warn("offset commit failed; the records will be redelivered and deduplicated", zap.Error(err))
			}
			cancel()
		}
		c.client.AllowRebalance()
		if ctx.Err() != nil {
			return nil
		}
	}
}

// processPartitions handles each partition's records in order, several
// partitions at once, and returns the last handled record of each.
func (c *Consumer) processPartitions(ctx context.Context, parts [][]*kgo.Record) []*kgo.Record {
	var (
		mu   sync.Mutex
		done []*kgo.Record
		wg   sync.WaitGroup
		sem  = make(chan struct{}, c.cfg.Workers)
	)
	for _, recs := range parts {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if last := c.processPartition(ctx, recs); last != nil {
				mu.Lock()
				done = append(done, last)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return done
}

// processPartition returns the last record it finished (handled or
// dead-lettered); it stops early only when ctx ends.
func (c *Consumer) processPartition(ctx context.Context, recs []*kgo.Record) *kgo.Record {
	var last *kgo.Record
	msgs := make([]*Message, 0, len(recs))
	for _, r := range recs {
		m, err := c.decode(ctx, r)
		if err != nil {
			// Flush what decoded so far, in order, then dead-letter.
			if !c.handleRun(ctx, msgs) {
				return last
			}
			if len(msgs) > 0 {
				last = msgs[len(msgs)-1].Record
			}
			msgs = msgs[:0]
			if !c.deadLetter(ctx, &Message{Record: r, Attempt: 1}, reasonOf(err), err) {
				return last
			}
			last = r
			continue
		}
		msgs = append(msgs, m)
	}
	if !c.handleRun(ctx, msgs) {
		return last
	}
	if len(msgs) > 0 {
		last = msgs[len(msgs)-1].Record
	}
	return last
}

// handleRun handles consecutive decoded messages of one partition, as one
// batch when a BatchHandler is configured. It reports false when it stopped
// because ctx ended (nothing after the last finished message counts).
func (c *Consumer) handleRun(ctx context.Context, msgs []*Message) bool {
	if len(msgs) == 0 {
		return true
	}
	if c.cfg.BatchHandler != nil && len(msgs) > 1 {
		start := time.Now()
		err := c.retry(ctx, func(attemptCtx context.Context, attempt int) error {
			for _, m := range msgs {
				m.Attempt = attempt
			}
			return c.cfg.BatchHandler(attemptCtx, msgs)
		})
		if err == nil {
			for _, m := range msgs {
				c.metrics.observe(ctx, m, "ok", time.Since(start))
			}
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		c.cfg.Logger.Info("batch failed; handling its messages one by one", zap.Error(err), zap.Int("messages", len(msgs)))
	}
	for _, m := range msgs {
		if ctx.Err() != nil {
			return false
		}
		start := time.Now()
		err := c.retry(ctx, func(attemptCtx context.Context, attempt int) error {
			m.Attempt = attempt
			return c.handle(attemptCtx, m)
		})
		switch {
		case err == nil:
			c.metrics.observe(ctx, m, "ok", time.Since(start))
		case ctx.Err() != nil:
			return false
		default:
			c.metrics.observe(ctx, m, "dead_lettered", time.Since(start))
			reason := ReasonHandlerFailed
			if fault.IsRetryable(err) {
				reason = ReasonRetriesExhausted
			} else if errors.Is(err, errPanic) {
				reason = ReasonPanic
			}
			if !c.deadLetter(ctx, m, reason, err) {
				return false
			}
		}
	}
	return true
}

// retry runs fn until it succeeds, fails permanently, runs out of attempts,
// or ctx ends. Each attempt gets its own deadline; stopping the consumer
// does not cut an attempt short.
func (c *Consumer) retry(ctx context.Context, fn func(ctx context.Context, attempt int) error) error {
	exp := backoff.NewExponentialBackOff()
	exp.InitialInterval = c.cfg.Retry.InitialInterval
	exp.MaxInterval = c.cfg.Retry.MaxInterval
	exp.RandomizationFactor = 0.5
	attempt := 0
	_, err := backoff.Retry(ctx, func() (struct{}, error) {
		attempt++
		attemptCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.HandlerTimeout)
		defer cancel()
		err := fn(attemptCtx, attempt)
		if err != nil && !fault.IsRetryable(err) {
			return struct{}{}, backoff.Permanent(err)
		}
		if err != nil {
			c.metrics.retries.Add(ctx, 1)
		}
		return struct{}{}, err
	}, backoff.WithBackOff(exp), backoff.WithMaxTries(uint(c.cfg.Retry.MaxAttempts)), backoff.WithMaxElapsedTime(0))
	return err
}

func (c *Consumer) decode(ctx context.Context, r *kgo.Record) (*Message, error) {
	meta, err := events.MetadataFromHeaders(r.Headers)
	if err != nil {
		return nil, err
	}
	var redrives int
	if v, ok := events.Header(r.Headers, HeaderRedrives); ok {
		redrives, _ = strconv.Atoi(v)
	}
	var ev proto.Message
	err = c.retryRegistry(ctx, func() error {
		var derr error
		ev, derr = c.cfg.Decoder.Decode(ctx, r.Value)
		return derr
	})
	if err != nil {
		return nil, err
	}
	return &Message{Record: r, Meta: meta, Event: ev, Redrives: redrives}, nil
}

// retryRegistry retries decoding while the registry is unreachable: such a
// record is not poison, the registry is down.
func (c *Consumer) retryRegistry(ctx context.Context, fn func() error) error {
	_, err := backoff.Retry(ctx, func() (struct{}, error) {
		err := fn()
		if err != nil && !fault.IsRetryable(err) {
			return struct{}{}, backoff.Permanent(err)
		}
		return struct{}{}, err
	}, backoff.WithMaxElapsedTime(0))
	return err
}

// ensureDeadLetterTopic creates the dead-letter topic with the broker's
// defaults when it is missing. Without the right to create topics it only
// logs: the topic may be managed elsewhere (Terraform).
func (c *Consumer) ensureDeadLetterTopic(ctx context.Context) {
	_, err := kadm.NewClient(c.client).CreateTopic(ctx, -1, -1, nil, c.cfg.DeadLetterTopic)
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) && ctx.Err() == nil {
		c.cfg.Logger.Warn("could not create the dead-letter topic", zap.String("topic", c.cfg.DeadLetterTopic), zap.Error(err))
	}
}

func (c *Consumer) setLag(topic string, partition int32, lag int64) {
	c.lagMu.Lock()
	c.lag[topicPartition{topic, partition}] = max(lag, 0)
	c.lagMu.Unlock()
}

type metrics struct {
	consumed     metric.Int64Counter
	retries      metric.Int64Counter
	deadLettered metric.Int64Counter
	duration     metric.Float64Histogram
}

func (c *Consumer) initMetrics() error {
	m := c.cfg.Meter
	var err error
	wrap := func(e error) error { return fmt.Errorf("consumer: metrics: %w", e) }
	if c.metrics.consumed, err = m.Int64Counter("agora.consumer.messages", metric.WithDescription("Messages handled, by outcome.")); err != nil {
		return wrap(err)
	}
	if c.metrics.retries, err = m.Int64Counter("agora.consumer.retries", metric.WithDescription("Retried handler attempts.")); err != nil {
		return wrap(err)
	}
	if c.metrics.deadLettered, err = m.Int64Counter("agora.consumer.dead_lettered", metric.WithDescription("Messages sent to the dead-letter topic.")); err != nil {
		return wrap(err)
	}
	if c.metrics.duration, err = m.Float64Histogram("agora.consumer.handler.duration", metric.WithUnit("s"), metric.WithDescription("Time to handle a message, retries included.")); err != nil {
		return wrap(err)
	}
	lag, err := m.Int64ObservableGauge("agora.consumer.lag", metric.WithDescription("Records behind the high watermark, per partition."))
	if err != nil {
		return wrap(err)
	}
	_, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		c.lagMu.Lock()
		defer c.lagMu.Unlock()
		for tp, l := range c.lag {
			o.ObserveInt64(lag, l, metric.WithAttributes(
				attribute.String("messaging.consumer.group.name", c.cfg.Group),
				attribute.String("messaging.destination.name", tp.topic),
				attribute.Int("messaging.destination.partition.id", int(tp.partition))))
		}
		return nil
	}, lag)
	if err != nil {
		return wrap(err)
	}
	return nil
}

func (m metrics) observe(ctx context.Context, msg *Message, outcome string, d time.Duration) {
	attrs := metric.WithAttributes(
		attribute.String("messaging.destination.name", msg.Record.Topic),
		attribute.String("agora.event.type", msg.Meta.Type),
		attribute.String("outcome", outcome))
	m.consumed.Add(ctx, 1, attrs)
	m.duration.Record(ctx, d.Seconds(), attrs)
}
