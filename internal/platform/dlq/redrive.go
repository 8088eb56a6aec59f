package dlq

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/agoracommerce/agora/internal/platform/consumer"
)

// dlqHeaderPrefix starts the headers the consumer runtime adds when it
// dead-letters a record; a redrive removes them.
const dlqHeaderPrefix = "dlq_"

// RedriveOptions select what Redrive sends back. Exactly one of All and
// Offsets must be set.
type RedriveOptions struct {
	// All redrives every entry after the group's committed offset (the
	// partition's start when there is none), up to the end each partition
	// had when the redrive started, committing progress page by page.
	All bool
	// Offsets redrives exactly these entries, whether or not they were
	// redriven before. It moves the committed progress only over entries
	// that directly follow it, so a later redrive of all entries does not
	// repeat them.
	Offsets []Position
	// DryRun selects and checks the entries but produces and commits
	// nothing.
	DryRun bool
	// Group whose committed offsets record the progress; default
	// RedriveGroup(topic).
	Group string
}

// RedriveResult reports what a redrive did (or, in a dry run, would do).
type RedriveResult struct {
	Topic    string     `json:"topic"`
	Group    string     `json:"redrive_group"`
	DryRun   bool       `json:"dry_run"`
	Redriven []Redriven `json:"redriven"`
	Refused  []Refusal  `json:"refused"`
	// Committed is the progress committed per partition (the next offset
	// a redrive of all entries starts from), in partition order.
	Committed []Position `json:"committed"`
}

// Redriven is one entry sent back to its original topic.
type Redriven struct {
	From      Position `json:"from"`
	EventID   string   `json:"event_id"`
	EventType string   `json:"event_type"`
	Topic     string   `json:"topic"`
	// Partition and Offset of the republished record; -1 in a dry run.
	Partition int32 `json:"partition"`
	Offset    int64 `json:"offset"`
	Redrives  int   `json:"redrives"` // the new value of agora_redrives
}

// Refusal is an entry Redrive would not send back, and why.
type Refusal struct {
	From    Position `json:"from"`
	EventID string   `json:"event_id"`
	Reason  string   `json:"reason"`
	Err     error    `json:"-"` // wraps ErrNoOriginalTopic or ErrLoop
}

// Redrive republishes the selected entries of topic to their original
// topics. Entries that cannot be sent back (no original topic) are refused:
// not produced, listed in the result, and reported in the returned error
// (errors.Is(err, ErrNoOriginalTopic)); the other entries still go. A
// redrive of all entries moves its progress past refused entries too, since
// no later run could send them back either.
func (c *Client) Redrive(ctx context.Context, topic string, opts RedriveOptions) (RedriveResult, error) {
	res := RedriveResult{Topic: topic, Group: cmp.Or(opts.Group, RedriveGroup(topic)), DryRun: opts.DryRun}
	if opts.All == (len(opts.Offsets) > 0) {
		return res, errors.New("dlq: redrive: choose either all entries or explicit offsets")
	}
	bounds, err := c.bounds(ctx, topic)
	if err != nil {
		return res, err
	}
	committed, err := c.committed(ctx, res.Group, topic)
	if err != nil {
		return res, err
	}
	var producer *kgo.Client
	if !opts.DryRun {
		popts := append(slices.Clone(c.cfg.ClientOpts), kgo.RequiredAcks(kgo.AllISRAcks()))
		if producer, err = kgo.NewClient(popts...); err != nil {
			return res, fmt.Errorf("dlq: redrive: producer: %w", err)
		}
		defer producer.Close()
	}
	if opts.All {
		err = c.redriveAll(ctx, producer, bounds, committed, &res)
	} else {
		err = c.redriveOffsets(ctx, producer, bounds, committed, opts.Offsets, &res)
	}
	if err != nil {
		return res, err
	}
	if len(res.Refused) > 0 {
		errs := make([]error, len(res.Refused))
		for i, r := range res.Refused {
			errs[i] = fmt.Errorf("%s: %w", r.From, r.Err)
		}
		return res, fmt.Errorf("dlq: redrive %s: %d entries refused: %w", topic, len(res.Refused), errors.Join(errs...))
	}
	return res, nil
}

func (c *Client) redriveAll(ctx context.Context, producer *kgo.Client, bounds []bound, committed map[int32]int64, res *RedriveResult) error {
	for _, b := range bounds {
		next := b.start
		if at, ok := committed[b.partition]; ok && at > next {
			next = at
		}
		for next < b.end {
			recs, err := c.scan(ctx, res.Topic, map[int32]span{b.partition: {from: next, end: b.end, limit: c.cfg.PageSize}})
			if err != nil {
				return err
			}
			page := recs[b.partition]
			if len(page) == 0 {
				break
			}
			entries := make([]Entry, len(page))
			for i, r := range page {
				entries[i] = newEntry(r)
			}
			sent, err := c.send(ctx, producer, entries, res)
			// Commit what was sent (and the refusals before it), even when
			// the page failed part-way.
			upTo := page[len(page)-1].Offset + 1
			if err != nil {
				upTo = entries[sent].Offset
			}
			if producer != nil && upTo > next {
				if cerr := c.commit(ctx, res, map[int32]int64{b.partition: upTo}); cerr != nil {
					return errors.Join(err, cerr)
				}
			}
			if err != nil {
				return err
			}
			next = upTo
		}
	}
	return nil
}

