package dynamostore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/agoracommerce/agora/internal/orderhistory"
	"github.com/agoracommerce/agora/internal/orderhistory/app"
	"github.com/agoracommerce/agora/internal/platform/dynamo"
	"github.com/agoracommerce/agora/internal/platform/fault"
)

// The generation items' partition and sort keys.
const (
	genPK      = "GEN"
	pointerSK  = "ACTIVE"
	genSKStart = "GEN#"
)

// stateDropping marks a generation BeginGeneration is deleting: it no
// longer exists for readers and writers.
const stateDropping = "dropping"

// batchWriteItems is the most requests one BatchWriteItem takes.
const batchWriteItems = 25

func pointerKey() map[string]types.AttributeValue { return dynamo.Key(genPK, pointerSK) }

func genKey(g app.Generation) map[string]types.AttributeValue {
	return dynamo.Key(genPK, genSKStart+pad(int64(g)))
}

// generation is one stored generation.
type generation struct {
	info  app.GenerationInfo
	state string // an app.GenerationState or stateDropping
}

// generations is what the GEN partition holds. Before the first
// BeginGeneration it is empty and stands for generation 1, active.
type generations struct {
	stored       bool // the pointer item exists
	active, last app.Generation
	byNumber     map[app.Generation]generation
}

// existing returns g unless it is unknown or being dropped.
func (v generations) existing(g app.Generation) (generation, bool) {
	gen, ok := v.byNumber[g]
	return gen, ok && gen.state != stateDropping
}

func genItem(g app.Generation, state string, createdAt, activatedAt int64) map[string]types.AttributeValue {
	item := genKey(g)
	item["generation"] = dynamo.N(int64(g))
	item["state"] = dynamo.S(state)
	item["created_at"] = dynamo.N(createdAt)
	item["activated_at"] = dynamo.N(activatedAt)
	return item
}

// readGenerations reads the GEN partition strongly consistent.
func (s *Store) readGenerations(ctx context.Context) (generations, error) {
	v := generations{active: 1, last: 1, byNumber: map[app.Generation]generation{}}
	in := &dynamodb.QueryInput{
		ConsistentRead:            aws.Bool(true),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": dynamo.S(genPK)},
	}
	err := s.query(ctx, "read the generations", in, func(items []map[string]types.AttributeValue) error {
		for _, item := range items {
			r := reader{item: item}
			if dynamo.GetS(item, dynamo.AttrSK) == pointerSK {
				v.stored = true
				v.active, v.last = app.Generation(r.num("active")), app.Generation(r.num("last"))
				if r.err != nil {
					return stored("generation pointer", r.err)
				}
				continue
			}
			g := app.Generation(r.num("generation"))
			gen := generation{state: r.str("state"),
				info: app.GenerationInfo{Generation: g, State: app.GenerationState(r.str("state"))}}
			if created := r.num("created_at"); created != 0 { // generation 1 came with the table
				gen.info.CreatedAt = fromMicros(created)
			}
			if activated := r.num("activated_at"); activated != 0 {
				gen.info.ActivatedAt = fromMicros(activated)
			}
			if r.err != nil {
				return stored("generation "+dynamo.GetS(item, dynamo.AttrSK), r.err)
			}
			v.byNumber[g] = gen
		}
		return nil
	})
	if err != nil {
		return generations{}, err
	}
	if !v.stored {
		v.byNumber[1] = generation{state: string(app.GenerationActive),
			info: app.GenerationInfo{Generation: 1, State: app.GenerationActive}}
	}
	return v, nil
}

// activeGeneration reads the pointer (strongly consistent).
func (s *Store) activeGeneration(ctx context.Context) (app.Generation, error) {
	out, err := s.api.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: pointerKey(), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return 0, dbErr("read the active generation", err)
	}
	if len(out.Item) == 0 {
		return 1, nil
	}
	n, err := dynamo.GetN(out.Item, "active")
	if err != nil {
		return 0, stored("generation pointer", err)
	}
	return app.Generation(n), nil
}

