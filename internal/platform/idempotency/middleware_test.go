package idempotency_test

import (
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/idempotency"
	"github.com/agoracommerce/agora/internal/platform/idempotency/sqlstore"
)

func mustStore(t *testing.T) idempotency.Store {
	t.Helper()
	dsn := "file:" + filepath.Join(t.TempDir(), "idem.db") + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)"
	require.NoError(t, sqlstore.Migrate(sqlstore.SQLite, dsn, sqlstore.DefaultTable))
	db, err := sql.Open("sqlite", dsn)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	s, err := sqlstore.New(db, sqlstore.Config{Dialect: sqlstore.SQLite})
	require.NoError(t, err)
	return s
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// orderAPI counts executions and answers 201 with a body that differs per
// execution, so a replay is distinguishable from a rerun.
type orderAPI struct {
	calls  atomic.Int64
	status int
}

func (a *orderAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := a.calls.Add(1)
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Location", fmt.Sprintf("/v1/orders/o-%d", n))
	w.Header().Set("X-Not-Replayed", "x")
	status := a.status
	if status == 0 {
		status = http.StatusCreated
	}
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, `{"order":"o-%d","echo":%q}`, n, body)
}

type fixture struct {
	api   *orderAPI
	clock *clock
	srv   http.Handler
}

func newFixture(t *testing.T, opts idempotency.Options) *fixture {
	t.Helper()
	f := &fixture{api: &orderAPI{}, clock: &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}}
	opts.Clock = f.clock.Now
	mw, err := idempotency.Middleware(mustStore(t), opts)
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("POST /v1/orders", mw(f.api))
	mux.Handle("GET /v1/orders", mw(f.api))
	// A principal, when the test asks for one, as the auth guard would set.
	f.srv = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sub := r.Header.Get("X-Test-Subject"); sub != "" {
			r = r.WithContext(auth.WithPrincipal(r.Context(), &auth.Principal{Subject: sub}))
		}
		mux.ServeHTTP(w, r)
	})
	return f
}

func (f *fixture) do(method, key, subject, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "/v1/orders", strings.NewReader(body))
	if key != "" {
		req.Header.Set(idempotency.KeyHeader, key)
	}
	if subject != "" {
		req.Header.Set("X-Test-Subject", subject)
	}
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, req)
	return rec
}

func problem(status int, title, detail string) string {
	return fmt.Sprintf(`{"type":"about:blank","title":%q,"status":%d,"detail":%q}`, title, status, detail) + "\n"
}

func TestReplayIsByteIdentical(t *testing.T) {
	t.Parallel()
	f := newFixture(t, idempotency.Options{})
	first := f.do("POST", "k-1", "alice", `{"sku":"A"}`)
	require.Equal(t, 201, first.Code)
	require.Empty(t, first.Header().Get(idempotency.ReplayedHeader))

	second := f.do("POST", "k-1", "alice", `{"sku":"A"}`)
	require.Equal(t, 201, second.Code)
	require.Equal(t, first.Body.Bytes(), second.Body.Bytes())
	require.Equal(t, "true", second.Header().Get(idempotency.ReplayedHeader))
	require.Equal(t, first.Header().Get("Location"), second.Header().Get("Location"))
	require.Equal(t, "application/json", second.Header().Get("Content-Type"))
	require.Empty(t, second.Header().Get("X-Not-Replayed"), "only the replay headers are stored")
	require.EqualValues(t, 1, f.api.calls.Load())
}

func TestSameKeyOtherBodyIs422(t *testing.T) {
	t.Parallel()
	f := newFixture(t, idempotency.Options{})
	require.Equal(t, 201, f.do("POST", "k-1", "alice", `{"sku":"A"}`).Code)
	rec := f.do("POST", "k-1", "alice", `{"sku":"B"}`)
	require.Equal(t, 422, rec.Code)
	require.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
	require.Equal(t, problem(422, "Unprocessable Entity", "This Idempotency-Key was already used with a different request."), rec.Body.String())
	require.EqualValues(t, 1, f.api.calls.Load())
}

func TestKeysAreScopedToThePrincipal(t *testing.T) {
	t.Parallel()
	f := newFixture(t, idempotency.Options{})
	a := f.do("POST", "shared", "alice", `{}`)
	b := f.do("POST", "shared", "bob", `{}`)
	anon := f.do("POST", "shared", "", `{}`)
	require.Equal(t, 201, a.Code)
	require.Equal(t, 201, b.Code)
	require.Equal(t, 201, anon.Code)
	require.Empty(t, b.Header().Get(idempotency.ReplayedHeader))
	require.NotEqual(t, a.Body.String(), b.Body.String())
	require.EqualValues(t, 3, f.api.calls.Load())
}

func TestFiftyConcurrentRequestsRunOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, idempotency.Options{Required: true})
	const n = 50
	results := make([]*httptest.ResponseRecorder, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			results[i] = f.do("POST", "checkout-1", "alice", `{"cart":"c-1"}`)
		})
	}
	close(start)
	wg.Wait()
	require.EqualValues(t, 1, f.api.calls.Load(), "the handler ran exactly once")

	var fresh, replays, conflicts int
	want := `{"order":"o-1","echo":"{\"cart\":\"c-1\"}"}`
	for _, r := range results {
		switch {
		case r.Code == 201 && r.Header().Get(idempotency.ReplayedHeader) == "":
			fresh++
			require.Equal(t, want, r.Body.String())
		case r.Code == 201:
			replays++
			require.Equal(t, want, r.Body.String())
		case r.Code == 409:
			conflicts++
			require.Equal(t, problem(409, "Conflict", "A request with this Idempotency-Key is still being processed; retry later."), r.Body.String())
			require.Equal(t, "1", r.Header().Get("Retry-After"))
		default:
			t.Fatalf("unexpected response %d %s", r.Code, r.Body.String())
		}
	}
	require.Equal(t, 1, fresh)
	require.Equal(t, n-1, replays+conflicts)
	t.Logf("1 execution, %d replays, %d conflicts", replays, conflicts)
}

