package idempotency

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/problem"
)

// Header names.
const (
	KeyHeader      = "Idempotency-Key"
	ReplayedHeader = "Idempotent-Replayed"
)

// Defaults applied to zero Options fields.
const (
	DefaultRetention        = 24 * time.Hour
	DefaultLockTimeout      = time.Minute
	DefaultMaxBodyBytes     = 1 << 20
	DefaultMaxResponseBytes = 1 << 20
	// MaxKeyLength is the longest key accepted.
	MaxKeyLength = 255
	// AnonymousScope scopes the keys of requests without a principal.
	AnonymousScope = "anonymous"
	storeTimeout   = 5 * time.Second
)

// Errors the middleware answers with; StatusOf maps them to HTTP statuses.
var (
	ErrKeyRequired  = errors.New("idempotency: Idempotency-Key header is required")
	ErrKeyInvalid   = errors.New("idempotency: Idempotency-Key must be 1 to 255 printable ASCII characters")
	ErrKeyReused    = errors.New("idempotency: Idempotency-Key was used with a different request")
	ErrInFlight     = errors.New("idempotency: a request with this Idempotency-Key is still being processed")
	ErrBodyTooLarge = errors.New("idempotency: request body too large")
	ErrBodyUnread   = errors.New("idempotency: request body could not be read")
	ErrUnavailable  = errors.New("idempotency: key store unavailable")
)

