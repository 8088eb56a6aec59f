// Package dynamostore keeps the inventory's stock levels and reservations
// in one DynamoDB table (single-table design, the platform's shared
// layout) and writes the events of every change to the platform's
// DynamoDB outbox in the same TransactWriteItems.
//
// Access patterns and keys:
//
//	stock of a SKU             pk "STOCK#<sku>", sk "STOCK": threshold,
//	                           version, updated_at (µs) and levels, a map
//	                           warehouse -> {on_hand, reserved, available}
//	SKUs in SKU order          gsi1: gsi1pk "STOCK", gsi1sk <sku>
//	an order's decision        pk "RES#<order>", sk "RES": status (active,
//	                           released, committed, or rejected with its
//	                           shortage), allocations, times, version
//	active reservations by     gsi2 (sparse, only while active):
//	expiry                     gsi2pk "RES#ACTIVE",
//	                           gsi2sk "<20-digit expiry µs>#<order>"
//	outbox                     the platform's OUTBOX# items
//
// Stock is never oversold: a reservation takes stock with an update whose
// ConditionExpression requires levels.<warehouse>.available >= quantity
// for every allocation (available is stored, since condition expressions
// cannot subtract), and all SKUs of an order, the reservation item and
// the outbox items go in one TransactWriteItems: all lines or none. The
// update also increments the SKU's version; when the SKU has a low-stock
// threshold it is conditional on the version read too, so the LowStock
// event is computed from the exact level before the change. Receipts,
// adjustments and thresholds rewrite the SKU item conditional on the
// version read (optimistic concurrency; the version is the ETag).
//
// An order is decided once: the reservation or the rejection is put with
// attribute_not_exists(pk), so concurrent requests for one order have one
// winner, and a repeated request returns the stored decision and
// publishes nothing.
//
// A transaction takes at most 100 items: a reservation writes its own
// item, one per SKU and one or two outbox items, so an order of more than
// about 95 SKUs is refused with dynamo.ErrTooManyItems.
package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/agoracommerce/agora/internal/inventory"
	"github.com/agoracommerce/agora/internal/inventory/app"
	"github.com/agoracommerce/agora/internal/inventory/eventsout"
	"github.com/agoracommerce/agora/internal/platform/dynamo"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/fault"
)

// maxAttempts bounds the retries of a change that lost a race.
const maxAttempts = 12

// Errors registered for transaction items.
var (
	errDecided      = errors.New("order decided concurrently")
	errStockChanged = errors.New("stock changed concurrently")
	errResChanged   = errors.New("reservation changed concurrently")
	errLevel        = errors.New("level does not hold the reservation")
)

// Store is the DynamoDB Repository of the inventory. Safe for concurrent
// use.
type Store struct {
	api     dynamo.API
	table   string
	outbox  *dynamo.Outbox
	encoder *eventsout.Encoder
}

var _ app.Repository = (*Store)(nil)

// New returns the Store over table; events go to ob (an outbox on the
// same table), encoded with codec.
func New(client dynamo.API, table string, ob *dynamo.Outbox, codec *events.Codec) (*Store, error) {
	if client == nil || table == "" || ob == nil {
		return nil, errors.New("inventory dynamostore: a client, a table and an outbox are required")
	}
	if ob.Table() != table {
		return nil, fmt.Errorf("inventory dynamostore: the outbox is on table %s, not %s", ob.Table(), table)
	}
	enc, err := eventsout.NewEncoder(codec)
	if err != nil {
		return nil, err
	}
	return &Store{api: client, table: table, outbox: ob, encoder: enc}, nil
}

func dbErr(op string, err error) error {
	return dynamo.Classify(fmt.Errorf("inventory dynamostore: %s: %w", op, err))
}

func stored(what string, err error) error {
	return fault.Permanent(fmt.Errorf("inventory dynamostore: stored %s: %w", what, err))
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func stockKey(sku string) map[string]types.AttributeValue { return dynamo.Key("STOCK#"+sku, "STOCK") }

// emit adds evs to tx's outbox items.
func (s *Store) emit(ctx context.Context, tx *dynamo.Tx, evs ...inventory.Event) error {
	if len(evs) == 0 {
		return nil
	}
	enc, err := s.encoder.Encode(ctx, evs...)
	if err != nil {
		return fmt.Errorf("inventory dynamostore: %w", err)
	}
	return s.outbox.Add(ctx, tx, enc...)
}

// get reads one item strongly consistent; nil when absent.
func (s *Store) get(ctx context.Context, key map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	out, err := s.api.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, dbErr("get item", err)
	}
	if len(out.Item) == 0 {
		return nil, nil
	}
	return out.Item, nil
}

// stockItem is the stored form of a SKU's stock.
type stockItem struct {
	sku       string
	threshold int64
	version   int64
	updatedAt int64
	levels    map[string]*levelItem
}

type levelItem struct{ onHand, reserved int64 }

func (it *stockItem) available() int64 {
	var n int64
	for _, l := range it.levels {
		n += l.onHand - l.reserved
	}
	return n
}

