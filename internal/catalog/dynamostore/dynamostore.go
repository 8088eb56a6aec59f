// Package dynamostore keeps the catalog in one DynamoDB table
// (single-table design, the platform's shared layout). Every change of a
// product writes its events into the platform's DynamoDB outbox in the
// same TransactWriteItems, so an event is published if and only if its
// change is stored.
//
// Access patterns and keys:
//
//	product by ID            pk "PRODUCT#<id>", sk "PRODUCT"
//	products in ID order     gsi1: gsi1pk "PRODUCT", gsi1sk <id>
//	products of a category   gsi2: gsi2pk "CATEGORY#<category id>",
//	                         gsi2sk <id>
//	SKU uniqueness           pk "SKU#<sku>", sk "SKU" (guard item put with
//	                         attribute_not_exists in the create)
//	category by ID           pk "CATEGORY#<id>", sk "CATEGORY" (a
//	                         ConditionCheck in product writes stands in
//	                         for the foreign key)
//	categories by slug       gsi1: gsi1pk "CATEGORY", gsi1sk <slug>
//	slug uniqueness          pk "SLUG#<slug>", sk "SLUG" (guard item)
//
// Concurrent updates of one product are serialised by its version: the
// update is a put conditional on the version read, run again on the fresh
// product when another update got in first.
//
// Listing is a query of gsi1 (or gsi2 for a category) in ID order with a
// FilterExpression for status, price, currency and text. Text search
// matches a substring of the lower-cased name or description (stored
// lower-cased in search_name and search_desc, since contains() is
// case-sensitive), the semantics of the SQL store. A token index would
// only find whole words, so this is a query with a filter, bounded per
// call: one List reads at most scanBudget items; when the budget runs out
// before the page is full it returns the matches so far with a cursor
// after the last item read, and the caller continues from there. Indexes
// are eventually consistent, so a product appears in listings shortly
// after it is stored.
package dynamostore

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/uuid"

	"github.com/agoracommerce/agora/internal/catalog"
	"github.com/agoracommerce/agora/internal/catalog/app"
	"github.com/agoracommerce/agora/internal/catalog/eventsout"
	"github.com/agoracommerce/agora/internal/platform/dynamo"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/fault"
)

// maxAttempts bounds how often Update runs its function when concurrent
// updates keep getting in first.
const maxAttempts = 16

// scanBudget bounds the items one List reads.
const scanBudget = 2000

// ErrConcurrentUpdate: an update lost the race for a product maxAttempts
// times in a row. It is retryable.
var ErrConcurrentUpdate = errors.New("dynamostore: product changed concurrently")

// errVersionChanged makes Update try again.
var errVersionChanged = errors.New("dynamostore: version changed")

// Encoder turns domain events into outbox records; *eventsout.Encoder is
// one.
type Encoder interface {
	Encode(ctx context.Context, evs ...catalog.Event) ([]events.Event, error)
}

// Store is the catalog's DynamoDB repository. Safe for concurrent use.
type Store struct {
	api    dynamo.API
	table  string
	outbox *dynamo.Outbox
	enc    Encoder
}

var (
	_ app.Repository         = (*Store)(nil)
	_ app.CategoryRepository = (*Store)(nil)
)

// New returns the store over table. Events are encoded by codec for the
// topic eventsout.Topic and written to ob, which must be the outbox of the
// same table.
func New(client dynamo.API, table string, ob *dynamo.Outbox, codec *events.Codec) (*Store, error) {
	enc, err := eventsout.New(codec)
	if err != nil {
		return nil, fmt.Errorf("dynamostore: %w", err)
	}
	return NewWithEncoder(client, table, ob, enc)
}

// NewWithEncoder is New with another event encoder.
func NewWithEncoder(client dynamo.API, table string, ob *dynamo.Outbox, enc Encoder) (*Store, error) {
	if client == nil || table == "" || ob == nil || enc == nil {
		return nil, errors.New("dynamostore: a client, a table, an outbox and an encoder are required")
	}
	if ob.Table() != table {
		return nil, fmt.Errorf("dynamostore: the outbox is on table %s, not %s", ob.Table(), table)
	}
	return &Store{api: client, table: table, outbox: ob, enc: enc}, nil
}

