package rediscache_test

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	protos "github.com/agoracommerce/agora/api/proto"
	catalogv1 "github.com/agoracommerce/agora/gen/proto/agora/catalog/v1"
	"github.com/agoracommerce/agora/internal/catalog"
	"github.com/agoracommerce/agora/internal/catalog/app"
	"github.com/agoracommerce/agora/internal/catalog/catalogtest"
	"github.com/agoracommerce/agora/internal/catalog/rediscache"
	"github.com/agoracommerce/agora/internal/catalog/sqlstore"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/outbox"
	"github.com/agoracommerce/agora/internal/platform/sqldb"
	"github.com/agoracommerce/agora/internal/platform/sqldb/sqldbtest"
	"github.com/agoracommerce/agora/internal/testenv"
)

func mustCodec(tb testing.TB) *events.Codec {
	tb.Helper()
	fake := srfake.New()
	tb.Cleanup(fake.Close)
	cl, err := sr.NewClient(sr.URLs(fake.URL()))
	require.NoError(tb, err)
	codec, err := events.NewCodec(events.CodecConfig{Registry: cl, Sources: protos.FS, AutoRegister: true})
	require.NoError(tb, err)
	return codec
}

// mustRedis returns a client of the test Redis and a key prefix of the
// test's own, whose keys are deleted at the end.
func mustRedis(t *testing.T) (*redis.Client, string) {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: testenv.RedisAddr(t)})
	prefix := "test:catalog:" + uuid.NewString() + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			_ = rdb.Del(ctx, iter.Val()).Err()
		}
		_ = rdb.Close()
	})
	return rdb, prefix
}

func newStore(t *testing.T, db *sqldb.DB, codec *events.Codec) (*sqlstore.Store, *outbox.Store) {
	t.Helper()
	ob, err := outbox.NewStore(context.Background(), db)
	require.NoError(t, err)
	st, err := sqlstore.New(context.Background(), db, ob, codec)
	require.NoError(t, err)
	return st, ob
}

// The repository contract holds through the cache, on SQLite and
// PostgreSQL, with every read going through Redis.
func TestRepositoryThroughCache(t *testing.T) {
	t.Parallel()
	codec := mustCodec(t)
	sqldbtest.Each(t, func(t *testing.T, open func(testing.TB) *sqldb.DB) {
		catalogtest.TestRepository(t, func(t *testing.T) catalogtest.Backend {
			st, ob := newStore(t, open(t), codec)
			rdb, prefix := mustRedis(t)
			cached, err := rediscache.New(st, rdb, rediscache.Config{Prefix: prefix})
			require.NoError(t, err)
			return catalogtest.Backend{Products: cached, Categories: st, Outbox: func(t *testing.T) []*catalogv1.ProductEvent {
				t.Helper()
				rows, err := ob.Claim(context.Background(), "catalog-test", 10_000, time.Hour)
				require.NoError(t, err)
				var out []*catalogv1.ProductEvent
				for _, row := range rows {
					msg, err := codec.Decode(context.Background(), row.Event.Value)
					require.NoError(t, err)
					out = append(out, msg.(*catalogv1.ProductEvent))
				}
				return out
			}}
		})
	})
}

// counting counts the reads that reach the repository and can hold one
// read between loading and returning.
type counting struct {
	app.Repository
	gets   atomic.Int64
	mu     sync.Mutex
	hold   chan struct{} // when set, a Get waits for it after loading
	loaded chan struct{}
}

func (c *counting) Get(ctx context.Context, id uuid.UUID) (*catalog.Product, error) {
	c.gets.Add(1)
	p, err := c.Repository.Get(ctx, id)
	c.mu.Lock()
	hold, loaded := c.hold, c.loaded
	c.hold, c.loaded = nil, nil
	c.mu.Unlock()
	if hold != nil {
		close(loaded)
		<-hold
	}
	return p, err
}

type fixture struct {
	repo  *counting
	cache *rediscache.Repository
	cat   catalog.Category
}

func newFixture(t *testing.T, rdb redis.UniversalClient, prefix string, log *zap.Logger) fixture {
	t.Helper()
	st, _ := newStore(t, sqldbtest.SQLite(t), mustCodec(t))
	repo := &counting{Repository: st}
	cache, err := rediscache.New(repo, rdb, rediscache.Config{Prefix: prefix, TTL: time.Minute, Logger: log})
	require.NoError(t, err)
	cat, err := catalog.NewCategory(uuid.Must(uuid.NewV7()), "mugs", "Mugs", "", time.Now())
	require.NoError(t, err)
	require.NoError(t, st.CreateCategory(context.Background(), cat))
	return fixture{repo: repo, cache: cache, cat: cat}
}

func (f fixture) product(t *testing.T, sku string) *catalog.Product {
	t.Helper()
	price, err := catalog.NewMoney(1450, "EUR")
	require.NoError(t, err)
	p, err := catalog.NewProduct(uuid.Must(uuid.NewV7()), sku, catalog.Details{
		Name: "Stoneware mug", Price: price, CategoryID: f.cat.ID(), Attributes: map[string]string{"colour": "blue"},
	}, catalog.StatusActive, time.Now())
	require.NoError(t, err)
	require.NoError(t, f.cache.Create(context.Background(), p))
	return p
}

func reprice(t *testing.T, p *catalog.Product, amount int64) func(*catalog.Product) error {
	t.Helper()
	return func(q *catalog.Product) error {
		s := q.State()
		price, err := catalog.NewMoney(amount, "EUR")
		require.NoError(t, err)
		s.Details.Price = price
		return q.Replace(s.Details, s.Status, time.Now())
	}
}

