package lifecycle_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agoracommerce/agora/internal/platform/lifecycle"
)

// recorder collects the order in which components stop.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) add(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, s)
}

func (r *recorder) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...)
}

func mustRunner(t *testing.T, timeout time.Duration, cs ...lifecycle.Component) *lifecycle.Runner {
	t.Helper()
	r, err := lifecycle.New(lifecycle.Config{ShutdownTimeout: timeout})
	if err != nil {
		t.Fatalf("new runner: %v", err)
	}
	if err := r.Add(cs...); err != nil {
		t.Fatalf("add: %v", err)
	}
	return r
}

// waiter runs until cancelled and records its stop.
func waiter(name string, rec *recorder, started *sync.WaitGroup) lifecycle.Component {
	started.Add(1)
	return lifecycle.Func(name, func(ctx context.Context) error {
		started.Done()
		<-ctx.Done()
		rec.add("cancel " + name)
		return ctx.Err()
	}, nil)
}

func TestRunStopsInReverseOrder(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	var started sync.WaitGroup
	stoppable := func(name string) lifecycle.Component {
		started.Add(1)
		stop := make(chan struct{})
		var once sync.Once
		return lifecycle.Func(name, func(context.Context) error {
			started.Done()
			<-stop
			return nil
		}, func(context.Context) error {
			rec.add("stop " + name)
			once.Do(func() { close(stop) })
			return nil
		})
	}
	r := mustRunner(t, 2*time.Second,
		waiter("store", rec, &started),
		stoppable("relay"),
		waiter("consumer", rec, &started),
		stoppable("http"),
	)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- r.Run(ctx) }()
	started.Wait()
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("run: %v", err)
	}
	want := []string{"stop http", "cancel consumer", "stop relay", "cancel store"}
	if got := rec.list(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("stop order = %v, want %v", got, want)
	}
}

func TestRunReportsComponentThatIgnoresContext(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	var started sync.WaitGroup
	rec := &recorder{}
	stubborn := lifecycle.Func("stubborn", func(context.Context) error {
		<-release // ignores its context on purpose
		return nil
	}, nil)
	r := mustRunner(t, 100*time.Millisecond, waiter("polite", rec, &started), stubborn)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- r.Run(ctx) }()
	started.Wait()
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, lifecycle.ErrNotStopped) || !strings.Contains(err.Error(), "stubborn") {
			t.Fatalf("err = %v, want stubborn reported as not stopped", err)
		}
		if strings.Contains(err.Error(), "polite") {
			t.Fatalf("err = %v names the component that stopped", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after the shutdown deadline")
	}
}

func TestFailingComponentStopsTheOthers(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	var started sync.WaitGroup
	boom := errors.New("broker unreachable")
	failing := lifecycle.Func("consumer", func(context.Context) error {
		started.Wait()
		return boom
	}, nil)
	r := mustRunner(t, 2*time.Second, waiter("store", rec, &started), waiter("http", rec, &started), failing)
	err := r.Run(context.Background())
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "consumer") {
		t.Fatalf("err = %v, want the consumer's failure", err)
	}
	if strings.Contains(err.Error(), "store") || strings.Contains(err.Error(), "http") {
		t.Fatalf("err = %v names components that stopped cleanly", err)
	}
	if got := rec.list(); len(got) != 2 || got[0] != "cancel http" || got[1] != "cancel store" {
		t.Fatalf("stopped = %v, want http then store", got)
	}
}

func TestAddRejectsBadComponents(t *testing.T) {
	t.Parallel()
	r := mustRunner(t, time.Second)
	noop := func(context.Context) error { return nil }
	tests := []struct {
		name string
		cs   []lifecycle.Component
	}{
		{"nil", []lifecycle.Component{nil}},
		{"duplicate", []lifecycle.Component{lifecycle.Func("a", noop, nil), lifecycle.Func("a", noop, nil)}},
	}
	for _, tc := range tests {
		if err := r.Add(tc.cs...); err == nil {
			t.Errorf("%s: Add returned nil", tc.name)
		}
	}
	if _, err := lifecycle.New(lifecycle.Config{ShutdownTimeout: -time.Second}); err == nil {
		t.Error("New accepted a negative timeout")
	}
}

func TestHTTPServerGracefulShutdown(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	entered := make(chan struct{})
	release := make(chan struct{})
	srv := &http.Server{
		ReadHeaderTimeout: time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			close(entered)
			<-release
			_, _ = io.WriteString(w, "done")
		}),
	}
	r := mustRunner(t, 3*time.Second, lifecycle.HTTPServer("http", srv, ln))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- r.Run(ctx) }()

	type result struct {
		body string
		err  error
	}
	resc := make(chan result, 1)
	go func() {
		client := &http.Client{Timeout: 5 * time.Second}
		resp, err := client.Get("http://" + addr + "/slow")
		if err != nil {
			resc <- result{err: err}
			return
		}
		defer func() { _ = resp.Body.Close() }()
		b, err := io.ReadAll(resp.Body)
		resc <- result{body: string(b), err: err}
	}()
	<-entered
	shutdownStarted := time.Now()
	cancel()

	// The listener closes as soon as shutdown begins: new connections fail.
	deadline := time.Now().Add(2 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err != nil {
			break
		}
		_ = conn.Close()
		if time.Now().After(deadline) {
			t.Fatal("new connections still accepted after shutdown started")
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case err := <-errc:
		t.Fatalf("Run returned %v before the in-flight request finished", err)
	default:
	}

	close(release)
	res := <-resc
	if res.err != nil || res.body != "done" {
		t.Fatalf("in-flight request = %q, %v; want it completed", res.body, res.err)
	}
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Run did not return within the shutdown deadline")
	}
	if d := time.Since(shutdownStarted); d > 3*time.Second {
		t.Fatalf("shutdown took %s", d)
	}
}

func TestHTTPServerDeadlineForcesClose(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	entered := make(chan struct{})
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	srv := &http.Server{
		ReadHeaderTimeout: time.Second,
		Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
			close(entered)
			<-release
		}),
	}
	r := mustRunner(t, 100*time.Millisecond, lifecycle.HTTPServer("api", srv, ln))
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- r.Run(ctx) }()
	go func() {
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + ln.Addr().String())
		if err == nil {
			_ = resp.Body.Close()
		}
	}()
	<-entered
	cancel()
	err = <-errc
	if err == nil || !strings.Contains(err.Error(), "api") || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the api server's shutdown to hit the deadline", err)
	}
}