func productKey(id uuid.UUID) map[string]types.AttributeValue {
	return dynamo.Key("PRODUCT#"+id.String(), "PRODUCT")
}

func categoryKey(id uuid.UUID) map[string]types.AttributeValue {
	return dynamo.Key("CATEGORY#"+id.String(), "CATEGORY")
}

func categoryExists(id uuid.UUID) types.ConditionCheck {
	return types.ConditionCheck{Key: categoryKey(id), ConditionExpression: aws.String("attribute_exists(pk)")}
}

// Create implements app.Repository.
func (s *Store) Create(ctx context.Context, p *catalog.Product) error {
	st := p.State()
	evs, err := s.enc.Encode(ctx, p.Events()...)
	if err != nil {
		return fmt.Errorf("dynamostore: create product: %w", err)
	}
	tx := dynamo.NewTx(s.table)
	tx.Put(types.Put{Item: productItem(st), ConditionExpression: aws.String("attribute_not_exists(pk)")}, nil)
	guard := dynamo.Key("SKU#"+st.SKU, "SKU")
	guard["product_id"] = dynamo.S(st.ID.String())
	tx.Put(types.Put{Item: guard, ConditionExpression: aws.String("attribute_not_exists(pk)")}, catalog.ErrDuplicateSKU)
	tx.Check(categoryExists(st.Details.CategoryID), catalog.ErrCategoryNotFound)
	if err := s.outbox.Add(ctx, tx, evs...); err != nil {
		return fmt.Errorf("dynamostore: create product %s: %w", st.ID, err)
	}
	if err := tx.Commit(ctx, s.api); err != nil {
		return fmt.Errorf("dynamostore: create product %s: %w", st.ID, err)
	}
	return nil
}

// Update implements app.Repository.
func (s *Store) Update(ctx context.Context, id uuid.UUID, fn func(*catalog.Product) error) error {
	for attempt := range maxAttempts {
		if err := dynamo.Backoff(ctx, attempt); err != nil {
			return err
		}
		err := s.update(ctx, id, fn)
		if errors.Is(err, errVersionChanged) {
			continue
		}
		if err != nil {
			return fmt.Errorf("dynamostore: update product %s: %w", id, err)
		}
		return nil
	}
	return fault.Retryable(fmt.Errorf("dynamostore: update product %s: %w", id, ErrConcurrentUpdate))
}

