package app

import (
	"context"
	"time"

	"github.com/agoracommerce/agora/internal/orderhistory"
)

// Generation numbers one complete copy of the read model. Exactly one
// generation is active: readers and the live projector use it, while a
// rebuild fills a new one from the event log and then makes it active.
type Generation int64

// Active stands for "the generation active when the transaction runs":
// the adapter resolves it inside each transaction, so a switch is never
// seen half-way.
const Active Generation = 0

// Repository keeps the read model: each order's timeline entries and the
// summary History.Summary computes from them. Implementations are safe
// for concurrent use.
//
// An adapter keys every entry by its event ID and stores the summary
// computed from all the order's entries in the same transaction,
// serialising the writes of one order; that makes recording idempotent
// without an inbox and independent of the order in which events of
// different topics arrive. (A DynamoDB adapter keeps an item per entry,
// written with attribute_not_exists(event_id), and the summary item with
// a version condition, in one TransactWriteItems; a generation is a key
// prefix or a table of its own, and the active pointer one item.)
type Repository interface {
	// Record adds entries (of any orders; valid, see Entry.Validate) to
	// generation gen (Active: the active one) and stores the new summary
	// of every order that got a new entry, in one transaction. Entries
	// whose event ID the order already has are skipped; added counts the
	// others. Errors are retryable unless the generation does not exist.
	Record(ctx context.Context, gen Generation, entries []orderhistory.Entry) (added int, err error)
	// History returns the order's history in the active generation, or
	// orderhistory.ErrNotFound when it has no entry.
	History(ctx context.Context, orderID string) (*orderhistory.History, error)
	// List returns summaries of visible (placed) orders in the active
	// generation matching q, newest placed first (ties: higher order ID
	// first), after q.After.
	List(ctx context.Context, q ListQuery) ([]orderhistory.Summary, error)
}

// ListQuery selects a page of one customer's orders.
type ListQuery struct {
	CustomerID string
	// Status filters by status; "" for every status.
	Status orderhistory.Status
	// After is the position of the last order of the previous page; nil
	// for the first page.
	After *Cursor
	Limit int
}

// Cursor is a position in the newest-first list: the placed_at and ID of
// the last order returned.
type Cursor struct {
	PlacedAt time.Time
	OrderID  string
}

// GenerationState is where a generation is in its life.
type GenerationState string

// The states of a generation: building (a rebuild fills it), active (the
// one read and projected into), retired (replaced; kept until the next
// rebuild starts, then dropped).
const (
	GenerationBuilding GenerationState = "building"
	GenerationActive   GenerationState = "active"
	GenerationRetired  GenerationState = "retired"
)

// GenerationInfo describes one generation.
type GenerationInfo struct {
	Generation  Generation
	State       GenerationState
	CreatedAt   time.Time
	ActivatedAt time.Time // zero until activated
}

// GenerationStats counts what a generation holds.
type GenerationStats struct {
	Orders  int64 // visible (placed) orders
	Entries int64 // timeline entries, of all orders
}

// Generations manages the generations of the read model. Implementations
// are safe for concurrent use.
type Generations interface {
	// ActiveGeneration returns the active generation.
	ActiveGeneration(ctx context.Context) (Generation, error)
	// BeginGeneration drops every generation that is not active (the
	// retired one and any unfinished build), then creates a new, empty
	// generation in state building and returns it.
	BeginGeneration(ctx context.Context) (Generation, error)
	// ActivateGeneration makes gen (building) the active generation in
	// one transaction and retires the one it replaces, which it returns.
	// Errors: orderhistory.ErrInvalid when gen is not building.
	ActivateGeneration(ctx context.Context, gen Generation) (previous Generation, err error)
	// Generations lists every generation, oldest first.
	Generations(ctx context.Context) ([]GenerationInfo, error)
	// Stats counts what gen holds.
	Stats(ctx context.Context, gen Generation) (GenerationStats, error)
}

// Offsets are positions in the event log: for each topic and partition,
// the offset of the next record (as a high watermark is).
type Offsets map[string]map[int32]int64

// Total returns the sum of the offsets of every partition.
func (o Offsets) Total() int64 {
	var n int64
	for _, parts := range o {
		for _, off := range parts {
			n += off
		}
	}
	return n
}

// TopicStats counts what a replay read from one topic.
type TopicStats struct {
	Read      int64 // records read
	Entries   int64 // entries they yielded
	Skipped   int64 // events the projection does not record (e.g. stock levels)
	Malformed int64 // records that are no valid event (the live projector dead-letters them)
}

// ReplayStats counts what a replay read, per topic.
type ReplayStats map[string]TopicStats

// Read returns the records read over every topic.
func (s ReplayStats) Read() int64 {
	var n int64
	for _, t := range s {
		n += t.Read
	}
	return n
}

// add sums other into s.
func (s ReplayStats) add(other ReplayStats) {
	for topic, t := range other {
		sum := s[topic]
		sum.Read += t.Read
		sum.Entries += t.Entries
		sum.Skipped += t.Skipped
		sum.Malformed += t.Malformed
		s[topic] = sum
	}
}

// EventLog is the log of the events the projection reads (the four
// topics), read without a consumer group. Implementations are safe for
// concurrent use.
type EventLog interface {
	// End returns the log's current end: the high watermark of every
	// partition of every topic.
	End(ctx context.Context) (Offsets, error)
	// Replay reads every record from from (nil: the start of the log) up
	// to, not including, to, maps each to its timeline entry and calls
	// apply with batches of entries, in log order per partition. progress,
	// when not nil, is called with the running counts after each batch.
	Replay(ctx context.Context, from, to Offsets, apply func(ctx context.Context, entries []orderhistory.Entry) error,
		progress func(ReplayStats)) (ReplayStats, error)
}
