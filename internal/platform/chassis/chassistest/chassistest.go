// Package chassistest builds a service's HTTP edge for component tests the
// way a process assembles it — the chassis over the service's OpenAPI
// document and problem mapping, a development token issuer, an SQLite
// idempotency store — and checks every response against the spec.
package chassistest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/auth/devissuer"
	"github.com/agoracommerce/agora/internal/platform/chassis"
	"github.com/agoracommerce/agora/internal/platform/httpserver"
	"github.com/agoracommerce/agora/internal/platform/idempotency/sqlstore"
	"github.com/agoracommerce/agora/internal/platform/problem"
	"github.com/agoracommerce/agora/internal/platform/sqldb/sqldbtest"
	"github.com/agoracommerce/agora/internal/platform/telemetry"
)

// Edge is one service's HTTP edge under test.
type Edge struct {
	Server *httpserver.Server
	Issuer *devissuer.Issuer
}

// NewEdge assembles the edge: document and problems are the service's
// (httpapi.Document, httpapi.Problems), mount registers its generated
// routes. A response that does not match the spec fails the test.
func NewEdge(t *testing.T, doc *openapi3.T, problems *problem.Mapper, mount func(*httpserver.Server)) *Edge {
	t.Helper()
	ctx := context.Background()

	var issuer *devissuer.Issuer
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { issuer.Handler().ServeHTTP(w, r) }))
	t.Cleanup(jwks.Close)
	issuer, err := devissuer.New(devissuer.Config{Mode: "local", DataDir: t.TempDir(), Issuer: jwks.URL})
	require.NoError(t, err)
	verifier, err := auth.NewVerifier(issuer.VerifierConfig())
	require.NoError(t, err)

	tel, err := telemetry.Setup(ctx, telemetry.Config{Service: "component-test", TracesExporter: telemetry.ExporterNone, MetricsExporter: telemetry.ExporterNone})
	require.NoError(t, err)
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })

	db := sqldbtest.SQLite(t)
	files, err := sqlstore.Migrations(sqlstore.SQLite, sqlstore.DefaultTable)
	require.NoError(t, err)
	require.NoError(t, db.MigrateFS(ctx, files, "idempotency"))
	keys, err := sqlstore.New(db.DB, sqlstore.Config{Dialect: sqlstore.SQLite})
	require.NoError(t, err)

	var (
		mu       sync.Mutex
		mismatch []error
	)
	srv, err := chassis.NewHTTP(chassis.Config{
		HTTP: httpserver.Config{Document: doc, Problems: problems,
			ResponseValidation: func(_ *http.Request, err error) { mu.Lock(); defer mu.Unlock(); mismatch = append(mismatch, err) }},
	}, chassis.Deps{Logger: zap.NewNop(), Telemetry: tel, Verifier: verifier, Idempotency: keys})
	require.NoError(t, err)
	mount(srv)
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, err := range mismatch {
			t.Errorf("response does not match the spec: %v", err)
		}
	})
	return &Edge{Server: srv, Issuer: issuer}
}

// Token returns an Authorization header value for subject with scopes.
func (e *Edge) Token(t *testing.T, subject string, scopes ...string) string {
	t.Helper()
	tok, err := e.Issuer.Mint(subject, scopes, time.Hour)
	require.NoError(t, err)
	return "Bearer " + tok
}

// Response is one answer of the edge, decoded.
type Response struct {
	Status  int
	Header  http.Header
	Raw     []byte
	Body    map[string]any // a JSON body
	Problem problem.Details
}

// Decode unmarshals the raw body into v.
func (r Response) Decode(t *testing.T, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.Raw, v), "%s", r.Raw)
}

// Do sends one request through the whole edge. body, when not empty, is
// sent as application/json; headers are name/value pairs, pairs with an
// empty value are skipped.
func (e *Edge) Do(t *testing.T, method, target, body string, headers ...string) Response {
	t.Helper()
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
	e.Server.Handler().ServeHTTP(rec, req)
	res := Response{Status: rec.Code, Header: rec.Header(), Raw: rec.Body.Bytes()}
	switch rec.Header().Get("Content-Type") {
	case problem.ContentType:
		require.NoError(t, json.Unmarshal(res.Raw, &res.Problem), "problem %s", res.Raw)
	case "application/json":
		require.NoError(t, json.Unmarshal(res.Raw, &res.Body), "%s", res.Raw)
	}
	return res
}

// RequireProblem asserts a problem+json answer of the status and type.
func RequireProblem(t *testing.T, res Response, status int, typ string) {
	t.Helper()
	require.Equal(t, status, res.Status, "problem %+v", res.Problem)
	require.Equal(t, typ, res.Problem.Type)
}

// RequirePointer asserts a validation problem whose first field error
// points at pointer.
func RequirePointer(t *testing.T, res Response, pointer string) {
	t.Helper()
	RequireProblem(t, res, http.StatusBadRequest, problem.TypeValidation)
	require.NotEmpty(t, res.Problem.Errors)
	require.Equal(t, pointer, res.Problem.Errors[0].Pointer)
}
