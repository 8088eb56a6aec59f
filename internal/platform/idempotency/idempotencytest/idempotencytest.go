// Package idempotencytest is the contract suite every idempotency.Store
// adapter passes: TestStore runs it against a store factory.
package idempotencytest

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/platform/idempotency"
)

// Features describes what a store does differently.
type Features struct {
	// SelfExpiring stores drop expired records by themselves in real time
	// (Redis); Purge returns 0 and expiry is observed by waiting.
	SelfExpiring bool
}

// NewStore returns a fresh, empty store for one test; it registers its own
// cleanup.
type NewStore func(t *testing.T) idempotency.Store

// TestStore runs the contract suite.
func TestStore(t *testing.T, newStore NewStore, f Features) {
	t.Run("ClaimThenConflict", func(t *testing.T) { t.Parallel(); testClaimThenConflict(t, newStore(t)) })
	t.Run("CompleteAndReplay", func(t *testing.T) { t.Parallel(); testCompleteAndReplay(t, newStore(t)) })
	t.Run("OnlyOwnerCompletesOrReleases", func(t *testing.T) { t.Parallel(); testOwner(t, newStore(t)) })
	t.Run("ReleaseFreesKey", func(t *testing.T) { t.Parallel(); testRelease(t, newStore(t)) })
	t.Run("ExpiredKeyReusable", func(t *testing.T) { t.Parallel(); testExpired(t, newStore(t)) })
	t.Run("ConcurrentClaimsOneWinner", func(t *testing.T) { t.Parallel(); testConcurrent(t, newStore(t)) })
	t.Run("Purge", func(t *testing.T) { t.Parallel(); testPurge(t, newStore(t), f) })
}

func claim(fp string, now time.Time, ttl time.Duration) idempotency.Claim {
	return idempotency.Claim{Token: uuid.NewString(), Fingerprint: fp, Now: now, ExpiresAt: now.Add(ttl)}
}

func testClaimThenConflict(t *testing.T, s idempotency.Store) {
	ctx := context.Background()
	now := time.Now()
	first := claim("fp-1", now, time.Minute)
	_, ok, err := s.Claim(ctx, "key-a", first)
	require.NoError(t, err)
	require.True(t, ok)

	rec, ok, err := s.Claim(ctx, "key-a", claim("fp-2", now, time.Minute))
	require.NoError(t, err)
	require.False(t, ok)
	require.Equal(t, idempotency.InProgress, rec.State)
	require.Equal(t, "fp-1", rec.Fingerprint)
	require.Equal(t, first.Token, rec.Token)
	require.Nil(t, rec.Response)
	require.WithinDuration(t, first.ExpiresAt, rec.ExpiresAt, time.Millisecond)

	_, ok, err = s.Claim(ctx, "key-b", claim("fp-1", now, time.Minute))
	require.NoError(t, err)
	require.True(t, ok, "another key is independent")
}

func testCompleteAndReplay(t *testing.T, s idempotency.Store) {
	ctx := context.Background()
	now := time.Now()
	c := claim("fp", now, time.Minute)
	_, ok, err := s.Claim(ctx, "k", c)
	require.NoError(t, err)
	require.True(t, ok)
	want := idempotency.Response{
		Status: http.StatusCreated,
		Header: http.Header{"Content-Type": {"application/json"}, "Location": {"/v1/orders/o-1"}},
		Body:   []byte("{\"id\":\"o-1\"}\n\x00\xff"),
	}
	require.NoError(t, s.Complete(ctx, "k", c.Token, want, now.Add(time.Hour)))

	rec, ok, err := s.Claim(ctx, "k", claim("fp", now, time.Minute))
	require.NoError(t, err)
	require.False(t, ok)
	require.Equal(t, idempotency.Completed, rec.State)
	require.Equal(t, "fp", rec.Fingerprint)
	require.NotNil(t, rec.Response)
	if d := cmp.Diff(want, *rec.Response); d != "" {
		t.Fatalf("stored response (-want +got):\n%s", d)
	}

	// An empty body survives as an empty body.
	c2 := claim("fp", now, time.Minute)
	_, ok, err = s.Claim(ctx, "empty", c2)
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, s.Complete(ctx, "empty", c2.Token, idempotency.Response{Status: 204, Header: http.Header{}}, now.Add(time.Hour)))
	rec, _, err = s.Claim(ctx, "empty", claim("fp", now, time.Minute))
	require.NoError(t, err)
	require.Equal(t, 204, rec.Response.Status)
	require.Empty(t, rec.Response.Body)
	require.ErrorIs(t, s.Complete(ctx, "empty", c2.Token, idempotency.Response{Status: 200}, now.Add(time.Hour)), idempotency.ErrNotOwner, "a completed record cannot be completed again")
}

