package dlq_test

// Every broker test runs against franz-go's in-process kfake broker and
// against the real Apache Kafka broker of the test environment. Dead letters
// are made the way production makes them: a consumer.Consumer whose handler
// fails for chosen events.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/agoracommerce/agora/internal/platform/consumer"
	"github.com/agoracommerce/agora/internal/platform/dlq"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/fault"
	"github.com/agoracommerce/agora/internal/platform/inbox"
	"github.com/agoracommerce/agora/internal/platform/kafkatest"
	"github.com/agoracommerce/agora/internal/platform/sqldb"
	"github.com/agoracommerce/agora/internal/platform/sqldb/sqldbtest"
)

// bus wraps the shared event-bus harness with this suite's helpers.
type bus struct{ *kafkatest.Bus }

// eachBroker runs fn against kfake and against the real Kafka broker.
func eachBroker(t *testing.T, fn func(t *testing.T, b *bus)) {
	t.Helper()
	kafkatest.Each(t, func(t *testing.T, kb *kafkatest.Bus) { fn(t, &bus{kb}) })
}

func (b *bus) createTopic(t *testing.T, name string, partitions int32) {
	t.Helper()
	b.CreateTopic(t, name, partitions)
}

// deleteGroupsAtEnd removes the consumer groups a test used.
func (b *bus) deleteGroupsAtEnd(t *testing.T, groups ...string) {
	t.Helper()
	t.Cleanup(func() { _, _ = b.Admin.DeleteGroups(context.Background(), groups...) })
}

func (b *bus) records(t *testing.T, topic string) int64 {
	t.Helper()
	return b.Records(t, topic)
}

func (b *bus) event(t *testing.T, topic, key string, n int) events.Event {
	t.Helper()
	return b.OrderPlaced(t, topic, key, n)
}

// produce publishes recs and returns them with partition and offset set.
func (b *bus) produce(t *testing.T, recs ...*kgo.Record) []*kgo.Record {
	t.Helper()
	b.Produce(t, recs...)
	return recs
}