// resolve turns gen into a generation that exists.
func (s *Store) resolve(ctx context.Context, gen app.Generation) (app.Generation, error) {
	if gen == app.Active {
		return s.activeGeneration(ctx)
	}
	v, err := s.readGenerations(ctx)
	if err != nil {
		return 0, err
	}
	if _, ok := v.existing(gen); !ok {
		return 0, fault.Permanent(fmt.Errorf("orderhistory dynamostore: generation %d does not exist: %w", gen, orderhistory.ErrInvalid))
	}
	return gen, nil
}

// ActiveGeneration implements app.Generations.
func (s *Store) ActiveGeneration(ctx context.Context) (app.Generation, error) {
	return s.activeGeneration(ctx)
}

// optimisticGens runs attempt until it does not fail with errGensChanged,
// waiting with jitter between attempts.
func optimisticGens(ctx context.Context, what string, attempt func() error) error {
	var err error
	for i := range maxAttempts {
		if werr := dynamo.Backoff(ctx, i); werr != nil {
			return werr
		}
		if err = attempt(); !errors.Is(err, errGensChanged) {
			return err
		}
	}
	return fault.Retryable(fmt.Errorf("orderhistory dynamostore: %s: %w: %w", what, ErrConcurrentUpdate, err))
}

// BeginGeneration implements app.Generations; see the package doc. The
// retired generation is dropped here, not at the switch, so that it stays
// readable for calls that resolved it just before the switch.
func (s *Store) BeginGeneration(ctx context.Context) (app.Generation, error) {
	var gen app.Generation
	err := optimisticGens(ctx, "begin a generation", func() error {
		v, err := s.readGenerations(ctx)
		if err != nil {
			return err
		}
		old := make([]app.Generation, 0, len(v.byNumber))
		for g := range v.byNumber {
			if g != v.active {
				old = append(old, g)
			}
		}
		slices.Sort(old)
		for _, g := range old {
			if err := s.drop(ctx, g, v.byNumber[g].state); err != nil {
				return err
			}
		}
		gen = v.last + 1
		tx := dynamo.NewTx(s.table)
		pointer := pointerKey()
		pointer["active"] = dynamo.N(int64(v.active))
		pointer["last"] = dynamo.N(int64(gen))
		if v.stored {
			tx.Put(types.Put{Item: pointer, ConditionExpression: aws.String("#a = :a AND #l = :l"),
				ExpressionAttributeNames: map[string]string{"#a": "active", "#l": "last"},
				ExpressionAttributeValues: map[string]types.AttributeValue{
					":a": dynamo.N(int64(v.active)), ":l": dynamo.N(int64(v.last))}}, errGensChanged)
		} else {
			// The first generation items: generation 1 was there all along.
			tx.Put(types.Put{Item: pointer, ConditionExpression: aws.String("attribute_not_exists(pk)")}, errGensChanged)
			tx.Put(types.Put{Item: genItem(1, string(app.GenerationActive), 0, 0),
				ConditionExpression: aws.String("attribute_not_exists(pk)")}, errGensChanged)
		}
		tx.Put(types.Put{Item: genItem(gen, string(app.GenerationBuilding), micros(s.now()), 0),
			ConditionExpression: aws.String("attribute_not_exists(pk)")}, errGensChanged)
		if err := tx.Commit(ctx, s.api); err != nil {
			if errors.Is(err, errGensChanged) {
				return errGensChanged
			}
			return fmt.Errorf("orderhistory dynamostore: create generation %d: %w", gen, err)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return gen, nil
}

// drop deletes generation g, whose state was read as state: it marks it
// dropping, deletes its items and then its generation item.
func (s *Store) drop(ctx context.Context, g app.Generation, state string) error {
	if state != stateDropping {
		_, err := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(s.table), Key: genKey(g),
			UpdateExpression:          aws.String("SET #s = :dropping"),
			ConditionExpression:       aws.String("#s = :read"),
			ExpressionAttributeNames:  map[string]string{"#s": "state"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":dropping": dynamo.S(stateDropping), ":read": dynamo.S(state)},
		})
		if errors.Is(dynamo.Classify(err), dynamo.ErrConditionFailed) {
			return errGensChanged
		}
		if err != nil {
			return dbErr(fmt.Sprintf("mark generation %d dropping", g), err)
		}
	}
	for shard := range shards {
		in := &dynamodb.QueryInput{
			IndexName:                 aws.String(dynamo.GSI2),
			KeyConditionExpression:    aws.String("gsi2pk = :pk"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": dynamo.S(shardPKOf(g, shard))},
			ProjectionExpression:      aws.String("order_id"),
		}
		err := s.query(ctx, fmt.Sprintf("find the orders of generation %d", g), in, func(items []map[string]types.AttributeValue) error {
			orders := make([]string, 0, len(items))
			for _, item := range items {
				orders = append(orders, dynamo.GetS(item, "order_id"))
			}
			return s.dropOrders(ctx, g, orders)
		})
		if err != nil {
			return err
		}
	}
	if _, err := s.api.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.table), Key: genKey(g)}); err != nil {
		return dbErr(fmt.Sprintf("forget generation %d", g), err)
	}
	return nil
}

