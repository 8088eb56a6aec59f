// Package rediscache is a read-through cache of the catalog's products in
// Redis (ElastiCache in AWS). It decorates the app's Repository: Get is
// served from Redis when the product is there and from the repository
// otherwise (and then cached for a TTL); every successful Update writes the
// product as stored through to the cache, so an update or an archive is
// seen at once. Entries carry the product's version and a write never
// replaces a newer one, so a read racing an update cannot put an old
// product back. The cache is never a reason for a read to fail: a Redis
// error or an undecodable entry is logged and counted, and the read falls
// back to the repository.
package rediscache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/agoracommerce/agora/internal/catalog"
	"github.com/agoracommerce/agora/internal/catalog/app"
)

// Defaults of Config.
const (
	DefaultPrefix  = "agora:catalog:product:"
	DefaultTTL     = 5 * time.Minute
	DefaultTimeout = 100 * time.Millisecond
)

// Config configures a Repository. The zero value of every field but the
// client picks its default.
type Config struct {
	// Prefix is put before every product ID; DefaultPrefix when empty.
	Prefix string
	// TTL is how long a product stays cached; DefaultTTL when zero.
	TTL time.Duration
	// Timeout bounds each Redis call, so a slow cache costs a read little;
	// DefaultTimeout when zero.
	Timeout time.Duration
	// Logger logs cache failures; none when nil.
	Logger *zap.Logger
	// Meter makes the cache's counters; the global meter provider's when
	// nil.
	Meter metric.Meter
}

// Repository is the caching decorator of an app.Repository. Safe for
// concurrent use.
type Repository struct {
	next   app.Repository
	rdb    redis.UniversalClient
	cfg    Config
	log    *zap.Logger
	lookup metric.Int64Counter
	errs   metric.Int64Counter
}

var _ app.Repository = (*Repository)(nil)

