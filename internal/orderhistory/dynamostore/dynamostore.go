// Package dynamostore keeps the order history's read model in one
// DynamoDB table (single-table design, the platform's shared layout). The
// service publishes nothing, so there is no outbox; recording is
// idempotent by event ID, so there is no inbox either.
//
// Access patterns and keys (<g> is a generation number):
//
//	active generation       pk "GEN", sk "ACTIVE": active, last (the last
//	                        number handed out, never reused)
//	generations             pk "GEN", sk "GEN#<20-digit g>": state
//	                        (building, active, retired, or dropping while
//	                        BeginGeneration deletes it), created_at,
//	                        activated_at (µs)
//	an order's timeline     pk "G#<g>#ORDER#<order>", sk "E#<event id>":
//	                        one item per entry (type, time, customer,
//	                        facts, lines)
//	an order's summary      same partition, sk "SUMMARY": the fields of
//	                        orderhistory.Summary; entries (the entry
//	                        count) is its version
//	event ID uniqueness     pk "G#<g>#EVENT#<event id>", sk "EVENT":
//	                        order_id (guard item)
//	a customer's orders,    gsi1 (sparse: placed orders only):
//	newest first            gsi1pk "G#<g>#CUST#<customer>",
//	                        gsi1sk "<20-digit placed µs>#<order>", read
//	                        with ScanIndexForward false; status is a
//	                        FilterExpression
//	a generation's orders   gsi2: gsi2pk "G#<g>#ORDERS#<shard>" (shard =
//	                        FNV-1a(order) mod 16), gsi2sk <order>
//
// The generation items are created lazily: until the first
// BeginGeneration writes them, generation 1 is active and the table needs
// no setup, so New does no I/O.
//
// History is one strongly consistent Query of the order's partition.
// Record groups the entries by order; for each order it reads the
// partition (entries and summary), keeps the entries whose event ID the
// order does not have yet, and writes them, their guard items and the
// summary recomputed from all the order's entries (History.Summary) in one
// TransactWriteItems. Entries and guards are put with
// attribute_not_exists(pk); the summary with the condition that its entry
// count is still the one read (or that it does not exist yet), so a
// concurrent Record of the same order cancels the transaction and the
// loser reads again and retries (optimistic concurrency; nothing is lost
// and nothing counted twice). A guard that exists means the event ID is
// recorded for another order: the transaction is cancelled and the Record
// fails permanently with orderhistory.ErrInvalid.
//
// Limits: a transaction takes 100 items, so the new entries of one order
// go 49 at a time (two items each, plus the summary), each transaction
// consistent on its own. Record is therefore atomic per order, not per
// call, which is harmless because recording is idempotent: a retried call
// skips what a failed one stored. Orders of one call are written
// concurrently (up to 8 at a time).
//
// History, List and Record into the active generation read the pointer
// item once per call (strongly consistent; Record into a named generation
// reads the GEN partition), and the generation read holds for the whole
// call. The pointer is thus the table's hottest item: DynamoDB serves
// about 3,000 strongly consistent reads of one item a second. It is not
// part of the recording transactions (a ConditionCheck on it would make
// every two concurrent Records conflict), so a Record that read the
// pointer just before a switch may still write into the generation it
// replaced. That is harmless: its events precede the switch in the log,
// so the rebuild's catch-up records them into the new generation too.
//
// Indexes are eventually consistent: List (gsi1) and Stats (gsi2, which
// counts what the summaries say) may lag a Record by a moment.
//
// Generations: BeginGeneration marks every generation but the active one
// dropping (conditional on the state read), deletes its items order by
// order (found through gsi2; entries and guards first, the summary last,
// with BatchWriteItem) and then its generation item, so a drop that is
// interrupted is finished by the next BeginGeneration. It then numbers the
// new generation from the pointer's last (conditional on the pointer
// read) and puts it in state building, in one transaction.
// ActivateGeneration moves the pointer, activates the new generation and
// retires the old one in one transaction, each conditional on what was
// read. Record refuses a generation that does not exist or is being
// dropped; one that started just before the drop may leave items behind,
// which no generation can see (numbers are never reused).
package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/agoracommerce/agora/internal/orderhistory"
	"github.com/agoracommerce/agora/internal/orderhistory/app"
	"github.com/agoracommerce/agora/internal/platform/dynamo"
	"github.com/agoracommerce/agora/internal/platform/fault"
)