func (it *stockItem) domainLevels() ([]inventory.Level, error) {
	out := make([]inventory.Level, 0, len(it.levels))
	for w, l := range it.levels {
		lv, err := inventory.NewLevel(w, l.onHand, l.reserved)
		if err != nil {
			return nil, stored("level", err)
		}
		out = append(out, lv)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Warehouse() < out[j].Warehouse() })
	return out, nil
}

func (it *stockItem) stock() (inventory.Stock, error) {
	levels, err := it.domainLevels()
	if err != nil {
		return inventory.Stock{}, err
	}
	st, err := inventory.RestoreStock(it.sku, levels, it.threshold, it.version, fromMicros(it.updatedAt))
	if err != nil {
		return inventory.Stock{}, stored("stock", err)
	}
	return st, nil
}

func decodeStock(item map[string]types.AttributeValue) (*stockItem, error) {
	it := &stockItem{sku: dynamo.GetS(item, "sku"), levels: map[string]*levelItem{}}
	var err error
	if it.threshold, err = dynamo.GetN(item, "threshold"); err != nil {
		return nil, stored("stock", err)
	}
	if it.version, err = dynamo.GetN(item, "version"); err != nil {
		return nil, stored("stock", err)
	}
	if it.updatedAt, err = dynamo.GetN(item, "updated_at"); err != nil {
		return nil, stored("stock", err)
	}
	if m, ok := item["levels"].(*types.AttributeValueMemberM); ok {
		for w, v := range m.Value {
			lm, ok := v.(*types.AttributeValueMemberM)
			if !ok {
				return nil, stored("level", fmt.Errorf("%s is not a map", w))
			}
			l := &levelItem{}
			if l.onHand, err = dynamo.GetN(lm.Value, "on_hand"); err != nil {
				return nil, stored("level", err)
			}
			if l.reserved, err = dynamo.GetN(lm.Value, "reserved"); err != nil {
				return nil, stored("level", err)
			}
			it.levels[w] = l
		}
	}
	return it, nil
}

func levelValue(l *levelItem) types.AttributeValue {
	return &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
		"on_hand": dynamo.N(l.onHand), "reserved": dynamo.N(l.reserved), "available": dynamo.N(l.onHand - l.reserved),
	}}
}

func (it *stockItem) encode() map[string]types.AttributeValue {
	levels := make(map[string]types.AttributeValue, len(it.levels))
	for w, l := range it.levels {
		levels[w] = levelValue(l)
	}
	item := stockKey(it.sku)
	item["sku"] = dynamo.S(it.sku)
	item["threshold"] = dynamo.N(it.threshold)
	item["version"] = dynamo.N(it.version)
	item["updated_at"] = dynamo.N(it.updatedAt)
	item["levels"] = &types.AttributeValueMemberM{Value: levels}
	item[dynamo.AttrGSI1PK] = dynamo.S("STOCK")
	item[dynamo.AttrGSI1SK] = dynamo.S(it.sku)
	return item
}

// readStock reads a SKU's item; nil when the SKU is unknown.
func (s *Store) readStock(ctx context.Context, sku string) (*stockItem, error) {
	item, err := s.get(ctx, stockKey(sku))
	if err != nil || item == nil {
		return nil, err
	}
	return decodeStock(item)
}

// putStock adds to tx the write of it, conditional on the version read
// (0: the SKU must not exist).
func putStock(tx *dynamo.Tx, it *stockItem, readVersion int64) {
	p := types.Put{Item: it.encode()}
	if readVersion == 0 {
		p.ConditionExpression = aws.String("attribute_not_exists(pk)")
	} else {
		p.ConditionExpression = aws.String("version = :v")
		p.ExpressionAttributeValues = map[string]types.AttributeValue{":v": dynamo.N(readVersion)}
	}
	tx.Put(p, errStockChanged)
}

// Stock implements app.Repository.
func (s *Store) Stock(ctx context.Context, sku string) (inventory.Stock, error) {
	it, err := s.readStock(ctx, sku)
	if err != nil {
		return inventory.Stock{}, err
	}
	if it == nil {
		return inventory.Stock{}, fmt.Errorf("stock of %s: %w", sku, inventory.ErrNotFound)
	}
	return it.stock()
}

// ListStock implements app.Repository from gsi1 (eventually consistent).
func (s *Store) ListStock(ctx context.Context, after string, limit int) ([]inventory.Stock, error) {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(dynamo.GSI1),
		KeyConditionExpression:    aws.String("gsi1pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": dynamo.S("STOCK")},
		Limit:                     aws.Int32(int32(min(max(limit, 1), 1000))), // #nosec G115 -- bounded
	}
	if after != "" {
		in.KeyConditionExpression = aws.String("gsi1pk = :pk AND gsi1sk > :after")
		in.ExpressionAttributeValues[":after"] = dynamo.S(after)
	}
	out, err := s.api.Query(ctx, in)
	if err != nil {
		return nil, dbErr("list stock", err)
	}
	page := make([]inventory.Stock, 0, len(out.Items))
	for _, item := range out.Items {
		it, err := decodeStock(item)
		if err != nil {
			return nil, err
		}
		st, err := it.stock()
		if err != nil {
			return nil, err
		}
		page = append(page, st)
	}
	return page, nil
}

