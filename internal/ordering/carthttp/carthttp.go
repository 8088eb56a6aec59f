// Package carthttp is the ordering service's Carts port over the cart
// service's REST API (api/openapi/cart.v1.yaml): a checkout reads the
// caller's cart with GET /v1/carts/{cartId}, forwarding the caller's own
// bearer token so that the cart service's ownership rules apply.
//
// Calls go through the platform's resilience transport: a timeout per
// attempt, retries with backoff and jitter of connection errors, timeouts
// and 429/502/503/504 answers, and a circuit breaker that fails fast while
// the cart service is down. The cart's RFC 9457 problems map to the
// ordering's errors: cart-not-found (404) to ordering.ErrCartNotFound, 401
// and 403 to ordering.ErrCartForbidden, cart-closed (409) to
// ordering.ErrCartNotOpen; an unreachable or failing service to
// app.ErrCartsUnavailable (retryable).
package carthttp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/agoracommerce/agora/internal/ordering"
	"github.com/agoracommerce/agora/internal/ordering/app"
	"github.com/agoracommerce/agora/internal/platform/correlation"
	"github.com/agoracommerce/agora/internal/platform/fault"
	"github.com/agoracommerce/agora/internal/platform/resilience"
)

// Problem types of the cart API the client tells apart.
const (
	TypeCartNotFound = "https://agora.dev/problems/cart/cart-not-found"
	TypeCartClosed   = "https://agora.dev/problems/cart/cart-closed"
)

// Defaults of Config.
const (
	DefaultAttemptTimeout  = 2 * time.Second
	DefaultMaxAttempts     = 3
	DefaultMaxElapsed      = 5 * time.Second
	DefaultBreakerFailures = 5
	DefaultBreakerOpen     = 10 * time.Second
	DefaultMaxBodyBytes    = 1 << 20
)

// Config configures a Client. Zero fields take the defaults.
type Config struct {
	// BaseURL is the cart service's base URL, e.g. http://cart:8080.
	// Required.
	BaseURL string
	// AttemptTimeout bounds one attempt, reading the answer included.
	AttemptTimeout time.Duration
	// MaxAttempts bounds the attempts of one call, the first included.
	MaxAttempts int
	// MaxElapsed bounds one call, waits between attempts included.
	MaxElapsed time.Duration
	// BreakerFailures consecutive failures open the circuit breaker for
	// BreakerOpen.
	BreakerFailures uint32
	BreakerOpen     time.Duration
	// Transport performs the requests (wrap DefaultTransport with
	// telemetry's HTTPTransport to trace them); nil means
	// DefaultTransport(AttemptTimeout).
	Transport http.RoundTripper
	// Metrics, when set, records attempts, retries and breaker states.
	Metrics *resilience.Metrics
	// MaxBodyBytes bounds the answer read.
	MaxBodyBytes int64
}

// Validate reports a bad setting.
func (c Config) Validate() error {
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("ordering carthttp: BaseURL %q is not an http(s) URL", c.BaseURL)
	}
	if c.AttemptTimeout < 0 || c.MaxAttempts < 0 || c.MaxElapsed < 0 || c.BreakerOpen < 0 || c.MaxBodyBytes < 0 {
		return errors.New("ordering carthttp: timeouts and limits must not be negative")
	}
	return nil
}

// DefaultTransport returns the net/http transport a Client uses when its
// Config names none: dialing, the TLS handshake and waiting for the
// response headers are each bounded by timeout.
func DefaultTransport(timeout time.Duration) *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   32,
		ForceAttemptHTTP2:     true,
	}
}

// Client reads carts from the cart service. Safe for concurrent use.
type Client struct {
	base      *url.URL
	http      *http.Client
	transport *resilience.Transport
	maxBody   int64
}

var _ app.Carts = (*Client)(nil)

