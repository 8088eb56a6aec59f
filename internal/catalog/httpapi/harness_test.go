package httpapi_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/sr"
	"go.uber.org/zap"

	protos "github.com/agoracommerce/agora/api/proto"
	catalogv1 "github.com/agoracommerce/agora/gen/proto/agora/catalog/v1"
	"github.com/agoracommerce/agora/internal/catalog/app"
	"github.com/agoracommerce/agora/internal/catalog/httpapi"
	"github.com/agoracommerce/agora/internal/catalog/sqlstore"
	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/auth/devissuer"
	"github.com/agoracommerce/agora/internal/platform/chassis"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/httpserver"
	idemsql "github.com/agoracommerce/agora/internal/platform/idempotency/sqlstore"
	"github.com/agoracommerce/agora/internal/platform/outbox"
	"github.com/agoracommerce/agora/internal/platform/problem"
	"github.com/agoracommerce/agora/internal/platform/schemaregistry"
	regsqlstore "github.com/agoracommerce/agora/internal/platform/schemaregistry/sqlstore"
	"github.com/agoracommerce/agora/internal/platform/sqldb/sqldbtest"
	"github.com/agoracommerce/agora/internal/platform/telemetry"
)

// service is the catalog's HTTP edge assembled as in production, over a
// real SQLite store, a development token issuer and an embedded schema
// registry.
type service struct {
	srv    *httpserver.Server
	issuer *devissuer.Issuer
	outbox *outbox.Store
	codec  *events.Codec
}

func newService(t *testing.T) *service {
	t.Helper()
	ctx := context.Background()
	s := &service{}
	tel, err := telemetry.Setup(ctx, telemetry.Config{Service: "catalog", TracesExporter: telemetry.ExporterNone, MetricsExporter: telemetry.ExporterNone})
	require.NoError(t, err)
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })

	db := sqldbtest.SQLite(t)
	s.outbox, err = outbox.NewStore(ctx, db)
	require.NoError(t, err)
	s.codec = mustCodec(t)
	store, err := sqlstore.New(ctx, db, s.outbox, s.codec)
	require.NoError(t, err)
	svc, err := app.New(app.Config{Products: store, Categories: store})
	require.NoError(t, err)

	var verifier *auth.Verifier
	s.issuer, verifier = mustIssuer(t)

	var (
		mu       sync.Mutex
		mismatch []error
	)
	cfg := chassis.Config{HTTP: httpserver.Config{ResponseValidation: func(_ *http.Request, err error) {
		mu.Lock()
		defer mu.Unlock()
		mismatch = append(mismatch, err)
	}}}
	s.srv, err = httpapi.NewHTTP(cfg, chassis.Deps{Logger: zap.NewNop(), Telemetry: tel, Verifier: verifier,
		Idempotency: mustIdempotencyStore(t)}, svc)
	require.NoError(t, err)
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, err := range mismatch {
			t.Errorf("response does not match the spec: %v", err)
		}
	})
	return s
}

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

func mustIdempotencyStore(tb testing.TB) *idemsql.Store {
	tb.Helper()
	dsn := "file:" + filepath.Join(tb.TempDir(), "idempotency.db") + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)"
	require.NoError(tb, idemsql.Migrate(idemsql.SQLite, dsn, idemsql.DefaultTable))
	db, err := sql.Open("sqlite", dsn)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = db.Close() })
	s, err := idemsql.New(db, idemsql.Config{Dialect: idemsql.SQLite})
	require.NoError(tb, err)
	return s
}

// token mints a bearer token for subject with scopes.
func (s *service) token(tb testing.TB, subject string, scopes ...string) string {
	tb.Helper()
	tok, err := s.issuer.Mint(subject, scopes, time.Hour)
	require.NoError(tb, err)
	return "Bearer " + tok
}

func (s *service) admin(tb testing.TB) string { return s.token(tb, "operator", auth.AdminScopes()...) }
func (s *service) customer(tb testing.TB) string {
	return s.token(tb, "shopper", auth.CustomerScopes()...)
}

type response struct {
	status  int
	header  http.Header
	body    []byte
	problem problem.Details
}

// decode unmarshals the JSON body into v.
func (r response) decode(tb testing.TB, v any) {
	tb.Helper()
	require.NoError(tb, json.Unmarshal(r.body, v), "body %s", r.body)
}

// do sends one request; headers are name/value pairs, empty values skipped.
func (s *service) do(tb testing.TB, method, target, body string, headers ...string) response {
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
	s.srv.Handler().ServeHTTP(rec, req)
	res := response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	if rec.Header().Get("Content-Type") == problem.ContentType {
		require.NoError(tb, json.Unmarshal(res.body, &res.problem), "problem body %s", res.body)
	}
	return res
}

// outboxEvents decodes every event waiting in the outbox, oldest first.
func (s *service) outboxEvents(tb testing.TB) []*catalogv1.ProductEvent {
	tb.Helper()
	rows, err := s.outbox.Claim(context.Background(), "httpapi-test", 1000, time.Hour)
	require.NoError(tb, err)
	out := make([]*catalogv1.ProductEvent, 0, len(rows))
	for _, row := range rows {
		msg, err := s.codec.Decode(context.Background(), row.Event.Value)
		require.NoError(tb, err)
		env, ok := msg.(*catalogv1.ProductEvent)
		require.True(tb, ok, "outbox holds a %T", msg)
		out = append(out, env)
	}
	return out
}