// StatusOf maps the middleware's errors to HTTP statuses (500 for others).
func StatusOf(err error) int {
	switch {
	case errors.Is(err, ErrKeyRequired), errors.Is(err, ErrKeyInvalid), errors.Is(err, ErrBodyUnread):
		return http.StatusBadRequest
	case errors.Is(err, ErrKeyReused):
		return http.StatusUnprocessableEntity
	case errors.Is(err, ErrInFlight):
		return http.StatusConflict
	case errors.Is(err, ErrBodyTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrUnavailable):
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// Options configures Middleware.
type Options struct {
	// Required refuses requests without a key (400) instead of passing
	// them through unprotected.
	Required bool
	// Retention is how long a completed response is kept and replayed.
	// Zero means DefaultRetention.
	Retention time.Duration
	// LockTimeout is how long a claim may stay in progress before another
	// request may take the key over; it must exceed the longest handler
	// run. Zero means DefaultLockTimeout.
	LockTimeout time.Duration
	// Methods the middleware applies to; empty means POST only.
	Methods []string
	// MaxBodyBytes bounds the request body read to fingerprint it. Zero
	// means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// MaxResponseBytes bounds a stored response body. A larger response is
	// sent but not stored, and its key is released. Zero means
	// DefaultMaxResponseBytes.
	MaxResponseBytes int
	// ReplayHeaders are the response headers stored and replayed besides
	// the body; empty means Content-Type, Location and ETag.
	ReplayHeaders []string
	// Route returns the matched route pattern, part of a key's scope. Nil
	// uses the request's ServeMux pattern, or its path when there is none.
	// Services on chi pass chi.RouteContext(r.Context()).RoutePattern.
	Route func(*http.Request) string
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
	// WriteError writes the responses for the errors above; nil means
	// WriteProblem.
	WriteError func(w http.ResponseWriter, r *http.Request, err error)
}

func (o *Options) normalize() error {
	if o.Retention < 0 || o.LockTimeout < 0 || o.MaxBodyBytes < 0 || o.MaxResponseBytes < 0 {
		return errors.New("idempotency: Options durations and limits may not be negative")
	}
	if o.Retention == 0 {
		o.Retention = DefaultRetention
	}
	if o.LockTimeout == 0 {
		o.LockTimeout = DefaultLockTimeout
	}
	if len(o.Methods) == 0 {
		o.Methods = []string{http.MethodPost}
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.MaxResponseBytes == 0 {
		o.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if len(o.ReplayHeaders) == 0 {
		o.ReplayHeaders = []string{"Content-Type", "Location", "ETag"}
	}
	if o.Route == nil {
		o.Route = func(r *http.Request) string {
			if r.Pattern != "" {
				return r.Pattern
			}
			return r.URL.Path
		}
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.WriteError == nil {
		o.WriteError = WriteProblem
	}
	return nil
}

// Middleware returns net/http middleware that applies idempotency keys to
// the configured methods, keeping records in store.
func Middleware(store Store, opts Options) (func(http.Handler) http.Handler, error) {
	if store == nil {
		return nil, errors.New("idempotency: store is required")
	}
	if err := opts.normalize(); err != nil {
		return nil, err
	}
	return func(next http.Handler) http.Handler {
		return &handler{store: store, opts: opts, next: next}
	}, nil
}

type handler struct {
	store Store
	opts  Options
	next  http.Handler
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !slices.Contains(h.opts.Methods, r.Method) {
		h.next.ServeHTTP(w, r)
		return
	}
	keys := r.Header.Values(KeyHeader)
	if len(keys) == 0 {
		if h.opts.Required {
			h.opts.WriteError(w, r, ErrKeyRequired)
			return
		}
		h.next.ServeHTTP(w, r)
		return
	}
	if len(keys) > 1 || !ValidKey(keys[0]) {
		h.opts.WriteError(w, r, ErrKeyInvalid)
		return
	}
	body, err := readBody(r, h.opts.MaxBodyBytes)
	if err != nil {
		h.opts.WriteError(w, r, err)
		return
	}
	scope := AnonymousScope
	if p, ok := auth.PrincipalFrom(r.Context()); ok {
		scope = "sub:" + p.Subject
	}
	id := hashOf(scope, r.Method, h.opts.Route(r), keys[0])
	fingerprint := hashOf(r.URL.Path, string(body))

	token, err := uuid.NewV7()
	if err != nil {
		h.opts.WriteError(w, r, fmt.Errorf("%w: claim token: %w", ErrUnavailable, err))
		return
	}
	now := h.opts.Clock()
	existing, claimed, err := h.store.Claim(r.Context(), id, Claim{
		Token:       token.String(),
		Fingerprint: fingerprint,
		Now:         now,
		ExpiresAt:   now.Add(h.opts.LockTimeout),
	})
	switch {
	case err != nil:
		h.opts.WriteError(w, r, fmt.Errorf("%w: %w", ErrUnavailable, err))
	case claimed:
		h.run(w, r, id, token.String())
	case existing.Fingerprint != fingerprint:
		h.opts.WriteError(w, r, ErrKeyReused)
	case existing.State == InProgress || existing.Response == nil:
		w.Header().Set("Retry-After", "1")
		h.opts.WriteError(w, r, ErrInFlight)
	default:
		replay(w, *existing.Response)
	}
}

// run calls the handler for a claimed key, then stores its response (or
// releases the key on a 5xx, an oversized response or a panic) and sends it.
func (h *handler) run(w http.ResponseWriter, r *http.Request, id, token string) {
	rec := &recorder{header: http.Header{}, limit: h.opts.MaxResponseBytes, w: w}
	finished := false
	defer func() {
		if !finished {
			// The handler panicked: free the key, then let the panic go on
			// to the server's recovery.
			h.release(r.Context(), id, token)
		}
	}()
	h.next.ServeHTTP(rec, r)
	finished = true

	status := rec.statusCode()
	if rec.overflowed || status >= 500 {
		h.release(r.Context(), id, token)
		rec.flush()
		return
	}
	resp := Response{Status: status, Header: http.Header{}, Body: rec.body.Bytes()}
	for _, name := range h.opts.ReplayHeaders {
		if v := rec.header.Values(name); len(v) > 0 {
			resp.Header[http.CanonicalHeaderKey(name)] = slices.Clone(v)
		}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), storeTimeout)
	defer cancel()
	// When storing fails the response still goes out: the request did run.
	// The key stays in progress until LockTimeout, then may run again.
	_ = h.store.Complete(ctx, id, token, resp, h.opts.Clock().Add(h.opts.Retention))
	rec.flush()
}

func (h *handler) release(ctx context.Context, id, token string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	_ = h.store.Release(ctx, id, token)
}

func replay(w http.ResponseWriter, resp Response) {
	for name, values := range resp.Header {
		w.Header()[name] = slices.Clone(values)
	}
	w.Header().Set(ReplayedHeader, "true")
	w.Header().Set("Content-Length", strconv.Itoa(len(resp.Body)))
	w.WriteHeader(resp.Status)
	_, _ = w.Write(resp.Body)
}

// ValidKey reports whether key is 1 to MaxKeyLength printable ASCII
// characters (space to tilde).
func ValidKey(key string) bool {
	if len(key) == 0 || len(key) > MaxKeyLength {
		return false
	}
	for i := 0; i < len(key); i++ {
		if key[i] < ' ' || key[i] > '~' {
			return false
		}
	}
	return true
}

func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	_ = r.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBodyUnread, err)
	}
	if int64(len(body)) > limit {
		return nil, ErrBodyTooLarge
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body, nil
}

// hashOf is the hex SHA-256 of parts, each length-prefixed so that no two
// different part lists hash alike.
func hashOf(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		_, _ = fmt.Fprintf(h, "%d:%s", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// recorder buffers a handler's response; past limit bytes it gives up
// buffering and writes through to w.
type recorder struct {
	w          http.ResponseWriter
	header     http.Header
	status     int
	body       bytes.Buffer
	limit      int
	overflowed bool
	flushed    bool
}

func (c *recorder) Header() http.Header { return c.header }

func (c *recorder) WriteHeader(status int) {
	if c.status == 0 && status >= 200 {
		c.status = status
	}
}

func (c *recorder) statusCode() int {
	if c.status == 0 {
		return http.StatusOK
	}
	return c.status
}

func (c *recorder) Write(p []byte) (int, error) {
	if c.overflowed {
		return c.w.Write(p)
	}
	if c.body.Len()+len(p) > c.limit {
		c.overflowed = true
		c.flush()
		return c.w.Write(p)
	}
	return c.body.Write(p)
}

// flush sends the status, headers and buffered body, once.
func (c *recorder) flush() {
	if c.flushed {
		return
	}
	c.flushed = true
	for name, values := range c.header {
		c.w.Header()[name] = values
	}
	c.w.WriteHeader(c.statusCode())
	_, _ = c.w.Write(c.body.Bytes())
}

// Problem types of the refusals that no platform-wide type describes.
const (
	// TypeKeyReused: the key was already used with a different request.
	TypeKeyReused = problem.TypeBase + "idempotency-key-reused"
	// TypeKeyInFlight: the first request with the key is still running.
	TypeKeyInFlight = problem.TypeBase + "idempotency-key-in-flight"
)

// Problem is the problem document WriteProblem sends.
//
// Deprecated: use problem.Details, which it now is.
type Problem = problem.Details

// ProblemOf returns the problem to answer one of the middleware's errors
// with; its status is StatusOf(err). A missing or malformed key is a
// validation problem naming the Idempotency-Key header. Errors of other
// packages become the generic 500.
func ProblemOf(err error) problem.Details {
	header := func(detail string) problem.FieldError {
		return problem.FieldError{Parameter: KeyHeader, In: "header", Detail: detail}
	}
	var d *problem.Details
	switch {
	case errors.Is(err, ErrKeyRequired):
		const detail = "This operation requires an Idempotency-Key header."
		d = problem.Validation(detail, header(detail))
	case errors.Is(err, ErrKeyInvalid):
		const detail = "The Idempotency-Key header must be 1 to 255 printable ASCII characters."
		d = problem.Validation(detail, header(detail))
	case errors.Is(err, ErrKeyReused):
		d = problem.New(http.StatusUnprocessableEntity, TypeKeyReused, "Idempotency key reused",
			"This Idempotency-Key was already used with a different request.")
	case errors.Is(err, ErrInFlight):
		d = problem.New(http.StatusConflict, TypeKeyInFlight, "Idempotency key in use",
			"A request with this Idempotency-Key is still being processed; retry later.")
	case errors.Is(err, ErrBodyUnread):
		d = problem.MalformedBody("The request body could not be read.")
	case errors.Is(err, ErrBodyTooLarge):
		d = problem.New(http.StatusRequestEntityTooLarge, problem.TypePayloadTooLarge, "Request body too large",
			"The request body is too large.")
	case errors.Is(err, ErrUnavailable):
		d = problem.Unavailable("Idempotency keys cannot be checked right now; retry later.")
	default:
		d = problem.Internal()
	}
	return *d
}

// WriteProblem answers err with the application/problem+json document of
// ProblemOf through the platform's shared problem writer (which adds the
// correlation ID and the request path). Headers already set on w, such as
// the Retry-After of a 409, are kept.
func WriteProblem(w http.ResponseWriter, r *http.Request, err error) {
	_ = problem.Write(w, r, ProblemOf(err)) // the client is gone; nothing else to do
}
