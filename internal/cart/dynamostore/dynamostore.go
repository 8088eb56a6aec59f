// Package dynamostore keeps the cart service's carts and its read model of
// the catalog's products in one DynamoDB table (single-table design, the
// platform's shared layout), and writes the events of every cart change
// to the platform's DynamoDB outbox in the same TransactWriteItems.
//
// Access patterns and keys:
//
//	cart by ID                 pk "CART#<id>", sk "CART": customer,
//	                           currency, status, order ID, lines (a list in
//	                           the order they were added), version, times,
//	                           ttl
//	a customer's carts that    gsi1 (sparse: not on abandoned carts):
//	are not abandoned          gsi1pk "CUSTOMER#<customer>", gsi1sk <id>
//	open carts by activity     gsi2 (sparse: only on open carts):
//	                           gsi2pk "CART#OPEN",
//	                           gsi2sk "<20-digit updated µs>#<id>"
//	product of the read model  pk "PRODUCT#<id>", sk "PRODUCT"
//	outbox                     the platform's OUTBOX# items
//
// A cart update is a put conditional on the version read (optimistic
// concurrency): when a concurrent change got in first, the update reads
// the cart again and runs its function again, so concurrent changes apply
// one after the other and none is lost. A product of the read model is
// replaced only by a higher version, in one conditional put.
//
// Expiry: the app's ExpireCarts use case finds idle open carts through
// gsi2 and expires them (publishing CartExpired). Every cart item also
// carries a DynamoDB TTL of its last change plus the retention (30 days by
// default, longer than the idle time), so carts that are done with are
// eventually deleted by DynamoDB itself without a job.
package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/uuid"

	"github.com/agoracommerce/agora/internal/cart"
	"github.com/agoracommerce/agora/internal/cart/app"
	"github.com/agoracommerce/agora/internal/cart/eventsout"
	"github.com/agoracommerce/agora/internal/platform/dynamo"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/fault"
)

// DefaultRetention is how long after its last change a cart item lives
// before DynamoDB's TTL deletes it.
const DefaultRetention = 30 * 24 * time.Hour

// maxAttempts bounds how often Update runs its function when concurrent
// updates keep getting in first.
const maxAttempts = 16

var errVersionChanged = errors.New("cart changed concurrently")

// Store is the DynamoDB Repository and Products read model of the cart.
// Safe for concurrent use.
type Store struct {
	api       dynamo.API
	table     string
	outbox    *dynamo.Outbox
	encoder   *eventsout.Encoder
	retention time.Duration
}

var (
	_ app.Repository = (*Store)(nil)
	_ app.Products   = (*Store)(nil)
)

// New returns the Store over table; events go to ob (an outbox on the
// same table), encoded with codec. retention is the carts' TTL after their
// last change (DefaultRetention when 0); keep it longer than the app's
// idle time.
func New(client dynamo.API, table string, ob *dynamo.Outbox, codec *events.Codec, retention time.Duration) (*Store, error) {
	if client == nil || table == "" || ob == nil {
		return nil, errors.New("cart dynamostore: a client, a table and an outbox are required")
	}
	if ob.Table() != table {
		return nil, fmt.Errorf("cart dynamostore: the outbox is on table %s, not %s", ob.Table(), table)
	}
	if retention < 0 {
		return nil, errors.New("cart dynamostore: retention must not be negative")
	}
	if retention == 0 {
		retention = DefaultRetention
	}
	enc, err := eventsout.New(codec)
	if err != nil {
		return nil, err
	}
	return &Store{api: client, table: table, outbox: ob, encoder: enc, retention: retention}, nil
}

