package dynamo

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/fault"
	"github.com/agoracommerce/agora/internal/platform/outbox"
)

// Limits of the outbox's item encoding.
const (
	MaxShards    = 64
	outboxPrefix = "OUTBOX#"
	seqPK, seqSK = "OUTBOX#SEQ", "SEQ"
	// MaxEventsPerUnit bounds the events one unit of work adds (Row.Seq
	// keeps 10 bits for an event's position in it).
	MaxEventsPerUnit = 1 << 10
	// window is how many consecutive positions of a unit of work share an
	// item of a shard (an item stays far below DynamoDB's 400 KB).
	window = 16
	// perUpdate bounds the events one lease or mark update names, so its
	// expressions stay within DynamoDB's 4 KB.
	perUpdate = 24
	// claimHorizon bounds how many pending events past the oldest one a
	// claim looks at, in multiples of its limit.
	claimHorizon = 4
)

// OutboxConfig configures an Outbox. Zero values take the documented
// defaults.
type OutboxConfig struct {
	Client API    // required
	Table  string // required: the service's table
	// Shards spreads the outbox over this many partitions (default 1,
	// at most MaxShards); one aggregate always stays in one shard.
	Shards int
	// ExpireAfter, when set, gives every outbox item a TTL this long after
	// it was written. Use it only when StreamRelay publishes the table's
	// stream: the polling relay deletes what it published, and a TTL
	// would drop unpublished events.
	ExpireAfter time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Outbox is the transactional outbox on DynamoDB and the outbox.Source
// the polling relay claims from. Safe for concurrent use by several
// relays in one or many processes.
type Outbox struct {
	api         API
	table       string
	shards      int
	expireAfter time.Duration
	now         func() time.Time
}

var _ outbox.Source = (*Outbox)(nil)

// NewOutbox validates cfg and returns the outbox.
func NewOutbox(cfg OutboxConfig) (*Outbox, error) {
	if cfg.Client == nil || cfg.Table == "" {
		return nil, errors.New("dynamo: outbox needs a Client and a Table")
	}
	if cfg.Shards == 0 {
		cfg.Shards = 1
	}
	if cfg.Shards < 1 || cfg.Shards > MaxShards {
		return nil, fmt.Errorf("dynamo: outbox Shards %d must be 1-%d", cfg.Shards, MaxShards)
	}
	if cfg.ExpireAfter < 0 {
		return nil, errors.New("dynamo: outbox ExpireAfter must not be negative")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Outbox{api: cfg.Client, table: cfg.Table, shards: cfg.Shards, expireAfter: cfg.ExpireAfter, now: cfg.Now}, nil
}

// Table is the table the outbox lives in.
func (o *Outbox) Table() string { return o.table }

func (o *Outbox) shardOf(topic, key string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(topic))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(key))
	return int(h.Sum32() % uint32(o.shards)) // #nosec G115 -- shards <= MaxShards
}

func shardPK(shard int) string { return outboxPrefix + strconv.Itoa(shard) }

func sortKey(seq int64, win int) string { return fmt.Sprintf("%020d#%02d", seq, win) }

// rowSeq encodes an event's Row.Seq: the unit of work's sequence, the
// event's position in it, its shard.
func rowSeq(seq int64, pos, shard int) int64 {
	return seq<<16 | int64(pos)<<6 | int64(shard)
}

func splitSeq(rs int64) (seq int64, pos, shard int) {
	return rs >> 16, int(rs>>6) & (MaxEventsPerUnit - 1), int(rs & (MaxShards - 1))
}

