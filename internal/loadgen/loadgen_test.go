package loadgen_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/loadgen"
	"github.com/agoracommerce/agora/internal/loadgen/loadgentest"
)

// mustShop serves a fake shop for the test.
func mustShop(tb testing.TB, opts loadgentest.Options) (*loadgentest.Shop, string) {
	tb.Helper()
	shop := loadgentest.NewShop(opts)
	srv := httptest.NewServer(shop)
	tb.Cleanup(srv.Close)
	return shop, srv.URL
}

func mustMix(tb testing.TB, s string) loadgen.Mix {
	tb.Helper()
	m, err := loadgen.ParseMix(s)
	require.NoError(tb, err)
	return m
}

// fastConfig is a run that follows orders closely and settles quickly.
func fastConfig(url string) loadgen.Config {
	return loadgen.Config{
		BaseURL:      url,
		Concurrency:  4,
		Duration:     time.Minute,
		Seed:         42,
		Tokens:       loadgen.StaticToken("shopper"),
		Settle:       10 * time.Second,
		PollInterval: 10 * time.Millisecond,
		PollRate:     2000,
	}
}

func TestRunCountsMatchTheServer(t *testing.T) {
	t.Parallel()
	shop, url := mustShop(t, loadgentest.Options{})
	cfg := fastConfig(url)
	cfg.Sessions = 400
	rep, err := loadgen.Run(context.Background(), cfg)
	require.NoError(t, err)

	require.Equal(t, int64(400), rep.Sessions.Started)
	require.Equal(t, int64(400), rep.Sessions.Completed)
	require.Zero(t, rep.Sessions.Failed)
	require.Empty(t, rep.Errors)
	require.Zero(t, rep.Requests.Errors)
	require.False(t, rep.Interrupted)

	seen := shop.Counts()
	op := func(o loadgen.Op) int { return int(rep.Operations[string(o)].Count) }
	// Discovery reads one page of the 30 products, and the token check one
	// page of carts.
	require.Equal(t, int64(2), rep.Discovery.Requests)
	require.Equal(t, 30, rep.Discovery.Products)
	require.Equal(t, 1, seen[loadgentest.ListCarts])
	require.Equal(t, seen[loadgentest.ListProducts], op(loadgen.OpBrowseList)+1)
	require.Equal(t, seen[loadgentest.SearchProducts], op(loadgen.OpSearch))
	require.Equal(t, seen[loadgentest.GetProduct], op(loadgen.OpBrowseProduct))
	require.Equal(t, seen[loadgentest.CreateCart], op(loadgen.OpCartCreate))
	require.Equal(t, seen[loadgentest.AddLine], op(loadgen.OpCartAddLine))
	require.Equal(t, seen[loadgentest.PlaceOrder], op(loadgen.OpCheckoutPlace))
	require.Equal(t, seen[loadgentest.GetOrder], op(loadgen.OpOrderPoll))
	var total int64
	for _, o := range loadgen.Ops {
		total += rep.Operations[string(o)].Count
		require.Equal(t, uint64(rep.Operations[string(o)].Count), rep.Operations[string(o)].Latency.Count, "every request was answered: %s", o)
	}
	require.Equal(t, total, rep.Requests.Total)

	// Sessions of each kind send the requests that kind sends.
	kinds := rep.Sessions.ByKind
	require.Equal(t, int64(op(loadgen.OpBrowseList)), kinds["browse"])
	require.Equal(t, int64(op(loadgen.OpSearch)), kinds["search"])
	require.Equal(t, int64(op(loadgen.OpCartCreate)), kinds["cart"]+kinds["checkout"])
	require.Equal(t, int64(op(loadgen.OpCheckoutPlace)), kinds["checkout"])
	require.Equal(t, kinds["checkout"], rep.Orders.Placed)
	require.GreaterOrEqual(t, op(loadgen.OpBrowseProduct), int(kinds["browse"]))
	require.LessOrEqual(t, op(loadgen.OpBrowseProduct), 3*int(kinds["browse"]))
	require.GreaterOrEqual(t, op(loadgen.OpCartAddLine), op(loadgen.OpCartCreate))
	require.LessOrEqual(t, op(loadgen.OpCartAddLine), 3*op(loadgen.OpCartCreate))

	// Every order was followed to COMPLETED.
	sg := rep.Saga
	require.Equal(t, rep.Orders.Placed, sg.Placed)
	require.Equal(t, sg.Placed, sg.Tracked)
	require.Equal(t, sg.Tracked, sg.Completed)
	require.Zero(t, sg.Unfinished)
	require.Equal(t, uint64(sg.Completed), sg.Completion.Count)
	require.Equal(t, map[string]int64{"COMPLETED": sg.Completed}, sg.ByStatus)
	// The fake completes an order three saga steps (3 x 30ms) after it is placed.
	require.GreaterOrEqual(t, sg.Completion.P50MS, 90.0)
	require.LessOrEqual(t, sg.Completion.P50MS, sg.Completion.P99MS)
	require.LessOrEqual(t, sg.Completion.P99MS, sg.Completion.MaxMS)
}

