package resilience_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/agoracommerce/agora/internal/platform/fault"
	"github.com/agoracommerce/agora/internal/platform/resilience"
)

// fast is a policy with waits short enough for tests.
func fast() resilience.Policy {
	return resilience.Policy{
		Target: "test", MaxAttempts: 4, InitialInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond,
		MaxElapsedTime: 3 * time.Second, AttemptTimeout: time.Second,
	}
}

func TestDoRetriesRetryableErrors(t *testing.T) {
	t.Parallel()
	transient := errors.New("connection reset")
	invalid := errors.New("invalid sku")
	tests := []struct {
		name      string
		errs      []error // returned by the successive calls; nil after them
		wantCalls int
		wantErr   error
	}{
		{"success first", nil, 1, nil},
		{"retries then success", []error{fault.Retryable(transient), fault.Retryable(transient)}, 3, nil},
		{"permanent is not retried", []error{fault.Permanent(invalid)}, 1, invalid},
		{"unmarked is not retried", []error{invalid}, 1, invalid},
		{"gives up after max attempts", []error{
			fault.Retryable(transient), fault.Retryable(transient), fault.Retryable(transient), fault.Retryable(transient), fault.Retryable(transient),
		}, 4, transient},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			calls := 0
			err := resilience.Do(context.Background(), fast(), func(context.Context) error {
				calls++
				if calls <= len(tc.errs) {
					return tc.errs[calls-1]
				}
				return nil
			})
			if calls != tc.wantCalls {
				t.Errorf("calls = %d, want %d", calls, tc.wantCalls)
			}
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("err = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestDoKeepsRetryableMarkWhenExhausted(t *testing.T) {
	t.Parallel()
	p := fast()
	p.MaxAttempts = 2
	err := resilience.Do(context.Background(), p, func(context.Context) error {
		return fault.Retryable(errors.New("throttled"))
	})
	if !fault.IsRetryable(err) || !strings.Contains(err.Error(), "2 attempts") {
		t.Fatalf("err = %v, want a retryable error after 2 attempts", err)
	}
}

func TestDoAttemptTimeoutAndCancellation(t *testing.T) {
	t.Parallel()
	p := fast()
	p.MaxAttempts = 3
	p.AttemptTimeout = 20 * time.Millisecond
	calls := 0
	start := time.Now()
	err := resilience.Do(context.Background(), p, func(ctx context.Context) error {
		calls++
		<-ctx.Done()
		return ctx.Err()
	})
	if calls != 3 || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("calls = %d, err = %v; want 3 timed-out attempts", calls, err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %s", d)
	}

	ctx, cancel := context.WithCancel(context.Background())
	calls = 0
	err = resilience.Do(ctx, fast(), func(context.Context) error {
		calls++
		cancel()
		return fault.Retryable(errors.New("unavailable"))
	})
	if calls != 1 || !errors.Is(err, context.Canceled) || fault.IsRetryable(err) {
		t.Fatalf("calls = %d, err = %v; want one call and a non-retryable cancellation", calls, err)
	}
}

func TestPolicyValidate(t *testing.T) {
	t.Parallel()
	bad := []resilience.Policy{
		{MaxAttempts: -1},
		{AttemptTimeout: -time.Second},
		{Multiplier: 0.5},
		{RandomizationFactor: 2},
	}
	for i, p := range bad {
		if err := resilience.Do(context.Background(), p, func(context.Context) error { return nil }); err == nil {
			t.Errorf("policy %d accepted: %+v", i, p)
		}
	}
	if err := resilience.Do(context.Background(), resilience.Policy{}, nil); err == nil {
		t.Error("nil operation accepted")
	}
}

// server answers with the statuses in order, then 200; it counts hits and
// records the bodies it received.
type server struct {
	*httptest.Server
	hits   atomic.Int32
	bodies chan string
}

func newServer(t *testing.T, handler func(n int32, w http.ResponseWriter, r *http.Request)) *server {
	t.Helper()
	s := &server{bodies: make(chan string, 16)}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := s.hits.Add(1)
		b, _ := io.ReadAll(r.Body)
		select {
		case s.bodies <- string(b):
		default:
		}
		handler(n, w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func statuses(codes ...int) func(int32, http.ResponseWriter, *http.Request) {
	return func(n int32, w http.ResponseWriter, _ *http.Request) {
		if int(n) <= len(codes) {
			w.WriteHeader(codes[n-1])
			return
		}
		_, _ = io.WriteString(w, "ok")
	}
}

func mustClient(t *testing.T, cfg resilience.TransportConfig) (*http.Client, *resilience.Transport) {
	t.Helper()
	tr, err := resilience.NewTransport(cfg)
	if err != nil {
		t.Fatalf("new transport: %v", err)
	}
	return &http.Client{Transport: tr}, tr
}

func send(t *testing.T, c *http.Client, method, url, body string, hdr map[string]string) (*http.Response, string, error) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp, string(b), nil
}

func TestTransportRetryRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		method     string
		body       string
		hdr        map[string]string
		codes      []int
		wantStatus int
		wantHits   int32
	}{
		{"GET retried on 503 then succeeds", http.MethodGet, "", nil, []int{503, 502}, 200, 3},
		{"GET retried on 429 and 504", http.MethodGet, "", nil, []int{429, 504}, 200, 3},
		{"no retry on 400", http.MethodGet, "", nil, []int{400}, 400, 1},
		{"no retry on 500", http.MethodGet, "", nil, []int{500}, 500, 1},
		{"no retry of POST without key", http.MethodPost, `{"sku":"a"}`, nil, []int{503}, 503, 1},
		{"POST with idempotency key retried", http.MethodPost, `{"sku":"a"}`, map[string]string{"Idempotency-Key": "k1"}, []int{503}, 200, 2},
		{"PUT retried", http.MethodPut, `{"qty":2}`, nil, []int{502}, 200, 2},
		{"gives up and returns the last answer", http.MethodGet, "", nil, []int{503, 503, 503, 503, 503}, 503, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, statuses(tc.codes...))
			c, _ := mustClient(t, resilience.TransportConfig{Policy: fast()})
			resp, _, err := send(t, c, tc.method, srv.URL+"/v1/items", tc.body, tc.hdr)
			if err != nil {
				t.Fatalf("send: %v", err)
			}
			if resp.StatusCode != tc.wantStatus || srv.hits.Load() != tc.wantHits {
				t.Fatalf("status %d after %d hits, want %d after %d", resp.StatusCode, srv.hits.Load(), tc.wantStatus, tc.wantHits)
			}
			for range tc.wantHits {
				if got := <-srv.bodies; got != tc.body {
					t.Fatalf("server received body %q, want %q", got, tc.body)
				}
			}
		})
	}
}

func TestTransportHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	srv := newServer(t, func(n int32, w http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
		}
	})
	c, _ := mustClient(t, resilience.TransportConfig{Policy: fast()})
	start := time.Now()
	resp, _, err := send(t, c, http.MethodGet, srv.URL, "", nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("resp %v, err %v", resp, err)
	}
	if d := time.Since(start); d < time.Second {
		t.Fatalf("retried after %s, before the 1s Retry-After", d)
	}

	// A Retry-After beyond the maximum elapsed time ends the retries at once.
	srv2 := newServer(t, func(_ int32, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	p := fast()
	p.MaxElapsedTime = 500 * time.Millisecond
	c2, _ := mustClient(t, resilience.TransportConfig{Policy: p})
	start = time.Now()
	resp, _, err = send(t, c2, http.MethodGet, srv2.URL, "", nil)
	if err != nil || resp.StatusCode != http.StatusServiceUnavailable || srv2.hits.Load() != 1 {
		t.Fatalf("resp %v, err %v, hits %d; want the 503 after one hit", resp, err, srv2.hits.Load())
	}
	if d := time.Since(start); d > 400*time.Millisecond {
		t.Fatalf("took %s; should not wait for a Retry-After it cannot honour", d)
	}
}

func TestTransportAttemptTimeout(t *testing.T) {
	t.Parallel()
	srv := newServer(t, func(_ int32, _ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	p := fast()
	p.MaxAttempts = 2
	p.AttemptTimeout = 50 * time.Millisecond
	c, _ := mustClient(t, resilience.TransportConfig{Policy: p})
	start := time.Now()
	_, _, err := send(t, c, http.MethodGet, srv.URL, "", nil)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a deadline error", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %s", d)
	}
	if got := srv.hits.Load(); got != 2 {
		t.Fatalf("hits = %d, want 2 timed-out attempts", got)
	}
}

func TestTransportBreakerOpensAndHalfOpens(t *testing.T) {
	t.Parallel()
	var healthy atomic.Bool
	srv := newServer(t, func(_ int32, w http.ResponseWriter, _ *http.Request) {
		if !healthy.Load() {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	reader := sdkmetric.NewManualReader()
	metrics, err := resilience.NewMetrics(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
	if err != nil {
		t.Fatal(err)
	}
	p := fast()
	p.MaxAttempts = 1
	c, tr := mustClient(t, resilience.TransportConfig{
		Policy:  p,
		Breaker: resilience.BreakerConfig{FailureThreshold: 3, OpenTimeout: 100 * time.Millisecond},
		Metrics: metrics,
	})
	target := strings.TrimPrefix(srv.URL, "http://")

	for i := range 3 {
		resp, _, err := send(t, c, http.MethodGet, srv.URL, "", nil)
		if err != nil || resp.StatusCode != http.StatusInternalServerError {
			t.Fatalf("call %d: resp %v err %v", i, resp, err)
		}
	}
	if s := tr.BreakerState(target); s != resilience.StateOpen {
		t.Fatalf("state after 3 failures = %s", s)
	}
	_, _, err = send(t, c, http.MethodGet, srv.URL, "", nil)
	if !errors.Is(err, resilience.ErrOpen) || !fault.IsRetryable(err) {
		t.Fatalf("err = %v, want a retryable ErrOpen", err)
	}
	if got := srv.hits.Load(); got != 3 {
		t.Fatalf("hits = %d: the open breaker let a call through", got)
	}
	assertGauge(t, reader, target, 2)

	deadline := time.Now().Add(2 * time.Second)
	for tr.BreakerState(target) != resilience.StateHalfOpen {
		if time.Now().After(deadline) {
			t.Fatal("breaker never became half-open")
		}
		time.Sleep(10 * time.Millisecond)
	}
	healthy.Store(true)
	resp, _, err := send(t, c, http.MethodGet, srv.URL, "", nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("trial call: resp %v err %v", resp, err)
	}
	if s := tr.BreakerState(target); s != resilience.StateClosed {
		t.Fatalf("state after a successful trial = %s", s)
	}
	assertGauge(t, reader, target, 0)

	rm := collect(t, reader)
	transitions := sumCounter(t, rm, resilience.MetricBreakerTransitions, nil)
	if transitions != 3 { // closed→open, open→half-open, half-open→closed
		t.Errorf("transitions = %d, want 3", transitions)
	}
	if n := sumCounter(t, rm, resilience.MetricAttempts, map[string]string{"outcome": "breaker_open"}); n != 1 {
		t.Errorf("breaker_open attempts = %d, want 1", n)
	}
}

func TestTransportRetriesConnectionErrors(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens any more: connections are refused

	reader := sdkmetric.NewManualReader()
	metrics, err := resilience.NewMetrics(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
	if err != nil {
		t.Fatal(err)
	}
	c, _ := mustClient(t, resilience.TransportConfig{Policy: fast(), Metrics: metrics})
	_, _, err = send(t, c, http.MethodGet, url, "", nil)
	if err == nil || !fault.IsRetryable(err) {
		t.Fatalf("err = %v, want a retryable connection error", err)
	}
	rm := collect(t, reader)
	if n := sumCounter(t, rm, resilience.MetricAttempts, map[string]string{"outcome": "retryable_error"}); n != 4 {
		t.Errorf("attempts = %d, want 4", n)
	}
	if n := sumCounter(t, rm, resilience.MetricRetries, nil); n != 3 {
		t.Errorf("retries = %d, want 3", n)
	}
}

func collect(t *testing.T, r *sdkmetric.ManualReader) metricdata.ResourceMetrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatalf("collect: %v", err)
	}
	return rm
}

func sumCounter(t *testing.T, rm metricdata.ResourceMetrics, name string, match map[string]string) int64 {
	t.Helper()
	var total int64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			sum, ok := m.Data.(metricdata.Sum[int64])
			if !ok {
				t.Fatalf("%s is %T", name, m.Data)
			}
		points:
			for _, dp := range sum.DataPoints {
				for k, v := range match {
					if got, _ := dp.Attributes.Value(attribute.Key(k)); got.AsString() != v {
						continue points
					}
				}
				total += dp.Value
			}
		}
	}
	return total
}

func assertGauge(t *testing.T, r *sdkmetric.ManualReader, target string, want int64) {
	t.Helper()
	for _, sm := range collect(t, r).ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != resilience.MetricBreakerState {
				continue
			}
			g, ok := m.Data.(metricdata.Gauge[int64])
			if !ok {
				t.Fatalf("%s is %T", m.Name, m.Data)
			}
			for _, dp := range g.DataPoints {
				if v, _ := dp.Attributes.Value("target"); v.AsString() == target {
					if dp.Value != want {
						t.Fatalf("breaker gauge = %d, want %d", dp.Value, want)
					}
					return
				}
			}
		}
	}
	t.Fatalf("no breaker gauge for %s", target)
}