// Add puts evs into tx as outbox items: the events of each shard, in
// the order given, 64 consecutive positions to an item (so a unit of work
// adds about one item per shard it touches rather than one per event).
// Call it after the unit of work read the state it changes: it allocates
// the unit of work's sequence with one write. An event without topic or
// ID, or more than MaxEventsPerUnit events, is a permanent error.
func (o *Outbox) Add(ctx context.Context, tx *Tx, evs ...events.Event) error {
	if len(evs) == 0 {
		return nil
	}
	if len(evs) > MaxEventsPerUnit {
		return fault.Permanent(fmt.Errorf("outbox: %d events in one unit of work; at most %d", len(evs), MaxEventsPerUnit))
	}
	type itemKey struct{ shard, win int }
	var order []itemKey
	lists := map[itemKey][]types.AttributeValue{}
	for pos, ev := range evs {
		if ev.Topic == "" || ev.Metadata.ID == "" {
			return fault.Permanent(fmt.Errorf("outbox: event without topic or ID: %+v", ev.Metadata))
		}
		blob, err := json.Marshal(storedEvent{Pos: pos, Topic: ev.Topic, Key: ev.Key, Value: ev.Value, Metadata: ev.Metadata})
		if err != nil {
			return fault.Permanent(fmt.Errorf("outbox: encode event %s: %w", ev.Metadata.ID, err))
		}
		k := itemKey{o.shardOf(ev.Topic, ev.Key), pos / window}
		if lists[k] == nil {
			order = append(order, k)
		}
		lists[k] = append(lists[k], B(blob))
	}
	seq, err := o.allocate(ctx, 1)
	if err != nil {
		return err
	}
	now := o.now()
	for _, k := range order {
		item := map[string]types.AttributeValue{
			AttrPK: S(shardPK(k.shard)), AttrSK: S(sortKey(seq, k.win)),
			"seq": N(seq), "n": N(int64(len(lists[k]))), "events": &types.AttributeValueMemberL{Value: lists[k]},
			"created_at": N(now.UnixMicro()),
		}
		if o.expireAfter > 0 {
			item[AttrTTL] = TTL(now.Add(o.expireAfter))
		}
		tx.Put(types.Put{TableName: aws.String(o.table), Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")}, nil)
	}
	return nil
}

// allocate reserves n sequence numbers and returns the last one.
func (o *Outbox) allocate(ctx context.Context, n int64) (int64, error) {
	out, err := o.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(o.table),
		Key:                       Key(seqPK, seqSK),
		UpdateExpression:          aws.String("ADD #seq :n"),
		ExpressionAttributeNames:  map[string]string{"#seq": "seq"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":n": N(n)},
		ReturnValues:              types.ReturnValueUpdatedNew,
	})
	if err != nil {
		return 0, Classify(fmt.Errorf("outbox: allocate sequence: %w", err))
	}
	last, err := GetN(out.Attributes, "seq")
	if err != nil {
		return 0, fault.Permanent(fmt.Errorf("outbox: sequence: %w", err))
	}
	return last, nil
}

type leaseOf struct {
	owner string
	until int64
}

// pendingItem is one outbox item as Claim and Stats see it.
type pendingItem struct {
	shard     int
	seq       int64
	sk        string
	n         int
	done      map[int]bool
	createdAt int64
	leases    map[int]leaseOf
	evs       []posEvent // nil when not read
}

// posEvent is an event of an item with its position in its unit of work.
type posEvent struct {
	pos int
	ev  events.Event
}

func (p *pendingItem) remaining() int { return p.n - len(p.done) }

func leaseAttrs(pos int) (owner, until string) {
	return "lo_" + strconv.Itoa(pos), "lu_" + strconv.Itoa(pos)
}

func decodePending(shard int, item map[string]types.AttributeValue) (*pendingItem, error) {
	p := &pendingItem{shard: shard, sk: GetS(item, AttrSK), done: map[int]bool{}, leases: map[int]leaseOf{}}
	var err error
	if p.seq, err = GetN(item, "seq"); err != nil {
		return nil, err
	}
	n, err := GetN(item, "n")
	if err != nil {
		return nil, err
	}
	p.n = int(n)
	if p.createdAt, err = GetN(item, "created_at"); err != nil {
		return nil, err
	}
	if ns, ok := item["done"].(*types.AttributeValueMemberNS); ok {
		for _, v := range ns.Value {
			i, err := strconv.Atoi(v)
			if err != nil {
				return nil, fmt.Errorf("done index %q: %w", v, err)
			}
			p.done[i] = true
		}
	}
	for name := range item {
		idx, ok := strings.CutPrefix(name, "lo_")
		if !ok {
			continue
		}
		i, err := strconv.Atoi(idx)
		if err != nil {
			return nil, fmt.Errorf("lease attribute %s: %w", name, err)
		}
		_, untilAttr := leaseAttrs(i)
		until, err := GetN(item, untilAttr)
		if err != nil {
			return nil, err
		}
		p.leases[i] = leaseOf{owner: GetS(item, name), until: until}
	}
	if _, ok := item["events"]; ok {
		if p.evs, err = decodePosEvents(item); err != nil {
			return nil, err
		}
		if len(p.evs) != p.n {
			return nil, fmt.Errorf("%d events, n = %d", len(p.evs), p.n)
		}
	}
	return p, nil
}