// New returns next behind a cache in rdb.
func New(next app.Repository, rdb redis.UniversalClient, cfg Config) (*Repository, error) {
	if next == nil || rdb == nil {
		return nil, errors.New("rediscache: a repository and a Redis client are required")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Meter == nil {
		cfg.Meter = otel.Meter("github.com/agoracommerce/agora/internal/catalog/rediscache")
	}
	lookup, err := cfg.Meter.Int64Counter("agora.catalog.cache.lookups",
		metric.WithDescription("Product reads by cache result (hit, miss, error)."))
	if err != nil {
		return nil, fmt.Errorf("rediscache: metric: %w", err)
	}
	errs, err := cfg.Meter.Int64Counter("agora.catalog.cache.errors",
		metric.WithDescription("Failed cache operations by operation; reads fell back to the repository."))
	if err != nil {
		return nil, fmt.Errorf("rediscache: metric: %w", err)
	}
	return &Repository{next: next, rdb: rdb, cfg: cfg, log: cfg.Logger, lookup: lookup, errs: errs}, nil
}

// Create stores the product through the repository; nothing is cached
// until it is read.
func (r *Repository) Create(ctx context.Context, p *catalog.Product) error {
	return r.next.Create(ctx, p)
}

// List reads through to the repository: pages are not cached.
func (r *Repository) List(ctx context.Context, q app.ProductQuery) (app.Page[*catalog.Product], error) {
	return r.next.List(ctx, q)
}

// Update updates through the repository, then writes the product as stored
// to the cache (or, when the outcome is unknown, drops the cached copy).
func (r *Repository) Update(ctx context.Context, id uuid.UUID, fn func(*catalog.Product) error) error {
	var stored *catalog.Product
	err := r.next.Update(ctx, id, func(p *catalog.Product) error {
		if err := fn(p); err != nil {
			return err
		}
		stored = p
		return nil
	})
	if err != nil {
		if !errors.Is(err, catalog.ErrProductNotFound) {
			r.drop(ctx, id)
		}
		return err
	}
	if stored != nil {
		r.put(ctx, stored)
	}
	return nil
}

// Get returns the product from the cache, or from the repository (caching
// it) when the cache does not have it or fails.
func (r *Repository) Get(ctx context.Context, id uuid.UUID) (*catalog.Product, error) {
	cctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	raw, err := r.rdb.Get(cctx, r.key(id)).Bytes()
	cancel()
	switch {
	case err == nil:
		p, derr := decode(raw)
		if derr == nil {
			r.count(ctx, "hit")
			return p, nil
		}
		r.fail(ctx, "decode", id, derr)
		r.drop(ctx, id)
	case errors.Is(err, redis.Nil):
		r.count(ctx, "miss")
	default:
		r.count(ctx, "error")
		r.fail(ctx, "get", id, err)
	}
	p, err := r.next.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	r.put(ctx, p)
	return p, nil
}

// putScript stores ARGV[1] (an entry of version ARGV[2]) for ARGV[3]
// milliseconds unless the key holds an entry of that version or newer.
var putScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, c = pcall(cjson.decode, cur)
  if ok and type(c) == 'table' and tonumber(c.v) and tonumber(c.v) >= tonumber(ARGV[2]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1`)

func (r *Repository) put(ctx context.Context, p *catalog.Product) {
	raw, err := encode(p)
	if err != nil {
		r.fail(ctx, "encode", p.ID(), err)
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.Timeout)
	defer cancel()
	err = putScript.Run(cctx, r.rdb, []string{r.key(p.ID())}, raw, p.Version(), r.cfg.TTL.Milliseconds()).Err()
	if err != nil {
		r.fail(ctx, "put", p.ID(), err)
		// An older copy may still be there: drop it so it is not served
		// for a whole TTL.
		r.drop(ctx, p.ID())
	}
}

func (r *Repository) drop(ctx context.Context, id uuid.UUID) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.Timeout)
	defer cancel()
	if err := r.rdb.Del(cctx, r.key(id)).Err(); err != nil {
		r.fail(ctx, "delete", id, err)
	}
}

func (r *Repository) key(id uuid.UUID) string { return r.cfg.Prefix + id.String() }

func (r *Repository) count(ctx context.Context, result string) {
	r.lookup.Add(ctx, 1, metric.WithAttributes(attribute.String("result", result)))
}

func (r *Repository) fail(ctx context.Context, op string, id uuid.UUID, err error) {
	r.errs.Add(ctx, 1, metric.WithAttributes(attribute.String("op", op)))
	r.log.Warn("product cache "+op+" failed", zap.Stringer("product_id", id), zap.Error(err))
}

// entry is the JSON form of a cached product; V is its version.
type entry struct {
	V           int64             `json:"v"`
	ID          uuid.UUID         `json:"id"`
	SKU         string            `json:"sku"`
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	Amount      int64             `json:"amount"`
	Currency    string            `json:"currency"`
	CategoryID  uuid.UUID         `json:"category_id"`
	Attributes  map[string]string `json:"attributes,omitempty"`
	ImageURLs   []string          `json:"image_urls,omitempty"`
	Status      catalog.Status    `json:"status"`
	CreatedAt   time.Time         `json:"created_at"`
	UpdatedAt   time.Time         `json:"updated_at"`
}

func encode(p *catalog.Product) ([]byte, error) {
	s := p.State()
	return json.Marshal(entry{
		V: s.Version, ID: s.ID, SKU: s.SKU, Name: s.Details.Name, Description: s.Details.Description,
		Amount: s.Details.Price.Amount(), Currency: s.Details.Price.Currency(), CategoryID: s.Details.CategoryID,
		Attributes: s.Details.Attributes, ImageURLs: s.Details.ImageURLs, Status: s.Status,
		CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt,
	})
}

func decode(raw []byte) (*catalog.Product, error) {
	var e entry
	if err := json.Unmarshal(raw, &e); err != nil {
		return nil, fmt.Errorf("decode cached product: %w", err)
	}
	price, err := catalog.NewMoney(e.Amount, e.Currency)
	if err != nil {
		return nil, fmt.Errorf("decode cached product: %w", err)
	}
	attrs := e.Attributes
	if attrs == nil {
		attrs = map[string]string{}
	}
	images := e.ImageURLs
	if images == nil {
		images = []string{}
	}
	p, err := catalog.RestoreProduct(catalog.ProductState{
		ID: e.ID, SKU: e.SKU, Status: e.Status, Version: e.V, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt,
		Details: catalog.Details{Name: e.Name, Description: e.Description, Price: price, CategoryID: e.CategoryID, Attributes: attrs, ImageURLs: images},
	})
	if err != nil {
		return nil, fmt.Errorf("decode cached product: %w", err)
	}
	return p, nil
}
