package resilience

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/agoracommerce/agora/internal/platform/fault"
)

// IdempotencyKeyHeader marks a POST or PATCH as safe to retry: the server
// deduplicates requests carrying the same key.
const IdempotencyKeyHeader = "Idempotency-Key"

// StatusError is the error an attempt ends with when the server answered
// with a status worth reacting to: 429 and 502/503/504 (retryable, with the
// server's Retry-After when it sent one) or another 5xx (not retried, but
// counted as a failure by the breaker). Transport returns the response
// itself, not this error, once it stops retrying.
type StatusError struct {
	Code       int
	RetryAfter time.Duration
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("http status %d %s", e.Code, http.StatusText(e.Code))
}

// TransportConfig configures a Transport.
type TransportConfig struct {
	// Base performs the requests; nil means http.DefaultTransport. Wrap it
	// with telemetry's HTTPTransport to trace every attempt.
	Base http.RoundTripper
	// Policy is the retry policy; its Target, Breaker and Metrics fields
	// are ignored (set per target host by the Transport).
	Policy Policy
	// Breaker configures the breaker created for each target host; its
	// Name and Metrics are set by the Transport.
	Breaker BreakerConfig
	// Metrics, when set, records attempts, retries and breaker states.
	Metrics *Metrics
}

// Transport is an http.RoundTripper that applies a Policy and a circuit
// breaker per target host (host:port) to every request.
//
// A request is retried only when it is idempotent (GET, HEAD, OPTIONS,
// TRACE, PUT, DELETE, or a POST or PATCH with an Idempotency-Key header)
// and its body can be replayed (no body, or GetBody set, which
// http.NewRequest does for in-memory bodies); only connection errors,
// timeouts, and 429, 502, 503 and 504 answers are retried, waiting at least
// the server's Retry-After. When the retries run out on an answer, that
// last response is returned as usual. The attempt timeout covers the whole
// exchange, reading the response body included, so read and close the body
// promptly. While a target's breaker is open, requests to it fail at once
// with an error matching ErrOpen. Transport is safe for concurrent use.
type Transport struct {
	base    http.RoundTripper
	policy  Policy
	breaker BreakerConfig
	metrics *Metrics

	mu       sync.Mutex
	breakers map[string]*Breaker
}

var _ http.RoundTripper = (*Transport)(nil)

// NewTransport returns a Transport configured by cfg.
func NewTransport(cfg TransportConfig) (*Transport, error) {
	if err := cfg.Policy.Validate(); err != nil {
		return nil, err
	}
	if cfg.Breaker.OpenTimeout < 0 {
		return nil, fmt.Errorf("resilience: breaker open timeout %s is negative", cfg.Breaker.OpenTimeout)
	}
	base := cfg.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return &Transport{base: base, policy: cfg.Policy, breaker: cfg.Breaker, metrics: cfg.Metrics, breakers: map[string]*Breaker{}}, nil
}

// NewClient returns an http.Client using a Transport configured by cfg. It
// sets no overall client timeout: the policy's attempt timeout and maximum
// elapsed time bound each call.
func NewClient(cfg TransportConfig) (*http.Client, error) {
	t, err := NewTransport(cfg)
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: t}, nil
}

// BreakerState returns the state of the breaker of target (host:port), and
// StateClosed for a target not called yet.
func (t *Transport) BreakerState(target string) State {
	t.mu.Lock()
	b := t.breakers[target]
	t.mu.Unlock()
	if b == nil {
		return StateClosed
	}
	return b.State()
}

func (t *Transport) breakerFor(target string) (*Breaker, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if b, ok := t.breakers[target]; ok {
		return b, nil
	}
	cfg := t.breaker
	cfg.Name = target
	cfg.Metrics = t.metrics
	b, err := NewBreaker(cfg)
	if err != nil {
		return nil, err
	}
	t.breakers[target] = b
	return b, nil
}

// RoundTrip sends req under the policy; see Transport.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req == nil || req.URL == nil {
		return nil, fault.Permanent(errors.New("resilience: request without URL"))
	}
	target := req.URL.Host
	breaker, err := t.breakerFor(target)
	if err != nil {
		return nil, err
	}
	p := t.policy
	p.Target, p.Breaker, p.Metrics = target, breaker, t.metrics
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	if !idempotent(req) || !replayable {
		p.MaxAttempts = 1
	}

	var (
		last       *http.Response
		lastCancel context.CancelFunc
		attempt    int
	)
	release := func() {
		if last != nil {
			_, _ = io.CopyN(io.Discard, last.Body, 64<<10)
			_ = last.Body.Close()
			lastCancel()
			last, lastCancel = nil, nil
		}
	}
	err = do(req.Context(), p, func(actx context.Context, cancel context.CancelFunc) error {
		release()
		attempt++
		out := req.Clone(actx)
		if attempt > 1 && req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				cancel()
				return fault.Permanent(fmt.Errorf("replay request body: %w", err))
			}
			out.Body = body
		}
		resp, err := t.base.RoundTrip(out)
		if err != nil {
			cancel()
			return fault.Retryable(fmt.Errorf("%s %s://%s%s: %w", req.Method, req.URL.Scheme, req.URL.Host, req.URL.Path, err))
		}
		last, lastCancel = resp, cancel
		switch code := resp.StatusCode; {
		case code == http.StatusTooManyRequests || code == http.StatusBadGateway ||
			code == http.StatusServiceUnavailable || code == http.StatusGatewayTimeout:
			se := &StatusError{Code: code, RetryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now())}
			if se.RetryAfter > 0 {
				return RetryAfter(se, se.RetryAfter)
			}
			return fault.Retryable(se)
		case code >= http.StatusInternalServerError:
			return fault.Permanent(&StatusError{Code: code})
		}
		return nil
	})
	var se *StatusError
	if last != nil && (err == nil || errors.As(err, &se)) {
		last.Body = &cancelOnClose{ReadCloser: last.Body, cancel: lastCancel}
		return last, nil
	}
	release()
	return nil, err
}

// idempotent reports whether repeating req cannot do harm.
func idempotent(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	case http.MethodPost, http.MethodPatch:
		return req.Header.Get(IdempotencyKeyHeader) != ""
	}
	return false
}

// retryAfter parses a Retry-After value: delay seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		const maxSeconds = int64(24 * time.Hour / time.Second)
		switch {
		case s <= 0:
			return 0
		case s > maxSeconds:
			return 24 * time.Hour
		}
		return time.Duration(s) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil && at.After(now) {
		return at.Sub(now)
	}
	return 0
}

// cancelOnClose releases the attempt's context when the body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}
