// Package dlq is the operator tooling over Agora's dead-letter topics: it
// lists what a topic holds, reads entries with their failure headers parsed,
// and redrives entries back to the topic they failed on.
//
// The consumer runtime (package consumer) writes a dead letter with the
// original key, value and headers and adds dlq_* headers that say why and
// where it failed. A redrive republishes the original record — same key,
// value and headers, dlq_* headers removed, agora_redrives incremented — to
// its original topic with an idempotent acks=all producer.
//
// Redrive progress is kept as the committed offset of a consumer group
// dedicated to the dead-letter topic (by default "<dlq topic>.redrive"):
// a redrive of all entries starts at that offset and commits past every
// page it finished, so running it twice does not republish the same
// entries. A crash between producing and committing can republish the last
// page once more; that, and an explicit redrive of an entry already
// redriven, is harmless because Agora's consumers dedupe events by ce_id in
// their inbox.
package dlq

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/agoracommerce/agora/internal/platform/consumer"
	"github.com/agoracommerce/agora/internal/platform/events"
)

// AllPartitions selects every partition in ReadOptions.
const AllPartitions int32 = -1

// defaultPageSize bounds how many entries a redrive holds, produces and
// commits at once.
const defaultPageSize = 500

// Errors callers can test for with errors.Is.
var (
	// ErrNoOriginalTopic marks an entry without the dlq_original_topic
	// header: there is nowhere to send it back to, so it is refused.
	ErrNoOriginalTopic = errors.New("dlq: entry has no " + consumer.HeaderDLQTopic + " header")
	// ErrLoop marks an entry whose original topic is the dead-letter topic
	// itself; republishing it there would only copy it.
	ErrLoop = errors.New("dlq: entry's original topic is the dead-letter topic itself")
	// ErrUnknownTopic is returned when the dead-letter topic does not exist.
	ErrUnknownTopic = errors.New("dlq: topic does not exist")
	// ErrNoRecord is returned when a requested position holds no record.
	ErrNoRecord = errors.New("dlq: no record at this position")
)

// Config configures a Client.
type Config struct {
	// ClientOpts connect to the cluster (kgo.SeedBrokers, SASL, TLS ...);
	// required. Do not disable idempotent writes: redrives rely on them.
	ClientOpts []kgo.Opt
	// PageSize is how many entries a redrive produces and commits per step
	// (default 500).
	PageSize int
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	if len(c.ClientOpts) == 0 {
		return errors.New("dlq: ClientOpts are required (at least kgo.SeedBrokers)")
	}
	if c.PageSize < 0 {
		return fmt.Errorf("dlq: PageSize must not be negative, got %d", c.PageSize)
	}
	return nil
}

// Client lists, reads and redrives dead-letter topics. It is safe for
// concurrent use; two redrives of the same topic and group at once are not
// coordinated with each other (the inbox still keeps effects single).
type Client struct {
	cfg   Config
	base  *kgo.Client
	admin *kadm.Client
}

// New validates cfg and creates a client; Close releases it.
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.PageSize == 0 {
		cfg.PageSize = defaultPageSize
	}
	base, err := kgo.NewClient(cfg.ClientOpts...)
	if err != nil {
		return nil, fmt.Errorf("dlq: client: %w", err)
	}
	return &Client{cfg: cfg, base: base, admin: kadm.NewClient(base)}, nil
}

// Close closes the client's connections.
func (c *Client) Close() { c.base.Close() }

// RedriveGroup is the default consumer group whose committed offsets record
// how far topic was redriven.
func RedriveGroup(topic string) string { return topic + ".redrive" }

// Position is one record of the dead-letter topic.
type Position struct {
	Partition int32 `json:"partition"`
	Offset    int64 `json:"offset"`
}

func (p Position) String() string { return fmt.Sprintf("%d:%d", p.Partition, p.Offset) }