// storedEvent is the encoding of one event in an item's events list:
// compact JSON, one binary attribute per event.
type storedEvent struct {
	Pos      int             `json:"p"`
	Topic    string          `json:"t"`
	Key      string          `json:"k"`
	Value    []byte          `json:"v"`
	Metadata events.Metadata `json:"m"`
}

// decodePosEvents returns the events of an outbox item with their
// positions.
func decodePosEvents(item map[string]types.AttributeValue) ([]posEvent, error) {
	list, ok := item["events"].(*types.AttributeValueMemberL)
	if !ok {
		return nil, errors.New("outbox item without events")
	}
	out := make([]posEvent, len(list.Value))
	for i, v := range list.Value {
		b, ok := v.(*types.AttributeValueMemberB)
		if !ok {
			return nil, fmt.Errorf("outbox event %d is not binary", i)
		}
		var se storedEvent
		if err := json.Unmarshal(b.Value, &se); err != nil {
			return nil, fmt.Errorf("outbox event %d: %w", i, err)
		}
		if se.Pos < 0 || se.Pos >= MaxEventsPerUnit {
			return nil, fmt.Errorf("outbox event %d: position %d", i, se.Pos)
		}
		out[i] = posEvent{pos: se.Pos, ev: events.Event{Topic: se.Topic, Key: se.Key, Value: se.Value, Metadata: se.Metadata}}
	}
	return out, nil
}

// decodeEvents returns the events of an outbox item.
func decodeEvents(item map[string]types.AttributeValue) ([]events.Event, error) {
	pes, err := decodePosEvents(item)
	if err != nil {
		return nil, err
	}
	out := make([]events.Event, len(pes))
	for i, pe := range pes {
		out[i] = pe.ev
	}
	return out, nil
}

// scan reads the items of every shard, strongly consistent, oldest
// first, each shard until it has seen horizon pending events (0: all),
// projecting projection ("": everything).
func (o *Outbox) scan(ctx context.Context, horizon int, projection string) ([]*pendingItem, error) {
	var all []*pendingItem
	for shard := range o.shards {
		var start map[string]types.AttributeValue
		seen := 0
		for {
			in := &dynamodb.QueryInput{
				TableName:                 aws.String(o.table),
				KeyConditionExpression:    aws.String("pk = :pk"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":pk": S(shardPK(shard))},
				ConsistentRead:            aws.Bool(true),
				ExclusiveStartKey:         start,
			}
			if horizon > 0 {
				// Items hold up to window events each: read a few at a time.
				in.Limit = aws.Int32(int32(min(max(2, (horizon-seen)/window+1), 100))) // #nosec G115 -- bounded
			}
			if projection != "" {
				in.ProjectionExpression = aws.String(projection)
			}
			out, err := o.api.Query(ctx, in)
			if err != nil {
				return nil, Classify(fmt.Errorf("outbox: read shard %d: %w", shard, err))
			}
			for _, item := range out.Items {
				p, err := decodePending(shard, item)
				if err != nil {
					return nil, fault.Permanent(fmt.Errorf("outbox: item %s: %w", GetS(item, AttrSK), err))
				}
				all = append(all, p)
				seen += p.remaining()
			}
			start = out.LastEvaluatedKey
			if len(start) == 0 || (horizon > 0 && seen >= horizon) {
				break
			}
		}
	}
	slices.SortFunc(all, func(a, b *pendingItem) int {
		switch {
		case a.seq != b.seq:
			return cmp.Compare(a.seq, b.seq)
		case a.shard != b.shard:
			return cmp.Compare(a.shard, b.shard)
		}
		return strings.Compare(a.sk, b.sk)
	})
	return all, nil
}

