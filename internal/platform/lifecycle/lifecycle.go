// Package lifecycle runs the long-lived parts of an Agora process (HTTP
// servers, Kafka consumers, outbox relays, background sweepers) side by side
// and shuts them down gracefully.
//
// A Runner starts every registered Component concurrently. The first of
// these ends the run: the caller's context is cancelled (typically by
// SIGINT or SIGTERM through signal.NotifyContext), or any component's Run
// returns. Shutdown then walks the components in reverse order of
// registration, so register the dependencies first and the intake last:
// stores and producers, then relays, then consumers and HTTP servers. The
// intake stops taking work first, then the rest drain, commit, flush and
// close. The whole shutdown shares one deadline; a component still running
// when it expires is reported, and Run returns anyway.
//
// Run returns nil after a clean shutdown, and otherwise an error (built with
// errors.Join) naming every component that failed or did not stop in time.
// The ordered walk may take nine tenths of the deadline; if it is still
// waiting then, the remaining components are cancelled together and share
// the last tenth, so Run always returns within the shutdown timeout.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Component is one long-lived part of a process.
//
// Run does the work and blocks until ctx is cancelled or the work fails; it
// returns nil (or ctx's error) when it ends because ctx was cancelled. A
// component that needs more than cancellation to stop cleanly (an HTTP
// server draining its connections, a consumer committing offsets) also
// implements Stopper.
type Component interface {
	Name() string
	Run(ctx context.Context) error
}

// Stopper is implemented by components that stop through an explicit call
// rather than by cancellation alone. Stop must make Run return and should
// finish the component's in-flight work before ctx, which carries the
// shutdown deadline, expires. The component's Run context is cancelled
// after Stop returns.
type Stopper interface {
	Stop(ctx context.Context) error
}

// ErrNotStopped is matched (errors.Is) by the error reported for a
// component whose Run had not returned when the shutdown deadline expired.
var ErrNotStopped = errors.New("did not stop before the shutdown deadline")

// DefaultShutdownTimeout is used when Config.ShutdownTimeout is zero.
const DefaultShutdownTimeout = 30 * time.Second

// Config configures a Runner.
type Config struct {
	// ShutdownTimeout bounds the whole shutdown, every component included.
	// Zero means DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// Logger receives one line per component start, stop and failure.
	// Nil means no logging.
	Logger *zap.Logger
}

// Validate reports whether the configuration is usable.
func (c Config) Validate() error {
	if c.ShutdownTimeout < 0 {
		return fmt.Errorf("lifecycle: shutdown timeout %s is negative", c.ShutdownTimeout)
	}
	return nil
}

// Runner runs components and stops them in reverse order. Register
// components with Add before calling Run; a Runner runs once.
type Runner struct {
	timeout    time.Duration
	log        *zap.Logger
	mu         sync.Mutex
	components []Component
	started    bool
}

// New returns a Runner configured by cfg.
func New(cfg Config) (*Runner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &Runner{timeout: cfg.ShutdownTimeout, log: cfg.Logger}
	if r.timeout == 0 {
		r.timeout = DefaultShutdownTimeout
	}
	if r.log == nil {
		r.log = zap.NewNop()
	}
	return r, nil
}

// Add registers components; they are started in this order and stopped in
// the reverse one. It returns an error once Run has started, or for a nil
// component or a duplicate name.
func (r *Runner) Add(components ...Component) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started {
		return errors.New("lifecycle: add after run started")
	}
	for _, c := range components {
		if c == nil {
			return errors.New("lifecycle: nil component")
		}
		for _, have := range r.components {
			if have.Name() == c.Name() {
				return fmt.Errorf("lifecycle: duplicate component name %q", c.Name())
			}
		}
		r.components = append(r.components, c)
	}
	return nil
}

// running tracks one started component.
type running struct {
	c      Component
	cancel context.CancelFunc
	done   chan struct{} // closed when Run has returned
	err    error         // Run's result, readable once done is closed
	// stopErr is what Stop returned; written and read by shutdown only.
	stopErr error
}