func TestRunMixProportions(t *testing.T) {
	t.Parallel()
	_, url := mustShop(t, loadgentest.Options{})
	cfg := fastConfig(url)
	cfg.Sessions = 1000
	cfg.TrackOrders = -1
	rep, err := loadgen.Run(context.Background(), cfg)
	require.NoError(t, err)
	require.Equal(t, int64(1000), rep.Sessions.Started)
	want := map[string]float64{"browse": 0.60, "search": 0.20, "cart": 0.12, "checkout": 0.08}
	for kind, share := range want {
		got := float64(rep.Sessions.ByKind[kind]) / 1000
		// Five standard deviations of a binomial share over 1000 sessions at most.
		require.InDelta(t, share, got, 0.08, "share of %s sessions", kind)
	}
	require.Equal(t, map[string]int{"browse": 60, "search": 20, "cart": 12, "checkout": 8}, rep.Mix)
}

func TestRunOneShopperIsReproducible(t *testing.T) {
	t.Parallel()
	_, url := mustShop(t, loadgentest.Options{})
	run := func() *loadgen.Report {
		cfg := fastConfig(url)
		cfg.Concurrency, cfg.Sessions, cfg.Seed, cfg.TrackOrders = 1, 60, 7, -1
		cfg.Mix = mustMix(t, "browse=1,search=1,cart=1,checkout=1")
		rep, err := loadgen.Run(context.Background(), cfg)
		require.NoError(t, err)
		return rep
	}
	a, b := run(), run()
	require.Equal(t, a.Sessions.ByKind, b.Sessions.ByKind)
	for _, op := range loadgen.Ops {
		require.Equal(t, a.Operations[string(op)].Count, b.Operations[string(op)].Count, "op %s", op)
	}
}

func TestRunErrorsByStatusAndCheckoutRetry(t *testing.T) {
	t.Parallel()
	shop, url := mustShop(t, loadgentest.Options{UnavailableEvery: 3})
	cfg := fastConfig(url)
	cfg.Sessions = 12
	cfg.Mix = mustMix(t, "checkout=1")
	rep, err := loadgen.Run(context.Background(), cfg)
	require.NoError(t, err)
	place := rep.Operations[string(loadgen.OpCheckoutPlace)]
	require.Equal(t, int64(shop.Counts()[loadgentest.PlaceOrder]), place.Count)
	require.Equal(t, place.Count/3, place.Errors, "every third checkout request answered 503")
	require.Equal(t, map[string]int64{"http_503": place.Errors}, rep.Errors)
	require.Equal(t, place.Errors, rep.Requests.Errors)
	// A 503 is retried with the same Idempotency-Key, so each session
	// places its order unless three attempts in a row were refused.
	require.Equal(t, int64(12), rep.Orders.Placed+rep.Sessions.Failed)
	require.Equal(t, place.Count-place.Errors, rep.Orders.Placed)
}