func TestReadThroughAndInvalidation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb, prefix := mustRedis(t)
	f := newFixture(t, rdb, prefix, nil)
	p := f.product(t, "MUG-1")

	first, err := f.cache.Get(ctx, p.ID())
	require.NoError(t, err)
	require.Empty(t, cmp.Diff(p.State(), first.State()))
	require.EqualValues(t, 1, f.repo.gets.Load(), "a miss reads the repository")
	ttl, err := rdb.PTTL(ctx, prefix+p.ID().String()).Result()
	require.NoError(t, err)
	require.True(t, ttl > 0 && ttl <= time.Minute, "cached with the TTL, got %s", ttl)

	second, err := f.cache.Get(ctx, p.ID())
	require.NoError(t, err)
	require.Empty(t, cmp.Diff(p.State(), second.State()))
	require.Empty(t, second.Events())
	require.EqualValues(t, 1, f.repo.gets.Load(), "a hit does not")

	// An update is seen at once, without a read of the repository.
	require.NoError(t, f.cache.Update(ctx, p.ID(), reprice(t, p, 1990)))
	got, err := f.cache.Get(ctx, p.ID())
	require.NoError(t, err)
	require.Equal(t, int64(1990), got.Price().Amount())
	require.Equal(t, int64(2), got.Version())

	// So is an archive.
	require.NoError(t, f.cache.Update(ctx, p.ID(), func(q *catalog.Product) error { q.Archive(time.Now()); return nil }))
	got, err = f.cache.Get(ctx, p.ID())
	require.NoError(t, err)
	require.Equal(t, catalog.StatusArchived, got.Status())
	require.EqualValues(t, 1, f.repo.gets.Load())

	// A failed update leaves the cache alone; an unknown product is the
	// repository's answer and is not cached.
	require.ErrorIs(t, f.cache.Update(ctx, p.ID(), reprice(t, p, 5)), catalog.ErrArchived)
	_, err = f.cache.Get(ctx, uuid.Must(uuid.NewV7()))
	require.ErrorIs(t, err, catalog.ErrProductNotFound)
}

// A read that loaded a product before an update cannot put the old
// product back into the cache after the update wrote the new one.
func TestAStaleReadDoesNotOverwriteAnUpdate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb, prefix := mustRedis(t)
	f := newFixture(t, rdb, prefix, nil)
	p := f.product(t, "MUG-2")

	hold, loaded := make(chan struct{}), make(chan struct{})
	f.repo.mu.Lock()
	f.repo.hold, f.repo.loaded = hold, loaded
	f.repo.mu.Unlock()
	done := make(chan *catalog.Product, 1)
	go func() {
		got, err := f.cache.Get(ctx, p.ID())
		if err != nil {
			got = nil
		}
		done <- got
	}()
	<-loaded
	require.NoError(t, f.cache.Update(ctx, p.ID(), reprice(t, p, 2500)))
	close(hold)
	stale := <-done
	require.NotNil(t, stale)
	require.Equal(t, int64(1), stale.Version(), "the racing read returns what it loaded")

	got, err := f.cache.Get(ctx, p.ID())
	require.NoError(t, err)
	require.Equal(t, int64(2), got.Version(), "but the cache keeps the update")
	require.Equal(t, int64(2500), got.Price().Amount())
}

// A corrupt entry is dropped and the read served from the repository.
func TestCorruptEntryFallsBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb, prefix := mustRedis(t)
	core, logs := observer.New(zap.WarnLevel)
	f := newFixture(t, rdb, prefix, zap.New(core))
	p := f.product(t, "MUG-3")
	require.NoError(t, rdb.Set(ctx, prefix+p.ID().String(), "{not json", time.Minute).Err())

	got, err := f.cache.Get(ctx, p.ID())
	require.NoError(t, err)
	require.Empty(t, cmp.Diff(p.State(), got.State()))
	require.Equal(t, 1, logs.FilterMessage("product cache decode failed").Len())
	got, err = f.cache.Get(ctx, p.ID())
	require.NoError(t, err)
	require.Equal(t, p.Version(), got.Version())
	require.EqualValues(t, 1, f.repo.gets.Load(), "the entry was replaced with a good one")
}

// With Redis down every read and update is still served, and each cache
// failure is logged.
func TestRedisDownStillServes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close()) // nothing listens there any more
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { _ = rdb.Close() })
	core, logs := observer.New(zap.WarnLevel)
	f := newFixture(t, rdb, "down:", zap.New(core))
	p := f.product(t, "MUG-4")

	for range 3 {
		got, err := f.cache.Get(ctx, p.ID())
		require.NoError(t, err)
		require.Empty(t, cmp.Diff(p.State(), got.State()))
	}
	require.EqualValues(t, 3, f.repo.gets.Load())
	require.NoError(t, f.cache.Update(ctx, p.ID(), reprice(t, p, 1200)))
	got, err := f.cache.Get(ctx, p.ID())
	require.NoError(t, err)
	require.Equal(t, int64(1200), got.Price().Amount())
	require.GreaterOrEqual(t, logs.FilterMessage("product cache get failed").Len(), 4)
	require.Positive(t, logs.FilterMessage("product cache put failed").Len())
}

func TestNewNeedsRepositoryAndClient(t *testing.T) {
	t.Parallel()
	_, err := rediscache.New(nil, redis.NewClient(&redis.Options{}), rediscache.Config{})
	require.Error(t, err)
}