func testOwner(t *testing.T, s idempotency.Store) {
	ctx := context.Background()
	now := time.Now()
	c := claim("fp", now, time.Minute)
	_, _, err := s.Claim(ctx, "k", c)
	require.NoError(t, err)
	require.ErrorIs(t, s.Complete(ctx, "k", "someone-else", idempotency.Response{Status: 200}, now.Add(time.Hour)), idempotency.ErrNotOwner)
	require.ErrorIs(t, s.Release(ctx, "k", "someone-else"), idempotency.ErrNotOwner)
	require.ErrorIs(t, s.Release(ctx, "missing", c.Token), idempotency.ErrNotOwner)
	require.ErrorIs(t, s.Complete(ctx, "missing", c.Token, idempotency.Response{Status: 200}, now.Add(time.Hour)), idempotency.ErrNotOwner)
	rec, ok, err := s.Claim(ctx, "k", claim("fp", now, time.Minute))
	require.NoError(t, err)
	require.False(t, ok)
	require.Equal(t, idempotency.InProgress, rec.State, "failed attempts changed nothing")
}

func testRelease(t *testing.T, s idempotency.Store) {
	ctx := context.Background()
	now := time.Now()
	c := claim("fp", now, time.Minute)
	_, _, err := s.Claim(ctx, "k", c)
	require.NoError(t, err)
	require.NoError(t, s.Release(ctx, "k", c.Token))
	_, ok, err := s.Claim(ctx, "k", claim("fp-other", now, time.Minute))
	require.NoError(t, err)
	require.True(t, ok, "a released key can be claimed again, even for another request")
}

func testExpired(t *testing.T, s idempotency.Store) {
	ctx := context.Background()
	now := time.Now()
	c := claim("fp", now, time.Minute)
	_, _, err := s.Claim(ctx, "k", c)
	require.NoError(t, err)
	require.NoError(t, s.Complete(ctx, "k", c.Token, idempotency.Response{Status: 201, Body: []byte("x")}, now.Add(30*time.Millisecond)))

	// A store that compares with the caller's clock sees the record
	// expired at once; one that expires records itself does within moments.
	later := now.Add(time.Hour)
	deadline := time.Now().Add(5 * time.Second)
	for {
		next := claim("fp-new", later, time.Minute)
		_, ok, err := s.Claim(ctx, "k", next)
		require.NoError(t, err)
		if ok {
			require.NoError(t, s.Complete(ctx, "k", next.Token, idempotency.Response{Status: 200}, time.Now().Add(time.Hour)))
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("expired key never became claimable")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func testConcurrent(t *testing.T, s idempotency.Store) {
	ctx := context.Background()
	now := time.Now()
	var winners atomic.Int32
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			_, ok, err := s.Claim(ctx, "hot", claim("fp", now, time.Minute))
			if err != nil {
				t.Errorf("claim: %v", err)
				return
			}
			if ok {
				winners.Add(1)
			}
		})
	}
	wg.Wait()
	require.EqualValues(t, 1, winners.Load())
}

func testPurge(t *testing.T, s idempotency.Store, f Features) {
	ctx := context.Background()
	now := time.Now()
	for _, id := range []string{"old-1", "old-2"} {
		_, _, err := s.Claim(ctx, id, claim("fp", now, time.Minute))
		require.NoError(t, err)
	}
	_, _, err := s.Claim(ctx, "young", claim("fp", now, time.Hour))
	require.NoError(t, err)
	n, err := s.Purge(ctx, now.Add(2*time.Minute))
	require.NoError(t, err)
	if f.SelfExpiring {
		require.Zero(t, n)
		return
	}
	require.EqualValues(t, 2, n)
	rec, ok, err := s.Claim(ctx, "young", claim("fp", now, time.Minute))
	require.NoError(t, err)
	require.False(t, ok, "unexpired records survive a purge")
	require.Equal(t, "fp", rec.Fingerprint)
}