func (c *Client) redriveOffsets(ctx context.Context, producer *kgo.Client, bounds []bound, committed map[int32]int64, positions []Position, res *RedriveResult) error {
	want := map[int32][]int64{}
	for _, p := range positions {
		if !slices.Contains(want[p.Partition], p.Offset) {
			want[p.Partition] = append(want[p.Partition], p.Offset)
		}
	}
	// Check every position before producing anything.
	var entries []Entry
	for _, b := range bounds {
		offs := want[b.partition]
		if len(offs) == 0 {
			continue
		}
		delete(want, b.partition)
		slices.Sort(offs)
		lo, hi := offs[0], offs[len(offs)-1]
		if lo < b.start || hi >= b.end {
			return fmt.Errorf("%w: partition %d holds offsets %d to %d", ErrNoRecord, b.partition, b.start, b.end-1)
		}
		recs, err := c.scan(ctx, res.Topic, map[int32]span{b.partition: {from: lo, end: hi + 1}})
		if err != nil {
			return err
		}
		byOffset := map[int64]*kgo.Record{}
		for _, r := range recs[b.partition] {
			byOffset[r.Offset] = r
		}
		for _, o := range offs {
			r, ok := byOffset[o]
			if !ok {
				return fmt.Errorf("%w: %d:%d", ErrNoRecord, b.partition, o)
			}
			entries = append(entries, newEntry(r))
		}
	}
	if len(want) > 0 {
		missing := slices.Sorted(maps.Keys(want))
		return fmt.Errorf("%w: partition(s) %v do not exist in %s", ErrNoRecord, missing, res.Topic)
	}
	before := len(res.Redriven)
	if _, err := c.send(ctx, producer, entries, res); err != nil {
		return err
	}
	if producer == nil {
		return nil
	}
	// Move the progress over redriven entries that directly follow it.
	advance := map[int32]int64{}
	for _, b := range bounds {
		next := b.start
		if at, ok := committed[b.partition]; ok && at > next {
			next = at
		}
		start := next
		for _, r := range res.Redriven[before:] {
			if r.From.Partition == b.partition && r.From.Offset == next {
				next++
			}
		}
		if next > start {
			advance[b.partition] = next
		}
	}
	if len(advance) == 0 {
		return nil
	}
	return c.commit(ctx, res, advance)
}

// send republishes entries (in order) and records them in res. It returns
// how many entries were handled before the first failed produce, with that
// failure; refused entries count as handled. With a nil producer it only
// records what it would do.
func (c *Client) send(ctx context.Context, producer *kgo.Client, entries []Entry, res *RedriveResult) (int, error) {
	var (
		recs  []*kgo.Record
		index []int // index into entries of each record
	)
	for i, e := range entries {
		rec, err := redriveRecord(e, res.Topic)
		if err != nil {
			res.Refused = append(res.Refused, Refusal{From: e.Position, EventID: e.EventID, Reason: err.Error(), Err: err})
			continue
		}
		recs = append(recs, rec)
		index = append(index, i)
	}
	if producer == nil {
		for i, rec := range recs {
			res.Redriven = append(res.Redriven, redriven(entries[index[i]], rec, -1, -1))
		}
		return len(entries), nil
	}
	results := producer.ProduceSync(ctx, recs...)
	for i, pr := range results {
		if pr.Err != nil {
			e := entries[index[i]]
			return index[i], fmt.Errorf("dlq: redrive %s to %s: %w", e.Position, pr.Record.Topic, pr.Err)
		}
		res.Redriven = append(res.Redriven, redriven(entries[index[i]], pr.Record, pr.Record.Partition, pr.Record.Offset))
	}
	return len(entries), nil
}

func redriven(e Entry, rec *kgo.Record, partition int32, offset int64) Redriven {
	return Redriven{From: e.Position, EventID: e.EventID, EventType: e.EventType, Topic: rec.Topic,
		Partition: partition, Offset: offset, Redrives: e.Redrives + 1}
}

// redriveRecord rebuilds the original record of e: its key, value and
// headers without the dead-letter verdict, with the redrive count raised.
func redriveRecord(e Entry, dlqTopic string) (*kgo.Record, error) {
	switch e.OriginalTopic {
	case "":
		return nil, ErrNoOriginalTopic
	case dlqTopic:
		return nil, ErrLoop
	}
	headers := make([]kgo.RecordHeader, 0, len(e.Headers)+1)
	for _, h := range e.Headers {
		if strings.HasPrefix(h.Key, dlqHeaderPrefix) || h.Key == consumer.HeaderRedrives {
			continue
		}
		headers = append(headers, h)
	}
	headers = append(headers, kgo.RecordHeader{Key: consumer.HeaderRedrives, Value: []byte(strconv.Itoa(e.Redrives + 1))})
	return &kgo.Record{Topic: e.OriginalTopic, Key: e.Key, Value: e.Value, Headers: headers}, nil
}

// commit records next offsets per partition as the group's progress.
func (c *Client) commit(ctx context.Context, res *RedriveResult, next map[int32]int64) error {
	offsets := kadm.Offsets{}
	for p, at := range next {
		offsets.Add(kadm.Offset{Topic: res.Topic, Partition: p, At: at, LeaderEpoch: -1})
	}
	resp, err := c.admin.CommitOffsets(ctx, res.Group, offsets)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		return fmt.Errorf("dlq: commit redrive progress of group %s: %w", res.Group, err)
	}
	for p, at := range next {
		i := slices.IndexFunc(res.Committed, func(c Position) bool { return c.Partition == p })
		if i < 0 {
			res.Committed = append(res.Committed, Position{Partition: p, Offset: at})
		} else {
			res.Committed[i].Offset = at
		}
	}
	slices.SortFunc(res.Committed, func(a, b Position) int { return cmp.Compare(a.Partition, b.Partition) })
	return nil
}
