package outbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/agoracommerce/agora/internal/platform/events"
)

// Producer is the part of *kgo.Client the relay uses. The client must keep
// franz-go's defaults of an idempotent producer with acks=all.
type Producer interface {
	ProduceSync(ctx context.Context, rs ...*kgo.Record) kgo.ProduceResults
}

var _ Producer = (*kgo.Client)(nil)

// RelayConfig configures a Relay. Zero values take the documented defaults.
type RelayConfig struct {
	Source   Source   // required
	Producer Producer // required
	// Owner identifies this relay in leases; default host-pid-<event ID>.
	Owner string
	// BatchSize is the most rows claimed and produced at once (default 500).
	BatchSize int
	// Lease is how long a claim lasts before another relay may take the
	// rows over (default 30s); it must exceed the time to produce a batch.
	Lease time.Duration
	// MinPoll and MaxPoll bound the adaptive polling interval when idle
	// (defaults 5ms and 1s): it doubles while the outbox is empty and
	// drops back to zero as soon as rows appear.
	MinPoll, MaxPoll time.Duration
	// Wake, when set, cuts an idle wait short (e.g. PostgreSQL notifications).
	Wake <-chan struct{}
	// Retention is how long published rows are kept (default 1h); cleanup
	// runs every CleanupEvery (default 1m).
	Retention, CleanupEvery time.Duration
	// TopicPrefix is put in front of every row's topic when producing: a
	// namespace that lets several environments share one cluster.
	TopicPrefix string
	// Logger defaults to zap.NewNop; Meter to the global OpenTelemetry meter.
	Logger *zap.Logger
	Meter  metric.Meter
}

func (c *RelayConfig) defaults() error {
	if c.Source == nil || c.Producer == nil {
		return errors.New("outbox: relay needs a Source and a Producer")
	}
	if c.Owner == "" {
		host, _ := os.Hostname()
		c.Owner = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), events.NewID())
	}
	setDefault(&c.BatchSize, 500)
	setDefault(&c.Lease, 30*time.Second)
	setDefault(&c.MinPoll, 5*time.Millisecond)
	setDefault(&c.MaxPoll, time.Second)
	setDefault(&c.Retention, time.Hour)
	setDefault(&c.CleanupEvery, time.Minute)
	if c.MinPoll > c.MaxPoll {
		return fmt.Errorf("outbox: MinPoll %s exceeds MaxPoll %s", c.MinPoll, c.MaxPoll)
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	if c.Meter == nil {
		c.Meter = otel.Meter("github.com/agoracommerce/agora/internal/platform/outbox")
	}
	return nil
}

func setDefault[T int | time.Duration](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}

// Relay moves rows from an outbox to Kafka. Run it as one component per
// service process; several relays over one PostgreSQL outbox share the work
// safely.
type Relay struct {
	cfg       RelayConfig
	published metric.Int64Counter
	failures  metric.Int64Counter
}

// NewRelay validates cfg and registers the relay's metrics: published and
// failed counts, and the backlog size and oldest-event age as gauges read
// from the store.
func NewRelay(cfg RelayConfig) (*Relay, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	r := &Relay{cfg: cfg}
	var err error
	if r.published, err = cfg.Meter.Int64Counter("agora.outbox.published", metric.WithDescription("Events the relay published to Kafka.")); err != nil {
		return nil, fmt.Errorf("outbox: metrics: %w", err)
	}
	if r.failures, err = cfg.Meter.Int64Counter("agora.outbox.produce_failures", metric.WithDescription("Events whose produce failed and will be retried.")); err != nil {
		return nil, fmt.Errorf("outbox: metrics: %w", err)
	}
	backlog, err := cfg.Meter.Int64ObservableGauge("agora.outbox.backlog", metric.WithDescription("Unpublished events in the outbox."))
	if err != nil {
		return nil, fmt.Errorf("outbox: metrics: %w", err)
	}
	age, err := cfg.Meter.Float64ObservableGauge("agora.outbox.oldest_age", metric.WithUnit("s"), metric.WithDescription("Age of the oldest unpublished event."))
	if err != nil {
		return nil, fmt.Errorf("outbox: metrics: %w", err)
	}
	if _, err := cfg.Meter.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		st, err := cfg.Source.Stats(ctx)
		if err != nil {
			return err
		}
		o.ObserveInt64(backlog, st.Backlog)
		o.ObserveFloat64(age, st.OldestAge.Seconds())
		return nil
	}, backlog, age); err != nil {
		return nil, fmt.Errorf("outbox: metrics: %w", err)
	}
	return r, nil
}

// Name implements the lifecycle component contract.
func (r *Relay) Name() string { return "outbox-relay" }