// ParsePosition parses "partition:offset", e.g. "0:17".
func ParsePosition(s string) (Position, error) {
	ps, os, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		return Position{}, fmt.Errorf("dlq: position %q: want partition:offset", s)
	}
	p, err := strconv.ParseInt(ps, 10, 32)
	if err != nil || p < 0 {
		return Position{}, fmt.Errorf("dlq: position %q: partition must be a non-negative integer", s)
	}
	o, err := strconv.ParseInt(os, 10, 64)
	if err != nil || o < 0 {
		return Position{}, fmt.Errorf("dlq: position %q: offset must be a non-negative integer", s)
	}
	return Position{Partition: int32(p), Offset: o}, nil
}

// Entry is one dead letter with its headers parsed. Numeric fields whose
// header is missing or malformed are -1 (0 for Attempts and Redrives).
type Entry struct {
	Position
	Timestamp         time.Time
	Key               []byte
	Value             []byte
	ValueSize         int
	Headers           []kgo.RecordHeader // all headers, as stored
	Reason            string
	Error             string
	OriginalTopic     string
	OriginalPartition int32
	OriginalOffset    int64
	Attempts          int
	Group             string
	FailedAt          time.Time // zero when missing or malformed
	EventID           string
	EventType         string
	Redrives          int
}

func newEntry(r *kgo.Record) Entry {
	h := func(key string) string {
		v, _ := events.Header(r.Headers, key)
		return v
	}
	e := Entry{
		Position:          Position{Partition: r.Partition, Offset: r.Offset},
		Timestamp:         r.Timestamp.UTC(),
		Key:               r.Key,
		Value:             r.Value,
		ValueSize:         len(r.Value),
		Headers:           r.Headers,
		Reason:            h(consumer.HeaderDLQReason),
		Error:             h(consumer.HeaderDLQError),
		OriginalTopic:     h(consumer.HeaderDLQTopic),
		OriginalPartition: -1,
		OriginalOffset:    -1,
		Group:             h(consumer.HeaderDLQGroup),
		EventID:           h(events.HeaderID),
		EventType:         h(events.HeaderType),
	}
	if p, err := strconv.ParseInt(h(consumer.HeaderDLQPartition), 10, 32); err == nil {
		e.OriginalPartition = int32(p)
	}
	if o, err := strconv.ParseInt(h(consumer.HeaderDLQOffset), 10, 64); err == nil {
		e.OriginalOffset = o
	}
	e.Attempts, _ = strconv.Atoi(h(consumer.HeaderDLQAttempts))
	e.Redrives, _ = strconv.Atoi(h(consumer.HeaderRedrives))
	if t, err := time.Parse(time.RFC3339Nano, h(consumer.HeaderDLQFailedAt)); err == nil {
		e.FailedAt = t.UTC()
	}
	return e
}

// ReadOptions select entries for Read.
type ReadOptions struct {
	// Partition to read, or AllPartitions.
	Partition int32
	// FromOffset is the first offset read in each selected partition
	// (earlier records, and records already deleted, are skipped).
	FromOffset int64
	// Limit is the most entries returned (0: no limit).
	Limit int
}

// Read returns the entries of topic selected by opts, ordered by partition
// and offset. It reads up to the end each partition had when Read started,
// at most Limit records from each partition. Dead-letter topics are written
// without transactions, so their offsets have no gaps; a partition that
// ended in transaction markers would be read until ctx ends.
func (c *Client) Read(ctx context.Context, topic string, opts ReadOptions) ([]Entry, error) {
	if opts.Partition < AllPartitions || opts.FromOffset < 0 || opts.Limit < 0 {
		return nil, fmt.Errorf("dlq: read %s: partition, offset and limit must not be negative", topic)
	}
	bounds, err := c.bounds(ctx, topic)
	if err != nil {
		return nil, err
	}
	spans := map[int32]span{}
	for _, b := range bounds {
		if opts.Partition != AllPartitions && b.partition != opts.Partition {
			continue
		}
		spans[b.partition] = span{from: max(b.start, opts.FromOffset), end: b.end, limit: opts.Limit}
	}
	if opts.Partition != AllPartitions && len(spans) == 0 {
		return nil, fmt.Errorf("dlq: read %s: partition %d does not exist", topic, opts.Partition)
	}
	recs, err := c.scan(ctx, topic, spans)
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, b := range bounds {
		for _, r := range recs[b.partition] {
			if opts.Limit > 0 && len(out) == opts.Limit {
				return out, nil
			}
			out = append(out, newEntry(r))
		}
	}
	return out, nil
}

