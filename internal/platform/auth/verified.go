package auth

import (
	"crypto/sha256"
	"sync"
	"time"
)

// Defaults of the cache of verified tokens.
const (
	DefaultVerifiedCacheSize = 10000
	DefaultVerifiedCacheTTL  = time.Minute
)

// verifiedCache remembers the principals of tokens that passed
// verification, keyed by the SHA-256 of the token, until the earlier of
// the token's expiry and ttl after the check. A client sends the same
// token on every request; checking its signature once a minute instead
// of every time takes the largest single cost off the HTTP edge. Only
// successful verifications are kept, so a bad token is checked (and
// refused) every time. The token alone is the key: each Verifier has a
// cache of its own, and its configuration (audiences, client IDs, scope
// prefix) does not change, so a remembered principal is the one a full
// check would give again. Every get returns a copy with its own scope
// list. Safe for concurrent use.
type verifiedCache struct {
	mu      sync.Mutex
	size    int
	ttl     time.Duration
	now     func() time.Time
	entries map[[sha256.Size]byte]verifiedEntry
}

type verifiedEntry struct {
	principal *Principal
	until     time.Time
}

func newVerifiedCache(size int, ttl time.Duration, now func() time.Time) *verifiedCache {
	if size <= 0 {
		return nil
	}
	return &verifiedCache{size: size, ttl: ttl, now: now, entries: make(map[[sha256.Size]byte]verifiedEntry)}
}

// get returns a copy of the cached principal of token, if it is still
// valid.
func (c *verifiedCache) get(token string) (*Principal, bool) {
	if c == nil {
		return nil, false
	}
	key := sha256.Sum256([]byte(token))
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[key]
	if ok && !now.Before(e.until) {
		delete(c.entries, key)
		ok = false
	}
	c.mu.Unlock()
	if !ok {
		return nil, false
	}
	return e.principal.clone(), true
}

// put remembers p for token until expiry or the cache's TTL, whichever
// comes first. When the cache is full it drops what expired, and if that
// is not enough, everything: a burst of distinct tokens costs
// verifications, never memory.
func (c *verifiedCache) put(token string, p *Principal, expiry time.Time) {
	if c == nil {
		return
	}
	now := c.now()
	until := now.Add(c.ttl)
	if expiry.Before(until) {
		until = expiry
	}
	if !now.Before(until) {
		return
	}
	key := sha256.Sum256([]byte(token))
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.size {
		for k, e := range c.entries {
			if !now.Before(e.until) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= c.size {
			clear(c.entries)
		}
	}
	c.entries[key] = verifiedEntry{principal: p, until: until}
}
