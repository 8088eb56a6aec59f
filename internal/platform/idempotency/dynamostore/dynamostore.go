// Package dynamostore keeps idempotency records in a service's own
// DynamoDB table (the platform's shared layout, see package dynamo), for
// services that run on DynamoDB without Redis.
//
// # Items
//
//	pk = "IDEMPOTENCY#<id>", sk = "IDEMPOTENCY"
//	state (N)        0 in progress, 1 completed (idempotency.State)
//	fp (S)           the request's fingerprint
//	token (S)        the claim that owns the record
//	expires_at (N)   µs since the epoch: the record counts as absent from then on
//	status (N), header (M of L of S), body (B)
//	                 the stored response, on completed records; header and
//	                 body are left out when empty
//	ttl (N)          expires_at in epoch seconds, rounded up
//
// The only access pattern is the record by its ID, so the records need no
// index and never touch the service's own items.
//
// # Operations
//
// Claim is one PutItem conditional on the record being absent or expired
// by the caller's clock (attribute_not_exists(pk) OR expires_at <= now); a
// failed condition returns the live record (ALL_OLD), so a refused claim
// usually costs one request. Complete (an UpdateItem) and Release (a
// DeleteItem) are conditional on the claim's token and the in-progress
// state, so only the claim's owner changes its record, and only once.
// Every write is a single-item request, atomic in DynamoDB.
//
// Expiry needs no sweeper: every check compares expires_at with the
// caller's clock, and DynamoDB's TTL deletes the items some time (up to a
// few days) after they expired. Purge therefore does nothing.
//
// A DynamoDB item holds at most 400 KB, less than the middleware's default
// idempotency.DefaultMaxResponseBytes. A response larger than
// Config.MaxResponseBytes is not stored: Complete releases the claim, as
// the middleware does for responses past its own limit, and returns
// ErrResponseTooLarge. Services on this store should set
// idempotency.Options.MaxResponseBytes to at most Config.MaxResponseBytes.
package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/agoracommerce/agora/internal/platform/dynamo"
	"github.com/agoracommerce/agora/internal/platform/fault"
	"github.com/agoracommerce/agora/internal/platform/idempotency"
)

// Key parts of a record's item.
const (
	// PKPrefix starts the partition key of every record: pk is PKPrefix
	// followed by the record's ID.
	PKPrefix = "IDEMPOTENCY#"
	// SK is the sort key of every record.
	SK = "IDEMPOTENCY"
)

// Limits of a stored response.
const (
	// MaxResponseBytes is the most Config.MaxResponseBytes may be: a
	// DynamoDB item holds at most 400 KB, and the record's other
	// attributes need some of it.
	MaxResponseBytes = 380 << 10
	// DefaultMaxResponseBytes is the limit when Config.MaxResponseBytes is
	// zero.
	DefaultMaxResponseBytes = MaxResponseBytes
)

// Attribute names of a record's item (besides pk, sk and ttl).
const (
	attrState   = "state"
	attrFP      = "fp"
	attrToken   = "token"
	attrExpires = "expires_at"
	attrStatus  = "status"
	attrHeader  = "header"
	attrBody    = "body"
)

// ErrResponseTooLarge: Complete was given a response (body and replayed
// headers) larger than Config.MaxResponseBytes. The response was not
// stored and the claim was released. Permanent.
var ErrResponseTooLarge = errors.New("dynamostore: response too large to store")

// Config configures a Store. The zero value is ready to use.
type Config struct {
	// MaxResponseBytes bounds the size of a stored response: the body plus
	// the names and values of its headers. Zero means
	// DefaultMaxResponseBytes; it may not exceed MaxResponseBytes.
	MaxResponseBytes int
}

// Validate reports the first problem with c, naming the field.
func (c Config) Validate() error {
	if c.MaxResponseBytes < 0 || c.MaxResponseBytes > MaxResponseBytes {
		return fmt.Errorf("dynamostore: Config.MaxResponseBytes %d is outside 0..%d", c.MaxResponseBytes, MaxResponseBytes)
	}
	return nil
}

// Store is the DynamoDB idempotency store. Safe for concurrent use by
// many goroutines and processes.
type Store struct {
	api     dynamo.API
	table   string
	maxResp int
}

var _ idempotency.Store = (*Store)(nil)