// Run relays until ctx ends. A batch in progress when ctx ends is finished
// (produced and marked) within the lease so nothing is published twice
// needlessly. Transient errors are logged and retried after a pause; Run
// returns nil on a clean stop.
func (r *Relay) Run(ctx context.Context) error {
	wait := time.Duration(0)
	nextCleanup := time.Now().Add(r.cfg.CleanupEvery)
	for {
		if wait > 0 {
			timer := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				timer.Stop()
				return nil
			case <-r.cfg.Wake:
				wait = 0
			case <-timer.C:
			}
			timer.Stop()
		}
		if ctx.Err() != nil {
			return nil
		}
		// Finish a started batch even when ctx ends meanwhile.
		batchCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.Lease)
		n, err := r.RelayOnce(batchCtx)
		cancel()
		switch {
		case err != nil:
			r.cfg.Logger.Warn("outbox relay batch failed; retrying", zap.Error(err))
			wait = r.cfg.MaxPoll
		case n > 0:
			wait = 0
		case wait == 0:
			wait = r.cfg.MinPoll
		default:
			wait = min(wait*2, r.cfg.MaxPoll)
		}
		if time.Now().After(nextCleanup) {
			nextCleanup = time.Now().Add(r.cfg.CleanupEvery)
			if _, err := r.cfg.Source.Cleanup(ctx, time.Now().Add(-r.cfg.Retention)); err != nil && ctx.Err() == nil {
				r.cfg.Logger.Warn("outbox cleanup failed", zap.Error(err))
			}
		}
	}
}

// RelayOnce claims one batch, produces it and marks what the broker
// acknowledged. It returns how many rows it published.
func (r *Relay) RelayOnce(ctx context.Context) (int, error) {
	rows, err := r.cfg.Source.Claim(ctx, r.cfg.Owner, r.cfg.BatchSize, r.cfg.Lease)
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	records := make([]*kgo.Record, len(rows))
	for i, row := range rows {
		records[i] = row.Event.Record()
		records[i].Topic = r.cfg.TopicPrefix + records[i].Topic
	}
	results := r.cfg.Producer.ProduceSync(ctx, records...)
	// ProduceSync reports results in the order the broker acknowledged
	// them, not in the order given: match them to rows by record.
	acked := make(map[*kgo.Record]error, len(results))
	for _, res := range results {
		acked[res.Record] = res.Err
	}
	done := make([]int64, 0, len(rows))
	var firstErr error
	failedKeys := map[string]bool{}
	for i, rec := range records {
		key := rows[i].Event.Topic + "\x00" + rows[i].Event.Key
		err, ok := acked[rec]
		if !ok {
			err = errors.New("no produce result")
		}
		if err != nil || failedKeys[key] {
			// Keep a failed row and every later row of its aggregate
			// leased to this relay: its next claim takes them again, in
			// order (another relay only after the lease).
			failedKeys[key] = true
			if firstErr == nil && err != nil {
				firstErr = fmt.Errorf("outbox: produce %s to %s: %w", rows[i].Event.Metadata.ID, rows[i].Event.Topic, err)
			}
			continue
		}
		done = append(done, rows[i].Seq)
	}
	if err := r.cfg.Source.MarkPublished(ctx, r.cfg.Owner, done); err != nil {
		return 0, err
	}
	attrs := metric.WithAttributes(attribute.String("relay.owner", r.cfg.Owner))
	r.published.Add(ctx, int64(len(done)), attrs)
	if failed := len(rows) - len(done); failed > 0 {
		r.failures.Add(ctx, int64(failed), attrs)
	}
	return len(done), firstErr
}

// ListenPostgres forwards PostgreSQL notifications on the outbox channel to
// the returned channel until ctx ends, reconnecting after failures. Pass the
// channel as RelayConfig.Wake. The goroutine it starts ends with ctx.
func ListenPostgres(ctx context.Context, url string, logger *zap.Logger) <-chan struct{} {
	wake := make(chan struct{}, 1)
	if logger == nil {
		logger = zap.NewNop()
	}
	go func() {
		for ctx.Err() == nil {
			if err := listen(ctx, url, wake); err != nil && ctx.Err() == nil {
				logger.Warn("outbox listener failed; reconnecting", zap.Error(err))
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
			}
		}
	}()
	return wake
}

func listen(ctx context.Context, url string, wake chan<- struct{}) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return fmt.Errorf("outbox: listen connect: %w", err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	if _, err := conn.Exec(ctx, "LISTEN agora_outbox"); err != nil {
		return fmt.Errorf("outbox: listen: %w", err)
	}
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return fmt.Errorf("outbox: wait for notification: %w", err)
		}
		select {
		case wake <- struct{}{}:
		default:
		}
	}
}