func (s *Store) update(ctx context.Context, id uuid.UUID, fn func(*catalog.Product) error) error {
	p, err := s.get(ctx, id)
	if err != nil {
		return err
	}
	read := p.Version()
	if err := fn(p); err != nil {
		return err
	}
	changes := p.Events()
	if len(changes) == 0 {
		return nil
	}
	evs, err := s.enc.Encode(ctx, changes...)
	if err != nil {
		return err
	}
	st := p.State()
	tx := dynamo.NewTx(s.table)
	tx.Put(types.Put{Item: productItem(st), ConditionExpression: aws.String("version = :v"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": dynamo.N(read)}}, errVersionChanged)
	tx.Check(categoryExists(st.Details.CategoryID), catalog.ErrCategoryNotFound)
	if err := s.outbox.Add(ctx, tx, evs...); err != nil {
		return err
	}
	err = tx.Commit(ctx, s.api)
	if errors.Is(err, catalog.ErrCategoryNotFound) {
		return fault.Permanent(catalog.ErrCategoryNotFound)
	}
	if errors.Is(err, errVersionChanged) {
		return errVersionChanged
	}
	return err
}

// Get implements app.Repository.
func (s *Store) Get(ctx context.Context, id uuid.UUID) (*catalog.Product, error) {
	p, err := s.get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("dynamostore: get product %s: %w", id, err)
	}
	return p, nil
}

func (s *Store) get(ctx context.Context, id uuid.UUID) (*catalog.Product, error) {
	out, err := s.api.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: productKey(id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, dynamo.Classify(err)
	}
	if len(out.Item) == 0 {
		return nil, catalog.ErrProductNotFound
	}
	return decodeProduct(out.Item)
}

// List implements app.Repository; see the package doc for how text search
// is bounded.
func (s *Store) List(ctx context.Context, q app.ProductQuery) (app.Page[*catalog.Product], error) {
	fp := fingerprint(q)
	after := ""
	if q.Cursor != "" {
		var err error
		if after, err = decodeCursor(q.Cursor, "p", fp); err != nil {
			return app.Page[*catalog.Product]{}, err
		}
		if _, err := uuid.Parse(after); err != nil {
			return app.Page[*catalog.Product]{}, catalog.ErrInvalidCursor
		}
	}
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(dynamo.GSI1),
		KeyConditionExpression:    aws.String("gsi1pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": dynamo.S("PRODUCT")},
		ExpressionAttributeNames:  map[string]string{},
	}
	skName := "gsi1sk"
	if q.CategoryID != uuid.Nil {
		in.IndexName = aws.String(dynamo.GSI2)
		in.KeyConditionExpression = aws.String("gsi2pk = :pk")
		in.ExpressionAttributeValues[":pk"] = dynamo.S("CATEGORY#" + q.CategoryID.String())
		skName = "gsi2sk"
	}
	if after != "" {
		in.KeyConditionExpression = aws.String(*in.KeyConditionExpression + " AND " + skName + " > :after")
		in.ExpressionAttributeValues[":after"] = dynamo.S(after)
	}
	var filters []string
	if q.Status != "" {
		filters = append(filters, "#st = :status")
		in.ExpressionAttributeNames["#st"] = "status"
		in.ExpressionAttributeValues[":status"] = dynamo.S(string(q.Status))
	}
	if q.MinPrice != nil {
		filters = append(filters, "price_amount >= :min")
		in.ExpressionAttributeValues[":min"] = dynamo.N(*q.MinPrice)
	}
	if q.MaxPrice != nil {
		filters = append(filters, "price_amount <= :max")
		in.ExpressionAttributeValues[":max"] = dynamo.N(*q.MaxPrice)
	}
	if q.Currency != "" {
		filters = append(filters, "price_currency = :cur")
		in.ExpressionAttributeValues[":cur"] = dynamo.S(q.Currency)
	}
	if q.Text != "" {
		filters = append(filters, "(contains(search_name, :text) OR contains(search_desc, :text))")
		in.ExpressionAttributeValues[":text"] = dynamo.S(strings.ToLower(q.Text))
	}
	if len(filters) > 0 {
		in.FilterExpression = aws.String(strings.Join(filters, " AND "))
	}
	if len(in.ExpressionAttributeNames) == 0 {
		in.ExpressionAttributeNames = nil
	}
	limit := max(q.Limit, 1)
	var (
		page    app.Page[*catalog.Product]
		read    int
		lastKey string
	)
	for {
		in.Limit = aws.Int32(int32(min(scanBudget-read, max(limit+1, 100)))) // #nosec G115 -- bounded
		out, err := s.api.Query(ctx, in)
		if err != nil {
			return app.Page[*catalog.Product]{}, fmt.Errorf("dynamostore: list products: %w", dynamo.Classify(err))
		}
		read += int(out.ScannedCount)
		for _, item := range out.Items {
			p, err := decodeProduct(item)
			if err != nil {
				return app.Page[*catalog.Product]{}, fmt.Errorf("dynamostore: list products: %w", err)
			}
			page.Items = append(page.Items, p)
			if len(page.Items) > limit {
				page.Items = page.Items[:limit]
				page.NextCursor = encodeCursor("p", fp, page.Items[limit-1].ID().String())
				return page, nil
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return page, nil
		}
		lastKey = dynamo.GetS(out.LastEvaluatedKey, skName)
		if read >= scanBudget {
			// The budget ran out before the page filled: continue after
			// the last item read.
			page.NextCursor = encodeCursor("p", fp, lastKey)
			return page, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// CreateCategory implements app.CategoryRepository.
func (s *Store) CreateCategory(ctx context.Context, c catalog.Category) error {
	item := categoryKey(c.ID())
	item["id"] = dynamo.S(c.ID().String())
	item["slug"] = dynamo.S(c.Slug())
	item["name"] = dynamo.S(c.Name())
	item["description"] = dynamo.S(c.Description())
	item["created_at"] = dynamo.N(c.CreatedAt().UnixMicro())
	item[dynamo.AttrGSI1PK] = dynamo.S("CATEGORY")
	item[dynamo.AttrGSI1SK] = dynamo.S(c.Slug())
	tx := dynamo.NewTx(s.table)
	tx.Put(types.Put{Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")}, catalog.ErrDuplicateCategory)
	tx.Put(types.Put{Item: dynamo.Key("SLUG#"+c.Slug(), "SLUG"), ConditionExpression: aws.String("attribute_not_exists(pk)")}, catalog.ErrDuplicateCategory)
	if err := tx.Commit(ctx, s.api); err != nil {
		return fmt.Errorf("dynamostore: create category %s: %w", c.Slug(), err)
	}
	return nil
}

// ListCategories implements app.CategoryRepository.
func (s *Store) ListCategories(ctx context.Context, q app.CategoryQuery) (app.Page[catalog.Category], error) {
	limit := max(q.Limit, 1)
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(dynamo.GSI1),
		KeyConditionExpression:    aws.String("gsi1pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": dynamo.S("CATEGORY")},
		Limit:                     aws.Int32(int32(min(limit+1, 1001))), // #nosec G115 -- bounded
	}
	if q.Cursor != "" {
		after, err := decodeCursor(q.Cursor, "c", "")
		if err != nil {
			return app.Page[catalog.Category]{}, err
		}
		in.KeyConditionExpression = aws.String("gsi1pk = :pk AND gsi1sk > :after")
		in.ExpressionAttributeValues[":after"] = dynamo.S(after)
	}
	out, err := s.api.Query(ctx, in)
	if err != nil {
		return app.Page[catalog.Category]{}, fmt.Errorf("dynamostore: list categories: %w", dynamo.Classify(err))
	}
	var page app.Page[catalog.Category]
	for _, item := range out.Items {
		id, err := uuid.Parse(dynamo.GetS(item, "id"))
		if err != nil {
			return app.Page[catalog.Category]{}, fault.Permanent(fmt.Errorf("dynamostore: category id: %w", err))
		}
		created, err := dynamo.GetN(item, "created_at")
		if err != nil {
			return app.Page[catalog.Category]{}, fault.Permanent(fmt.Errorf("dynamostore: category %s: %w", id, err))
		}
		c, err := catalog.NewCategory(id, dynamo.GetS(item, "slug"), dynamo.GetS(item, "name"), dynamo.GetS(item, "description"), time.UnixMicro(created))
		if err != nil {
			return app.Page[catalog.Category]{}, fault.Permanent(fmt.Errorf("dynamostore: stored category %s: %w", id, err))
		}
		page.Items = append(page.Items, c)
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		page.NextCursor = encodeCursor("c", "", page.Items[limit-1].Slug())
	}
	return page, nil
}

// productItem is the stored form of a product.
func productItem(st catalog.ProductState) map[string]types.AttributeValue {
	d := st.Details
	attrs := make(map[string]types.AttributeValue, len(d.Attributes))
	for k, v := range d.Attributes {
		attrs[k] = dynamo.S(v)
	}
	images := make([]types.AttributeValue, len(d.ImageURLs))
	for i, u := range d.ImageURLs {
		images[i] = dynamo.S(u)
	}
	item := productKey(st.ID)
	item["id"] = dynamo.S(st.ID.String())
	item["sku"] = dynamo.S(st.SKU)
	item["name"] = dynamo.S(d.Name)
	item["description"] = dynamo.S(d.Description)
	item["search_name"] = dynamo.S(strings.ToLower(d.Name))
	item["search_desc"] = dynamo.S(strings.ToLower(d.Description))
	item["price_amount"] = dynamo.N(d.Price.Amount())
	item["price_currency"] = dynamo.S(d.Price.Currency())
	item["category_id"] = dynamo.S(d.CategoryID.String())
	item["attributes"] = &types.AttributeValueMemberM{Value: attrs}
	item["image_urls"] = &types.AttributeValueMemberL{Value: images}
	item["status"] = dynamo.S(string(st.Status))
	item["version"] = dynamo.N(st.Version)
	item["created_at"] = dynamo.N(st.CreatedAt.UnixMicro())
	item["updated_at"] = dynamo.N(st.UpdatedAt.UnixMicro())
	item[dynamo.AttrGSI1PK] = dynamo.S("PRODUCT")
	item[dynamo.AttrGSI1SK] = dynamo.S(st.ID.String())
	item[dynamo.AttrGSI2PK] = dynamo.S("CATEGORY#" + d.CategoryID.String())
	item[dynamo.AttrGSI2SK] = dynamo.S(st.ID.String())
	return item
}

func decodeProduct(item map[string]types.AttributeValue) (*catalog.Product, error) {
	id := dynamo.GetS(item, "id")
	st := catalog.ProductState{SKU: dynamo.GetS(item, "sku"), Status: catalog.Status(dynamo.GetS(item, "status"))}
	st.Details.Name, st.Details.Description = dynamo.GetS(item, "name"), dynamo.GetS(item, "description")
	nums := map[string]int64{}
	var err error
	for _, name := range []string{"price_amount", "version", "created_at", "updated_at"} {
		if err == nil {
			nums[name], err = dynamo.GetN(item, name)
		}
	}
	if err == nil {
		st.ID, err = uuid.Parse(id)
	}
	if err == nil {
		st.Details.CategoryID, err = uuid.Parse(dynamo.GetS(item, "category_id"))
	}
	if err == nil {
		st.Details.Price, err = catalog.NewMoney(nums["price_amount"], dynamo.GetS(item, "price_currency"))
	}
	st.Version = nums["version"]
	st.CreatedAt, st.UpdatedAt = time.UnixMicro(nums["created_at"]).UTC(), time.UnixMicro(nums["updated_at"]).UTC()
	st.Details.Attributes = map[string]string{}
	if m, ok := item["attributes"].(*types.AttributeValueMemberM); ok {
		for k, v := range m.Value {
			sv, ok := v.(*types.AttributeValueMemberS)
			if !ok {
				err = fmt.Errorf("attribute %s is not a string", k)
				break
			}
			st.Details.Attributes[k] = sv.Value
		}
	}
	st.Details.ImageURLs = []string{}
	if l, ok := item["image_urls"].(*types.AttributeValueMemberL); ok {
		for _, v := range l.Value {
			sv, ok := v.(*types.AttributeValueMemberS)
			if !ok {
				err = errors.New("image URL is not a string")
				break
			}
			st.Details.ImageURLs = append(st.Details.ImageURLs, sv.Value)
		}
	}
	var p *catalog.Product
	if err == nil {
		p, err = catalog.RestoreProduct(st)
	}
	if err != nil {
		return nil, fault.Permanent(fmt.Errorf("dynamostore: stored product %s is unreadable: %w", id, err))
	}
	return p, nil
}

// fingerprint identifies a query's filters, so that a cursor is only
// accepted with the filters it was issued for.
func fingerprint(q app.ProductQuery) string {
	h := sha256.New()
	for _, s := range []string{q.CategoryID.String(), string(q.Status), q.Currency, q.Text} {
		_ = binary.Write(h, binary.BigEndian, uint32(len(s))) // #nosec G115 -- query fields are bounded by the API
		h.Write([]byte(s))
	}
	for _, p := range []*int64{q.MinPrice, q.MaxPrice} {
		if p == nil {
			h.Write([]byte{0})
			continue
		}
		h.Write([]byte{1})
		_ = binary.Write(h, binary.BigEndian, *p)
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// encodeCursor makes an opaque cursor: kind, filter fingerprint and the
// last key read.
func encodeCursor(kind, fp, after string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + "1:" + fp + ":" + after))
}

func decodeCursor(cursor, kind, fp string) (string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return "", catalog.ErrInvalidCursor
	}
	rest, ok := strings.CutPrefix(string(raw), kind+"1:"+fp+":")
	if !ok || rest == "" {
		return "", catalog.ErrInvalidCursor
	}
	return rest, nil
}