// Summary describes what a dead-letter topic holds.
type Summary struct {
	Topic string `json:"topic"`
	// RedriveGroup is the group whose offsets record redrive progress.
	RedriveGroup   string             `json:"redrive_group"`
	Records        int                `json:"records"`
	Pending        int                `json:"pending"` // not yet redriven by a redrive of all entries
	Partitions     []PartitionSummary `json:"partitions"`
	Reasons        []Count            `json:"reasons"`
	OriginalTopics []Count            `json:"original_topics"`
}

// PartitionSummary describes one partition of a dead-letter topic.
type PartitionSummary struct {
	Partition   int32 `json:"partition"`
	StartOffset int64 `json:"start_offset"`
	EndOffset   int64 `json:"end_offset"`
	Records     int   `json:"records"`
	// RedrivenTo is the next offset a redrive of all entries starts from,
	// -1 when the partition was never redriven that way.
	RedrivenTo int64 `json:"redriven_to"`
	Pending    int   `json:"pending"`
}

// Count is how many entries share a value, e.g. a reason.
type Count struct {
	Name    string `json:"name"`
	Records int    `json:"records"`
}

// ListOptions tune List.
type ListOptions struct {
	// Group whose committed offsets are the redrive progress; default
	// RedriveGroup(topic).
	Group string
}

// List reads every entry of topic and summarizes them per partition, per
// reason and per original topic. Entries without a reason or original topic
// are counted under "".
func (c *Client) List(ctx context.Context, topic string, opts ListOptions) (Summary, error) {
	group := cmp.Or(opts.Group, RedriveGroup(topic))
	bounds, err := c.bounds(ctx, topic)
	if err != nil {
		return Summary{}, err
	}
	committed, err := c.committed(ctx, group, topic)
	if err != nil {
		return Summary{}, err
	}
	spans := map[int32]span{}
	for _, b := range bounds {
		spans[b.partition] = span{from: b.start, end: b.end}
	}
	recs, err := c.scan(ctx, topic, spans)
	if err != nil {
		return Summary{}, err
	}
	s := Summary{Topic: topic, RedriveGroup: group}
	reasons, origins := map[string]int{}, map[string]int{}
	for _, b := range bounds {
		ps := PartitionSummary{Partition: b.partition, StartOffset: b.start, EndOffset: b.end, RedrivenTo: -1}
		if at, ok := committed[b.partition]; ok {
			ps.RedrivenTo = at
		}
		for _, r := range recs[b.partition] {
			e := newEntry(r)
			ps.Records++
			if e.Offset >= ps.RedrivenTo {
				ps.Pending++
			}
			reasons[e.Reason]++
			origins[e.OriginalTopic]++
		}
		s.Records += ps.Records
		s.Pending += ps.Pending
		s.Partitions = append(s.Partitions, ps)
	}
	s.Reasons, s.OriginalTopics = counts(reasons), counts(origins)
	return s, nil
}

