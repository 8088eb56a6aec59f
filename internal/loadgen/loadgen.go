// Package loadgen drives an Agora shop the way its customers do, to measure
// it: virtual shoppers, each with its own customer token and random stream,
// run browse, search, cart and checkout sessions in a configurable mix
// against the gateway's APIs, either at a constant arrival rate (an open
// model) or as a fixed number of shoppers in a loop (a closed model). It
// records every request's latency per operation in HDR-style histograms,
// follows a sample of the placed orders through the checkout saga until
// they complete, and reports the lot as text or JSON.
//
// The package speaks HTTP only, through the models generated from the
// services' OpenAPI documents; it imports no service.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults applied to zero Config fields.
const (
	DefaultConcurrency    = 10
	DefaultMaxInFlight    = 256
	DefaultDuration       = 30 * time.Second
	DefaultRequestTimeout = 10 * time.Second
	DefaultDrainTimeout   = 10 * time.Second
	DefaultTrackOrders    = 200
	DefaultSettle         = 60 * time.Second
	DefaultPollRate       = 50.0
	DefaultPollInterval   = 500 * time.Millisecond
	DefaultCatalogLimit   = 1000
)

// Config configures a run. Zero fields take the defaults above, except
// where a field says otherwise.
type Config struct {
	// BaseURL is the gateway, e.g. http://127.0.0.1:8080; requests go to
	// BaseURL + /v1/....
	BaseURL string
	// Rate, when positive, selects the open model: sessions arrive at this
	// many per second, each taken by an idle shopper of a pool of
	// MaxInFlight, or dropped when none is idle.
	Rate float64
	// MaxInFlight bounds the open model's sessions in flight (and so its
	// shoppers).
	MaxInFlight int
	// Concurrency is the closed model's number of shoppers, each running
	// one session after another; used when Rate is zero.
	Concurrency int
	// Duration is how long sessions are started.
	Duration time.Duration
	// Sessions, when positive, stops the load after that many sessions (in
	// the open model: arrivals, dropped ones included), even before
	// Duration.
	Sessions int
	// Mix weighs the session kinds; the zero Mix means DefaultMix.
	Mix Mix
	// Seed makes the shoppers' choices reproducible.
	Seed uint64
	// Think is the mean pause between two requests of a session
	// (exponentially distributed); zero means none.
	Think time.Duration
	// Tokens gives each shopper its bearer token. Required.
	Tokens TokenSource
	// HTTPClient sends the requests; nil means a client built for the
	// run's concurrency with RequestTimeout.
	HTTPClient *http.Client
	// RequestTimeout bounds one request.
	RequestTimeout time.Duration
	// DrainTimeout is how long requests in flight may finish once the load
	// stops (at the end of Duration, after Sessions or on cancellation)
	// before they are cut off.
	DrainTimeout time.Duration
	// TrackOrders is how many placed orders (the first ones) to follow to a
	// final status; negative means none.
	TrackOrders int
	// Settle is how long to keep following orders after the load stops;
	// negative means not at all.
	Settle time.Duration
	// PollRate bounds the order polls per second.
	PollRate float64
	// PollInterval is the pause between two polls of one order.
	PollInterval time.Duration
	// CatalogLimit bounds how many products are discovered at the start.
	CatalogLimit int
	// Progress receives the live progress; nil means none.
	Progress io.Writer
	// Interactive redraws one progress line about twice a second (for a
	// terminal) instead of printing a line every ProgressInterval.
	Interactive bool
	// ProgressInterval is the period of the plain progress lines; zero
	// means 5s.
	ProgressInterval time.Duration
}

