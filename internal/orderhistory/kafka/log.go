package kafka

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"

	"github.com/agoracommerce/agora/internal/orderhistory"
	"github.com/agoracommerce/agora/internal/orderhistory/app"
	"github.com/agoracommerce/agora/internal/platform/consumer"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/fault"
	"github.com/agoracommerce/agora/internal/platform/resilience"
)

// LogConfig configures a Log.
type LogConfig struct {
	// ClientOpts connect to the cluster (kgo.SeedBrokers, SASL, TLS ...).
	ClientOpts []kgo.Opt
	// Topics are the topics replayed; Topics() when empty.
	Topics []string
	// Decoder decodes record values; *events.Codec implements it.
	// Required.
	Decoder consumer.Decoder
	// BatchSize bounds the entries handed to apply at once (default 500).
	BatchSize int
	// Retry bounds the retries of a retryable failure of decoding (the
	// registry) and of apply (the store); resilience's defaults when zero,
	// except a minute per attempt and five minutes in all.
	Retry resilience.Policy
}

// Log is the event log a rebuild replays: a plain franz-go client that
// assigns itself the partitions it reads (no consumer group, no committed
// offsets) and stops at the offsets it is given. A partition is done when
// the record just before its end offset is read, as on topics written
// without transactions (Agora's producers are idempotent, not
// transactional), whose offsets have no gaps. The topics must keep their
// events (no time or size retention) for a rebuild to see every order.
// Safe for concurrent use; Close it when done.
type Log struct {
	cfg   LogConfig
	admin *kgo.Client
}

var _ app.EventLog = (*Log)(nil)

// NewLog validates cfg and connects the log's admin client.
func NewLog(cfg LogConfig) (*Log, error) {
	if cfg.Decoder == nil {
		return nil, errors.New("orderhistory kafka: the log needs a Decoder")
	}
	if len(cfg.Topics) == 0 {
		cfg.Topics = Topics()
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 500
	}
	if cfg.Retry.Target == "" {
		cfg.Retry.Target = "orderhistory-rebuild"
	}
	if cfg.Retry.AttemptTimeout == 0 {
		cfg.Retry.AttemptTimeout = time.Minute
	}
	if cfg.Retry.MaxElapsedTime == 0 {
		cfg.Retry.MaxElapsedTime = 5 * time.Minute
	}
	if err := cfg.Retry.Validate(); err != nil {
		return nil, err
	}
	admin, err := kgo.NewClient(cfg.ClientOpts...)
	if err != nil {
		return nil, fmt.Errorf("orderhistory kafka: log client: %w", err)
	}
	return &Log{cfg: cfg, admin: admin}, nil
}

// Close releases the log's client.
func (l *Log) Close() { l.admin.Close() }

// Topics returns the topics the log replays.
func (l *Log) Topics() []string { return append([]string(nil), l.cfg.Topics...) }

// End implements app.EventLog. A topic that does not exist yet counts as
// empty.
func (l *Log) End(ctx context.Context) (app.Offsets, error) {
	return l.offsets(ctx, true)
}

func (l *Log) offsets(ctx context.Context, end bool) (app.Offsets, error) {
	adm := kadm.NewClient(l.admin)
	list := adm.ListStartOffsets
	what := "start"
	if end {
		list, what = adm.ListEndOffsets, "end"
	}
	listed, err := list(ctx, l.cfg.Topics...)
	if err != nil {
		return nil, fault.Retryable(fmt.Errorf("orderhistory kafka: list %s offsets: %w", what, err))
	}
	out := app.Offsets{}
	for _, topic := range l.cfg.Topics {
		out[topic] = map[int32]int64{}
	}
	var errs []error
	listed.Each(func(o kadm.ListedOffset) {
		switch {
		case errors.Is(o.Err, kerr.UnknownTopicOrPartition):
		case o.Err != nil:
			errs = append(errs, fmt.Errorf("%s[%d]: %w", o.Topic, o.Partition, o.Err))
		default:
			out[o.Topic][o.Partition] = o.Offset
		}
	})
	if err := errors.Join(errs...); err != nil {
		return nil, fault.Retryable(fmt.Errorf("orderhistory kafka: list %s offsets: %w", what, err))
	}
	return out, nil
}

type partition struct {
	topic string
	id    int32
}