// maxAttempts bounds the retries of a change that lost a race.
const maxAttempts = 16

// entriesPerTx is how many new entries of one order a transaction
// carries: each is an entry item and a guard item, and the summary is one
// more.
const entriesPerTx = (dynamo.MaxTxItems - 1) / 2

// parallelOrders bounds how many orders of one Record are written at a
// time.
const parallelOrders = 8

// ErrConcurrentUpdate: a change lost the race for an order or for the
// generation items maxAttempts times in a row. It is retryable.
var ErrConcurrentUpdate = errors.New("too many concurrent changes")

// Errors registered for transaction items.
var (
	errOrderChanged = errors.New("order changed concurrently")
	errEventReused  = errors.New("event ID recorded for another order")
	errGensChanged  = errors.New("generations changed concurrently")
)

// API is the part of *dynamodb.Client the Store uses: the platform's
// dynamo.API and BatchWriteItem, which drops a generation 25 items a
// request.
type API interface {
	dynamo.API
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
}

var _ API = (*dynamodb.Client)(nil)

// Store is the DynamoDB Repository and Generations of the order history.
// Safe for concurrent use.
type Store struct {
	api   API
	table string
	now   func() time.Time
}

var (
	_ app.Repository  = (*Store)(nil)
	_ app.Generations = (*Store)(nil)
)

// New returns the Store over table, which has the platform's shared
// layout (dynamo.TableInput). It does no I/O: an empty table holds an
// empty, active generation 1.
func New(client API, table string) (*Store, error) {
	if client == nil || table == "" {
		return nil, errors.New("orderhistory dynamostore: a client and a table are required")
	}
	return &Store{api: client, table: table, now: time.Now}, nil
}

func dbErr(op string, err error) error {
	return dynamo.Classify(fmt.Errorf("orderhistory dynamostore: %s: %w", op, err))
}

func stored(what string, err error) error {
	return fault.Permanent(fmt.Errorf("orderhistory dynamostore: stored %s: %w", what, err))
}