// withDefaults returns c with the defaults applied.
func (c Config) withDefaults() Config {
	if c.Rate == 0 && c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Rate > 0 && c.MaxInFlight == 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	if c.Duration == 0 {
		c.Duration = DefaultDuration
	}
	if c.Mix.total == 0 {
		c.Mix, _ = ParseMix(DefaultMix)
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.DrainTimeout == 0 {
		c.DrainTimeout = DefaultDrainTimeout
	}
	switch {
	case c.TrackOrders == 0:
		c.TrackOrders = DefaultTrackOrders
	case c.TrackOrders < 0:
		c.TrackOrders = 0
	}
	switch {
	case c.Settle == 0:
		c.Settle = DefaultSettle
	case c.Settle < 0:
		c.Settle = 0
	}
	if c.PollRate == 0 {
		c.PollRate = DefaultPollRate
	}
	if c.PollInterval == 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.CatalogLimit == 0 {
		c.CatalogLimit = DefaultCatalogLimit
	}
	if c.ProgressInterval == 0 {
		c.ProgressInterval = 5 * time.Second
	}
	return c
}

// Validate reports the first problem with c (after defaults).
func (c Config) Validate() error {
	u, err := url.Parse(c.BaseURL)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return fmt.Errorf("loadgen: the base URL %q is not an absolute http(s) URL", c.BaseURL)
	case u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("loadgen: the base URL %q has a query or fragment", c.BaseURL)
	case c.Rate < 0 || c.Rate > 100_000:
		return fmt.Errorf("loadgen: rate %g is outside 0..100000 sessions per second", c.Rate)
	case c.Rate > 0 && c.Concurrency > 0:
		return errors.New("loadgen: choose the open model (a rate) or the closed model (a concurrency), not both")
	case c.Rate > 0 && (c.MaxInFlight < 1 || c.MaxInFlight > 100_000):
		return fmt.Errorf("loadgen: max in flight %d is outside 1..100000", c.MaxInFlight)
	case c.Rate == 0 && (c.Concurrency < 1 || c.Concurrency > 100_000):
		return fmt.Errorf("loadgen: concurrency %d is outside 1..100000", c.Concurrency)
	case c.Duration < 0:
		return fmt.Errorf("loadgen: duration %s is negative", c.Duration)
	case c.Sessions < 0:
		return fmt.Errorf("loadgen: sessions %d is negative", c.Sessions)
	case c.Think < 0:
		return fmt.Errorf("loadgen: think time %s is negative", c.Think)
	case c.Tokens == nil:
		return errors.New("loadgen: a token source is required")
	case c.RequestTimeout < 0 || c.DrainTimeout < 0 || c.PollInterval < 0:
		return errors.New("loadgen: timeouts and intervals must not be negative")
	case c.PollRate < 0:
		return fmt.Errorf("loadgen: poll rate %g is negative", c.PollRate)
	case c.CatalogLimit < 1:
		return fmt.Errorf("loadgen: catalog limit %d is below 1", c.CatalogLimit)
	}
	return nil
}

// workers returns how many shoppers the run has.
func (c Config) workers() int {
	if c.Rate > 0 {
		return c.MaxInFlight
	}
	return c.Concurrency
}

// NewHTTPClient returns a client for a run with this many concurrent
// shoppers: keep-alive connections sized to them, dial, TLS and header
// timeouts, and timeout as the bound of a whole request.
func NewHTTPClient(concurrency int, timeout time.Duration) *http.Client {
	conns := concurrency + pollWorkers
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          conns,
		MaxIdleConnsPerHost:   conns,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: timeout,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{Transport: tr, Timeout: timeout}
}

// Run discovers the catalog, checks the shoppers' token, runs the load
// until Duration passes, Sessions are done or ctx ends, lets the requests
// in flight finish (up to DrainTimeout), follows the placed orders for up
// to Settle (skipped when ctx ended), and returns the report.
//
// The error is for a run that cannot start: an invalid Config, a gateway
// that cannot be reached or serves no catalog, an empty catalog, or a
// token the gateway refuses. Failed requests during the load are counted
// in the report, not returned.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.HTTPClient == nil {
		client := NewHTTPClient(cfg.workers(), cfg.RequestTimeout)
		defer client.CloseIdleConnections()
		cfg.HTTPClient = client
	}
	rec := newRecorder()
	a := &api{base: cfg.BaseURL, client: cfg.HTTPClient, rec: rec}
	cat, err := discover(ctx, a, cfg.BaseURL, cfg.CatalogLimit)
	if err != nil {
		return nil, err
	}
	if err := checkToken(ctx, a, cfg.Tokens, cfg.BaseURL); err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, api: a, rec: rec, catalog: cat, tracker: newTracker(cfg, a, rec), kinds: map[Kind]*atomic.Int64{}}
	for _, k := range Kinds {
		r.kinds[k] = new(atomic.Int64)
	}
	return r.run(ctx), nil
}

// runner owns one run's goroutines: the shoppers, the order tracker and
// the progress printer.
type runner struct {
	cfg     Config
	api     *api
	rec     *recorder
	catalog *catalog
	tracker *tracker

	kinds                     map[Kind]*atomic.Int64
	started, ok, failed       atomic.Int64
	dropped, late, arrivals   atomic.Int64
	phase                     atomic.Value // string: "load", "drain", "settle"
	begin                     time.Time
	loadEndNanos, settleNanos atomic.Int64
	loadRequests              int64 // requests answered or failed during the load
}

