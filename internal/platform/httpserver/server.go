// Package httpserver is the HTTP chassis every Agora service mounts its
// generated API on. A service designs its API in OpenAPI 3, generates a chi
// strict server with oapi-codegen, and mounts the generated handlers on
// Server.Router. The server then guarantees, for every operation of the
// spec: panics recovered into a 500 problem, a correlation ID in the
// context and in the response, a per-request deadline, a bounded body, a
// checked content type, the operation's security requirements handed to a
// pluggable Authenticator, a per-client rate limit and validation of the
// request against the spec. Every error it produces is an RFC 9457 problem
// (package problem), listing each bad field by JSON pointer.
//
// The middleware order, outermost first:
//
//	recover → correlation ID → Config.Middleware (logging, tracing) →
//	deadline → body limit → routing (404/405) → operation: authenticate →
//	rate limit → content type → validate → Config.OperationMiddleware
//	(idempotency, ...) → handler
//
// /healthz (liveness), /readyz (readiness checks) and /openapi.json (the
// spec, for API documentation) sit beside the API and skip the operation
// steps.
package httpserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/go-chi/chi/v5"
	"go.uber.org/zap"

	"github.com/agoracommerce/agora/internal/platform/problem"
)

// SpecPath is where the server publishes its OpenAPI document as JSON, the
// source of its API documentation.
const SpecPath = "/openapi.json"

// Defaults for the zero values of Config.
const (
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 30 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultRequestTimeout    = 10 * time.Second
	DefaultMaxBodyBytes      = 1 << 20
	DefaultShutdownTimeout   = 20 * time.Second
	DefaultReadinessTimeout  = 2 * time.Second
	DefaultRateLimitClients  = 100_000
)

// RateLimit is a token bucket per client: PerSecond requests per second
// sustained, Burst at once. A client is the principal when the request
// carries one (Config.Principal), its IP address otherwise. A zero
// PerSecond disables the limit. MaxClients bounds the number of buckets
// kept; idle buckets are dropped first.
type RateLimit struct {
	PerSecond  float64
	Burst      int
	MaxClients int
}

// Config configures a Server. Zero durations and sizes take the Default
// values; Spec or Document is required.
type Config struct {
	// Addr is the listen address of ListenAndServe, e.g. ":8080".
	Addr string

	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	// WriteTimeout must be longer than RequestTimeout so a handler that
	// runs out of time can still send its problem.
	WriteTimeout time.Duration
	IdleTimeout  time.Duration
	// RequestTimeout is the deadline put in every request's context.
	RequestTimeout time.Duration
	// ShutdownTimeout bounds the graceful shutdown done by Serve.
	ShutdownTimeout time.Duration
	// MaxBodyBytes bounds every request body (413 beyond it).
	MaxBodyBytes int64
	RateLimit    RateLimit
	// ReadinessTimeout bounds one run of the readiness checks.
	ReadinessTimeout time.Duration

	// Spec is the OpenAPI 3 document (YAML or JSON); Document is the
	// same already loaded. Exactly one must be set.
	Spec     []byte
	Document *openapi3.T

	// Authenticator checks each operation's security requirements. It is
	// required when the spec declares any; NoAuth serves tests and
	// public APIs.
	Authenticator Authenticator
	// Principal names the authenticated caller in ctx for the rate limit
	// ("" when anonymous). Optional.
	Principal func(ctx context.Context) string
	// ClientIP names the client of an anonymous request for the rate
	// limit. The default is the host of r.RemoteAddr; behind a trusted
	// proxy, supply one that reads its forwarding header.
	ClientIP func(r *http.Request) string

	// Problems maps handler errors to problems (problem.Mapper); nil
	// knows no service errors.
	Problems *problem.Mapper

	// Middleware wraps every request after the correlation ID is set:
	// access logs, tracing, metrics.
	Middleware []func(http.Handler) http.Handler
	// OperationMiddleware wraps every API operation after it is
	// authenticated and validated, just before the handler: idempotency
	// keys and other per-operation concerns. OperationFrom(ctx) tells it
	// which operation runs.
	OperationMiddleware []func(http.Handler) http.Handler

	// ResponseValidation, when set, checks every API response against the
	// spec and reports each mismatch to it. It buffers responses: meant
	// for tests.
	ResponseValidation func(r *http.Request, err error)
}