// Claim implements outbox.Source. It reads the oldest pending items of
// every shard with strongly consistent queries and walks their events in
// Row.Seq order: an event whose aggregate has an earlier event leased by
// another owner (live lease) is skipped, with every later event of its
// aggregate; the others are leased with conditional updates of their
// items, item by item in order (free, expired or already the owner's).
// An aggregate whose event could not be leased contributes no later
// event.
func (o *Outbox) Claim(ctx context.Context, owner string, limit int, lease time.Duration) ([]outbox.Row, error) {
	if owner == "" {
		return nil, fault.Permanent(errors.New("outbox: claim without an owner"))
	}
	if limit <= 0 {
		return nil, nil
	}
	// Look ahead claimHorizon*limit events in all, spread over the shards.
	items, err := o.scan(ctx, max(limit, claimHorizon*limit/o.shards), "")
	if err != nil {
		return nil, err
	}
	type cand struct {
		it *pendingItem
		pe posEvent
		rs int64
	}
	var all []cand
	for _, it := range items {
		for _, pe := range it.evs {
			if !it.done[pe.pos] {
				all = append(all, cand{it, pe, rowSeq(it.seq, pe.pos, it.shard)})
			}
		}
	}
	slices.SortFunc(all, func(a, b cand) int { return cmp.Compare(a.rs, b.rs) })

	now := o.now().UnixMicro()
	until := o.now().Add(lease).UnixMicro()
	aggregate := func(ev events.Event) string { return ev.Topic + "\x00" + ev.Key }
	blocked := map[string]bool{}
	picks := map[*pendingItem][]posEvent{}
	n := 0
	for _, c := range all {
		if n == limit {
			break
		}
		k := aggregate(c.pe.ev)
		if blocked[k] {
			continue
		}
		if l, ok := c.it.leases[c.pe.pos]; ok && l.owner != owner && l.until >= now {
			blocked[k] = true
			continue
		}
		picks[c.it] = append(picks[c.it], c.pe)
		n++
	}
	var rows []outbox.Row
	for _, it := range items { // item order keeps each aggregate's order
		pick := picks[it]
		for start := 0; start < len(pick); start += perUpdate {
			var chunk []posEvent
			for _, pe := range pick[start:min(start+perUpdate, len(pick))] {
				if !blocked[aggregate(pe.ev)] {
					chunk = append(chunk, pe)
				}
			}
			if len(chunk) == 0 {
				continue
			}
			ok, err := o.lease(ctx, it, chunk, owner, now, until)
			if err != nil {
				return nil, err
			}
			for _, pe := range chunk {
				if !ok {
					blocked[aggregate(pe.ev)] = true
					continue
				}
				rows = append(rows, outbox.Row{Seq: rowSeq(it.seq, pe.pos, it.shard), Event: pe.ev})
			}
		}
	}
	slices.SortFunc(rows, func(a, b outbox.Row) int { return cmp.Compare(a.Seq, b.Seq) })
	return rows, nil
}

// lease takes the leases of some events of one item in one conditional
// update; ok is false when a condition failed (another owner holds one of
// them, or the item was published meanwhile).
func (o *Outbox) lease(ctx context.Context, it *pendingItem, pes []posEvent, owner string, now, until int64) (bool, error) {
	sets := make([]string, 0, 2*len(pes))
	conds := []string{"attribute_exists(pk)"}
	values := map[string]types.AttributeValue{":o": S(owner), ":u": N(until), ":now": N(now)}
	for _, pe := range pes {
		lo, lu := leaseAttrs(pe.pos)
		p := ":p" + strconv.Itoa(pe.pos)
		values[p] = N(int64(pe.pos))
		sets = append(sets, lo+" = :o", lu+" = :u")
		// Not published meanwhile (a mark drops the lease), and not
		// leased live by another owner.
		conds = append(conds, fmt.Sprintf("NOT contains(done, %s) AND (attribute_not_exists(%s) OR %s < :now OR %s = :o)", p, lo, lu, lo))
	}
	_, err := o.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(o.table),
		Key:                       Key(shardPK(it.shard), it.sk),
		UpdateExpression:          aws.String("SET " + strings.Join(sets, ", ")),
		ConditionExpression:       aws.String(strings.Join(conds, " AND ")),
		ExpressionAttributeValues: values,
	})
	if err == nil {
		return true, nil
	}
	if err = Classify(err); errors.Is(err, ErrConditionFailed) {
		return false, nil
	}
	return false, fmt.Errorf("outbox: lease item %s: %w", it.sk, err)
}

