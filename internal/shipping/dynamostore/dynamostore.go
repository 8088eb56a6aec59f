// Package dynamostore keeps the shipping service's shipments in one
// DynamoDB table (single-table design, the platform's shared layout) and
// writes the events of every change to the platform's DynamoDB outbox in
// the same TransactWriteItems, so an event is published if and only if
// its change is stored. It is the DynamoDB twin of sqlstore: the same
// Repository contract, the same events through eventsout.
//
// Access patterns and keys:
//
//	shipment by ID             pk "SHIPMENT#<id>", sk "SHIPMENT": order,
//	                           customer, status, label, address (a map),
//	                           lines (a list of {sku, quantity}), times
//	                           (µs; next_step_at, shipped_at, delivered_at
//	                           and cancelled_at only once set), version
//	shipment of an order       pk "ORDER#<order>", sk "ORDER": shipment_id
//	                           (guard item, put with attribute_not_exists
//	                           in the shipment's create)
//	shipments due for their    gsi1 (sparse: only while a next step is
//	next step, earliest first  scheduled): gsi1pk "SHIPMENT#DUE",
//	                           gsi1sk "<20-digit next step µs>#<id>"
//	outbox                     the platform's OUTBOX# items
//
// One shipment per order: Create reads the order's guard item first and
// returns the shipment it names (created false, nothing written). Without
// one it puts the shipment, the guard and the outbox items in one
// transaction, both puts conditional on attribute_not_exists(pk), so of
// concurrent creates for one order exactly one commits; the others are
// cancelled by the guard's condition, read the guard again and return the
// winner's shipment.
//
// Changes are optimistic: Update reads the shipment strongly consistent,
// runs its function and puts the whole item conditional on the version it
// read (the version is the ETag). When a concurrent change got in first
// it reads again and runs the function again on the new state, with
// jittered backoff, a bounded number of times; then it gives up with
// shipping.ErrConflict (retryable). An update that changes nothing writes
// nothing. The put rewrites the gsi1 keys from the new state, so a step
// that clears the schedule takes the shipment out of the index.
//
// Due queries gsi1 for keys below the next microsecond after now. Global
// secondary indexes are eventually consistent: a shipment may still be
// listed shortly after its step was taken or its schedule moved, and one
// just scheduled may be missing for a moment. Callers therefore re-check
// that a listed shipment is due inside Update (the app's AdvanceDue does)
// and pick up late arrivals in their next round. All scheduled shipments
// share one index partition, which takes on the order of a thousand
// schedule changes a second; a busier service would spread the key over
// several partitions and merge their queries.
//
// Shipments are kept for good (no TTL), as in the SQL store. A create's
// transaction holds three items (shipment, guard, one outbox item) and an
// update's two, far below the 100 items of a transaction (the outbox
// allocates its sequence with one more write before the transaction); a
// shipment of shipping.MaxLines lines stays far below DynamoDB's 400 KB
// item limit.
package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/agoracommerce/agora/internal/platform/dynamo"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/fault"
	"github.com/agoracommerce/agora/internal/shipping"
	"github.com/agoracommerce/agora/internal/shipping/app"
	"github.com/agoracommerce/agora/internal/shipping/eventsout"
)

// maxAttempts bounds the runs of a change that lost a race.
const maxAttempts = 12

// duePK is the fixed gsi1 partition of scheduled shipments.
const duePK = "SHIPMENT#DUE"

// maxQueryLimit bounds the items one Due query page asks for.
const maxQueryLimit = 1000

// Errors registered for transaction items.
var (
	errOrderShipped   = errors.New("order shipped concurrently")
	errShipmentExists = errors.New("shipment ID already stored")
	errVersionChanged = errors.New("shipment changed concurrently")
)

// Store is the DynamoDB Repository of shipping. Safe for concurrent use.
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
		return nil, errors.New("shipping dynamostore: a client, a table and an outbox are required")
	}
	if ob.Table() != table {
		return nil, fmt.Errorf("shipping dynamostore: the outbox is on table %s, not %s", ob.Table(), table)
	}
	enc, err := eventsout.NewEncoder(codec)
	if err != nil {
		return nil, fmt.Errorf("shipping dynamostore: %w", err)
	}
	return &Store{api: client, table: table, outbox: ob, encoder: enc}, nil
}

func dbErr(op string, err error) error {
	return dynamo.Classify(fmt.Errorf("shipping dynamostore: %s: %w", op, err))
}