func TestRunSagaOutcomesAndTrackLimit(t *testing.T) {
	t.Parallel()
	_, url := mustShop(t, loadgentest.Options{RejectEvery: 4})
	cfg := fastConfig(url)
	cfg.Sessions = 40
	cfg.TrackOrders = 24
	cfg.Mix = mustMix(t, "checkout=1")
	rep, err := loadgen.Run(context.Background(), cfg)
	require.NoError(t, err)
	sg := rep.Saga
	require.Equal(t, int64(40), sg.Placed)
	require.Equal(t, int64(24), sg.Tracked)
	require.Positive(t, sg.Rejected)
	require.Equal(t, sg.Tracked, sg.Completed+sg.Rejected)
	require.Zero(t, sg.Cancelled+sg.Unfinished)
	require.Equal(t, uint64(sg.Completed), sg.Completion.Count)
	require.Equal(t, sg.Rejected, sg.ByStatus["REJECTED"])
}

func TestRunUnfinishedOrdersAfterSettle(t *testing.T) {
	t.Parallel()
	_, url := mustShop(t, loadgentest.Options{SagaStep: time.Hour})
	cfg := fastConfig(url)
	cfg.Sessions = 5
	cfg.Mix = mustMix(t, "checkout=1")
	cfg.Settle = 300 * time.Millisecond
	start := time.Now()
	rep, err := loadgen.Run(context.Background(), cfg)
	require.NoError(t, err)
	require.Less(t, time.Since(start), 20*time.Second)
	require.Equal(t, int64(5), rep.Saga.Unfinished)
	require.Equal(t, map[string]int64{"PENDING": 5}, rep.Saga.ByStatus)
	require.GreaterOrEqual(t, rep.SettleSeconds, 0.3)
	require.Zero(t, rep.Saga.Completion.Count)
}

func TestRunRateModeKeepsItsRate(t *testing.T) {
	t.Parallel()
	_, url := mustShop(t, loadgentest.Options{})
	cfg := fastConfig(url)
	cfg.Concurrency = 0
	cfg.Rate = 50
	cfg.MaxInFlight = 32
	cfg.Duration = 2 * time.Second
	cfg.TrackOrders = -1
	rep, err := loadgen.Run(context.Background(), cfg)
	require.NoError(t, err)
	require.Equal(t, "open", rep.Model)
	arrivals := rep.Sessions.Started + rep.Sessions.Dropped
	// 50 sessions a second for 2s: 100 arrivals; generous for a busy machine.
	require.GreaterOrEqual(t, arrivals, int64(80), "arrivals")
	require.LessOrEqual(t, arrivals, int64(100), "arrivals")
	require.InDelta(t, 2.0, rep.DurationSeconds, 1.5)
}

func TestRunRateModeDropsWhenShoppersAreBusy(t *testing.T) {
	t.Parallel()
	_, url := mustShop(t, loadgentest.Options{Delay: 200 * time.Millisecond})
	cfg := fastConfig(url)
	cfg.Concurrency = 0
	cfg.Rate = 40
	cfg.MaxInFlight = 2
	cfg.Duration = time.Second
	cfg.TrackOrders = -1
	cfg.DrainTimeout = 5 * time.Second
	rep, err := loadgen.Run(context.Background(), cfg)
	require.NoError(t, err)
	// Two shoppers whose sessions take at least 200ms cannot take 40 a
	// second: most arrivals are dropped.
	require.Positive(t, rep.Sessions.Dropped)
	require.LessOrEqual(t, rep.Sessions.Started, int64(12))
	require.InDelta(t, 40, rep.Sessions.Started+rep.Sessions.Dropped, 8)
}

func TestRunCancelStopsPromptly(t *testing.T) {
	t.Parallel()
	_, url := mustShop(t, loadgentest.Options{Delay: 50 * time.Millisecond})
	cfg := fastConfig(url)
	cfg.Concurrency = 8
	cfg.Duration = time.Hour
	cfg.DrainTimeout = time.Second
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(700*time.Millisecond, cancel)
	start := time.Now()
	rep, err := loadgen.Run(ctx, cfg)
	require.NoError(t, err)
	require.Less(t, time.Since(start), 10*time.Second)
	require.True(t, rep.Interrupted)
	require.Positive(t, rep.Sessions.Started)
	require.Less(t, rep.SettleSeconds, 0.5, "no settling after a cancel")
}

