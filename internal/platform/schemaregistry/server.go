package schemaregistry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"go.uber.org/zap"
)

// Server serves the registry API. It is an http.Handler, so it can be
// mounted in another server, and it can serve a listener itself with Serve.
// It is safe for concurrent use.
type Server struct {
	handler http.Handler
	cfg     config
}

type config struct {
	defaultLevel      Compatibility
	maxBodyBytes      int64
	log               *zap.Logger
	readHeaderTimeout time.Duration
	requestTimeout    time.Duration
	idleTimeout       time.Duration
	shutdownTimeout   time.Duration
}

// Option configures a Server.
type Option func(*config) error

// WithDefaultCompatibility sets the level in force when neither the subject
// nor the registry has one configured (default BACKWARD, like Confluent).
func WithDefaultCompatibility(level Compatibility) Option {
	return func(c *config) error {
		l, err := ParseCompatibility(string(level))
		if err != nil {
			return err
		}
		c.defaultLevel = l
		return nil
	}
}

// WithMaxBodyBytes bounds request bodies (default 1 MiB); larger bodies are
// answered with 413.
func WithMaxBodyBytes(n int64) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("max body bytes must be positive, got %d", n)
		}
		c.maxBodyBytes = n
		return nil
	}
}

// WithLogger sets where failures are logged (default: nowhere).
func WithLogger(log *zap.Logger) Option {
	return func(c *config) error {
		if log == nil {
			return errors.New("logger is nil")
		}
		c.log = log
		return nil
	}
}

// WithTimeouts sets the time allowed to read request headers, to handle a
// whole request, and for Serve's graceful shutdown (defaults 5s, 30s, 10s).
func WithTimeouts(readHeader, request, shutdown time.Duration) Option {
	return func(c *config) error {
		if readHeader <= 0 || request <= 0 || shutdown <= 0 {
			return fmt.Errorf("timeouts must be positive, got %v, %v, %v", readHeader, request, shutdown)
		}
		c.readHeaderTimeout, c.requestTimeout, c.shutdownTimeout = readHeader, request, shutdown
		return nil
	}
}

// NewServer returns a registry API over store.
func NewServer(store Store, opts ...Option) (*Server, error) {
	if store == nil {
		return nil, errors.New("schemaregistry: store is nil")
	}
	cfg := config{
		defaultLevel:      CompatBackward,
		maxBodyBytes:      1 << 20,
		log:               zap.NewNop(),
		readHeaderTimeout: 5 * time.Second,
		requestTimeout:    30 * time.Second,
		idleTimeout:       2 * time.Minute,
		shutdownTimeout:   10 * time.Second,
	}
	for _, opt := range opts {
		if err := opt(&cfg); err != nil {
			return nil, fmt.Errorf("schemaregistry: %w", err)
		}
	}
	a := &api{
		reg:     &registry{store: store, defaultLevel: cfg.defaultLevel},
		log:     cfg.log,
		maxBody: cfg.maxBodyBytes,
	}
	return &Server{handler: a.routes(), cfg: cfg}, nil
}

// ServeHTTP serves one API request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// Serve serves the API on ln until ctx is done, then shuts down gracefully:
// it stops accepting, lets requests in flight finish within the shutdown
// timeout and closes ln. It returns nil after a clean shutdown.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           http.TimeoutHandler(s.handler, s.cfg.requestTimeout, `{"error_code":50002,"message":"Operation timed out"}`),
		ReadHeaderTimeout: s.cfg.readHeaderTimeout,
		ReadTimeout:       s.cfg.requestTimeout,
		WriteTimeout:      s.cfg.requestTimeout + time.Second,
		IdleTimeout:       s.cfg.idleTimeout,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("schemaregistry: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.shutdownTimeout)
	defer cancel()
	shutdownErr := srv.Shutdown(sctx)
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("schemaregistry: serve: %w", err)
	}
	if shutdownErr != nil {
		_ = srv.Close()
		return fmt.Errorf("schemaregistry: shutdown: %w", shutdownErr)
	}
	return nil
}