func stored(what string, err error) error {
	return fault.Permanent(fmt.Errorf("shipping dynamostore: stored %s: %w", what, err))
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func pad(v int64) string { return fmt.Sprintf("%020d", max(v, 0)) }

func shipmentKey(id string) map[string]types.AttributeValue {
	return dynamo.Key("SHIPMENT#"+id, "SHIPMENT")
}

func orderKey(orderID string) map[string]types.AttributeValue {
	return dynamo.Key("ORDER#"+orderID, "ORDER")
}

// encode maps evs to outbox records; nil when there are none.
func (s *Store) encode(ctx context.Context, evs []shipping.Event) ([]events.Event, error) {
	if len(evs) == 0 {
		return nil, nil
	}
	enc, err := s.encoder.Encode(ctx, evs...)
	if err != nil {
		return nil, fmt.Errorf("shipping dynamostore: %w", err)
	}
	return enc, nil
}

// get reads one item strongly consistent; nil when absent.
func (s *Store) get(ctx context.Context, what string, key map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	out, err := s.api.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, dbErr("read "+what, err)
	}
	if len(out.Item) == 0 {
		return nil, nil
	}
	return out.Item, nil
}

// shipmentItem is the stored form of snap at version.
func shipmentItem(snap shipping.Snapshot, version int64) map[string]types.AttributeValue {
	a := snap.Address
	lines := make([]types.AttributeValue, len(snap.Lines))
	for i, l := range snap.Lines {
		lines[i] = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"sku": dynamo.S(l.SKU), "quantity": dynamo.N(l.Quantity),
		}}
	}
	item := shipmentKey(snap.ID)
	item["id"] = dynamo.S(snap.ID)
	item["order_id"] = dynamo.S(snap.OrderID)
	item["customer_id"] = dynamo.S(snap.CustomerID)
	item["status"] = dynamo.S(string(snap.Status))
	item["carrier"] = dynamo.S(snap.Label.Carrier)
	item["tracking_number"] = dynamo.S(snap.Label.TrackingNumber)
	item["label_id"] = dynamo.S(snap.Label.LabelID)
	item["address"] = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
		"name": dynamo.S(a.Name), "line1": dynamo.S(a.Line1), "line2": dynamo.S(a.Line2), "city": dynamo.S(a.City),
		"region": dynamo.S(a.Region), "postal_code": dynamo.S(a.PostalCode), "country": dynamo.S(a.Country),
	}}
	item["lines"] = &types.AttributeValueMemberL{Value: lines}
	item["created_at"] = dynamo.N(micros(snap.CreatedAt))
	item["updated_at"] = dynamo.N(micros(snap.UpdatedAt))
	item["version"] = dynamo.N(version)
	for name, t := range map[string]time.Time{
		"next_step_at": snap.NextStepAt, "shipped_at": snap.ShippedAt, "delivered_at": snap.DeliveredAt, "cancelled_at": snap.CancelledAt,
	} {
		if !t.IsZero() {
			item[name] = dynamo.N(micros(t))
		}
	}
	if !snap.NextStepAt.IsZero() {
		item[dynamo.AttrGSI1PK] = dynamo.S(duePK)
		item[dynamo.AttrGSI1SK] = dynamo.S(pad(micros(snap.NextStepAt)) + "#" + snap.ID)
	}
	return item
}

// optionalTime reads a time attribute that is absent while unset.
func optionalTime(item map[string]types.AttributeValue, name string) (time.Time, error) {
	if _, ok := item[name]; !ok {
		return time.Time{}, nil
	}
	v, err := dynamo.GetN(item, name)
	if err != nil {
		return time.Time{}, err
	}
	return fromMicros(v), nil
}

