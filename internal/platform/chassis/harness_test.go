package chassis_test

import (
	"bufio"
	"bytes"
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

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/sr"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/zap"

	protos "github.com/agoracommerce/agora/api/proto"
	"github.com/agoracommerce/agora/gen/openapi/testapi"
	commonv1 "github.com/agoracommerce/agora/gen/proto/agora/common/v1"
	orderingv1 "github.com/agoracommerce/agora/gen/proto/agora/ordering/v1"
	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/auth/devissuer"
	"github.com/agoracommerce/agora/internal/platform/chassis"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/httpserver"
	"github.com/agoracommerce/agora/internal/platform/idempotency"
	"github.com/agoracommerce/agora/internal/platform/idempotency/sqlstore"
	"github.com/agoracommerce/agora/internal/platform/logging"
	"github.com/agoracommerce/agora/internal/platform/outbox"
	"github.com/agoracommerce/agora/internal/platform/problem"
	"github.com/agoracommerce/agora/internal/platform/schemaregistry"
	regsqlstore "github.com/agoracommerce/agora/internal/platform/schemaregistry/sqlstore"
	"github.com/agoracommerce/agora/internal/platform/sqldb"
	"github.com/agoracommerce/agora/internal/platform/sqldb/sqldbtest"
	"github.com/agoracommerce/agora/internal/platform/telemetry"
)

const (
	scopeRead  = "widgets:read"
	scopeWrite = "widgets:write"
	source     = "agora/chassis-test"
)

// widgetAPI serves the httpserver test API the way a service would: its
// state lives in SQLite, and creating a widget writes an event to the
// outbox in the same transaction. The test API has no event schema of its
// own, so the event is the ordering envelope api/proto already holds, with
// the widget as the "order".
type widgetAPI struct {
	db      *sqldb.DB
	outbox  *outbox.Store
	codec   *events.Codec
	topic   string
	log     *zap.Logger
	created atomic.Int64
}

var _ testapi.StrictServerInterface = (*widgetAPI)(nil)

var errWidgetNotFound = errors.New("widget not found")

func (a *widgetAPI) CreateWidget(ctx context.Context, req testapi.CreateWidgetRequestObject) (testapi.CreateWidgetResponseObject, error) {
	p, ok := auth.PrincipalFrom(ctx)
	if !ok {
		return nil, auth.ErrUnauthenticated
	}
	w := testapi.Widget{Id: uuid.Must(uuid.NewV7()), Name: req.Body.Name, Quantity: req.Body.Quantity,
		Color: req.Body.Color, Tags: req.Body.Tags, Version: 1}
	env := &orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderPlaced{OrderPlaced: &orderingv1.OrderPlaced{
		OrderId: w.Id.String(), CustomerId: p.Subject,
		Lines: []*orderingv1.OrderLine{{Sku: w.Name, Quantity: int32(w.Quantity), UnitPrice: &commonv1.Money{AmountMinor: 100, Currency: "EUR"}}}, // #nosec G115 -- at most 1000 by the spec
		Total: &commonv1.Money{AmountMinor: 100 * int64(w.Quantity), Currency: "EUR"},
	}}}
	ev, err := a.codec.NewEvent(ctx, a.topic, source, w.Id.String(), env, time.Now())
	if err != nil {
		return nil, fmt.Errorf("create widget: %w", err)
	}
	err = a.db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO widgets (id, name, quantity, owner) VALUES (?, ?, ?, ?)`,
			w.Id.String(), w.Name, w.Quantity, p.Subject); err != nil {
			return fmt.Errorf("insert widget: %w", err)
		}
		return a.outbox.Add(ctx, tx, ev)
	})
	if err != nil {
		return nil, fmt.Errorf("create widget: %w", err)
	}
	a.created.Add(1)
	logging.FromContext(ctx, a.log).Info("widget created", zap.String("widget_id", w.Id.String()), zap.String("event_id", ev.Metadata.ID))
	etag := httpserver.ETag("1")
	return testapi.CreateWidget201JSONResponse{Body: w, Headers: testapi.CreateWidget201ResponseHeaders{ETag: &etag}}, nil
}

func (a *widgetAPI) ListWidgets(ctx context.Context, _ testapi.ListWidgetsRequestObject) (testapi.ListWidgetsResponseObject, error) {
	rows, err := a.db.QueryContext(ctx, `SELECT id, name, quantity FROM widgets ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list widgets: %w", err)
	}
	defer func() { _ = rows.Close() }()
	page := testapi.WidgetPage{Items: []testapi.Widget{}}
	for rows.Next() {
		w := testapi.Widget{Version: 1}
		if err := rows.Scan(&w.Id, &w.Name, &w.Quantity); err != nil {
			return nil, fmt.Errorf("list widgets: %w", err)
		}
		page.Items = append(page.Items, w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list widgets: %w", err)
	}
	return testapi.ListWidgets200JSONResponse(page), nil
}