// New returns a Store keeping its records in table, which has the
// platform's shared layout with TTL on (dynamo.CreateTable).
func New(client dynamo.API, table string, cfg Config) (*Store, error) {
	if client == nil || table == "" {
		return nil, errors.New("dynamostore: a client and a table are required")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.MaxResponseBytes == 0 {
		cfg.MaxResponseBytes = DefaultMaxResponseBytes
	}
	return &Store{api: client, table: table, maxResp: cfg.MaxResponseBytes}, nil
}

func key(id string) map[string]types.AttributeValue { return dynamo.Key(PKPrefix+id, SK) }

// ttlOf is the ttl attribute of a record expiring at t: the epoch second
// at or after t, so DynamoDB never deletes a record before it expired.
func ttlOf(t time.Time) types.AttributeValue {
	s := t.Unix()
	if t.After(time.Unix(s, 0)) {
		s++
	}
	return dynamo.N(s)
}

// ownerCondition holds when token owns the in-progress record; it is
// false for a missing item.
const ownerCondition = "#token = :token AND #state = :inProgress"

func ownerNames() map[string]string {
	return map[string]string{"#token": attrToken, "#state": attrState}
}

func ownerValues(token string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{":token": dynamo.S(token), ":inProgress": dynamo.N(int64(idempotency.InProgress))}
}

// claimAttempts bounds the retries when a record vanishes between the
// refused put and the read that follows it.
const claimAttempts = 5

// Claim implements idempotency.Store.
func (s *Store) Claim(ctx context.Context, id string, c idempotency.Claim) (idempotency.Record, bool, error) {
	item := key(id)
	item[attrState] = dynamo.N(int64(idempotency.InProgress))
	item[attrFP] = dynamo.S(c.Fingerprint)
	item[attrToken] = dynamo.S(c.Token)
	item[attrExpires] = dynamo.N(c.ExpiresAt.UnixMicro())
	item[dynamo.AttrTTL] = ttlOf(c.ExpiresAt)
	in := &dynamodb.PutItemInput{
		TableName:                           aws.String(s.table),
		Item:                                item,
		ConditionExpression:                 aws.String("attribute_not_exists(pk) OR #exp <= :now"),
		ExpressionAttributeNames:            map[string]string{"#exp": attrExpires},
		ExpressionAttributeValues:           map[string]types.AttributeValue{":now": dynamo.N(c.Now.UnixMicro())},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
	for range claimAttempts {
		_, err := s.api.PutItem(ctx, in)
		if err == nil {
			return idempotency.Record{}, true, nil
		}
		var ccf *types.ConditionalCheckFailedException
		if !errors.As(err, &ccf) {
			return idempotency.Record{}, false, fmt.Errorf("dynamostore: claim %s: %w", id, dynamo.Classify(err))
		}
		// The put was refused because a live record exists. DynamoDB
		// returns it with the refusal; read it when it did not.
		old := ccf.Item
		if len(old) == 0 {
			if old, err = s.get(ctx, id); err != nil {
				return idempotency.Record{}, false, err
			}
		}
		if len(old) == 0 {
			continue // released in between
		}
		rec, err := decode(id, old)
		if err != nil {
			return idempotency.Record{}, false, err
		}
		if rec.ExpiresAt.After(c.Now) {
			return rec, false, nil
		}
		// Expired in between (a read after the refusal): claim again.
	}
	return idempotency.Record{}, false, fault.Retryable(fmt.Errorf("dynamostore: claim %s: key keeps changing", id))
}

// get reads id's item with a strongly consistent read; nil when absent.
func (s *Store) get(ctx context.Context, id string) (map[string]types.AttributeValue, error) {
	out, err := s.api.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: key(id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("dynamostore: get %s: %w", id, dynamo.Classify(err))
	}
	return out.Item, nil
}

// Complete implements idempotency.Store. A response larger than
// Config.MaxResponseBytes is not stored: the claim is released and the
// error wraps ErrResponseTooLarge (or ErrNotOwner when token did not hold
// the key).
func (s *Store) Complete(ctx context.Context, id, token string, resp idempotency.Response, expiresAt time.Time) error {
	if size := responseSize(resp); size > s.maxResp {
		if err := s.Release(ctx, id, token); err != nil {
			return fmt.Errorf("dynamostore: complete %s: response of %d bytes too large to store; releasing the claim: %w", id, size, err)
		}
		return fault.Permanent(fmt.Errorf("dynamostore: complete %s: %w: %d bytes, limit %d", id, ErrResponseTooLarge, size, s.maxResp))
	}
	names := ownerNames()
	values := ownerValues(token)
	set := "SET #state = :completed, #status = :status, #exp = :exp, #ttl = :ttl"
	names["#status"], names["#exp"], names["#ttl"] = attrStatus, attrExpires, dynamo.AttrTTL
	values[":completed"] = dynamo.N(int64(idempotency.Completed))
	values[":status"] = dynamo.N(int64(resp.Status))
	values[":exp"] = dynamo.N(expiresAt.UnixMicro())
	values[":ttl"] = ttlOf(expiresAt)
	if len(resp.Header) > 0 {
		set += ", #header = :header"
		names["#header"] = attrHeader
		values[":header"] = encodeHeader(resp.Header)
	}
	if len(resp.Body) > 0 {
		set += ", #body = :body"
		names["#body"] = attrBody
		values[":body"] = dynamo.B(resp.Body)
	}
	_, err := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(id),
		UpdateExpression:          aws.String(set),
		ConditionExpression:       aws.String(ownerCondition),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	return ownerResult("complete", id, err)
}

// Release implements idempotency.Store.
func (s *Store) Release(ctx context.Context, id, token string) error {
	_, err := s.api.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(id),
		ConditionExpression:       aws.String(ownerCondition),
		ExpressionAttributeNames:  ownerNames(),
		ExpressionAttributeValues: ownerValues(token),
	})
	return ownerResult("release", id, err)
}

