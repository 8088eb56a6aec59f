package httpserver_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/agoracommerce/agora/internal/platform/httpserver"
)

const slowSpec = `openapi: 3.0.3
info: {title: slow, version: "1"}
paths:
  /v1/jobs:
    get:
      operationId: waitJob
      responses:
        '200': {description: done}
`

// mustSlowServer serves GET /v1/jobs, which reports its start on started
// and answers once release is closed.
func mustSlowServer(t *testing.T, shutdownTimeout time.Duration, started chan<- struct{}, release <-chan struct{}) (*httpserver.Server, net.Listener) {
	t.Helper()
	srv, err := httpserver.New(httpserver.Config{Spec: []byte(slowSpec), ShutdownTimeout: shutdownTimeout}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv.Router().Get("/v1/jobs", func(w http.ResponseWriter, _ *http.Request) {
		started <- struct{}{}
		<-release
		_, _ = io.WriteString(w, "done")
	})
	var lc net.ListenConfig
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return srv, ln
}

type outcome struct {
	status int
	body   string
	err    error
}

func getAsync(client *http.Client, url string, out chan<- outcome) {
	go func() {
		resp, err := client.Get(url)
		if err != nil {
			out <- outcome{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		out <- outcome{status: resp.StatusCode, body: string(b), err: err}
	}()
}

func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	started := make(chan struct{}, 2)
	release := make(chan struct{})
	srv, ln := mustSlowServer(t, 5*time.Second, started, release)
	addr := ln.Addr().String()

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()

	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	results := make(chan outcome, 2)
	for range 2 {
		getAsync(client, "http://"+addr+"/v1/jobs", results)
	}
	<-started
	<-started

	stop() // begin the graceful shutdown with two requests in flight
	waitFor(t, "the listener to refuse new connections", func() bool {
		d := net.Dialer{Timeout: time.Second}
		conn, err := d.Dial("tcp", addr)
		if err == nil {
			_ = conn.Close()
			return false
		}
		return true
	})
	select {
	case err := <-served:
		t.Fatalf("Serve returned before in-flight requests finished: %v", err)
	default:
	}

	begun := time.Now()
	close(release)
	for range 2 {
		r := <-results
		if r.err != nil || r.status != http.StatusOK || r.body != "done" {
			t.Errorf("in-flight request: %+v", r)
		}
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after the in-flight requests finished")
	}
	if elapsed := time.Since(begun); elapsed > 5*time.Second {
		t.Errorf("shutdown took %s", elapsed)
	}
}

func TestShutdownGivesUpAtItsDeadline(t *testing.T) {
	t.Parallel()
	started := make(chan struct{}, 1)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	srv, ln := mustSlowServer(t, 100*time.Millisecond, started, release)

	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	results := make(chan outcome, 1)
	getAsync(client, "http://"+ln.Addr().String()+"/v1/jobs", results)
	<-started

	stop()
	select {
	case err := <-served:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Serve = %v, want the shutdown deadline exceeded", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve ignored its shutdown deadline")
	}
}