func counts(m map[string]int) []Count {
	out := make([]Count, 0, len(m))
	for name, n := range m {
		out = append(out, Count{Name: name, Records: n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// bound is one partition's offset range.
type bound struct {
	partition  int32
	start, end int64
}

// bounds returns the partitions of topic in order with their start and end
// offsets.
func (c *Client) bounds(ctx context.Context, topic string) ([]bound, error) {
	starts, err := c.admin.ListStartOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("dlq: list start offsets of %s: %w", topic, err)
	}
	ends, err := c.admin.ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("dlq: list end offsets of %s: %w", topic, err)
	}
	var out []bound
	var failed error
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			if errors.Is(o.Err, kerr.UnknownTopicOrPartition) {
				failed = fmt.Errorf("%w: %s", ErrUnknownTopic, topic)
			} else if failed == nil {
				failed = fmt.Errorf("dlq: end offset of %s[%d]: %w", topic, o.Partition, o.Err)
			}
			return
		}
		s, ok := starts.Lookup(topic, o.Partition)
		if !ok || s.Err != nil {
			if failed == nil {
				failed = fmt.Errorf("dlq: start offset of %s[%d] unavailable (%v)", topic, o.Partition, s.Err)
			}
			return
		}
		out = append(out, bound{partition: o.Partition, start: s.Offset, end: o.Offset})
	})
	if failed != nil {
		return nil, failed
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrUnknownTopic, topic)
	}
	slices.SortFunc(out, func(a, b bound) int { return cmp.Compare(a.partition, b.partition) })
	return out, nil
}

// committed returns the redrive group's committed offsets for topic.
func (c *Client) committed(ctx context.Context, group, topic string) (map[int32]int64, error) {
	resp, err := c.admin.FetchOffsetsForTopics(ctx, group, topic)
	if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
		return nil, fmt.Errorf("dlq: fetch offsets of group %s: %w", group, err)
	}
	out := map[int32]int64{}
	for p, o := range resp[topic] {
		if o.Err != nil {
			if errors.Is(o.Err, kerr.UnknownTopicOrPartition) || errors.Is(o.Err, kerr.GroupIDNotFound) {
				continue
			}
			return nil, fmt.Errorf("dlq: offset of group %s on %s[%d]: %w", group, topic, p, o.Err)
		}
		if o.At >= 0 {
			out[p] = o.At
		}
	}
	return out, nil
}

// span is the part of a partition scan reads: offsets from..end-1, at most
// limit records (0: no limit).
type span struct {
	from, end int64
	limit     int
}

// scan reads the spans of topic and returns each partition's records in
// offset order.
func (c *Client) scan(ctx context.Context, topic string, spans map[int32]span) (map[int32][]*kgo.Record, error) {
	out := map[int32][]*kgo.Record{}
	assign := map[int32]kgo.Offset{}
	for p, s := range spans {
		if s.from < s.end {
			assign[p] = kgo.NewOffset().At(s.from)
		}
	}
	if len(assign) == 0 {
		return out, nil
	}
	opts := append(slices.Clone(c.cfg.ClientOpts),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: assign}),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), // records deleted meanwhile: go on from the start
		kgo.FetchMaxWait(250*time.Millisecond))
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("dlq: read %s: client: %w", topic, err)
	}
	defer cl.Close()
	pending := len(assign)
	done := map[int32]bool{}
	for pending > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("dlq: read %s: %d partition(s) not read to the end: %w", topic, pending, err)
		}
		for _, fe := range fs.Errors() {
			var lost *kgo.ErrDataLoss
			if errors.As(fe.Err, &lost) {
				continue // records deleted by retention meanwhile; the client went on after them
			}
			if !kerr.IsRetriable(fe.Err) {
				return nil, fmt.Errorf("dlq: read %s[%d]: %w", topic, fe.Partition, fe.Err)
			}
		}
		fs.EachPartition(func(fp kgo.FetchTopicPartition) {
			s := spans[fp.Partition]
			for _, r := range fp.Records {
				if done[fp.Partition] {
					return
				}
				if r.Offset < s.end {
					out[fp.Partition] = append(out[fp.Partition], r)
				}
				if r.Offset >= s.end-1 || (s.limit > 0 && len(out[fp.Partition]) >= s.limit) {
					done[fp.Partition] = true
					pending--
					cl.PauseFetchPartitions(map[string][]int32{topic: {fp.Partition}})
				}
			}
		})
	}
	return out, nil
}