// MarkPublished implements outbox.Source: it records the events as done
// on their items, conditional on owner holding their leases (events it
// does not hold are left as they are), and deletes an item once all its
// events are done.
func (o *Outbox) MarkPublished(ctx context.Context, owner string, seqs []int64) error {
	type itemKey struct {
		seq        int64
		shard, win int
	}
	idxs := map[itemKey][]int{}
	var keys []itemKey
	for _, s := range seqs {
		seq, pos, shard := splitSeq(s)
		k := itemKey{seq, shard, pos / window}
		if idxs[k] == nil {
			keys = append(keys, k)
		}
		idxs[k] = append(idxs[k], pos)
	}
	for _, k := range keys {
		key := Key(shardPK(k.shard), sortKey(k.seq, k.win))
		var doneN, n int64
		all := idxs[k]
		for start := 0; start < len(all); start += perUpdate {
			chunk := all[start:min(start+perUpdate, len(all))]
			dn, nn, err := o.mark(ctx, key, owner, chunk)
			if errors.Is(err, ErrConditionFailed) && len(chunk) > 1 {
				// Some are not this owner's: mark the others one by one.
				for _, idx := range chunk {
					if dn, nn, err = o.mark(ctx, key, owner, []int{idx}); err != nil && !errors.Is(err, ErrConditionFailed) {
						return err
					}
					if err == nil {
						doneN, n = dn, nn
					}
				}
				continue
			}
			if errors.Is(err, ErrConditionFailed) {
				continue
			}
			if err != nil {
				return err
			}
			doneN, n = dn, nn
		}
		if n == 0 || doneN < n {
			continue
		}
		_, err := o.api.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName:                 aws.String(o.table),
			Key:                       key,
			ConditionExpression:       aws.String("size(done) = :n"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":n": N(n)},
		})
		if err != nil {
			if err = Classify(err); !errors.Is(err, ErrConditionFailed) {
				return fmt.Errorf("outbox: delete published item %s: %w", sortKey(k.seq, k.win), err)
			}
		}
	}
	return nil
}

// mark adds idxs to an item's done set if owner holds all their leases,
// and returns the size of the set and the item's event count.
func (o *Outbox) mark(ctx context.Context, key map[string]types.AttributeValue, owner string, idxs []int) (done, n int64, err error) {
	nums := make([]string, len(idxs))
	removes := make([]string, 0, 2*len(idxs))
	conds := make([]string, len(idxs))
	for i, idx := range idxs {
		nums[i] = strconv.Itoa(idx)
		lo, lu := leaseAttrs(idx)
		removes = append(removes, lo, lu)
		conds[i] = lo + " = :o"
	}
	out, err := o.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(o.table),
		Key:                       key,
		UpdateExpression:          aws.String("ADD done :d REMOVE " + strings.Join(removes, ", ")),
		ConditionExpression:       aws.String(strings.Join(conds, " AND ")),
		ExpressionAttributeValues: map[string]types.AttributeValue{":d": &types.AttributeValueMemberNS{Value: nums}, ":o": S(owner)},
		// ALL_NEW: emulators leave n out of UPDATED_NEW.
		ReturnValues: types.ReturnValueAllNew,
	})
	if err != nil {
		err = Classify(err)
		if errors.Is(err, ErrConditionFailed) {
			return 0, 0, err
		}
		return 0, 0, fmt.Errorf("outbox: mark published: %w", err)
	}
	if n, err = GetN(out.Attributes, "n"); err != nil {
		return 0, 0, fault.Permanent(fmt.Errorf("outbox: marked item: %w", err))
	}
	if ns, ok := out.Attributes["done"].(*types.AttributeValueMemberNS); ok {
		done = int64(len(ns.Value))
	}
	return done, n, nil
}

// Cleanup implements outbox.Source. Published items are deleted as soon
// as all their events are marked, so there is nothing to clean up: it
// returns 0.
func (o *Outbox) Cleanup(context.Context, time.Time) (int64, error) { return 0, nil }

// Stats implements outbox.Source from strongly consistent reads of the
// outbox partitions (which hold exactly the backlog).
func (o *Outbox) Stats(ctx context.Context) (outbox.Stats, error) {
	items, err := o.scan(ctx, 0, "seq, n, done, created_at")
	if err != nil {
		return outbox.Stats{}, err
	}
	var st outbox.Stats
	oldest := int64(-1)
	for _, it := range items {
		r := it.remaining()
		if r <= 0 {
			continue
		}
		st.Backlog += int64(r)
		if oldest < 0 || it.createdAt < oldest {
			oldest = it.createdAt
		}
	}
	if oldest >= 0 {
		st.OldestAge = max(o.now().Sub(time.UnixMicro(oldest)), 0)
	}
	return st, nil
}

// IsOutboxItem reports whether an item (or stream image) with primary key
// pk is an outbox item.
func IsOutboxItem(pk string) bool {
	return strings.HasPrefix(pk, outboxPrefix) && pk != seqPK
}