// query runs in page by page and calls fn with each page's items.
func (s *Store) query(ctx context.Context, op string, in *dynamodb.QueryInput, fn func([]map[string]types.AttributeValue) error) error {
	in.TableName = aws.String(s.table)
	for {
		out, err := s.api.Query(ctx, in)
		if err != nil {
			return dbErr(op, err)
		}
		if err := fn(out.Items); err != nil {
			return err
		}
		if len(out.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// orderItems is what an order's partition holds.
type orderItems struct {
	entries []orderhistory.Entry
	// version is the summary's entry count; 0 without a summary.
	version    int64
	hasSummary bool
}

// readOrder reads an order's partition strongly consistent; with
// entriesOnly, the summary is left out.
func (s *Store) readOrder(ctx context.Context, g app.Generation, orderID string, entriesOnly bool) (orderItems, error) {
	in := &dynamodb.QueryInput{
		ConsistentRead:            aws.Bool(true),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": dynamo.S(orderPK(g, orderID))},
	}
	if entriesOnly {
		in.KeyConditionExpression = aws.String("pk = :pk AND begins_with(sk, :e)")
		in.ExpressionAttributeValues[":e"] = dynamo.S(entryPrefix)
	}
	var out orderItems
	err := s.query(ctx, "read order "+orderID, in, func(items []map[string]types.AttributeValue) error {
		for _, item := range items {
			if dynamo.GetS(item, dynamo.AttrSK) == summarySK {
				n, err := dynamo.GetN(item, attrEntries)
				if err != nil {
					return stored("summary of "+orderID, err)
				}
				out.version, out.hasSummary = n, true
				continue
			}
			e, err := decodeEntry(item)
			if err != nil {
				return err
			}
			out.entries = append(out.entries, e)
		}
		return nil
	})
	return out, err
}

// Record implements app.Repository; see the package doc.
func (s *Store) Record(ctx context.Context, gen app.Generation, entries []orderhistory.Entry) (int, error) {
	if len(entries) == 0 {
		return 0, nil
	}
	g, err := s.resolve(ctx, gen)
	if err != nil {
		return 0, err
	}
	byOrder := map[string][]orderhistory.Entry{}
	for _, e := range entries {
		byOrder[e.OrderID] = append(byOrder[e.OrderID], e)
	}
	ids := make([]string, 0, len(byOrder))
	for id := range byOrder {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var (
		wg    sync.WaitGroup
		sem   = make(chan struct{}, parallelOrders)
		added = make([]int, len(ids))
		errs  = make([]error, len(ids))
	)
	for i, id := range ids {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			added[i], errs[i] = s.recordOrder(ctx, g, id, byOrder[id])
		})
	}
	wg.Wait()
	total := 0
	for i := range ids {
		if errs[i] != nil {
			return 0, errs[i]
		}
		total += added[i]
	}
	return total, nil
}

// recordOrder adds one order's new entries, retrying when a concurrent
// Record of the order got in first.
func (s *Store) recordOrder(ctx context.Context, g app.Generation, orderID string, entries []orderhistory.Entry) (int, error) {
	added := 0
	var err error
	for attempt := range maxAttempts {
		if werr := dynamo.Backoff(ctx, attempt); werr != nil {
			return added, werr
		}
		var n int
		n, err = s.tryRecordOrder(ctx, g, orderID, entries)
		added += n
		if !errors.Is(err, errOrderChanged) {
			return added, err
		}
	}
	return added, fault.Retryable(fmt.Errorf("orderhistory dynamostore: record order %s: %w: %w", orderID, ErrConcurrentUpdate, err))
}

// tryRecordOrder reads the order once and writes its new entries, in
// transactions of up to entriesPerTx; it returns how many it stored.
func (s *Store) tryRecordOrder(ctx context.Context, g app.Generation, orderID string, entries []orderhistory.Entry) (int, error) {
	have, err := s.readOrder(ctx, g, orderID, false)
	if err != nil {
		return 0, err
	}
	if int64(len(have.entries)) != have.version {
		// A Record committed while the partition was read page by page.
		return 0, errOrderChanged
	}
	h, err := orderhistory.NewHistory(orderID, have.entries...)
	if err != nil {
		return 0, stored("history of "+orderID, err)
	}
	var fresh []orderhistory.Entry
	for _, e := range entries {
		ok, err := h.Add(e)
		if err != nil {
			return 0, fault.Permanent(fmt.Errorf("orderhistory dynamostore: %w", err))
		}
		if ok {
			fresh = append(fresh, e)
		}
	}
	if len(fresh) == 0 {
		return 0, nil
	}
	// Each transaction stores the summary of what is stored after it.
	cur, err := orderhistory.NewHistory(orderID, have.entries...)
	if err != nil {
		return 0, stored("history of "+orderID, err)
	}
	version, exists, added := have.version, have.hasSummary, 0
	for chunk := range slices.Chunk(fresh, entriesPerTx) {
		for _, e := range chunk {
			if _, err := cur.Add(e); err != nil {
				return added, fault.Permanent(fmt.Errorf("orderhistory dynamostore: %w", err))
			}
		}
		sum := cur.Summary()
		if err := s.writeChunk(ctx, g, sum, chunk, version, exists); err != nil {
			return added, err
		}
		version, exists, added = int64(sum.Entries), true, added+len(chunk)
	}
	return added, nil
}

// writeChunk stores entries, their guards and sum in one transaction,
// conditional on the summary's version read (exists false: no summary).
func (s *Store) writeChunk(ctx context.Context, g app.Generation, sum orderhistory.Summary, entries []orderhistory.Entry, version int64, exists bool) error {
	tx := dynamo.NewTx(s.table)
	put := types.Put{Item: summaryItem(g, sum), ConditionExpression: aws.String("attribute_not_exists(pk)")}
	if exists {
		put.ConditionExpression = aws.String("#n = :v")
		put.ExpressionAttributeNames = map[string]string{"#n": attrEntries}
		put.ExpressionAttributeValues = map[string]types.AttributeValue{":v": dynamo.N(version)}
	}
	tx.Put(put, errOrderChanged)
	guards := map[int]string{}
	for _, e := range entries {
		tx.Put(types.Put{Item: entryItem(g, e), ConditionExpression: aws.String("attribute_not_exists(pk)")}, errOrderChanged)
		guard := guardKey(g, e.EventID)
		guard["order_id"] = dynamo.S(e.OrderID)
		guards[tx.Put(types.Put{Item: guard, ConditionExpression: aws.String("attribute_not_exists(pk)")}, errEventReused)] = e.EventID
	}
	err := tx.Commit(ctx, s.api)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errOrderChanged):
		return errOrderChanged
	case errors.Is(err, errEventReused):
		var reused []string
		var cfe *dynamo.ConditionFailedError
		if errors.As(err, &cfe) {
			for _, i := range cfe.Failed {
				if id, ok := guards[i]; ok {
					reused = append(reused, id)
				}
			}
		}
		return fault.Permanent(fmt.Errorf("orderhistory dynamostore: event %s is already recorded for another order than %s: %w",
			strings.Join(reused, ", "), sum.OrderID, orderhistory.ErrInvalid))
	default:
		return fmt.Errorf("orderhistory dynamostore: record order %s: %w", sum.OrderID, err)
	}
}

