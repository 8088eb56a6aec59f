package idempotency_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
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

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/correlation"
	"github.com/agoracommerce/agora/internal/platform/idempotency"
	"github.com/agoracommerce/agora/internal/platform/idempotency/sqlstore"
	"github.com/agoracommerce/agora/internal/platform/problem"
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

// requireProblem checks that rec is the application/problem+json answer
// want, sent for a request to /v1/orders.
func requireProblem(t *testing.T, rec *httptest.ResponseRecorder, want problem.Details) {
	t.Helper()
	require.Equal(t, problem.ContentType, rec.Header().Get("Content-Type"))
	var got problem.Details
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
	want.Instance = "/v1/orders"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("problem (-want +got):\n%s", diff)
	}
}

// keyProblem is the 400 for a missing or malformed key.
func keyProblem(detail string) problem.Details {
	return problem.Details{Type: problem.TypeValidation, Title: "Invalid request", Status: 400, Detail: detail,
		Errors: []problem.FieldError{{Parameter: idempotency.KeyHeader, In: "header", Detail: detail}}}
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
	requireProblem(t, rec, problem.Details{Type: idempotency.TypeKeyReused, Title: "Idempotency key reused", Status: 422,
		Detail: "This Idempotency-Key was already used with a different request."})
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
			requireProblem(t, r, problem.Details{Type: idempotency.TypeKeyInFlight, Title: "Idempotency key in use", Status: 409,
				Detail: "A request with this Idempotency-Key is still being processed; retry later."})
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
	invalid := keyProblem("The Idempotency-Key header must be 1 to 255 printable ASCII characters.")
	tests := []struct {
		name, key string
		status    int
		problem   *problem.Details
	}{
		{"missing", "", 400, ptr(keyProblem("This operation requires an Idempotency-Key header."))},
		{"too long", strings.Repeat("k", 256), 400, &invalid},
		{"control character", "k\x01", 400, &invalid},
		{"non-ASCII", "clé", 400, &invalid},
		{"longest allowed", strings.Repeat("k", 255), 201, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := f.do("POST", tt.key, "alice", "{}")
			require.Equal(t, tt.status, rec.Code)
			if tt.problem != nil {
				requireProblem(t, rec, *tt.problem)
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
	requireProblem(t, rec, problem.Details{Type: problem.TypePayloadTooLarge, Title: "Request body too large", Status: 413,
		Detail: "The request body is too large."})
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

func TestProblemOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err      error
		wantType string
	}{
		{idempotency.ErrKeyRequired, problem.TypeValidation},
		{idempotency.ErrKeyInvalid, problem.TypeValidation},
		{idempotency.ErrKeyReused, idempotency.TypeKeyReused},
		{idempotency.ErrInFlight, idempotency.TypeKeyInFlight},
		{fmt.Errorf("%w: unexpected EOF", idempotency.ErrBodyUnread), problem.TypeMalformedBody},
		{idempotency.ErrBodyTooLarge, problem.TypePayloadTooLarge},
		{fmt.Errorf("%w: dial tcp 10.0.0.1:6379", idempotency.ErrUnavailable), problem.TypeUnavailable},
		{errors.New("something else"), problem.TypeInternal},
	}
	for _, tt := range tests {
		t.Run(tt.wantType, func(t *testing.T) {
			t.Parallel()
			d := idempotency.ProblemOf(tt.err)
			require.Equal(t, idempotency.StatusOf(tt.err), d.Status)
			require.Equal(t, tt.wantType, d.Type)
			require.NotEmpty(t, d.Title)
			require.NotContains(t, d.Detail, "10.0.0.1", "causes stay out of the problem")
		})
	}
}

// The problem carries the request's correlation ID, and the Retry-After set
// before it is kept.
func TestWriteProblemKeepsHeadersAndCorrelation(t *testing.T) {
	t.Parallel()
	req := httptest.NewRequest(http.MethodPost, "/v1/orders", nil)
	req = req.WithContext(correlation.WithID(context.Background(), "corr-9"))
	rec := httptest.NewRecorder()
	rec.Header().Set("Retry-After", "1")
	idempotency.WriteProblem(rec, req, idempotency.ErrInFlight)
	require.Equal(t, http.StatusConflict, rec.Code)
	require.Equal(t, "1", rec.Header().Get("Retry-After"))
	requireProblem(t, rec, problem.Details{Type: idempotency.TypeKeyInFlight, Title: "Idempotency key in use", Status: 409,
		Detail: "A request with this Idempotency-Key is still being processed; retry later.", CorrelationID: "corr-9"})
}

func ptr[T any](v T) *T { return &v }
