package httpserver

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter keeps one token bucket per client. Buckets that have refilled
// completely carry no state worth keeping, so they are pruned (at most once
// a second) when the map outgrows MaxClients; no goroutine is needed.
type limiter struct {
	cfg RateLimit
	now func() time.Time

	mu         sync.Mutex
	buckets    map[string]*bucket
	lastPruned time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLimiter(cfg RateLimit, now func() time.Time) *limiter {
	return &limiter{cfg: cfg, now: now, buckets: make(map[string]*bucket)}
}

// allow takes a token for key. When none is left it reports how long until
// one will be.
func (l *limiter) allow(key string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= l.cfg.MaxClients {
			l.prune(now)
		}
		b = &bucket{lim: rate.NewLimiter(rate.Limit(l.cfg.PerSecond), l.cfg.Burst)}
		l.buckets[key] = b
	}
	b.seen = now
	if b.lim.AllowN(now, 1) {
		return true, 0
	}
	res := b.lim.ReserveN(now, 1)
	wait := res.DelayFrom(now)
	res.CancelAt(now)
	return false, wait
}

func (l *limiter) prune(now time.Time) {
	if now.Sub(l.lastPruned) < time.Second {
		return
	}
	l.lastPruned = now
	full := time.Duration(float64(l.cfg.Burst) / l.cfg.PerSecond * float64(time.Second))
	for k, b := range l.buckets {
		if now.Sub(b.seen) >= full {
			delete(l.buckets, k)
		}
	}
}