// Run starts every component and blocks until all have stopped or the
// shutdown deadline has expired. See the package documentation for the
// shutdown order and the error returned.
func (r *Runner) Run(ctx context.Context) error {
	r.mu.Lock()
	if r.started {
		r.mu.Unlock()
		return errors.New("lifecycle: runner already ran")
	}
	r.started = true
	components := append([]Component(nil), r.components...)
	r.mu.Unlock()
	if len(components) == 0 {
		return errors.New("lifecycle: no components to run")
	}

	// Component contexts deliberately do not derive from ctx: they are
	// cancelled one by one, in order, during shutdown.
	exited := make(chan *running, len(components))
	runs := make([]*running, len(components))
	for i, c := range components {
		cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		rc := &running{c: c, cancel: cancel, done: make(chan struct{})}
		runs[i] = rc
		r.log.Info("component starting", zap.String("component", c.Name()))
		go func() {
			defer close(rc.done)
			rc.err = c.Run(cctx)
			exited <- rc
		}()
	}

	var trigger *running
	select {
	case <-ctx.Done():
		r.log.Info("shutdown requested", zap.NamedError("cause", context.Cause(ctx)))
	case trigger = <-exited:
		r.log.Info("component exited, shutting down",
			zap.String("component", trigger.c.Name()), zap.Error(trigger.err))
	}

	return r.shutdown(ctx, runs, trigger)
}

// shutdown stops the components in reverse order within the deadline and
// collects what went wrong.
//
// The ordered walk may use the first nine tenths of the timeout. Should it
// still be waiting then (a component ignores its context), every remaining
// component is cancelled at once and they share the last tenth, so one
// stuck component does not hide whether the others stop.
func (r *Runner) shutdown(ctx context.Context, runs []*running, trigger *running) error {
	base := context.WithoutCancel(ctx)
	hard, cancelHard := context.WithTimeout(base, r.timeout)
	defer cancelHard()
	ordered, cancelOrdered := context.WithTimeout(base, r.timeout-r.timeout/10)
	defer cancelOrdered()

	i := len(runs) - 1
	for ; i >= 0 && ordered.Err() == nil; i-- {
		rc := runs[i]
		if s, ok := rc.c.(Stopper); ok && !isDone(rc.done) {
			if err := s.Stop(hard); err != nil {
				rc.stopErr = err
			}
		}
		rc.cancel()
		select {
		case <-rc.done:
		case <-ordered.Done():
		}
	}
	for j := i; j >= 0; j-- {
		runs[j].cancel()
	}
	for j := len(runs) - 1; j >= 0; j-- {
		select {
		case <-runs[j].done:
		case <-hard.Done():
		}
	}

	var errs []error
	for j := len(runs) - 1; j >= 0; j-- {
		rc := runs[j]
		name := rc.c.Name()
		if rc.stopErr != nil {
			errs = append(errs, fmt.Errorf("lifecycle: %s: stop: %w", name, rc.stopErr))
		}
		switch {
		case !isDone(rc.done):
			errs = append(errs, fmt.Errorf("lifecycle: %s: %w (%s)", name, ErrNotStopped, r.timeout))
			r.log.Error("component did not stop in time", zap.String("component", name))
		case rc.err != nil && (rc == trigger || !errors.Is(rc.err, context.Canceled)):
			errs = append(errs, fmt.Errorf("lifecycle: %s: %w", name, rc.err))
			r.log.Error("component failed", zap.String("component", name), zap.Error(rc.err))
		default:
			r.log.Info("component stopped", zap.String("component", name))
		}
	}
	return errors.Join(errs...)
}

func isDone(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// Func builds a Component from functions. A nil run makes the component
// fail at once. stop may be nil, in which case
// the component stops when run's context is cancelled.
func Func(name string, run func(ctx context.Context) error, stop func(ctx context.Context) error) Component {
	if stop == nil {
		return funcComponent{name: name, run: run}
	}
	return stoppableFunc{funcComponent{name: name, run: run}, stop}
}

type funcComponent struct {
	name string
	run  func(ctx context.Context) error
}

func (f funcComponent) Name() string { return f.name }
func (f funcComponent) Run(ctx context.Context) error {
	if f.run == nil {
		return fmt.Errorf("lifecycle: %s: no run function", f.name)
	}
	return f.run(ctx)
}

type stoppableFunc struct {
	funcComponent
	stop func(ctx context.Context) error
}

func (f stoppableFunc) Stop(ctx context.Context) error { return f.stop(ctx) }
