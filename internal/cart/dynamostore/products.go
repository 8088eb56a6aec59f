package dynamostore

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/uuid"

	"github.com/agoracommerce/agora/internal/cart"
	"github.com/agoracommerce/agora/internal/platform/dynamo"
)

// batchGetMax is the most keys one BatchGetItem takes.
const batchGetMax = 100

func productKey(id uuid.UUID) map[string]types.AttributeValue {
	return dynamo.Key("PRODUCT#"+id.String(), "PRODUCT")
}

// Product implements app.Products.
func (s *Store) Product(ctx context.Context, id uuid.UUID) (cart.Product, error) {
	ps, err := s.Products(ctx, []uuid.UUID{id})
	if err != nil {
		return cart.Product{}, err
	}
	p, ok := ps[id]
	if !ok {
		return cart.Product{}, fmt.Errorf("product %s: %w", id, cart.ErrProductNotFound)
	}
	return p, nil
}

// Products implements app.Products with strongly consistent batch reads.
func (s *Store) Products(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]cart.Product, error) {
	out := make(map[uuid.UUID]cart.Product, len(ids))
	seen := map[uuid.UUID]bool{}
	var keys []map[string]types.AttributeValue
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			keys = append(keys, productKey(id))
		}
	}
	for start := 0; start < len(keys); start += batchGetMax {
		pending := map[string]types.KeysAndAttributes{s.table: {Keys: keys[start:min(start+batchGetMax, len(keys))], ConsistentRead: aws.Bool(true)}}
		for attempt := 0; len(pending) > 0; attempt++ {
			if err := dynamo.Backoff(ctx, attempt); err != nil {
				return nil, err
			}
			res, err := s.api.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: pending})
			if err != nil {
				return nil, dynamo.Classify(fmt.Errorf("cart dynamostore: read products: %w", err))
			}
			for _, item := range res.Responses[s.table] {
				p, err := decodeProduct(item)
				if err != nil {
					return nil, err
				}
				out[p.ID] = p
			}
			pending = res.UnprocessedKeys
		}
	}
	return out, nil
}

func decodeProduct(item map[string]types.AttributeValue) (cart.Product, error) {
	var (
		p   cart.Product
		err error
	)
	if p.ID, err = uuid.Parse(dynamo.GetS(item, "id")); err != nil {
		return cart.Product{}, stored("product ID", err)
	}
	nums := map[string]int64{}
	for _, name := range []string{"amount", "version", "updated_at"} {
		if nums[name], err = dynamo.GetN(item, name); err != nil {
			return cart.Product{}, stored("product", err)
		}
	}
	if p.Price, err = cart.NewMoney(nums["amount"], dynamo.GetS(item, "currency")); err != nil {
		return cart.Product{}, stored("price", err)
	}
	p.SKU, p.Name, p.Status = dynamo.GetS(item, "sku"), dynamo.GetS(item, "name"), cart.ProductStatus(dynamo.GetS(item, "status"))
	p.Version, p.UpdatedAt = nums["version"], fromMicros(nums["updated_at"])
	return p, nil
}

// SaveProduct implements app.Products: one put, conditional on the item
// being absent or at a lower version.
func (s *Store) SaveProduct(ctx context.Context, p cart.Product) (bool, error) {
	item := productKey(p.ID)
	item["id"] = dynamo.S(p.ID.String())
	item["sku"] = dynamo.S(p.SKU)
	item["name"] = dynamo.S(p.Name)
	item["amount"] = dynamo.N(p.Price.Amount())
	item["currency"] = dynamo.S(p.Price.Currency())
	item["status"] = dynamo.S(string(p.Status))
	item["version"] = dynamo.N(p.Version)
	item["updated_at"] = dynamo.N(micros(p.UpdatedAt))
	_, err := s.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(s.table),
		Item:                      item,
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR version < :v"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": dynamo.N(p.Version)},
	})
	if err == nil {
		return true, nil
	}
	if err = dynamo.Classify(err); errors.Is(err, dynamo.ErrConditionFailed) {
		return false, nil
	}
	return false, fmt.Errorf("cart dynamostore: save product %s: %w", p.ID, err)
}