// Purge implements idempotency.Store. It does nothing and returns 0:
// expired records already count as absent, and DynamoDB's TTL deletes
// them.
func (s *Store) Purge(context.Context, time.Time) (int64, error) { return 0, nil }

// ownerResult turns the error of a write conditional on the owner into
// the store's: a failed condition is ErrNotOwner.
func ownerResult(op, id string, err error) error {
	if err == nil {
		return nil
	}
	err = dynamo.Classify(err)
	if errors.Is(err, dynamo.ErrConditionFailed) {
		return fmt.Errorf("dynamostore: %s %s: %w", op, id, idempotency.ErrNotOwner)
	}
	return fmt.Errorf("dynamostore: %s %s: %w", op, id, err)
}

// responseSize is what resp takes in an item, near enough: the body, and
// each header's name and values with a few bytes of overhead.
func responseSize(resp idempotency.Response) int {
	n := len(resp.Body)
	for name, values := range resp.Header {
		n += len(name) + 4
		for _, v := range values {
			n += len(v) + 1
		}
	}
	return n
}

func encodeHeader(h http.Header) types.AttributeValue {
	m := make(map[string]types.AttributeValue, len(h))
	for name, values := range h {
		list := make([]types.AttributeValue, len(values))
		for i, v := range values {
			list[i] = dynamo.S(v)
		}
		m[name] = &types.AttributeValueMemberL{Value: list}
	}
	return &types.AttributeValueMemberM{Value: m}
}

// decode reads a record's item. A malformed item is a permanent error.
func decode(id string, item map[string]types.AttributeValue) (idempotency.Record, error) {
	bad := func(err error) error {
		return fault.Permanent(fmt.Errorf("dynamostore: decode %s: %w", id, err))
	}
	state, err := dynamo.GetN(item, attrState)
	if err != nil {
		return idempotency.Record{}, bad(err)
	}
	expires, err := dynamo.GetN(item, attrExpires)
	if err != nil {
		return idempotency.Record{}, bad(err)
	}
	rec := idempotency.Record{
		State:       idempotency.State(state),
		Fingerprint: dynamo.GetS(item, attrFP),
		Token:       dynamo.GetS(item, attrToken),
		ExpiresAt:   time.UnixMicro(expires),
	}
	switch rec.State {
	case idempotency.InProgress:
		return rec, nil
	case idempotency.Completed:
	default:
		return idempotency.Record{}, bad(fmt.Errorf("unknown state %d", state))
	}
	status, err := dynamo.GetN(item, attrStatus)
	if err != nil {
		return idempotency.Record{}, bad(err)
	}
	resp := &idempotency.Response{Status: int(status), Header: http.Header{}, Body: dynamo.GetB(item, attrBody)}
	if resp.Body == nil {
		resp.Body = []byte{}
	}
	if v, ok := item[attrHeader]; ok {
		m, ok := v.(*types.AttributeValueMemberM)
		if !ok {
			return idempotency.Record{}, bad(fmt.Errorf("attribute %s is %T, not a map", attrHeader, v))
		}
		for name, lv := range m.Value {
			list, ok := lv.(*types.AttributeValueMemberL)
			if !ok {
				return idempotency.Record{}, bad(fmt.Errorf("header %q is %T, not a list", name, lv))
			}
			values := make([]string, len(list.Value))
			for i, e := range list.Value {
				s, ok := e.(*types.AttributeValueMemberS)
				if !ok {
					return idempotency.Record{}, bad(fmt.Errorf("header %q value %d is %T, not a string", name, i, e))
				}
				values[i] = s.Value
			}
			resp.Header[name] = values
		}
	}
	rec.Response = resp
	return rec, nil
}