func stored(what string, err error) error {
	return fault.Permanent(fmt.Errorf("cart dynamostore: stored %s: %w", what, err))
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func pad(v int64) string { return fmt.Sprintf("%020d", max(v, 0)) }

func cartKey(id uuid.UUID) map[string]types.AttributeValue {
	return dynamo.Key("CART#"+id.String(), "CART")
}

// emit adds evs to tx's outbox items.
func (s *Store) emit(ctx context.Context, tx *dynamo.Tx, evs ...cart.Event) error {
	if len(evs) == 0 {
		return nil
	}
	enc, err := s.encoder.Encode(ctx, evs...)
	if err != nil {
		return fmt.Errorf("cart dynamostore: %w", err)
	}
	return s.outbox.Add(ctx, tx, enc...)
}

// cartItem is the stored form of a cart.
func (s *Store) cartItem(st cart.State) map[string]types.AttributeValue {
	lines := make([]types.AttributeValue, len(st.Lines))
	for i, l := range st.Lines {
		lines[i] = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"product_id": dynamo.S(l.ProductID.String()), "sku": dynamo.S(l.SKU), "name": dynamo.S(l.Name),
			"quantity": dynamo.N(l.Quantity), "unit_amount": dynamo.N(l.UnitPrice.Amount()), "added_at": dynamo.N(micros(l.AddedAt)),
		}}
	}
	item := cartKey(st.ID)
	item["id"] = dynamo.S(st.ID.String())
	item["customer_id"] = dynamo.S(st.CustomerID)
	item["currency"] = dynamo.S(st.Currency)
	item["status"] = dynamo.S(string(st.Status))
	item["order_id"] = dynamo.S(st.OrderID)
	item["lines"] = &types.AttributeValueMemberL{Value: lines}
	item["version"] = dynamo.N(st.Version)
	item["created_at"] = dynamo.N(micros(st.CreatedAt))
	item["updated_at"] = dynamo.N(micros(st.UpdatedAt))
	item[dynamo.AttrTTL] = dynamo.TTL(st.UpdatedAt.Add(s.retention))
	if st.Status != cart.StatusAbandoned {
		item[dynamo.AttrGSI1PK] = dynamo.S("CUSTOMER#" + st.CustomerID)
		item[dynamo.AttrGSI1SK] = dynamo.S(st.ID.String())
	}
	if st.Status == cart.StatusOpen {
		item[dynamo.AttrGSI2PK] = dynamo.S("CART#OPEN")
		item[dynamo.AttrGSI2SK] = dynamo.S(pad(micros(st.UpdatedAt)) + "#" + st.ID.String())
	}
	return item
}

func decodeCart(item map[string]types.AttributeValue) (*cart.Cart, error) {
	st := cart.State{CustomerID: dynamo.GetS(item, "customer_id"), Currency: dynamo.GetS(item, "currency"),
		Status: cart.Status(dynamo.GetS(item, "status")), OrderID: dynamo.GetS(item, "order_id")}
	var err error
	if st.ID, err = uuid.Parse(dynamo.GetS(item, "id")); err != nil {
		return nil, stored("cart ID", err)
	}
	nums := map[string]int64{}
	for _, name := range []string{"version", "created_at", "updated_at"} {
		if nums[name], err = dynamo.GetN(item, name); err != nil {
			return nil, stored("cart", err)
		}
	}
	st.Version, st.CreatedAt, st.UpdatedAt = nums["version"], fromMicros(nums["created_at"]), fromMicros(nums["updated_at"])
	if l, ok := item["lines"].(*types.AttributeValueMemberL); ok {
		for _, v := range l.Value {
			m, ok := v.(*types.AttributeValueMemberM)
			if !ok {
				return nil, stored("line", errors.New("not a map"))
			}
			var line cart.Line
			if line.ProductID, err = uuid.Parse(dynamo.GetS(m.Value, "product_id")); err != nil {
				return nil, stored("line", err)
			}
			line.SKU, line.Name = dynamo.GetS(m.Value, "sku"), dynamo.GetS(m.Value, "name")
			ln := map[string]int64{}
			for _, name := range []string{"quantity", "unit_amount", "added_at"} {
				if ln[name], err = dynamo.GetN(m.Value, name); err != nil {
					return nil, stored("line", err)
				}
			}
			line.Quantity, line.AddedAt = ln["quantity"], fromMicros(ln["added_at"])
			if line.UnitPrice, err = cart.NewMoney(ln["unit_amount"], st.Currency); err != nil {
				return nil, stored("unit price", err)
			}
			st.Lines = append(st.Lines, line)
		}
	}
	c, err := cart.Restore(st)
	if err != nil {
		return nil, stored("cart", err)
	}
	return c, nil
}