// dropOrders deletes the items of orders in generation g: their entries
// and guards first, their summaries last, so that an interrupted drop
// still finds them.
func (s *Store) dropOrders(ctx context.Context, g app.Generation, orders []string) error {
	var items, summaries []map[string]types.AttributeValue
	for _, orderID := range orders {
		in := &dynamodb.QueryInput{
			ConsistentRead:            aws.Bool(true),
			KeyConditionExpression:    aws.String("pk = :pk"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": dynamo.S(orderPK(g, orderID))},
			ProjectionExpression:      aws.String("pk, sk, event_id"),
		}
		err := s.query(ctx, "read order "+orderID, in, func(page []map[string]types.AttributeValue) error {
			for _, item := range page {
				sk := dynamo.GetS(item, dynamo.AttrSK)
				key := dynamo.Key(dynamo.GetS(item, dynamo.AttrPK), sk)
				if sk == summarySK {
					summaries = append(summaries, key)
					continue
				}
				items = append(items, key)
				if id, ok := strings.CutPrefix(sk, entryPrefix); ok {
					items = append(items, guardKey(g, id))
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if err := s.deleteAll(ctx, items); err != nil {
		return err
	}
	return s.deleteAll(ctx, summaries)
}

// deleteAll deletes the items of keys with BatchWriteItem, sending again
// what DynamoDB left unprocessed.
func (s *Store) deleteAll(ctx context.Context, keys []map[string]types.AttributeValue) error {
	for batch := range slices.Chunk(keys, batchWriteItems) {
		reqs := make([]types.WriteRequest, len(batch))
		for i, key := range batch {
			reqs[i] = types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: key}}
		}
		pending := map[string][]types.WriteRequest{s.table: reqs}
		for attempt := 0; len(pending[s.table]) > 0; attempt++ {
			if attempt == maxAttempts {
				return fault.Retryable(fmt.Errorf("orderhistory dynamostore: delete items: %d left unprocessed", len(pending[s.table])))
			}
			if err := dynamo.Backoff(ctx, attempt); err != nil {
				return err
			}
			out, err := s.api.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
			if err != nil {
				return dbErr("delete items", err)
			}
			pending = out.UnprocessedItems
		}
	}
	return nil
}

// ActivateGeneration implements app.Generations: the pointer, the new
// generation's state and the old one's change in one transaction.
func (s *Store) ActivateGeneration(ctx context.Context, gen app.Generation) (app.Generation, error) {
	var previous app.Generation
	err := optimisticGens(ctx, fmt.Sprintf("activate generation %d", gen), func() error {
		v, err := s.readGenerations(ctx)
		if err != nil {
			return err
		}
		g, ok := v.existing(gen)
		switch {
		case !ok:
			return fault.Permanent(fmt.Errorf("orderhistory dynamostore: generation %d does not exist: %w", gen, orderhistory.ErrInvalid))
		case g.state != string(app.GenerationBuilding):
			return fault.Permanent(fmt.Errorf("orderhistory dynamostore: generation %d is %s, not building: %w", gen, g.state, orderhistory.ErrInvalid))
		case !v.stored:
			// A building generation exists only once BeginGeneration stored
			// the pointer.
			return stored("generation pointer", errors.New("missing"))
		}
		previous = v.active
		// move changes a generation's state from what was read.
		move := func(n app.Generation, from, to app.GenerationState, set string, values map[string]types.AttributeValue) types.Update {
			values[":from"], values[":to"] = dynamo.S(string(from)), dynamo.S(string(to))
			return types.Update{Key: genKey(n), UpdateExpression: aws.String("SET #s = :to" + set), ConditionExpression: aws.String("#s = :from"),
				ExpressionAttributeNames: map[string]string{"#s": "state"}, ExpressionAttributeValues: values}
		}
		tx := dynamo.NewTx(s.table)
		tx.Update(move(gen, app.GenerationBuilding, app.GenerationActive, ", activated_at = :at",
			map[string]types.AttributeValue{":at": dynamo.N(micros(s.now()))}), errGensChanged)
		tx.Update(types.Update{Key: pointerKey(), UpdateExpression: aws.String("SET #a = :new"),
			ConditionExpression: aws.String("#a = :prev"), ExpressionAttributeNames: map[string]string{"#a": "active"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":new": dynamo.N(int64(gen)), ":prev": dynamo.N(int64(previous))}}, errGensChanged)
		tx.Update(move(previous, app.GenerationActive, app.GenerationRetired, "", map[string]types.AttributeValue{}), errGensChanged)
		if err := tx.Commit(ctx, s.api); err != nil {
			if errors.Is(err, errGensChanged) {
				return errGensChanged
			}
			return fmt.Errorf("orderhistory dynamostore: activate generation %d: %w", gen, err)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return previous, nil
}

// Generations implements app.Generations; generations being dropped are
// left out.
func (s *Store) Generations(ctx context.Context) ([]app.GenerationInfo, error) {
	v, err := s.readGenerations(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]app.GenerationInfo, 0, len(v.byNumber))
	for g := range v.byNumber {
		if gen, ok := v.existing(g); ok {
			out = append(out, gen.info)
		}
	}
	slices.SortFunc(out, func(a, b app.GenerationInfo) int { return cmp.Compare(a.Generation, b.Generation) })
	return out, nil
}

// Stats implements app.Generations from the summaries in gsi2
// (eventually consistent): the placed ones, and the entries they count.
func (s *Store) Stats(ctx context.Context, gen app.Generation) (app.GenerationStats, error) {
	g, err := s.resolve(ctx, gen)
	if err != nil {
		return app.GenerationStats{}, err
	}
	var st app.GenerationStats
	for shard := range shards {
		in := &dynamodb.QueryInput{
			IndexName:                 aws.String(dynamo.GSI2),
			KeyConditionExpression:    aws.String("gsi2pk = :pk"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": dynamo.S(shardPKOf(g, shard))},
			ProjectionExpression:      aws.String("#p, #n"),
			ExpressionAttributeNames:  map[string]string{"#p": "placed", "#n": attrEntries},
		}
		err := s.query(ctx, "count generation "+strconv.FormatInt(int64(g), 10), in, func(items []map[string]types.AttributeValue) error {
			for _, item := range items {
				r := reader{item: item}
				n := r.num(attrEntries)
				if r.err != nil {
					return stored("summary", r.err)
				}
				st.Entries += n
				if r.bool("placed") {
					st.Orders++
				}
			}
			return nil
		})
		if err != nil {
			return app.GenerationStats{}, err
		}
	}
	return st, nil
}