func (a *widgetAPI) GetWidget(ctx context.Context, req testapi.GetWidgetRequestObject) (testapi.GetWidgetResponseObject, error) {
	w := testapi.Widget{Id: req.WidgetId, Version: 1}
	err := a.db.QueryRowContext(ctx, `SELECT name, quantity FROM widgets WHERE id = ?`, req.WidgetId.String()).Scan(&w.Name, &w.Quantity)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("get widget %s: %w", req.WidgetId, errWidgetNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get widget: %w", err)
	}
	return testapi.GetWidget200JSONResponse{Body: w}, nil
}

// ReplaceWidget is not exercised here; it refuses honestly.
func (a *widgetAPI) ReplaceWidget(context.Context, testapi.ReplaceWidgetRequestObject) (testapi.ReplaceWidgetResponseObject, error) {
	return nil, problem.New(http.StatusNotImplemented, problem.TypeBase+"not-implemented", "Not implemented",
		"the chassis tests do not replace widgets")
}

// logBuffer collects JSON log lines; safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines decodes every line written so far.
func (b *logBuffer) lines(tb testing.TB) []map[string]any {
	tb.Helper()
	b.mu.Lock()
	data := bytes.Clone(b.buf.Bytes())
	b.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var m map[string]any
		require.NoError(tb, json.Unmarshal(sc.Bytes(), &m), "log line %q", sc.Text())
		out = append(out, m)
	}
	require.NoError(tb, sc.Err())
	return out
}

// edge is one assembled service edge over the widgets API.
type edge struct {
	srv     *httpserver.Server
	api     *widgetAPI
	issuer  *devissuer.Issuer
	logs    *logBuffer
	spans   *tracetest.SpanRecorder
	outbox  *outbox.Store
	codec   *events.Codec
	topic   string
	respErr func() []error
}

type edgeOptions struct {
	// idempotency sets x-agora-idempotency on createWidget ("" leaves the
	// spec as it is).
	idempotency string
	rateLimit   httpserver.RateLimit
	readiness   []chassis.Check
}

// mustDocument returns the test API's spec, with createWidget's
// idempotency extension set when policy is not empty.
func mustDocument(tb testing.TB, policy string) *openapi3.T {
	tb.Helper()
	doc, err := testapi.GetSpec()
	require.NoError(tb, err)
	if policy != "" {
		post := doc.Paths.Find("/v1/widgets").Post
		if post.Extensions == nil {
			post.Extensions = map[string]any{}
		}
		post.Extensions[chassis.IdempotencyExtension] = policy
	}
	return doc
}

// mustIssuer serves a development issuer and returns it with a verifier
// that trusts it.
func mustIssuer(tb testing.TB) (*devissuer.Issuer, *auth.Verifier) {
	tb.Helper()
	var iss *devissuer.Issuer
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { iss.Handler().ServeHTTP(w, r) }))
	tb.Cleanup(jwks.Close)
	var err error
	iss, err = devissuer.New(devissuer.Config{Mode: "local", DataDir: tb.TempDir(), Issuer: jwks.URL})
	require.NoError(tb, err)
	v, err := auth.NewVerifier(iss.VerifierConfig())
	require.NoError(tb, err)
	return iss, v
}

func mustIdempotencyStore(tb testing.TB) idempotency.Store {
	tb.Helper()
	dsn := "file:" + filepath.Join(tb.TempDir(), "idempotency.db") + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)"
	require.NoError(tb, sqlstore.Migrate(sqlstore.SQLite, dsn, sqlstore.DefaultTable))
	db, err := sql.Open("sqlite", dsn)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = db.Close() })
	s, err := sqlstore.New(db, sqlstore.Config{Dialect: sqlstore.SQLite})
	require.NoError(tb, err)
	return s
}

// mustCodec returns a codec over Agora's embedded schema registry, as in
// local mode.
func mustCodec(tb testing.TB) *events.Codec {
	tb.Helper()
	store, err := regsqlstore.OpenSQLite(context.Background(), filepath.Join(tb.TempDir(), "registry.db"))
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = store.Close() })
	reg, err := schemaregistry.NewServer(store)
	require.NoError(tb, err)
	hs := httptest.NewServer(reg)
	tb.Cleanup(hs.Close)
	cl, err := sr.NewClient(sr.URLs(hs.URL))
	require.NoError(tb, err)
	codec, err := events.NewCodec(events.CodecConfig{Registry: cl, Sources: protos.FS, AutoRegister: true})
	require.NoError(tb, err)
	return codec
}

