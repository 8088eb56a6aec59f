package httpserver

import (
	"context"
	"net/http"
	"sort"
	"sync"

	"go.uber.org/zap"

	"github.com/agoracommerce/agora/internal/platform/correlation"
	"github.com/agoracommerce/agora/internal/platform/problem"
)

// healthz answers 200 whenever the process serves HTTP.
func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(`{"status":"ok"}`))
}

// readyz runs every readiness check concurrently within ReadinessTimeout.
// It answers 503 with the failing dependencies listed (by name only; the
// reasons are logged) and also while the server drains for shutdown.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		s.writeProblem(w, r, *problem.New(http.StatusServiceUnavailable, problem.TypeNotReady,
			"Not ready", "the server is shutting down"))
		return
	}
	s.mu.Lock()
	checks := append([]namedCheck(nil), s.checks...)
	s.mu.Unlock()

	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.ReadinessTimeout)
	defer cancel()
	errs := make([]error, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Go(func() { errs[i] = runCheck(ctx, c.check) })
	}
	wg.Wait()

	var failing []string
	for i, err := range errs {
		if err != nil {
			failing = append(failing, checks[i].name)
			s.log.Warn("readiness check failed", zap.String("check", checks[i].name), zap.Error(err),
				zap.String("correlation_id", correlation.ID(r.Context())))
		}
	}
	if len(failing) > 0 {
		sort.Strings(failing)
		d := problem.New(http.StatusServiceUnavailable, problem.TypeNotReady, "Not ready",
			"one or more dependencies are not ready")
		d.Extensions = map[string]any{"failing": failing}
		s.writeProblem(w, r, *d)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(`{"status":"ready"}`))
}

// runCheck runs one check; a check that panics or overruns the deadline
// counts as failed. The check goroutine is bounded by ctx: checks must
// honour it.
func runCheck(ctx context.Context, check ReadinessCheck) (err error) {
	done := make(chan error, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				done <- errPanicked
			}
		}()
		done <- check(ctx)
	}()
	select {
	case err = <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