// History implements app.Repository: one strongly consistent Query of
// the order's entries in the active generation.
func (s *Store) History(ctx context.Context, orderID string) (*orderhistory.History, error) {
	g, err := s.activeGeneration(ctx)
	if err != nil {
		return nil, err
	}
	have, err := s.readOrder(ctx, g, orderID, true)
	if err != nil {
		return nil, err
	}
	if len(have.entries) == 0 {
		return nil, fmt.Errorf("order %s: %w", orderID, orderhistory.ErrNotFound)
	}
	h, err := orderhistory.NewHistory(orderID, have.entries...)
	if err != nil {
		return nil, stored("history of "+orderID, err)
	}
	return h, nil
}

// List implements app.Repository from gsi1 (eventually consistent),
// newest first, reading on until the page is full or the customer's
// orders end.
func (s *Store) List(ctx context.Context, q app.ListQuery) ([]orderhistory.Summary, error) {
	if q.Limit < 1 {
		return nil, fmt.Errorf("orderhistory dynamostore: list: limit %d: %w", q.Limit, orderhistory.ErrInvalid)
	}
	g, err := s.activeGeneration(ctx)
	if err != nil {
		return nil, err
	}
	in := &dynamodb.QueryInput{
		IndexName:                 aws.String(dynamo.GSI1),
		KeyConditionExpression:    aws.String("gsi1pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": dynamo.S(customerPK(g, q.CustomerID))},
		ScanIndexForward:          aws.Bool(false),
	}
	if q.After != nil {
		in.KeyConditionExpression = aws.String("gsi1pk = :pk AND gsi1sk < :after")
		in.ExpressionAttributeValues[":after"] = dynamo.S(listSK(q.After.PlacedAt, q.After.OrderID))
	}
	// Without a filter every item read is returned; with one, read more
	// per request.
	perRequest := q.Limit
	if q.Status != "" {
		in.FilterExpression = aws.String("#st = :st")
		in.ExpressionAttributeNames = map[string]string{"#st": "status"}
		in.ExpressionAttributeValues[":st"] = dynamo.S(string(q.Status))
		perRequest = max(q.Limit, 100)
	}
	in.Limit = aws.Int32(int32(min(perRequest, 1000))) // #nosec G115 -- bounded
	out := make([]orderhistory.Summary, 0, min(q.Limit, 1000))
	errFull := errors.New("page full")
	err = s.query(ctx, "list orders", in, func(items []map[string]types.AttributeValue) error {
		for _, item := range items {
			sum, err := decodeSummary(item)
			if err != nil {
				return err
			}
			out = append(out, sum)
			if len(out) == q.Limit {
				return errFull
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, errFull) {
		return nil, err
	}
	return out, nil
}