func (r *runner) run(ctx context.Context) *Report {
	r.begin = time.Now()
	r.phase.Store("load")
	// Requests outlive ctx for the drain; abort cuts them off.
	reqCtx, abort := context.WithCancel(context.WithoutCancel(ctx))
	defer abort()
	admit, stopLoad := context.WithTimeout(ctx, r.cfg.Duration)
	defer stopLoad()
	track, stopTracking := context.WithCancel(ctx)
	defer stopTracking()

	progressDone := make(chan struct{})
	progressCtx, stopProgress := context.WithCancel(context.Background())
	go func() {
		defer close(progressDone)
		r.progress(progressCtx)
	}()

	trackerDone := make(chan struct{})
	go func() {
		defer close(trackerDone)
		r.tracker.run(track, reqCtx)
	}()

	loadDone := make(chan struct{})
	go func() {
		defer close(loadDone)
		if r.cfg.Rate > 0 {
			r.openModel(admit, reqCtx)
		} else {
			r.closedModel(admit, reqCtx)
		}
	}()

	select {
	case <-loadDone:
	case <-admit.Done():
		r.phase.Store("drain")
		r.wait(loadDone, abort)
	}
	stopLoad()
	loadEnd := time.Now()
	r.loadEndNanos.Store(int64(loadEnd.Sub(r.begin)))
	r.loadRequests = r.rec.requests.Load()

	if ctx.Err() == nil && r.cfg.Settle > 0 && r.tracker.pending() > 0 {
		r.phase.Store("settle")
		r.settle(ctx)
	}
	r.settleNanos.Store(int64(time.Since(loadEnd)))
	stopTracking()
	r.wait(trackerDone, abort)
	stopProgress()
	<-progressDone
	return r.report(ctx.Err() != nil)
}

// wait waits for done, cutting requests off after the drain timeout.
func (r *runner) wait(done <-chan struct{}, abort context.CancelFunc) {
	t := time.NewTimer(r.cfg.DrainTimeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		abort()
		<-done
	}
}

// settle waits until every followed order is final, Settle passes or ctx
// ends.
func (r *runner) settle(ctx context.Context) {
	deadline := time.NewTimer(r.cfg.Settle)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for r.tracker.pending() > 0 {
		select {
		case <-ctx.Done():
			return
		case <-deadline.C:
			return
		case <-tick.C:
		}
	}
}

// takeSession claims one of the Sessions; false when they are used up.
func (r *runner) takeSession() bool {
	if r.cfg.Sessions <= 0 {
		return true
	}
	return r.arrivals.Add(1) <= int64(r.cfg.Sessions)
}

// closedModel runs Concurrency shoppers, each starting a session as soon
// as its previous one ends, until admit ends.
func (r *runner) closedModel(admit, reqCtx context.Context) {
	var wg sync.WaitGroup
	for id := range r.cfg.Concurrency {
		s := newShopper(id, r.cfg.Seed)
		wg.Go(func() {
			for admit.Err() == nil && r.takeSession() {
				r.session(admit, reqCtx, s)
			}
		})
	}
	wg.Wait()
}

// lateAfter returns how far behind its schedule an arrival may be
// dispatched before it counts as late: two arrival intervals, at least 20ms.
func lateAfter(rate float64) time.Duration {
	return max(time.Duration(2*float64(time.Second)/rate), 20*time.Millisecond)
}

// openModel dispatches sessions at a constant rate to a pool of
// MaxInFlight shoppers; an arrival that finds MaxInFlight sessions in
// flight is dropped.
func (r *runner) openModel(admit, reqCtx context.Context) {
	// A slot is taken per session in flight and given back when it ends,
	// so the bound holds however the shoppers' goroutines are scheduled.
	slots := make(chan struct{}, r.cfg.MaxInFlight)
	work := make(chan struct{}, r.cfg.MaxInFlight)
	var wg sync.WaitGroup
	for id := range r.cfg.MaxInFlight {
		s := newShopper(id, r.cfg.Seed)
		wg.Go(func() {
			for range work {
				r.session(admit, reqCtx, s)
				<-slots
			}
		})
	}
	defer wg.Wait()
	defer close(work)

	// The schedule starts with the run, as the Duration deadline does.
	start := r.begin
	interval := float64(time.Second) / r.cfg.Rate
	late := lateAfter(r.cfg.Rate)
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	for i := 0; ; i++ {
		offset := time.Duration(float64(i) * interval)
		if offset >= r.cfg.Duration {
			return
		}
		due := start.Add(offset)
		if wait := time.Until(due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-admit.Done():
				return
			case <-timer.C:
			}
		}
		if admit.Err() != nil || !r.takeSession() {
			return
		}
		if time.Since(due) > late {
			r.late.Add(1)
		}
		select {
		case slots <- struct{}{}:
			work <- struct{}{} // never blocks: work holds at most one item per slot
		default:
			r.dropped.Add(1)
		}
	}
}

// session plays one session of a kind drawn from the mix.
func (r *runner) session(admit, reqCtx context.Context, s *shopper) {
	kind := r.cfg.Mix.pick(s.rng)
	r.started.Add(1)
	r.kinds[kind].Add(1)
	ss := &session{r: r, s: s, admit: admit, reqCtx: reqCtx}
	switch err := ss.run(kind); {
	case err == nil:
		r.ok.Add(1)
	case errors.Is(err, errStopped):
		// Cut short by the end of the load: neither done nor failed.
	default:
		r.failed.Add(1)
	}
}