// optimistic runs attempt until it does not fail with errStockChanged
// (or errResChanged), waiting with jitter between attempts.
func optimistic(ctx context.Context, what string, attempt func() error) error {
	var err error
	for i := range maxAttempts {
		if werr := dynamo.Backoff(ctx, i); werr != nil {
			return werr
		}
		err = attempt()
		if !errors.Is(err, errStockChanged) && !errors.Is(err, errResChanged) && !errors.Is(err, errDecided) {
			return err
		}
	}
	return fault.Retryable(fmt.Errorf("inventory dynamostore: %s: %w: %w", what, inventory.ErrConflict, err))
}

// Receive implements app.Repository.
func (s *Store) Receive(ctx context.Context, r inventory.Receipt) (inventory.Stock, error) {
	var out inventory.Stock
	err := optimistic(ctx, "receive "+r.SKU, func() error {
		it, err := s.readStock(ctx, r.SKU)
		if err != nil {
			return err
		}
		read := int64(0)
		if it == nil {
			it = &stockItem{sku: r.SKU, levels: map[string]*levelItem{}}
		} else {
			read = it.version
		}
		l := it.levels[r.Warehouse]
		if l == nil {
			l = &levelItem{}
			it.levels[r.Warehouse] = l
		}
		l.onHand += r.Quantity
		it.version, it.updatedAt = read+1, micros(r.At)
		level, err := inventory.NewLevel(r.Warehouse, l.onHand, l.reserved)
		if err != nil {
			return err
		}
		tx := dynamo.NewTx(s.table)
		putStock(tx, it, read)
		if err := s.emit(ctx, tx, inventory.StockReceived{SKU: r.SKU, Quantity: r.Quantity, Level: level, Note: r.Note, OccurredAt: r.At}); err != nil {
			return err
		}
		if err := tx.Commit(ctx, s.api); err != nil {
			return err
		}
		out, err = it.stock()
		return err
	})
	return out, err
}

// Adjust implements app.Repository.
func (s *Store) Adjust(ctx context.Context, a inventory.Adjustment) (inventory.Stock, error) {
	var out inventory.Stock
	err := optimistic(ctx, "adjust "+a.SKU, func() error {
		it, err := s.readStock(ctx, a.SKU)
		if err != nil {
			return err
		}
		if it == nil {
			return fmt.Errorf("stock of %s: %w", a.SKU, inventory.ErrNotFound)
		}
		if a.IfVersion > 0 && a.IfVersion != it.version {
			return fmt.Errorf("stock of %s: %w", a.SKU, inventory.ErrVersionMismatch)
		}
		before := it.available()
		read := it.version
		prev := levelItem{}
		if l := it.levels[a.Warehouse]; l != nil {
			prev = *l
		}
		if a.OnHand < prev.reserved {
			return fmt.Errorf("adjust %s in %s to %d: %w", a.SKU, a.Warehouse, a.OnHand, inventory.ErrBelowReserved)
		}
		it.levels[a.Warehouse] = &levelItem{onHand: a.OnHand, reserved: prev.reserved}
		it.version, it.updatedAt = read+1, micros(a.At)
		level, err := inventory.NewLevel(a.Warehouse, a.OnHand, prev.reserved)
		if err != nil {
			return err
		}
		evs := []inventory.Event{inventory.StockAdjusted{SKU: a.SKU, PreviousOnHand: prev.onHand, Level: level,
			Reason: a.Reason, Note: a.Note, OccurredAt: a.At}}
		if low, ok := inventory.LowStockCrossed(a.SKU, it.threshold, before, it.available(), a.At); ok {
			evs = append(evs, low)
		}
		tx := dynamo.NewTx(s.table)
		putStock(tx, it, read)
		if err := s.emit(ctx, tx, evs...); err != nil {
			return err
		}
		if err := tx.Commit(ctx, s.api); err != nil {
			return err
		}
		out, err = it.stock()
		return err
	})
	return out, err
}

// SetThreshold implements app.Repository.
func (s *Store) SetThreshold(ctx context.Context, c inventory.ThresholdChange) (inventory.Stock, error) {
	var out inventory.Stock
	err := optimistic(ctx, "set threshold of "+c.SKU, func() error {
		it, err := s.readStock(ctx, c.SKU)
		if err != nil {
			return err
		}
		if it == nil {
			return fmt.Errorf("stock of %s: %w", c.SKU, inventory.ErrNotFound)
		}
		if c.IfVersion > 0 && c.IfVersion != it.version {
			return fmt.Errorf("stock of %s: %w", c.SKU, inventory.ErrVersionMismatch)
		}
		read := it.version
		it.threshold, it.version, it.updatedAt = c.Threshold, read+1, micros(c.At)
		tx := dynamo.NewTx(s.table)
		putStock(tx, it, read)
		if err := tx.Commit(ctx, s.api); err != nil {
			return err
		}
		out, err = it.stock()
		return err
	})
	return out, err
}

func pad(v int64) string { return fmt.Sprintf("%020d", max(v, 0)) }

func itoa(i int) string { return strconv.Itoa(i) }