func TestInFlightIs409(t *testing.T) {
	t.Parallel()
	entered, release := make(chan struct{}), make(chan struct{})
	mw, err := idempotency.Middleware(mustStore(t), idempotency.Options{})
	require.NoError(t, err)
	h := mw(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(entered)
		<-release
		w.WriteHeader(201)
	}))
	send := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/v1/payments", strings.NewReader("{}"))
		req.Header.Set(idempotency.KeyHeader, "pay-1")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	done := make(chan *httptest.ResponseRecorder)
	go func() { done <- send() }()
	<-entered
	rec := send()
	require.Equal(t, 409, rec.Code)
	close(release)
	require.Equal(t, 201, (<-done).Code)
	replay := send()
	require.Equal(t, 201, replay.Code)
	require.Equal(t, "true", replay.Header().Get(idempotency.ReplayedHeader))
}

func TestServerErrorReleasesKey(t *testing.T) {
	t.Parallel()
	f := newFixture(t, idempotency.Options{})
	f.api.status = http.StatusServiceUnavailable
	require.Equal(t, 503, f.do("POST", "k", "alice", `{}`).Code)
	f.api.status = 0
	rec := f.do("POST", "k", "alice", `{}`)
	require.Equal(t, 201, rec.Code)
	require.Empty(t, rec.Header().Get(idempotency.ReplayedHeader), "the retry ran again")
	require.EqualValues(t, 2, f.api.calls.Load())

	f.api.status = http.StatusBadRequest
	require.Equal(t, 400, f.do("POST", "k-4xx", "alice", `{}`).Code)
	replay := f.do("POST", "k-4xx", "alice", `{}`)
	require.Equal(t, 400, replay.Code, "a 4xx is stored and replayed")
	require.Equal(t, "true", replay.Header().Get(idempotency.ReplayedHeader))
	require.EqualValues(t, 3, f.api.calls.Load())
}

func TestPanicReleasesKey(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	mw, err := idempotency.Middleware(mustStore(t), idempotency.Options{})
	require.NoError(t, err)
	h := mw(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) == 1 {
			panic("boom")
		}
		w.WriteHeader(201)
	}))
	send := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/v1/orders", nil)
		req.Header.Set(idempotency.KeyHeader, "k")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	require.Panics(t, func() { send() })
	require.Equal(t, 201, send().Code)
}

func TestExpiredKeyIsReusable(t *testing.T) {
	t.Parallel()
	f := newFixture(t, idempotency.Options{Retention: time.Hour})
	require.Equal(t, 201, f.do("POST", "k", "alice", `{"a":1}`).Code)
	f.clock.Advance(59 * time.Minute)
	require.Equal(t, 422, f.do("POST", "k", "alice", `{"a":2}`).Code, "still retained")
	f.clock.Advance(2 * time.Minute)
	rec := f.do("POST", "k", "alice", `{"a":2}`)
	require.Equal(t, 201, rec.Code)
	require.Empty(t, rec.Header().Get(idempotency.ReplayedHeader))
	require.EqualValues(t, 2, f.api.calls.Load())
}

func TestKeyValidation(t *testing.T) {
	t.Parallel()
	f := newFixture(t, idempotency.Options{Required: true})
	invalid := problem(400, "Bad Request", "The Idempotency-Key header must be 1 to 255 printable ASCII characters.")
	tests := []struct {
		name, key string
		status    int
		body      string
	}{
		{"missing", "", 400, problem(400, "Bad Request", "This operation requires an Idempotency-Key header.")},
		{"too long", strings.Repeat("k", 256), 400, invalid},
		{"control character", "k\x01", 400, invalid},
		{"non-ASCII", "clé", 400, invalid},
		{"longest allowed", strings.Repeat("k", 255), 201, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := f.do("POST", tt.key, "alice", "{}")
			require.Equal(t, tt.status, rec.Code)
			if tt.body != "" {
				require.Equal(t, tt.body, rec.Body.String())
				require.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
			}
		})
	}
	// Other methods pass straight through.
	require.Equal(t, 201, f.do("GET", "", "alice", "").Code)
}

func TestOptionalKeyPassesThrough(t *testing.T) {
	t.Parallel()
	f := newFixture(t, idempotency.Options{})
	require.Equal(t, 201, f.do("POST", "", "alice", "{}").Code)
	require.Equal(t, 201, f.do("POST", "", "alice", "{}").Code)
	require.EqualValues(t, 2, f.api.calls.Load())
}

func TestBodyTooLarge(t *testing.T) {
	t.Parallel()
	f := newFixture(t, idempotency.Options{MaxBodyBytes: 8})
	rec := f.do("POST", "k", "alice", `{"too":"large"}`)
	require.Equal(t, 413, rec.Code)
	require.Equal(t, problem(413, "Request Entity Too Large", "The request body is too large."), rec.Body.String())
	require.Zero(t, f.api.calls.Load())
}

func TestOversizedResponseIsSentButNotStored(t *testing.T) {
	t.Parallel()
	f := newFixture(t, idempotency.Options{MaxResponseBytes: 10})
	first := f.do("POST", "k", "alice", `{}`)
	require.Equal(t, 201, first.Code)
	require.Contains(t, first.Body.String(), `"order":"o-1"`)
	second := f.do("POST", "k", "alice", `{}`)
	require.Contains(t, second.Body.String(), `"order":"o-2"`)
}