func (b *bus) dlqClient(t *testing.T) *dlq.Client {
	t.Helper()
	c, err := dlq.New(dlq.Config{ClientOpts: []kgo.Opt{kgo.SeedBrokers(b.Brokers...)}, PageSize: 2})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// effects is the consuming service's database: the inbox plus a table of
// applied effects that allows duplicates, so doubles would show.
type effects struct {
	db    *sqldb.DB
	inbox *inbox.Store
}

func newEffects(t *testing.T) *effects {
	t.Helper()
	db := sqldbtest.SQLite(t)
	in, err := inbox.NewStore(context.Background(), db)
	require.NoError(t, err)
	_, err = db.Exec(`CREATE TABLE effects (applied INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL)`)
	require.NoError(t, err)
	return &effects{db: db, inbox: in}
}

func (e *effects) apply(ctx context.Context, tx *sql.Tx, m *consumer.Message) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO effects (event_id) VALUES (?)`, m.Meta.ID)
	return err
}

// applied returns how many times each event was applied.
func (e *effects) applied(t *testing.T) map[string]int {
	t.Helper()
	rows, err := e.db.Query(`SELECT event_id FROM effects`)
	require.NoError(t, err)
	defer func() { _ = rows.Close() }()
	out := map[string]int{}
	for rows.Next() {
		var id string
		require.NoError(t, rows.Scan(&id))
		out[id]++
	}
	require.NoError(t, rows.Err())
	return out
}

// seen records what the consumer's handler was given, per event ID.
type seen struct {
	mu         sync.Mutex
	redrives   map[string][]int
	duplicates map[string]int
	dlqHeaders int // deliveries that still carried dlq_* headers
}

func newSeen() *seen { return &seen{redrives: map[string][]int{}, duplicates: map[string]int{}} }

func (s *seen) observe(m *consumer.Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.redrives[m.Meta.ID] = append(s.redrives[m.Meta.ID], m.Redrives)
	if m.Duplicate {
		s.duplicates[m.Meta.ID]++
	}
	for _, h := range m.Record.Headers {
		if strings.HasPrefix(h.Key, "dlq_") {
			s.dlqHeaders++
		}
	}
}

func (s *seen) snapshot() (redrives map[string][]int, duplicates map[string]int, dlqHeaders int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	redrives = map[string][]int{}
	for k, v := range s.redrives {
		redrives[k] = append([]int(nil), v...)
	}
	duplicates = map[string]int{}
	for k, v := range s.duplicates {
		duplicates[k] = v
	}
	return redrives, duplicates, s.dlqHeaders
}

// startConsumer runs a consumer of topic in group until stop is called or
// the test ends.
func (b *bus) startConsumer(t *testing.T, topic, group string, h consumer.Handler) (stop func()) {
	t.Helper()
	c, err := consumer.New(consumer.Config{
		ClientOpts: []kgo.Opt{kgo.SeedBrokers(b.Brokers...), kgo.FetchMaxWait(100 * time.Millisecond)},
		Group:      group,
		Topics:     []string{topic},
		Decoder:    b.Codec,
		Handler:    h,
		Retry:      consumer.RetryPolicy{MaxAttempts: 3, InitialInterval: 5 * time.Millisecond, MaxInterval: 20 * time.Millisecond},
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				require.NoError(t, err)
			case <-time.After(30 * time.Second):
				t.Error("consumer did not stop within 30s")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func TestListReadRedriveExactlyOnce(t *testing.T) {
	t.Parallel()
	eachBroker(t, func(t *testing.T, b *bus) {
		ctx := context.Background()
		topic := "dlqtool-" + randomID(t)
		group := topic + "-group"
		dlqTopic := group + ".dlq"
		b.createTopic(t, topic, 3)
		b.createTopic(t, dlqTopic, 2)
		b.deleteGroupsAtEnd(t, group, dlq.RedriveGroup(dlqTopic))

		var evs []events.Event
		var recs []*kgo.Record
		for n := range 2 {
			for k := range 3 {
				ev := b.event(t, topic, fmt.Sprintf("order-%d", k), n)
				evs = append(evs, ev)
				recs = append(recs, ev.Record())
			}
		}
		produced := map[string]*kgo.Record{}
		lastOriginal := map[int32]int64{}
		for i, r := range b.produce(t, recs...) {
			produced[evs[i].Metadata.ID] = r
			lastOriginal[r.Partition] = max(lastOriginal[r.Partition], r.Offset)
		}
		permanent := map[string]bool{evs[1].Metadata.ID: true, evs[3].Metadata.ID: true}
		retryable := evs[4].Metadata.ID

		fx := newEffects(t)
		obs := newSeen()
		dedupe := consumer.Dedupe(fx.inbox, group, fx.apply)
		stopFailing := b.startConsumer(t, topic, group, func(ctx context.Context, m *consumer.Message) error {
			switch {
			case permanent[m.Meta.ID]:
				return fault.Permanent(errors.New("order has no lines"))
			case m.Meta.ID == retryable:
				return fault.Retryable(errors.New("payment processor unavailable"))
			}
			return dedupe(ctx, m)
		})
		tool := b.dlqClient(t)
		require.Eventually(t, func() bool {
			s, err := tool.List(ctx, dlqTopic, dlq.ListOptions{})
			return err == nil && s.Records == 3 && len(fx.applied(t)) == 3
		}, 60*time.Second, 20*time.Millisecond, "three dead letters and three effects")
		stopFailing()

		// list
		s, err := tool.List(ctx, dlqTopic, dlq.ListOptions{})
		require.NoError(t, err)
		require.Equal(t, 3, s.Records)
		require.Equal(t, 3, s.Pending)
		require.Equal(t, dlq.RedriveGroup(dlqTopic), s.RedriveGroup)
		require.Empty(t, cmp.Diff([]dlq.Count{{Name: consumer.ReasonHandlerFailed, Records: 2}, {Name: consumer.ReasonRetriesExhausted, Records: 1}}, s.Reasons))
		require.Empty(t, cmp.Diff([]dlq.Count{{Name: topic, Records: 3}}, s.OriginalTopics))
		require.Len(t, s.Partitions, 2)
		for _, p := range s.Partitions {
			require.EqualValues(t, -1, p.RedrivenTo)
			require.EqualValues(t, p.EndOffset-p.StartOffset, p.Records)
		}

		// read
		entries, err := tool.Read(ctx, dlqTopic, dlq.ReadOptions{Partition: dlq.AllPartitions})
		require.NoError(t, err)
		require.Len(t, entries, 3)
		for i, e := range entries {
			if i > 0 {
				prev := entries[i-1]
				require.True(t, prev.Partition < e.Partition || prev.Partition == e.Partition && prev.Offset < e.Offset, "ordered by partition and offset")
			}
			orig := produced[e.EventID]
			require.NotNil(t, orig, "entry %s is one of the produced events", e.Position)
			require.Equal(t, topic, e.OriginalTopic)
			require.Equal(t, orig.Partition, e.OriginalPartition)
			require.Equal(t, orig.Offset, e.OriginalOffset)
			require.Equal(t, group, e.Group)
			require.Equal(t, string(orig.Key), string(e.Key))
			require.Equal(t, len(orig.Value), e.ValueSize)
			require.Equal(t, orig.Value, e.Value)
			require.Equal(t, headerOf(orig, events.HeaderType), e.EventType)
			require.NotEmpty(t, e.EventType)
			require.Zero(t, e.Redrives)
			require.WithinDuration(t, time.Now(), e.FailedAt, time.Minute)
			if permanent[e.EventID] {
				require.Equal(t, consumer.ReasonHandlerFailed, e.Reason)
				require.Equal(t, 1, e.Attempts)
				require.Contains(t, e.Error, "order has no lines")
			} else {
				require.Equal(t, retryable, e.EventID)
				require.Equal(t, consumer.ReasonRetriesExhausted, e.Reason)
				require.Equal(t, 3, e.Attempts)
				require.Contains(t, e.Error, "payment processor unavailable")
			}
		}
		one, err := tool.Read(ctx, dlqTopic, dlq.ReadOptions{Partition: entries[2].Partition, FromOffset: entries[2].Offset, Limit: 1})
		require.NoError(t, err)
		require.Len(t, one, 1)
		require.Equal(t, entries[2].EventID, one[0].EventID)
		limited, err := tool.Read(ctx, dlqTopic, dlq.ReadOptions{Partition: dlq.AllPartitions, Limit: 2})
		require.NoError(t, err)
		require.Empty(t, cmp.Diff([]string{entries[0].EventID, entries[1].EventID}, []string{limited[0].EventID, limited[1].EventID}))
		require.Len(t, limited, 2)

		// a dry run produces and commits nothing
		dry, err := tool.Redrive(ctx, dlqTopic, dlq.RedriveOptions{All: true, DryRun: true})
		require.NoError(t, err)
		require.Len(t, dry.Redriven, 3)
		require.Empty(t, dry.Committed)
		for _, r := range dry.Redriven {
			require.Equal(t, topic, r.Topic)
			require.EqualValues(t, -1, r.Offset)
		}
		require.EqualValues(t, 6, b.records(t, topic))

		// the fixed consumer applies each redriven event exactly once
		b.startConsumer(t, topic, group, func(ctx context.Context, m *consumer.Message) error {
			err := dedupe(ctx, m)
			obs.observe(m)
			return err
		})
		res, err := tool.Redrive(ctx, dlqTopic, dlq.RedriveOptions{All: true})
		require.NoError(t, err)
		require.Len(t, res.Redriven, 3)
		require.Empty(t, res.Refused)
		for _, r := range res.Redriven {
			require.Equal(t, topic, r.Topic)
			require.Equal(t, 1, r.Redrives)
			require.Greater(t, r.Offset, lastOriginal[r.Partition], "appended after the original records of its partition")
		}
		want := map[string]int{}
		for _, ev := range evs {
			want[ev.Metadata.ID] = 1
		}
		require.Eventually(t, func() bool { return len(fx.applied(t)) == 6 }, 60*time.Second, 20*time.Millisecond)
		require.Empty(t, cmp.Diff(want, fx.applied(t)))
		redrives, _, dlqHeaders := obs.snapshot()
		require.Zero(t, dlqHeaders, "redriven records carry no dlq_* headers")
		for _, e := range entries {
			require.Equal(t, []int{1}, redrives[e.EventID], "Message.Redrives of %s", e.EventID)
		}
		require.EqualValues(t, 9, b.records(t, topic))

		// a second redrive of all entries finds nothing new
		again, err := tool.Redrive(ctx, dlqTopic, dlq.RedriveOptions{All: true})
		require.NoError(t, err)
		require.Empty(t, again.Redriven)
		require.EqualValues(t, 9, b.records(t, topic), "no second copy")
		s, err = tool.List(ctx, dlqTopic, dlq.ListOptions{})
		require.NoError(t, err)
		require.Zero(t, s.Pending)
		for _, p := range s.Partitions {
			if p.Records > 0 {
				require.Equal(t, p.EndOffset, p.RedrivenTo, "partition %d", p.Partition)
			}
		}

		// forcing one again by offset produces a copy the inbox absorbs
		forced, err := tool.Redrive(ctx, dlqTopic, dlq.RedriveOptions{Offsets: []dlq.Position{entries[0].Position}})
		require.NoError(t, err)
		require.Len(t, forced.Redriven, 1)
		require.Empty(t, forced.Committed, "progress is already past it")
		require.EqualValues(t, 10, b.records(t, topic))
		require.Eventually(t, func() bool {
			_, dups, _ := obs.snapshot()
			return dups[entries[0].EventID] == 1
		}, 60*time.Second, 20*time.Millisecond, "the forced copy reaches the consumer as a duplicate")
		require.Empty(t, cmp.Diff(want, fx.applied(t)), "effects stay exactly once")
	})
}

// deadLetter builds a dead letter as the consumer runtime writes it.
func deadLetter(dlqTopic, original string, ev events.Event, extra ...kgo.RecordHeader) *kgo.Record {
	r := ev.Record()
	r.Topic = dlqTopic
	r.Headers = append(r.Headers, extra...)
	if original != "" {
		r.Headers = append(r.Headers, kgo.RecordHeader{Key: consumer.HeaderDLQTopic, Value: []byte(original)})
	}
	r.Headers = append(r.Headers,
		kgo.RecordHeader{Key: consumer.HeaderDLQReason, Value: []byte(consumer.ReasonHandlerFailed)},
		kgo.RecordHeader{Key: consumer.HeaderDLQError, Value: []byte("rejected")},
		kgo.RecordHeader{Key: consumer.HeaderDLQPartition, Value: []byte("0")},
		kgo.RecordHeader{Key: consumer.HeaderDLQOffset, Value: []byte("7")},
		kgo.RecordHeader{Key: consumer.HeaderDLQAttempts, Value: []byte("1")},
		kgo.RecordHeader{Key: consumer.HeaderDLQGroup, Value: []byte("g")},
		kgo.RecordHeader{Key: consumer.HeaderDLQFailedAt, Value: []byte(time.Now().UTC().Format(time.RFC3339Nano))})
	return r
}

func TestRedriveRefusesEntriesWithoutOriginalTopic(t *testing.T) {
	t.Parallel()
	eachBroker(t, func(t *testing.T, b *bus) {
		ctx := context.Background()
		target := "dlqtool-" + randomID(t)
		dlqTopic := target + "-group.dlq"
		b.createTopic(t, target, 1)
		b.createTopic(t, dlqTopic, 1)
		b.deleteGroupsAtEnd(t, dlq.RedriveGroup(dlqTopic))
		good := b.event(t, target, "order-1", 1)
		orphan := b.event(t, target, "order-2", 1)
		b.produce(t,
			deadLetter(dlqTopic, target, good, kgo.RecordHeader{Key: consumer.HeaderRedrives, Value: []byte("2")}),
			deadLetter(dlqTopic, "", orphan))
		tool := b.dlqClient(t)

		res, err := tool.Redrive(ctx, dlqTopic, dlq.RedriveOptions{Offsets: []dlq.Position{{Partition: 0, Offset: 1}}})
		require.ErrorIs(t, err, dlq.ErrNoOriginalTopic)
		require.Empty(t, res.Redriven)
		require.Len(t, res.Refused, 1)
		require.Equal(t, orphan.Metadata.ID, res.Refused[0].EventID)
		require.Empty(t, res.Committed)
		require.Zero(t, b.records(t, target), "nothing produced")

		_, err = tool.Redrive(ctx, dlqTopic, dlq.RedriveOptions{Offsets: []dlq.Position{{Partition: 0, Offset: 0}, {Partition: 0, Offset: 2}}})
		require.ErrorIs(t, err, dlq.ErrNoRecord)
		require.Zero(t, b.records(t, target), "an unknown position stops the redrive before anything is produced")

		res, err = tool.Redrive(ctx, dlqTopic, dlq.RedriveOptions{Offsets: []dlq.Position{{Partition: 0, Offset: 0}}})
		require.NoError(t, err)
		require.Len(t, res.Redriven, 1)
		require.Equal(t, 3, res.Redriven[0].Redrives)
		require.Empty(t, cmp.Diff([]dlq.Position{{Partition: 0, Offset: 1}}, res.Committed), "the progress moves over the entry that followed it")

		res, err = tool.Redrive(ctx, dlqTopic, dlq.RedriveOptions{All: true})
		require.ErrorIs(t, err, dlq.ErrNoOriginalTopic)
		require.ErrorContains(t, err, "0:1")
		require.Empty(t, res.Redriven, "the entry redriven by offset is not repeated")
		require.Len(t, res.Refused, 1)
		require.Empty(t, cmp.Diff([]dlq.Position{{Partition: 0, Offset: 2}}, res.Committed))
		require.EqualValues(t, 1, b.records(t, target))

		res, err = tool.Redrive(ctx, dlqTopic, dlq.RedriveOptions{All: true})
		require.NoError(t, err, "refused entries are not retried by the next run")
		require.Empty(t, res.Redriven)

		// The one redriven record is the original, one redrive further.
		copies, err := b.readAll(ctx, target)
		require.NoError(t, err)
		require.Len(t, copies, 1)
		got := map[string]string{}
		for _, h := range copies[0].Headers {
			require.False(t, strings.HasPrefix(h.Key, "dlq_"), "header %s kept", h.Key)
			got[h.Key] = string(h.Value)
		}
		require.Equal(t, "3", got[consumer.HeaderRedrives])
		require.Equal(t, good.Metadata.ID, got[events.HeaderID])
		require.Equal(t, good.Value, copies[0].Value)
		require.Equal(t, "order-1", string(copies[0].Key))
	})
}

// readAll reads topic to its end.
func (b *bus) readAll(ctx context.Context, topic string) ([]*kgo.Record, error) {
	ends, err := b.Admin.ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, err
	}
	var want int64
	ends.Each(func(o kadm.ListedOffset) { want += o.Offset })
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Brokers...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var out []*kgo.Record
	for int64(len(out)) < want {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		fs.EachRecord(func(r *kgo.Record) { out = append(out, r) })
	}
	return out, nil
}

func TestUnknownTopic(t *testing.T) {
	t.Parallel()
	eachBroker(t, func(t *testing.T, b *bus) {
		tool := b.dlqClient(t)
		_, err := tool.List(context.Background(), "dlqtool-missing-"+randomID(t), dlq.ListOptions{})
		require.ErrorIs(t, err, dlq.ErrUnknownTopic)
	})
}

func TestValidation(t *testing.T) {
	t.Parallel()
	_, err := dlq.New(dlq.Config{})
	require.ErrorContains(t, err, "ClientOpts are required")
	_, err = dlq.New(dlq.Config{ClientOpts: []kgo.Opt{kgo.SeedBrokers("127.0.0.1:1")}, PageSize: -1})
	require.ErrorContains(t, err, "PageSize")

	// Nothing below reaches the (unreachable) broker.
	tool, err := dlq.New(dlq.Config{ClientOpts: []kgo.Opt{kgo.SeedBrokers("127.0.0.1:1")}})
	require.NoError(t, err)
	defer tool.Close()
	ctx := context.Background()
	for name, opts := range map[string]dlq.RedriveOptions{
		"neither": {},
		"both":    {All: true, Offsets: []dlq.Position{{Partition: 0, Offset: 1}}},
	} {
		_, err := tool.Redrive(ctx, "x.dlq", opts)
		require.ErrorContains(t, err, "either all entries or explicit offsets", name)
	}
	_, err = tool.Read(ctx, "x.dlq", dlq.ReadOptions{Partition: 0, FromOffset: -1})
	require.ErrorContains(t, err, "must not be negative")
}

func TestParsePosition(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    dlq.Position
		wantErr string
	}{
		{in: "0:17", want: dlq.Position{Partition: 0, Offset: 17}},
		{in: " 3:0 ", want: dlq.Position{Partition: 3, Offset: 0}},
		{in: "17", wantErr: "want partition:offset"},
		{in: "a:1", wantErr: "partition must be"},
		{in: "-1:1", wantErr: "partition must be"},
		{in: "1:x", wantErr: "offset must be"},
		{in: "1:-4", wantErr: "offset must be"},
		{in: "99999999999:1", wantErr: "partition must be"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := dlq.ParsePosition(tt.in)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			require.Equal(t, strings.TrimSpace(tt.in), got.String())
		})
	}
}

func headerOf(r *kgo.Record, key string) string {
	v, _ := events.Header(r.Headers, key)
	return v
}

func randomID(tb testing.TB) string { tb.Helper(); return kafkatest.RandomID(tb) }
