package redisstore_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/platform/idempotency"
	"github.com/agoracommerce/agora/internal/platform/idempotency/idempotencytest"
	"github.com/agoracommerce/agora/internal/platform/idempotency/redisstore"
	"github.com/agoracommerce/agora/internal/testenv"
)

func mustRedis(t *testing.T) idempotency.Store {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: testenv.RedisAddr(t)})
	prefix := "test:idempotency:" + uuid.NewString() + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			_ = rdb.Del(ctx, iter.Val()).Err()
		}
		_ = rdb.Close()
	})
	s, err := redisstore.New(rdb, redisstore.Config{Prefix: prefix})
	require.NoError(t, err)
	return s
}

func TestRedisStore(t *testing.T) {
	t.Parallel()
	idempotencytest.TestStore(t, mustRedis, idempotencytest.Features{SelfExpiring: true})
}