// New returns a Client configured by cfg.
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.AttemptTimeout == 0 {
		cfg.AttemptTimeout = DefaultAttemptTimeout
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.MaxElapsed == 0 {
		cfg.MaxElapsed = DefaultMaxElapsed
	}
	if cfg.BreakerFailures == 0 {
		cfg.BreakerFailures = DefaultBreakerFailures
	}
	if cfg.BreakerOpen == 0 {
		cfg.BreakerOpen = DefaultBreakerOpen
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Transport == nil {
		cfg.Transport = DefaultTransport(cfg.AttemptTimeout)
	}
	base, err := url.Parse(strings.TrimSuffix(cfg.BaseURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("ordering carthttp: %w", err)
	}
	t, err := resilience.NewTransport(resilience.TransportConfig{
		Base: cfg.Transport,
		Policy: resilience.Policy{MaxAttempts: cfg.MaxAttempts, AttemptTimeout: cfg.AttemptTimeout, MaxElapsedTime: cfg.MaxElapsed,
			InitialInterval: 50 * time.Millisecond, MaxInterval: time.Second},
		Breaker: resilience.BreakerConfig{FailureThreshold: cfg.BreakerFailures, OpenTimeout: cfg.BreakerOpen},
		Metrics: cfg.Metrics,
	})
	if err != nil {
		return nil, fmt.Errorf("ordering carthttp: %w", err)
	}
	return &Client{base: base, http: &http.Client{Transport: t}, transport: t, maxBody: cfg.MaxBodyBytes}, nil
}

// BreakerState returns the state of the cart service's circuit breaker.
func (c *Client) BreakerState() resilience.State { return c.transport.BreakerState(c.base.Host) }

// cartJSON is what the client reads of the cart API's Cart.
type cartJSON struct {
	ID         uuid.UUID `json:"id"`
	CustomerID string    `json:"customer_id"`
	Status     string    `json:"status"`
	Currency   string    `json:"currency"`
	Lines      []struct {
		ProductID uuid.UUID `json:"product_id"`
		SKU       string    `json:"sku"`
		Name      string    `json:"name"`
		Quantity  int64     `json:"quantity"`
		UnitPrice struct {
			AmountMinor int64  `json:"amount_minor"`
			Currency    string `json:"currency"`
		} `json:"unit_price"`
		Available bool `json:"available"`
	} `json:"lines"`
}

type problemJSON struct {
	Type   string `json:"type"`
	Status int    `json:"status"`
}

// Cart implements app.Carts.
func (c *Client) Cart(ctx context.Context, id uuid.UUID, token string) (ordering.Cart, error) {
	target := c.base.JoinPath("v1", "carts", url.PathEscape(id.String()))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target.String(), nil)
	if err != nil {
		return ordering.Cart{}, fmt.Errorf("ordering carthttp: %w", err)
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if cid := correlation.ID(ctx); cid != "" {
		req.Header.Set(correlation.HTTPHeader, cid)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ordering.Cart{}, fmt.Errorf("ordering carthttp: GET cart %s: %w", id, err)
		}
		return ordering.Cart{}, unavailable(fmt.Errorf("GET cart %s: %w", id, err))
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	if err != nil {
		return ordering.Cart{}, unavailable(fmt.Errorf("read cart %s: %w", id, err))
	}
	if int64(len(body)) > c.maxBody {
		return ordering.Cart{}, fmt.Errorf("ordering carthttp: the answer for cart %s exceeds %d bytes", id, c.maxBody)
	}
	if resp.StatusCode == http.StatusOK {
		return decode(id, resp.Header.Get("Content-Type"), body)
	}
	return ordering.Cart{}, refusal(id, resp.StatusCode, resp.Header.Get("Content-Type"), body)
}

func unavailable(err error) error {
	return fault.Retryable(fmt.Errorf("%w: %w", app.ErrCartsUnavailable, err))
}

func mediaType(contentType string) string {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return ""
	}
	return mt
}

// decode reads a 200 answer.
func decode(id uuid.UUID, contentType string, body []byte) (ordering.Cart, error) {
	if mediaType(contentType) != "application/json" {
		return ordering.Cart{}, fmt.Errorf("ordering carthttp: cart %s answered %q, not JSON", id, contentType)
	}
	var cj cartJSON
	if err := json.Unmarshal(body, &cj); err != nil {
		return ordering.Cart{}, fmt.Errorf("ordering carthttp: cart %s: unreadable answer: %w", id, err)
	}
	out := ordering.Cart{ID: cj.ID, CustomerID: cj.CustomerID, Status: ordering.CartStatus(cj.Status), Currency: cj.Currency,
		Lines: make([]ordering.CartLine, 0, len(cj.Lines))}
	for i, l := range cj.Lines {
		price, err := ordering.NewMoney(l.UnitPrice.AmountMinor, l.UnitPrice.Currency)
		if err != nil {
			return ordering.Cart{}, fmt.Errorf("ordering carthttp: cart %s line %d: %w", id, i, err)
		}
		out.Lines = append(out.Lines, ordering.CartLine{ProductID: l.ProductID, SKU: l.SKU, Name: l.Name, Quantity: l.Quantity,
			UnitPrice: price, Available: l.Available})
	}
	return out, nil
}

// refusal maps an answer other than 200.
func refusal(id uuid.UUID, status int, contentType string, body []byte) error {
	var p problemJSON
	if mediaType(contentType) == "application/problem+json" {
		_ = json.Unmarshal(body, &p) // an unreadable problem is judged by its status alone
	}
	switch {
	case status == http.StatusNotFound && p.Type == TypeCartNotFound:
		return fmt.Errorf("cart %s: %w", id, ordering.ErrCartNotFound)
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return fmt.Errorf("cart %s: the cart service answered %d (%s): %w", id, status, p.Type, ordering.ErrCartForbidden)
	case status == http.StatusConflict && p.Type == TypeCartClosed:
		return fmt.Errorf("cart %s: %w", id, ordering.ErrCartNotOpen)
	case status == http.StatusTooManyRequests || status >= http.StatusInternalServerError:
		return unavailable(fmt.Errorf("cart %s: the cart service answered %d", id, status))
	}
	// A 404 of no cart (a wrong base URL), a 400, ...: the client or its
	// configuration is wrong, not the request.
	return fmt.Errorf("ordering carthttp: cart %s: unexpected answer %d (%s)", id, status, p.Type)
}