// Create implements app.Repository.
func (s *Store) Create(ctx context.Context, c *cart.Cart) error {
	st := c.State()
	tx := dynamo.NewTx(s.table)
	tx.Put(types.Put{Item: s.cartItem(st), ConditionExpression: aws.String("attribute_not_exists(pk)")}, nil)
	if err := s.emit(ctx, tx, c.Events()...); err != nil {
		return err
	}
	if err := tx.Commit(ctx, s.api); err != nil {
		return fmt.Errorf("cart dynamostore: create cart %s: %w", st.ID, err)
	}
	c.Stored()
	return nil
}

// Cart implements app.Repository.
func (s *Store) Cart(ctx context.Context, id uuid.UUID) (*cart.Cart, error) {
	out, err := s.api.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: cartKey(id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, dynamo.Classify(fmt.Errorf("cart dynamostore: read cart %s: %w", id, err))
	}
	if len(out.Item) == 0 {
		return nil, fmt.Errorf("cart %s: %w", id, cart.ErrNotFound)
	}
	return decodeCart(out.Item)
}

// Carts implements app.Repository from gsi1 (eventually consistent).
func (s *Store) Carts(ctx context.Context, customer string, after uuid.UUID, limit int) ([]*cart.Cart, error) {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(dynamo.GSI1),
		KeyConditionExpression:    aws.String("gsi1pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": dynamo.S("CUSTOMER#" + customer)},
		Limit:                     aws.Int32(int32(min(max(limit, 1), 1000))), // #nosec G115 -- bounded
	}
	if after != uuid.Nil {
		in.KeyConditionExpression = aws.String("gsi1pk = :pk AND gsi1sk > :after")
		in.ExpressionAttributeValues[":after"] = dynamo.S(after.String())
	}
	out, err := s.api.Query(ctx, in)
	if err != nil {
		return nil, dynamo.Classify(fmt.Errorf("cart dynamostore: list carts: %w", err))
	}
	carts := make([]*cart.Cart, 0, len(out.Items))
	for _, item := range out.Items {
		c, err := decodeCart(item)
		if err != nil {
			return nil, err
		}
		carts = append(carts, c)
	}
	return carts, nil
}

// Update implements app.Repository: read, apply fn, put conditional on
// the version read; fn runs again on the fresh cart when a concurrent
// change got in first.
func (s *Store) Update(ctx context.Context, id uuid.UUID, fn func(*cart.Cart) error) (*cart.Cart, error) {
	for attempt := range maxAttempts {
		if err := dynamo.Backoff(ctx, attempt); err != nil {
			return nil, err
		}
		c, err := s.Cart(ctx, id)
		if err != nil {
			return nil, err
		}
		before := c.Version()
		if err := fn(c); err != nil {
			return nil, err
		}
		if !c.Changed() {
			return c, nil
		}
		tx := dynamo.NewTx(s.table)
		tx.Put(types.Put{Item: s.cartItem(c.State()), ConditionExpression: aws.String("version = :v"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": dynamo.N(before)}}, errVersionChanged)
		if err := s.emit(ctx, tx, c.Events()...); err != nil {
			return nil, err
		}
		err = tx.Commit(ctx, s.api)
		if errors.Is(err, errVersionChanged) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("cart dynamostore: update cart %s: %w", id, err)
		}
		c.Stored()
		return c, nil
	}
	return nil, fault.Retryable(fmt.Errorf("cart %s: %w", id, cart.ErrConflict))
}

// IdleCarts implements app.Repository from gsi2 (eventually consistent;
// the expiry rechecks every cart).
func (s *Store) IdleCarts(ctx context.Context, idleSince time.Time, limit int) ([]uuid.UUID, error) {
	out, err := s.api.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(dynamo.GSI2),
		KeyConditionExpression:    aws.String("gsi2pk = :pk AND gsi2sk < :bound"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": dynamo.S("CART#OPEN"), ":bound": dynamo.S(pad(micros(idleSince) + 1))},
		Limit:                     aws.Int32(int32(min(max(limit, 1), 1000))), // #nosec G115 -- bounded
	})
	if err != nil {
		return nil, dynamo.Classify(fmt.Errorf("cart dynamostore: find idle carts: %w", err))
	}
	ids := make([]uuid.UUID, 0, len(out.Items))
	for _, item := range out.Items {
		id, err := uuid.Parse(dynamo.GetS(item, "id"))
		if err != nil {
			return nil, stored("cart ID", err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}