func TestRunDrainCutsOffSlowRequests(t *testing.T) {
	t.Parallel()
	_, url := mustShop(t, loadgentest.Options{Delay: 700 * time.Millisecond})
	cfg := fastConfig(url)
	cfg.Duration = 200 * time.Millisecond
	cfg.DrainTimeout = 100 * time.Millisecond
	cfg.TrackOrders = -1
	start := time.Now()
	rep, err := loadgen.Run(context.Background(), cfg)
	require.NoError(t, err)
	require.Less(t, time.Since(start), 10*time.Second)
	// Every shopper's first request was still waiting when the drain ran out.
	require.Equal(t, int64(4), rep.Errors[loadgen.ErrAborted])
	require.Equal(t, int64(4), rep.Sessions.Failed)
}

func TestRunRefusesToStart(t *testing.T) {
	t.Parallel()
	notShop := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(notShop.Close)
	_, empty := mustShop(t, loadgentest.Options{Products: -1})
	_, refusing := mustShop(t, loadgentest.Options{Authenticate: func(*http.Request) (string, bool) { return "", false }})
	tests := []struct {
		name, url string
		tokens    loadgen.TokenSource
		want      string
	}{
		{"not a URL", "localhost:8080", loadgen.StaticToken("t"), "not an absolute http(s) URL"},
		{"nothing listening", "http://127.0.0.1:1", loadgen.StaticToken("t"), "read the catalog at http://127.0.0.1:1"},
		{"not a gateway", notShop.URL, loadgen.StaticToken("t"), "serves no catalog"},
		{"empty catalog", empty, loadgen.StaticToken("t"), "has no active products"},
		{"refused token", refusing, loadgen.StaticToken("t"), "refuses the shoppers' token"},
		{"no token source", empty, nil, "token source is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := fastConfig(tt.url)
			cfg.Tokens = tt.tokens
			rep, err := loadgen.Run(context.Background(), cfg)
			require.ErrorContains(t, err, tt.want)
			require.Nil(t, rep)
		})
	}
}

func TestRunEveryShopperHasItsOwnSubject(t *testing.T) {
	t.Parallel()
	shop, url := mustShop(t, loadgentest.Options{})
	tokens, err := loadgen.NewMintedTokens(loadgen.MintedTokensConfig{Minter: subjectMinter{}, SubjectPrefix: "shopper-"})
	require.NoError(t, err)
	cfg := fastConfig(url)
	cfg.Concurrency = 5
	cfg.Sessions = 50
	cfg.Mix = mustMix(t, "cart=1")
	cfg.Tokens = tokens
	_, err = loadgen.Run(context.Background(), cfg)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"shopper-0", "shopper-1", "shopper-2", "shopper-3", "shopper-4"}, shop.Subjects())
}

// subjectMinter mints the subject itself as the token, which the fake
// shop takes as the caller's subject.
type subjectMinter struct{}

func (subjectMinter) Mint(subject string, _ []string, _ time.Duration) (string, error) {
	return subject, nil
}