// Replay implements app.EventLog. Records that are no valid event (bad
// metadata, an unknown schema, a malformed event) are counted as
// Malformed and skipped, as the live projector dead-letters them.
func (l *Log) Replay(ctx context.Context, from, to app.Offsets, apply func(context.Context, []orderhistory.Entry) error,
	progress func(app.ReplayStats)) (app.ReplayStats, error) {
	stats := app.ReplayStats{}
	for _, topic := range l.cfg.Topics {
		stats[topic] = app.TopicStats{}
	}
	starts, err := l.offsets(ctx, false)
	if err != nil {
		return stats, err
	}
	assign := map[string]map[int32]kgo.Offset{}
	remaining := map[partition]int64{}
	for topic, parts := range to {
		for p, end := range parts {
			begin := starts[topic][p]
			if off, ok := from[topic][p]; ok && off > begin {
				begin = off
			}
			if begin >= end {
				continue
			}
			if assign[topic] == nil {
				assign[topic] = map[int32]kgo.Offset{}
			}
			assign[topic][p] = kgo.NewOffset().At(begin)
			remaining[partition{topic, p}] = end
		}
	}
	if len(remaining) == 0 {
		return stats, nil
	}
	opts := append(append([]kgo.Opt{}, l.cfg.ClientOpts...), kgo.ConsumePartitions(assign),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(500*time.Millisecond))
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return stats, fmt.Errorf("orderhistory kafka: replay client: %w", err)
	}
	defer cl.Close()

	var batch []orderhistory.Entry
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := resilience.Do(ctx, l.cfg.Retry, func(ctx context.Context) error { return apply(ctx, batch) })
		if err != nil {
			return fmt.Errorf("orderhistory kafka: replay: apply %d entries: %w", len(batch), err)
		}
		batch = batch[:0]
		return nil
	}
	for len(remaining) > 0 {
		fetches := cl.PollRecords(ctx, l.cfg.BatchSize)
		if err := ctx.Err(); err != nil {
			return stats, fmt.Errorf("orderhistory kafka: replay: %w", err)
		}
		var fetchErr error
		fetches.EachError(func(topic string, p int32, err error) {
			if _, ok := remaining[partition{topic, p}]; ok && !kerr.IsRetriable(err) && fetchErr == nil {
				fetchErr = fmt.Errorf("orderhistory kafka: replay %s[%d]: %w", topic, p, err)
			}
		})
		if fetchErr != nil {
			return stats, fetchErr
		}
		var recErr error
		fetches.EachRecord(func(r *kgo.Record) {
			key := partition{r.Topic, r.Partition}
			end, ok := remaining[key]
			if !ok || r.Offset >= end || recErr != nil {
				return
			}
			if r.Offset+1 >= end {
				delete(remaining, key)
				cl.PauseFetchPartitions(map[string][]int32{r.Topic: {r.Partition}})
			}
			st := stats[r.Topic]
			st.Read++
			e, outcome, err := l.entry(ctx, r)
			switch {
			case err != nil:
				recErr = err
				return
			case outcome == outcomeMalformed:
				st.Malformed++
			case outcome == outcomeSkipped:
				st.Skipped++
			default:
				st.Entries++
				batch = append(batch, e)
			}
			stats[r.Topic] = st
			if len(batch) >= l.cfg.BatchSize {
				recErr = flush()
			}
		})
		if recErr != nil {
			return stats, recErr
		}
		if err := flush(); err != nil {
			return stats, err
		}
		if progress != nil {
			progress(maps.Clone(stats))
		}
	}
	return stats, nil
}

type outcome int

const (
	outcomeEntry outcome = iota
	outcomeSkipped
	outcomeMalformed
)

// entry decodes and maps one record. Only a retryable failure that
// outlived its retries (the registry down) is an error.
func (l *Log) entry(ctx context.Context, r *kgo.Record) (orderhistory.Entry, outcome, error) {
	meta, err := events.MetadataFromHeaders(r.Headers)
	if err != nil {
		return orderhistory.Entry{}, outcomeMalformed, nil
	}
	var env proto.Message
	err = resilience.Do(ctx, l.cfg.Retry, func(ctx context.Context) error {
		var derr error
		env, derr = l.cfg.Decoder.Decode(ctx, r.Value)
		return derr
	})
	switch {
	case err != nil && fault.IsRetryable(err):
		return orderhistory.Entry{}, outcomeEntry, fmt.Errorf("orderhistory kafka: replay: decode %s[%d]@%d: %w", r.Topic, r.Partition, r.Offset, err)
	case err != nil:
		return orderhistory.Entry{}, outcomeMalformed, nil
	}
	e, ok, err := Entry(meta.ID, meta.Time, env)
	switch {
	case err != nil:
		return orderhistory.Entry{}, outcomeMalformed, nil
	case !ok:
		return orderhistory.Entry{}, outcomeSkipped, nil
	}
	return e, outcomeEntry, nil
}
