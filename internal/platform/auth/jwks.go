package auth

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/agoracommerce/agora/internal/platform/fault"
)

// maxJWKSBytes bounds the JWKS document read from the issuer.
const maxJWKSBytes = 1 << 20

// keyCache holds the issuer's JWKS. It fetches lazily: on first use, when the
// cached set is older than refresh, and when a token names a key ID the set
// does not have. Every fetch, whatever caused it, is at most one per
// minInterval, so tokens with made-up key IDs cannot make the verifier
// hammer the JWKS endpoint. A failed refresh keeps serving the previous set.
// It starts no goroutine. Safe for concurrent use.
type keyCache struct {
	url         string
	client      *http.Client
	refresh     time.Duration
	minInterval time.Duration
	now         func() time.Time

	fetchMu sync.Mutex // serialises fetches

	mu          sync.Mutex // guards the fields below
	set         jwk.Set
	fetchedAt   time.Time
	lastAttempt time.Time
	lastErr     error
}

// lookup returns the key with kid ("" matches the only key of a one-key set).
func (c *keyCache) lookup(ctx context.Context, kid string) (jwk.Key, error) {
	set, fetchedAt := c.snapshot()
	if set == nil || c.now().Sub(fetchedAt) >= c.refresh {
		if err := c.fetch(ctx, fetchedAt); err != nil && set == nil {
			return nil, err
		}
		set, fetchedAt = c.snapshot()
	}
	if key, ok := find(set, kid); ok {
		return key, nil
	}
	// Unknown key ID: the issuer may have rotated its keys.
	if err := c.fetch(ctx, fetchedAt); err != nil {
		return nil, err
	}
	set, _ = c.snapshot()
	if key, ok := find(set, kid); ok {
		return key, nil
	}
	return nil, invalid(fmt.Sprintf("no signing key with kid %q", kid), nil)
}

func (c *keyCache) snapshot() (jwk.Set, time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.set, c.fetchedAt
}

// fetch downloads the JWKS unless another caller already replaced the set
// seen as seenFetchedAt, or the last attempt was less than minInterval ago.
// When it does not fetch it returns the last fetch error (nil when the
// last fetch worked).
func (c *keyCache) fetch(ctx context.Context, seenFetchedAt time.Time) error {
	c.fetchMu.Lock()
	defer c.fetchMu.Unlock()

	c.mu.Lock()
	if c.set != nil && c.fetchedAt.After(seenFetchedAt) {
		c.mu.Unlock()
		return nil
	}
	now := c.now()
	if !c.lastAttempt.IsZero() && now.Sub(c.lastAttempt) < c.minInterval {
		err := c.lastErr
		c.mu.Unlock()
		return err
	}
	c.lastAttempt = now
	c.mu.Unlock()

	set, err := c.download(ctx)

	c.mu.Lock()
	defer c.mu.Unlock()
	c.lastErr = err
	if err != nil {
		return err
	}
	c.set = set
	c.fetchedAt = now
	return nil
}

func (c *keyCache) download(ctx context.Context) (jwk.Set, error) {
	// The fetch serves every waiting caller, so one caller giving up must not
	// fail it: the HTTP client's timeout bounds it instead.
	req, err := http.NewRequestWithContext(context.WithoutCancel(ctx), http.MethodGet, c.url, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: build request: %w", ErrKeysUnavailable, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, fault.Retryable(fmt.Errorf("%w: fetch %s: %w", ErrKeysUnavailable, c.url, err))
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fault.Retryable(fmt.Errorf("%w: fetch %s: status %d", ErrKeysUnavailable, c.url, resp.StatusCode))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, fault.Retryable(fmt.Errorf("%w: read %s: %w", ErrKeysUnavailable, c.url, err))
	}
	if len(body) > maxJWKSBytes {
		return nil, fault.Retryable(fmt.Errorf("%w: %s is larger than %d bytes", ErrKeysUnavailable, c.url, maxJWKSBytes))
	}
	set, err := jwk.Parse(body)
	if err != nil {
		return nil, fault.Retryable(fmt.Errorf("%w: parse %s: %w", ErrKeysUnavailable, c.url, err))
	}
	return set, nil
}

func find(set jwk.Set, kid string) (jwk.Key, bool) {
	if set == nil {
		return nil, false
	}
	if kid == "" {
		if set.Len() == 1 {
			return set.Key(0)
		}
		return nil, false
	}
	return set.LookupKeyID(kid)
}