func TestReportJSONShape(t *testing.T) {
	t.Parallel()
	_, url := mustShop(t, loadgentest.Options{})
	cfg := fastConfig(url)
	cfg.Sessions = 40
	rep, err := loadgen.Run(context.Background(), cfg)
	require.NoError(t, err)
	var b bytes.Buffer
	require.NoError(t, rep.WriteJSON(&b))
	var doc map[string]any
	require.NoError(t, json.Unmarshal(b.Bytes(), &doc))
	for _, key := range []string{"target", "model", "concurrency", "mix", "seed", "started_at", "duration_seconds", "settle_seconds",
		"interrupted", "discovery", "requests", "sessions", "orders", "operations", "errors", "saga"} {
		require.Contains(t, doc, key)
	}
	require.Equal(t, url, doc["target"])
	require.Equal(t, "closed", doc["model"])
	ops, ok := doc["operations"].(map[string]any)
	require.True(t, ok)
	require.Len(t, ops, len(loadgen.Ops))
	for _, op := range loadgen.Ops {
		o, ok := ops[string(op)].(map[string]any)
		require.True(t, ok, "operation %s", op)
		require.Contains(t, o, "count")
		require.Contains(t, o, "errors")
		lat, ok := o["latency"].(map[string]any)
		require.True(t, ok)
		for _, k := range []string{"count", "mean_ms", "p50_ms", "p95_ms", "p99_ms", "max_ms"} {
			require.Contains(t, lat, k)
		}
	}
	for _, k := range []string{"total", "errors", "per_second"} {
		require.Contains(t, doc["requests"], k)
	}
	for _, k := range []string{"started", "completed", "failed", "cut_short", "dropped", "late", "by_kind"} {
		require.Contains(t, doc["sessions"], k)
	}
	for _, k := range []string{"placed", "tracked", "completed", "rejected", "cancelled", "unfinished", "by_status", "completion", "poll_interval"} {
		require.Contains(t, doc["saga"], k)
	}
	var back loadgen.Report
	require.NoError(t, json.Unmarshal(b.Bytes(), &back))
	require.Equal(t, rep.Operations, back.Operations)
}

func TestReportText(t *testing.T) {
	t.Parallel()
	_, url := mustShop(t, loadgentest.Options{UnavailableEvery: 2})
	cfg := fastConfig(url)
	cfg.Sessions = 30
	cfg.Mix = mustMix(t, "browse=2,checkout=1")
	rep, err := loadgen.Run(context.Background(), cfg)
	require.NoError(t, err)
	var b bytes.Buffer
	require.NoError(t, rep.WriteText(&b))
	out := b.String()
	for _, want := range []string{"Agora load run against " + url, "closed model, 4 shoppers", "mix browse=2,search=0,cart=0,checkout=1, seed 42",
		"requests", "sessions", "orders", "operation", "p99 ms", "http_503", "checkout saga", "placed -> COMPLETED"} {
		require.Contains(t, out, want)
	}
	for _, op := range loadgen.Ops {
		require.Contains(t, out, string(op))
	}
}

// syncBuffer is a bytes.Buffer safe for the progress goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRunProgress(t *testing.T) {
	t.Parallel()
	_, url := mustShop(t, loadgentest.Options{Delay: 5 * time.Millisecond})
	for _, interactive := range []bool{false, true} {
		var out syncBuffer
		cfg := fastConfig(url)
		cfg.Duration = 1200 * time.Millisecond
		cfg.Progress, cfg.Interactive, cfg.ProgressInterval = &out, interactive, 200*time.Millisecond
		_, err := loadgen.Run(context.Background(), cfg)
		require.NoError(t, err)
		got := out.String()
		require.Contains(t, got, "req/s")
		require.Contains(t, got, "orders")
		if interactive {
			require.Contains(t, got, "\r\x1b[2K[")
			require.True(t, strings.HasSuffix(got, "\n"))
		} else {
			require.True(t, strings.HasPrefix(got, "loadgen: "), got)
			require.NotContains(t, got, "\r")
		}
	}
}

// firstShopperOnly gives a token to shopper 0 alone.
type firstShopperOnly struct{}

func (firstShopperOnly) Token(_ context.Context, shopper int) (string, error) {
	if shopper != 0 {
		return "", errors.New("the token endpoint is down")
	}
	return "shopper-0", nil
}

func TestRunCountsSessionsWithoutAToken(t *testing.T) {
	t.Parallel()
	shop, url := mustShop(t, loadgentest.Options{})
	cfg := fastConfig(url)
	cfg.Concurrency = 2
	cfg.Sessions = 20
	cfg.Tokens = firstShopperOnly{}
	rep, err := loadgen.Run(context.Background(), cfg)
	require.NoError(t, err)
	require.Positive(t, rep.Errors[loadgen.ErrToken])
	require.Equal(t, rep.Errors[loadgen.ErrToken], rep.Sessions.Failed)
	require.Zero(t, rep.Requests.Errors, "a session without a token sends nothing")
	require.Equal(t, []string{"shopper-0"}, shop.Subjects())
}