func (c *Config) withDefaults() error {
	durations := []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"ReadHeaderTimeout", &c.ReadHeaderTimeout, DefaultReadHeaderTimeout},
		{"ReadTimeout", &c.ReadTimeout, DefaultReadTimeout},
		{"WriteTimeout", &c.WriteTimeout, DefaultWriteTimeout},
		{"IdleTimeout", &c.IdleTimeout, DefaultIdleTimeout},
		{"RequestTimeout", &c.RequestTimeout, DefaultRequestTimeout},
		{"ShutdownTimeout", &c.ShutdownTimeout, DefaultShutdownTimeout},
		{"ReadinessTimeout", &c.ReadinessTimeout, DefaultReadinessTimeout},
	}
	for _, d := range durations {
		if *d.v < 0 {
			return fmt.Errorf("httpserver: config: %s must not be negative", d.name)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if c.WriteTimeout <= c.RequestTimeout {
		return fmt.Errorf("httpserver: config: WriteTimeout (%s) must exceed RequestTimeout (%s)", c.WriteTimeout, c.RequestTimeout)
	}
	if c.MaxBodyBytes < 0 {
		return errors.New("httpserver: config: MaxBodyBytes must not be negative")
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.RateLimit.PerSecond < 0 || c.RateLimit.Burst < 0 || c.RateLimit.MaxClients < 0 {
		return errors.New("httpserver: config: RateLimit values must not be negative")
	}
	if c.RateLimit.PerSecond > 0 && c.RateLimit.Burst == 0 {
		return errors.New("httpserver: config: RateLimit.Burst must be at least 1 when PerSecond is set")
	}
	if c.RateLimit.MaxClients == 0 {
		c.RateLimit.MaxClients = DefaultRateLimitClients
	}
	if (c.Spec == nil) == (c.Document == nil) {
		return errors.New("httpserver: config: exactly one of Spec and Document must be set")
	}
	if c.ClientIP == nil {
		c.ClientIP = remoteIP
	}
	return nil
}

// ReadinessCheck reports whether one dependency can serve. It must honour
// ctx's deadline.
type ReadinessCheck func(ctx context.Context) error

type namedCheck struct {
	name  string
	check ReadinessCheck
}

// Server is one service's HTTP server. Its methods are safe for concurrent
// use.
type Server struct {
	cfg     Config
	log     *zap.Logger
	spec    *spec
	root    *chi.Mux
	api     chi.Router
	limiter *limiter
	http    *http.Server

	mu       sync.Mutex
	checks   []namedCheck
	draining atomic.Bool
}

// New validates cfg, loads and validates the spec and builds the server. A
// nil logger logs nothing.
func New(cfg Config, logger *zap.Logger) (*Server, error) {
	if err := cfg.withDefaults(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	sp, err := loadSpec(cfg.Spec, cfg.Document)
	if err != nil {
		return nil, err
	}
	if sp.secured && cfg.Authenticator == nil {
		return nil, errors.New("httpserver: config: the spec declares security requirements but no Authenticator is set")
	}
	s := &Server{cfg: cfg, log: logger, spec: sp}
	if cfg.RateLimit.PerSecond > 0 {
		s.limiter = newLimiter(cfg.RateLimit, time.Now)
	}

	root := chi.NewRouter()
	root.Use(s.recoverPanics, s.correlate)
	root.Use(cfg.Middleware...)
	root.Use(s.deadline, s.limitBody, s.head)
	root.NotFound(s.notFound)
	root.MethodNotAllowed(s.methodNotAllowed)
	root.Get("/healthz", s.healthz)
	root.Get("/readyz", s.readyz)
	specJSON, err := json.Marshal(sp.doc)
	if err != nil {
		return nil, fmt.Errorf("httpserver: encode spec: %w", err)
	}
	root.Get(SpecPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(specJSON)
	})
	s.root = root
	s.api = root.With(s.operation)

	s.http = &http.Server{
		Addr:              cfg.Addr,
		Handler:           root,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          zap.NewStdLog(logger.Named("net/http")),
	}
	return s, nil
}

// Router is where the generated handlers are mounted, e.g.
//
//	api.HandlerWithOptions(api.NewStrictHandlerWithOptions(impl, nil, api.StrictHTTPServerOptions{
//		RequestErrorHandlerFunc:  srv.RequestErrorHandler,
//		ResponseErrorHandlerFunc: srv.ResponseErrorHandler,
//	}), api.ChiServerOptions{BaseRouter: srv.Router(), ErrorHandlerFunc: srv.RequestErrorHandler})
//
// Every route mounted here must be an operation of the spec (same method
// and path template); others answer 404.
func (s *Server) Router() chi.Router { return s.api }

// Handler is the whole server as an http.Handler, for tests and for
// runtimes (AWS Lambda adapters) that bring their own listener.
func (s *Server) Handler() http.Handler { return s.root }

// HTTPServer is the underlying *http.Server, for lifecycle runners that
// manage listening and shutdown themselves.
func (s *Server) HTTPServer() *http.Server { return s.http }

// AddReadinessCheck registers a dependency that /readyz checks.
func (s *Server) AddReadinessCheck(name string, check ReadinessCheck) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks = append(s.checks, namedCheck{name: name, check: check})
}

// Serve serves on ln until ctx is done, then shuts down gracefully within
// ShutdownTimeout: the listener closes at once, in-flight requests finish.
// It returns nil after a clean shutdown.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.http.BaseContext = func(net.Listener) context.Context { return context.WithoutCancel(ctx) }
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(ln) }()
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("httpserver: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer cancel()
	err := s.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = fmt.Errorf("httpserver: serve: %w", serr)
	}
	return err
}

// ListenAndServe listens on Config.Addr and calls Serve.
func (s *Server) ListenAndServe(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("httpserver: listen %s: %w", s.cfg.Addr, err)
	}
	return s.Serve(ctx, ln)
}

// Shutdown stops accepting connections, reports not ready, and waits for
// in-flight requests until ctx is done.
func (s *Server) Shutdown(ctx context.Context) error {
	s.draining.Store(true)
	if err := s.http.Shutdown(ctx); err != nil {
		return fmt.Errorf("httpserver: shutdown: %w", err)
	}
	return nil
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
