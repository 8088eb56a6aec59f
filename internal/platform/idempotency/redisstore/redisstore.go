// Package redisstore keeps idempotency records in Redis (ElastiCache in
// AWS): a claim is SET NX PX, completion and release are Lua scripts that
// compare the claim token before they write, and Redis expiry purges old
// records.
package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/agoracommerce/agora/internal/platform/fault"
	"github.com/agoracommerce/agora/internal/platform/idempotency"
)

// DefaultPrefix is the key prefix when Config.Prefix is empty.
const DefaultPrefix = "agora:idempotency:"

// Config configures a Store.
type Config struct {
	// Prefix is put before every record's key; empty means DefaultPrefix.
	Prefix string
}

// Store is the Redis idempotency store. Safe for concurrent use.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
}

var _ idempotency.Store = (*Store)(nil)

// New returns a Store using rdb.
func New(rdb redis.UniversalClient, cfg Config) (*Store, error) {
	if rdb == nil {
		return nil, errors.New("redisstore: client is required")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	return &Store{rdb: rdb, prefix: cfg.Prefix}, nil
}

// record is the JSON value stored under a key.
type record struct {
	State       idempotency.State `json:"state"`
	Fingerprint string            `json:"fp"`
	Token       string            `json:"token"`
	Status      int               `json:"status,omitempty"`
	Header      http.Header       `json:"header,omitempty"`
	Body        []byte            `json:"body,omitempty"`
	ExpiresAt   int64             `json:"exp"`
}

// completeScript turns the in-progress record held by ARGV[1] into the
// completed record ARGV[2] (keeping the claim's fingerprint), expiring in
// ARGV[3] milliseconds; releaseScript deletes it. Both return 0 when the
// token does not hold the record.
var (
	completeScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local r = cjson.decode(v)
if r.token ~= ARGV[1] or r.state ~= 0 then return 0 end
local n = cjson.decode(ARGV[2])
n.fp = r.fp
redis.call('SET', KEYS[1], cjson.encode(n), 'PX', ARGV[3])
return 1`)
	releaseScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local r = cjson.decode(v)
if r.token ~= ARGV[1] or r.state ~= 0 then return 0 end
redis.call('DEL', KEYS[1])
return 1`)
)

const claimAttempts = 5

// Claim implements idempotency.Store. The record's lifetime in Redis is
// ExpiresAt minus Now.
func (s *Store) Claim(ctx context.Context, id string, c idempotency.Claim) (idempotency.Record, bool, error) {
	ttl := c.ExpiresAt.Sub(c.Now)
	if ttl < time.Millisecond {
		ttl = time.Millisecond
	}
	val, err := json.Marshal(record{State: idempotency.InProgress, Fingerprint: c.Fingerprint, Token: c.Token, ExpiresAt: c.ExpiresAt.UnixMilli()})
	if err != nil {
		return idempotency.Record{}, false, fault.Permanent(fmt.Errorf("redisstore: encode: %w", err))
	}
	key := s.prefix + id
	for range claimAttempts {
		ok, err := s.rdb.SetNX(ctx, key, val, ttl).Result()
		if err != nil {
			return idempotency.Record{}, false, wrap("claim", err)
		}
		if ok {
			return idempotency.Record{}, true, nil
		}
		raw, err := s.rdb.Get(ctx, key).Bytes()
		if errors.Is(err, redis.Nil) {
			continue // expired or released in between
		}
		if err != nil {
			return idempotency.Record{}, false, wrap("get", err)
		}
		var r record
		if err := json.Unmarshal(raw, &r); err != nil {
			return idempotency.Record{}, false, fault.Permanent(fmt.Errorf("redisstore: decode %s: %w", key, err))
		}
		rec := idempotency.Record{State: r.State, Fingerprint: r.Fingerprint, Token: r.Token, ExpiresAt: time.UnixMilli(r.ExpiresAt)}
		if r.State == idempotency.Completed {
			body := r.Body
			if body == nil {
				body = []byte{}
			}
			header := r.Header
			if header == nil {
				header = http.Header{}
			}
			rec.Response = &idempotency.Response{Status: r.Status, Header: header, Body: body}
		}
		return rec, false, nil
	}
	return idempotency.Record{}, false, fault.Retryable(fmt.Errorf("redisstore: claim %s: key keeps changing", id))
}

// Complete implements idempotency.Store. The record lives until expiresAt
// by the local clock.
func (s *Store) Complete(ctx context.Context, id, token string, resp idempotency.Response, expiresAt time.Time) error {
	ttl := time.Until(expiresAt)
	if ttl < time.Millisecond {
		ttl = time.Millisecond
	}
	val, err := json.Marshal(record{State: idempotency.Completed, Token: token, Status: resp.Status, Header: resp.Header, Body: resp.Body, ExpiresAt: expiresAt.UnixMilli()})
	if err != nil {
		return fault.Permanent(fmt.Errorf("redisstore: encode: %w", err))
	}
	n, err := completeScript.Run(ctx, s.rdb, []string{s.prefix + id}, token, string(val), ttl.Milliseconds()).Int()
	if err != nil {
		return wrap("complete", err)
	}
	if n != 1 {
		return fmt.Errorf("redisstore: complete: %w", idempotency.ErrNotOwner)
	}
	return nil
}

// Release implements idempotency.Store.
func (s *Store) Release(ctx context.Context, id, token string) error {
	n, err := releaseScript.Run(ctx, s.rdb, []string{s.prefix + id}, token).Int()
	if err != nil {
		return wrap("release", err)
	}
	if n != 1 {
		return fmt.Errorf("redisstore: release: %w", idempotency.ErrNotOwner)
	}
	return nil
}

// Purge implements idempotency.Store; Redis expires records by itself.
func (s *Store) Purge(context.Context, time.Time) (int64, error) { return 0, nil }

func wrap(op string, err error) error {
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("redisstore: %s: %w", op, err)
	}
	return fault.Retryable(fmt.Errorf("redisstore: %s: %w", op, err))
}