func decodeShipment(item map[string]types.AttributeValue) (shipping.Shipment, error) {
	id := dynamo.GetS(item, "id")
	s := shipping.Snapshot{
		ID: id, OrderID: dynamo.GetS(item, "order_id"), CustomerID: dynamo.GetS(item, "customer_id"),
		Status: shipping.Status(dynamo.GetS(item, "status")),
		Label: shipping.Label{Carrier: dynamo.GetS(item, "carrier"), TrackingNumber: dynamo.GetS(item, "tracking_number"),
			LabelID: dynamo.GetS(item, "label_id")},
	}
	what := "shipment " + id
	nums := map[string]int64{}
	var err error
	for _, name := range []string{"created_at", "updated_at", "version"} {
		if nums[name], err = dynamo.GetN(item, name); err != nil {
			return shipping.Shipment{}, stored(what, err)
		}
	}
	s.CreatedAt, s.UpdatedAt, s.Version = fromMicros(nums["created_at"]), fromMicros(nums["updated_at"]), nums["version"]
	for name, dst := range map[string]*time.Time{
		"next_step_at": &s.NextStepAt, "shipped_at": &s.ShippedAt, "delivered_at": &s.DeliveredAt, "cancelled_at": &s.CancelledAt,
	} {
		if *dst, err = optionalTime(item, name); err != nil {
			return shipping.Shipment{}, stored(what, err)
		}
	}
	addr, ok := item["address"].(*types.AttributeValueMemberM)
	if !ok {
		return shipping.Shipment{}, stored(what, errors.New("address is not a map"))
	}
	av := addr.Value
	s.Address = shipping.Address{Name: dynamo.GetS(av, "name"), Line1: dynamo.GetS(av, "line1"), Line2: dynamo.GetS(av, "line2"),
		City: dynamo.GetS(av, "city"), Region: dynamo.GetS(av, "region"), PostalCode: dynamo.GetS(av, "postal_code"),
		Country: dynamo.GetS(av, "country")}
	lines, ok := item["lines"].(*types.AttributeValueMemberL)
	if !ok {
		return shipping.Shipment{}, stored(what, errors.New("lines are not a list"))
	}
	for i, v := range lines.Value {
		m, ok := v.(*types.AttributeValueMemberM)
		if !ok {
			return shipping.Shipment{}, stored(what, fmt.Errorf("line %d is not a map", i))
		}
		q, err := dynamo.GetN(m.Value, "quantity")
		if err != nil {
			return shipping.Shipment{}, stored(what, fmt.Errorf("line %d: %w", i, err))
		}
		s.Lines = append(s.Lines, shipping.Line{SKU: dynamo.GetS(m.Value, "sku"), Quantity: q})
	}
	sh, err := shipping.RestoreShipment(s)
	if err != nil {
		return shipping.Shipment{}, stored(what, err)
	}
	return sh, nil
}

// Shipment implements app.Repository with a strongly consistent read.
func (s *Store) Shipment(ctx context.Context, id string) (shipping.Shipment, error) {
	item, err := s.get(ctx, "shipment "+id, shipmentKey(id))
	if err != nil {
		return shipping.Shipment{}, err
	}
	if item == nil {
		return shipping.Shipment{}, fmt.Errorf("shipment %s: %w", id, shipping.ErrNotFound)
	}
	return decodeShipment(item)
}

// ShipmentOfOrder implements app.Repository: the order's guard item names
// the shipment; both are read strongly consistent.
func (s *Store) ShipmentOfOrder(ctx context.Context, orderID string) (shipping.Shipment, error) {
	guard, err := s.get(ctx, "order "+orderID, orderKey(orderID))
	if err != nil {
		return shipping.Shipment{}, err
	}
	if guard == nil {
		return shipping.Shipment{}, fmt.Errorf("shipment of order %s: %w", orderID, shipping.ErrNotFound)
	}
	id := dynamo.GetS(guard, "shipment_id")
	sh, err := s.Shipment(ctx, id)
	if errors.Is(err, shipping.ErrNotFound) {
		// The guard and its shipment are written in one transaction.
		return shipping.Shipment{}, stored("order "+orderID, fmt.Errorf("guard names shipment %q, which is missing", id))
	}
	return sh, err
}

