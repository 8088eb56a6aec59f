package lambdahost

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/agoracommerce/agora/internal/platform/consumer"
)

// Processor is what the Kafka adapter drives: *consumer.Processor, the
// service's consumer handler chain without a consumer group.
type Processor interface {
	Topics() []string
	Process(ctx context.Context, recs []*kgo.Record) error
}

var _ Processor = (*consumer.Processor)(nil)

// KafkaHandler is the Lambda handler of an Amazon MSK (or self-managed
// Kafka) event source mapping.
type KafkaHandler func(ctx context.Context, ev events.KafkaEvent) error

// KafkaConfig configures Kafka.
type KafkaConfig struct {
	// Processors are the service's consumers; each record goes to the one
	// whose topics include the record's topic. Two processors may not share
	// a topic (give such consumers their own function).
	Processors []Processor
	// Workers bounds how many partitions are processed at once (default 4).
	Workers int
	// Reserve is the part of the invocation's remaining time kept for
	// dead-lettering and flushing after the last retry (default 10% of the
	// remaining time, at least 1s).
	Reserve time.Duration
}

// Kafka adapts the service's consumers to MSK event source batches. The
// records of each partition are handled in offset order (partitions in
// parallel) through the consumer's handler chain: decode, dedupe, in-place
// retries of retryable errors within the invocation's time, and
// permanently failing records dead-lettered to the consumer's dead-letter
// topic. When a partition cannot finish — a retryable error outlasting the
// retries, the registry or broker unreachable, time running out — the
// handler returns an error, so the event source mapping retries the whole
// batch (records already applied are skipped by the inbox) and, once its
// MaximumRetryAttempts are spent, hands the batch to its on-failure
// destination.
func Kafka(cfg KafkaConfig) (KafkaHandler, error) {
	byTopic := map[string]Processor{}
	for _, p := range cfg.Processors {
		for _, t := range p.Topics() {
			if _, dup := byTopic[t]; dup {
				return nil, fmt.Errorf("lambdahost: two consumers read topic %s", t)
			}
			byTopic[t] = p
		}
	}
	if len(byTopic) == 0 {
		return nil, errors.New("lambdahost: the service has no consumer")
	}
	workers := cfg.Workers
	if workers <= 0 {
		workers = 4
	}
	return func(ctx context.Context, ev events.KafkaEvent) error {
		parts, err := Records(ev)
		if err != nil {
			return err
		}
		for _, recs := range parts {
			if _, ok := byTopic[recs[0].Topic]; !ok {
				return fmt.Errorf("lambdahost: no consumer of topic %s in this function", recs[0].Topic)
			}
		}
		ctx, cancel := Budget(ctx, cfg.Reserve)
		defer cancel()
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			errs []error
			sem  = make(chan struct{}, workers)
		)
		for _, recs := range parts {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				if err := byTopic[recs[0].Topic].Process(ctx, recs); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		return errors.Join(errs...)
	}, nil
}

// Records converts an MSK event into franz-go records (keys, values and
// headers decoded), one slice per topic partition sorted by offset, the
// partitions in a stable order.
func Records(ev events.KafkaEvent) ([][]*kgo.Record, error) {
	type tp struct {
		topic     string
		partition int32
	}
	byTP := map[tp][]*kgo.Record{}
	for _, batch := range ev.Records {
		for _, kr := range batch {
			r, err := record(kr)
			if err != nil {
				return nil, err
			}
			k := tp{r.Topic, r.Partition}
			byTP[k] = append(byTP[k], r)
		}
	}
	keys := make([]tp, 0, len(byTP))
	for k := range byTP {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b tp) int {
		return cmp.Or(cmp.Compare(a.topic, b.topic), cmp.Compare(a.partition, b.partition))
	})
	out := make([][]*kgo.Record, 0, len(keys))
	for _, k := range keys {
		recs := byTP[k]
		slices.SortFunc(recs, func(a, b *kgo.Record) int { return cmp.Compare(a.Offset, b.Offset) })
		out = append(out, recs)
	}
	return out, nil
}

func record(kr events.KafkaRecord) (*kgo.Record, error) {
	where := fmt.Sprintf("%s[%d]@%d", kr.Topic, kr.Partition, kr.Offset)
	if kr.Topic == "" {
		return nil, fmt.Errorf("lambdahost: record %s has no topic", where)
	}
	if kr.Partition < 0 || kr.Partition > 1<<31-1 {
		return nil, fmt.Errorf("lambdahost: record %s: partition out of range", where)
	}
	r := &kgo.Record{Topic: kr.Topic, Partition: int32(kr.Partition), Offset: kr.Offset, Timestamp: kr.Timestamp.Time}
	var err error
	if kr.Key != "" {
		if r.Key, err = base64.StdEncoding.DecodeString(kr.Key); err != nil {
			return nil, fmt.Errorf("lambdahost: record %s: key: %w", where, err)
		}
	}
	if kr.Value != "" {
		if r.Value, err = base64.StdEncoding.DecodeString(kr.Value); err != nil {
			return nil, fmt.Errorf("lambdahost: record %s: value: %w", where, err)
		}
	}
	for _, h := range kr.Headers {
		// Each element holds one header; keep their order.
		keys := make([]string, 0, len(h))
		for k := range h {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			r.Headers = append(r.Headers, kgo.RecordHeader{Key: k, Value: []byte(h[k])})
		}
	}
	return r, nil
}

// Budget returns ctx bounded to end reserve before the invocation's
// deadline (reserve 0: 10% of the remaining time, at least 1s), so the
// handler can still dead-letter, flush and answer before Lambda stops it.
func Budget(ctx context.Context, reserve time.Duration) (context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	if reserve <= 0 {
		reserve = max(time.Until(deadline)/10, time.Second)
	}
	return context.WithDeadline(ctx, deadline.Add(-reserve))
}