func mustMapper(tb testing.TB) *problem.Mapper {
	tb.Helper()
	m, err := problem.NewMapper(problem.Rule{Err: errWidgetNotFound, Status: http.StatusNotFound,
		Type: problem.TypeBase + "widgets/not-found", Title: "Widget not found", Detail: "no widget has this ID"})
	require.NoError(tb, err)
	return m
}

// newEdge assembles the widgets service's edge with chassis.NewHTTP and
// mounts the generated handlers on it.
func newEdge(t *testing.T, o edgeOptions) *edge {
	t.Helper()
	ctx := context.Background()
	e := &edge{logs: &logBuffer{}, spans: tracetest.NewSpanRecorder(), topic: "chassis.widgets." + uuid.NewString()}

	log, err := logging.New(logging.Config{Service: "widgets", Level: "debug", Output: e.logs})
	require.NoError(t, err)
	tel, err := telemetry.Setup(ctx, telemetry.Config{
		Service: "widgets", TracesExporter: telemetry.ExporterNone, MetricsExporter: telemetry.ExporterPrometheus,
		SampleRatio: 1, SpanProcessors: []sdktrace.SpanProcessor{e.spans},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })

	db := sqldbtest.SQLite(t)
	_, err = db.ExecContext(ctx, `CREATE TABLE widgets (id TEXT PRIMARY KEY, name TEXT NOT NULL, quantity INTEGER NOT NULL, owner TEXT NOT NULL)`)
	require.NoError(t, err)
	e.outbox, err = outbox.NewStore(ctx, db)
	require.NoError(t, err)
	e.codec = mustCodec(t)
	var verifier *auth.Verifier
	e.issuer, verifier = mustIssuer(t)

	var (
		mu       sync.Mutex
		mismatch []error
	)
	e.respErr = func() []error { mu.Lock(); defer mu.Unlock(); return append([]error(nil), mismatch...) }
	cfg := chassis.Config{
		HTTP: httpserver.Config{
			Document:  mustDocument(t, o.idempotency),
			Problems:  mustMapper(t),
			RateLimit: o.rateLimit,
			ResponseValidation: func(_ *http.Request, err error) {
				mu.Lock()
				defer mu.Unlock()
				mismatch = append(mismatch, err)
			},
		},
		BearerSchemes: []string{"bearerAuth"},
	}
	srv, err := chassis.NewHTTP(cfg, chassis.Deps{
		Logger: log, Telemetry: tel, Verifier: verifier, Idempotency: mustIdempotencyStore(t),
		Readiness: o.readiness,
	})
	require.NoError(t, err)
	e.srv = srv
	e.api = &widgetAPI{db: db, outbox: e.outbox, codec: e.codec, topic: e.topic, log: log}
	strict := testapi.NewStrictHandlerWithOptions(e.api, nil, testapi.StrictHTTPServerOptions{
		RequestErrorHandlerFunc:  srv.RequestErrorHandler,
		ResponseErrorHandlerFunc: srv.ResponseErrorHandler,
	})
	testapi.HandlerWithOptions(strict, testapi.ChiServerOptions{BaseRouter: srv.Router(), ErrorHandlerFunc: srv.RequestErrorHandler})
	t.Cleanup(func() {
		for _, err := range e.respErr() {
			t.Errorf("response does not match the spec: %v", err)
		}
	})
	return e
}

// token mints a development token for subject with scopes.
func (e *edge) token(tb testing.TB, subject string, scopes ...string) string {
	tb.Helper()
	tok, err := e.issuer.Mint(subject, scopes, time.Hour)
	require.NoError(tb, err)
	return "Bearer " + tok
}

type response struct {
	status  int
	header  http.Header
	body    []byte
	problem problem.Details
}

// do sends one request through the assembled handler; headers are
// name/value pairs.
func (e *edge) do(tb testing.TB, method, target, body string, headers ...string) response {
	tb.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] != "" {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	rec := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(rec, req)
	res := response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	if rec.Header().Get("Content-Type") == problem.ContentType {
		require.NoError(tb, json.Unmarshal(res.body, &res.problem), "problem body %s", res.body)
	}
	return res
}

// outboxBacklog counts the events waiting in the outbox.
func (e *edge) outboxBacklog(tb testing.TB) int64 {
	tb.Helper()
	st, err := e.outbox.Stats(context.Background())
	require.NoError(tb, err)
	return st.Backlog
}