// Create implements app.Repository.
func (s *Store) Create(ctx context.Context, sh shipping.Shipment) (shipping.Shipment, bool, error) {
	if sh.Version() != 0 {
		return shipping.Shipment{}, false, fmt.Errorf("shipping dynamostore: create a stored shipment %s: %w", sh.ID(), shipping.ErrInvalid)
	}
	snap := sh.Snapshot()
	var evs []events.Event
	var err error
	for attempt := range maxAttempts {
		if err := dynamo.Backoff(ctx, attempt); err != nil {
			return shipping.Shipment{}, false, err
		}
		existing, rerr := s.ShipmentOfOrder(ctx, snap.OrderID)
		switch {
		case rerr == nil:
			return existing, false, nil
		case !errors.Is(rerr, shipping.ErrNotFound):
			return shipping.Shipment{}, false, rerr
		}
		if evs == nil {
			if evs, err = s.encode(ctx, sh.Events()); err != nil {
				return shipping.Shipment{}, false, err
			}
		}
		tx := dynamo.NewTx(s.table)
		tx.Put(types.Put{Item: shipmentItem(snap, 1), ConditionExpression: aws.String("attribute_not_exists(pk)")}, errShipmentExists)
		guard := orderKey(snap.OrderID)
		guard["shipment_id"] = dynamo.S(snap.ID)
		guard["created_at"] = dynamo.N(micros(snap.CreatedAt))
		tx.Put(types.Put{Item: guard, ConditionExpression: aws.String("attribute_not_exists(pk)")}, errOrderShipped)
		if err := s.outbox.Add(ctx, tx, evs...); err != nil {
			return shipping.Shipment{}, false, fmt.Errorf("shipping dynamostore: create shipment %s: %w", snap.ID, err)
		}
		err = tx.Commit(ctx, s.api)
		switch {
		case errors.Is(err, errOrderShipped):
			// Another create for the order won: return its shipment.
			continue
		case errors.Is(err, errShipmentExists):
			return shipping.Shipment{}, false, fault.Permanent(fmt.Errorf(
				"shipping dynamostore: create shipment %s: the ID is taken by another order: %w", snap.ID, shipping.ErrInvalid))
		case err != nil:
			return shipping.Shipment{}, false, fmt.Errorf("shipping dynamostore: create shipment %s: %w", snap.ID, err)
		}
		sh.Stored()
		return sh, true, nil
	}
	return shipping.Shipment{}, false, fault.Retryable(fmt.Errorf("shipping dynamostore: create shipment of order %s: %w: %w",
		snap.OrderID, shipping.ErrConflict, err))
}

// Update implements app.Repository: read, apply fn, put conditional on
// the version read; fn runs again on the fresh shipment when a concurrent
// change got in first.
func (s *Store) Update(ctx context.Context, id string, fn func(*shipping.Shipment) error) (shipping.Shipment, error) {
	for attempt := range maxAttempts {
		if err := dynamo.Backoff(ctx, attempt); err != nil {
			return shipping.Shipment{}, err
		}
		sh, err := s.Shipment(ctx, id)
		if err != nil {
			return shipping.Shipment{}, err
		}
		read := sh.Version()
		if err := fn(&sh); err != nil {
			return shipping.Shipment{}, err
		}
		if !sh.Changed() {
			return sh, nil
		}
		evs, err := s.encode(ctx, sh.Events())
		if err != nil {
			return shipping.Shipment{}, err
		}
		tx := dynamo.NewTx(s.table)
		tx.Put(types.Put{Item: shipmentItem(sh.Snapshot(), read+1), ConditionExpression: aws.String("version = :v"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": dynamo.N(read)}}, errVersionChanged)
		if err := s.outbox.Add(ctx, tx, evs...); err != nil {
			return shipping.Shipment{}, fmt.Errorf("shipping dynamostore: update shipment %s: %w", id, err)
		}
		err = tx.Commit(ctx, s.api)
		switch {
		case errors.Is(err, errVersionChanged):
			continue
		case err != nil:
			return shipping.Shipment{}, fmt.Errorf("shipping dynamostore: update shipment %s: %w", id, err)
		}
		sh.Stored()
		return sh, nil
	}
	return shipping.Shipment{}, fault.Retryable(fmt.Errorf("shipping dynamostore: update shipment %s: %w", id, shipping.ErrConflict))
}

// Due implements app.Repository from gsi1 (eventually consistent; see
// the package doc).
func (s *Store) Due(ctx context.Context, now time.Time, limit int) ([]string, error) {
	if limit <= 0 {
		return nil, nil
	}
	in := &dynamodb.QueryInput{
		TableName:              aws.String(s.table),
		IndexName:              aws.String(dynamo.GSI1),
		KeyConditionExpression: aws.String("gsi1pk = :pk AND gsi1sk < :bound"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": dynamo.S(duePK), ":bound": dynamo.S(pad(micros(now) + 1)),
		},
		ProjectionExpression:     aws.String("#id"),
		ExpressionAttributeNames: map[string]string{"#id": "id"},
	}
	var ids []string
	for {
		in.Limit = aws.Int32(int32(min(limit-len(ids), maxQueryLimit))) // #nosec G115 -- bounded
		out, err := s.api.Query(ctx, in)
		if err != nil {
			return nil, dbErr("due shipments", err)
		}
		for _, item := range out.Items {
			ids = append(ids, dynamo.GetS(item, "id"))
		}
		// A page ends at its limit or at 1 MB of items read.
		if len(ids) >= limit || len(out.LastEvaluatedKey) == 0 {
			return ids, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}
