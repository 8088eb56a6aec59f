package httpserver_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/agoracommerce/agora/gen/openapi/testapi"
	"github.com/agoracommerce/agora/internal/platform/correlation"
	"github.com/agoracommerce/agora/internal/platform/httpserver"
	"github.com/agoracommerce/agora/internal/platform/problem"
)

func TestRequestValidation(t *testing.T) {
	t.Parallel()
	h := mustServer(t, nil, nil, nil).Handler()
	fe := func(ptr, detail string) problem.FieldError { return problem.FieldError{Pointer: ptr, Detail: detail} }
	pe := func(name, in, detail string) problem.FieldError {
		return problem.FieldError{Parameter: name, In: in, Detail: detail}
	}
	tests := []struct {
		name     string
		method   string
		target   string
		body     string
		wantType string
		want     []problem.FieldError
	}{
		{
			name: "malformed JSON", method: http.MethodPost, target: "/v1/widgets",
			body:     `{"name": "a", "quantity": }`,
			wantType: problem.TypeMalformedBody,
			want:     []problem.FieldError{fe("", "the body is not valid JSON (syntax error at byte 27)")},
		},
		{
			name: "truncated JSON", method: http.MethodPost, target: "/v1/widgets",
			body:     `{"name": "a"`,
			wantType: problem.TypeMalformedBody,
			want:     []problem.FieldError{fe("", "the body is not valid JSON")},
		},
		{
			name: "wrong types", method: http.MethodPost, target: "/v1/widgets",
			body:     `{"name": 5, "quantity": "ten", "tags": "x"}`,
			wantType: problem.TypeValidation,
			want: []problem.FieldError{
				fe("/name", "value must be a string"),
				fe("/quantity", "value must be an integer"),
				fe("/tags", "value must be an array"),
			},
		},
		{
			name: "missing required fields", method: http.MethodPost, target: "/v1/widgets",
			body:     `{"color": "red"}`,
			wantType: problem.TypeValidation,
			want: []problem.FieldError{
				fe("/name", `property "name" is missing`),
				fe("/quantity", `property "quantity" is missing`),
			},
		},
		{
			name: "unknown fields", method: http.MethodPost, target: "/v1/widgets",
			body:     `{"name": "a", "quantity": 1, "price": 3, "a/b": 1}`,
			wantType: problem.TypeValidation,
			want: []problem.FieldError{
				fe("/a~1b", `property "a/b" is unsupported`),
				fe("/price", `property "price" is unsupported`),
			},
		},
		{
			name: "enum, bounds, lengths and items", method: http.MethodPost, target: "/v1/widgets",
			body: `{"name": "` + strings.Repeat("n", 65) + `", "quantity": 1001, "color": "purple",
				"tags": ["a", "", "c", "d", "e", "f"]}`,
			wantType: problem.TypeValidation,
			want: []problem.FieldError{
				fe("/color", `value is not one of the allowed values ["red","green","blue"]`),
				fe("/name", "maximum string length is 64"),
				fe("/quantity", "number must be at most 1000"),
				fe("/tags", "maximum number of items is 5"),
				fe("/tags/1", "minimum string length is 1"),
			},
		},
		{
			name: "below minimum", method: http.MethodPost, target: "/v1/widgets",
			body:     `{"name": "a", "quantity": 0}`,
			wantType: problem.TypeValidation,
			want:     []problem.FieldError{fe("/quantity", "number must be at least 1")},
		},
		{
			name: "body not an object", method: http.MethodPost, target: "/v1/widgets",
			body:     `[1, 2]`,
			wantType: problem.TypeValidation,
			want:     []problem.FieldError{fe("", "value must be an object")},
		},
		{
			name: "path parameter format", method: http.MethodGet, target: "/v1/widgets/not-a-uuid",
			wantType: problem.TypeValidation,
			want:     []problem.FieldError{pe("widgetId", "path", `value does not match the format "uuid"`)},
		},
		{
			name: "query parameters", method: http.MethodGet, target: "/v1/widgets?limit=0&color=pink",
			wantType: problem.TypeValidation,
			want: []problem.FieldError{
				pe("color", "query", `value is not one of the allowed values ["red","green","blue"]`),
				pe("limit", "query", "number must be at least 1"),
			},
		},
		{
			name: "query parameter type", method: http.MethodGet, target: "/v1/widgets?limit=many",
			wantType: problem.TypeValidation,
			want:     []problem.FieldError{pe("limit", "query", "value cannot be read as integer")},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := do(t, h, tc.method, tc.target, tc.body, "Authorization", writer)
			if res.status != http.StatusBadRequest {
				t.Fatalf("status = %d, want 400; body %s", res.status, res.body)
			}
			p := res.problem
			if p.Type != tc.wantType || p.Status != http.StatusBadRequest || p.Title == "" {
				t.Errorf("problem = %+v, want type %s status 400", p, tc.wantType)
			}
			if diff := cmp.Diff(tc.want, p.Errors); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			if p.CorrelationID == "" || p.CorrelationID != res.header.Get(correlation.HTTPHeader) {
				t.Errorf("correlation_id %q, header %q", p.CorrelationID, res.header.Get(correlation.HTTPHeader))
			}
		})
	}
}

func TestTransportProblems(t *testing.T) {
	t.Parallel()
	h := mustServer(t, func(c *httpserver.Config) { c.MaxBodyBytes = 256 }, nil, nil).Handler()
	big := `{"name": "` + strings.Repeat("x", 300) + `", "quantity": 1}`
	tests := []struct {
		name       string
		method     string
		target     string
		body       string
		headers    []string
		wantStatus int
		wantType   string
		wantHeader [2]string
	}{
		{"oversized body", http.MethodPost, "/v1/widgets", big, nil,
			http.StatusRequestEntityTooLarge, problem.TypePayloadTooLarge, [2]string{}},
		{"wrong content type", http.MethodPost, "/v1/widgets", `{"name":"a","quantity":1}`, []string{"Content-Type", "text/plain"},
			http.StatusUnsupportedMediaType, problem.TypeUnsupportedMediaType, [2]string{}},
		{"missing content type", http.MethodPost, "/v1/widgets", `{"name":"a","quantity":1}`, []string{"Content-Type", ""},
			http.StatusUnsupportedMediaType, problem.TypeUnsupportedMediaType, [2]string{}},
		{"merge patch where only JSON is allowed", http.MethodPost, "/v1/widgets", `{"name":"a","quantity":1}`,
			[]string{"Content-Type", "application/merge-patch+json"},
			http.StatusUnsupportedMediaType, problem.TypeUnsupportedMediaType, [2]string{}},
		{"body on an operation without one", http.MethodGet, "/v1/widgets", `{}`, nil,
			http.StatusUnsupportedMediaType, problem.TypeUnsupportedMediaType, [2]string{}},
		{"unknown route", http.MethodGet, "/v1/gadgets", "", nil,
			http.StatusNotFound, problem.TypeNotFound, [2]string{}},
		{"wrong method", http.MethodDelete, "/v1/widgets", "", nil,
			http.StatusMethodNotAllowed, problem.TypeMethodNotAllowed, [2]string{"Allow", "GET"}},
		{"missing credentials", http.MethodPost, "/v1/widgets", `{"name":"a","quantity":1}`, []string{"Authorization", ""},
			http.StatusUnauthorized, problem.TypeUnauthorized, [2]string{}},
		{"missing scope", http.MethodPost, "/v1/widgets", `{"name":"a","quantity":1}`, []string{"Authorization", reader},
			http.StatusForbidden, problem.TypeForbidden, [2]string{}},
		{"authentication before validation", http.MethodPost, "/v1/widgets", `{"nope":1}`, []string{"Authorization", ""},
			http.StatusUnauthorized, problem.TypeUnauthorized, [2]string{}},
		{"missing body", http.MethodPost, "/v1/widgets", "", nil,
			http.StatusBadRequest, problem.TypeValidation, [2]string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			headers := append([]string{"Authorization", writer}, tc.headers...)
			res := do(t, h, tc.method, tc.target, tc.body, headers...)
			if res.status != tc.wantStatus || res.problem.Status != tc.wantStatus || res.problem.Type != tc.wantType {
				t.Fatalf("got %d %s, want %d %s; body %s", res.status, res.problem.Type, tc.wantStatus, tc.wantType, res.body)
			}
			if res.problem.Title == "" {
				t.Error("problem has no title")
			}
			if k := tc.wantHeader[0]; k != "" {
				if got := strings.Join(res.header.Values(k), ", "); !strings.Contains(got, tc.wantHeader[1]) {
					t.Errorf("%s = %q, want it to contain %q", k, got, tc.wantHeader[1])
				}
			}
		})
	}
}

func TestOversizedBodyOfUnknownLength(t *testing.T) {
	t.Parallel()
	h := mustServer(t, func(c *httpserver.Config) { c.MaxBodyBytes = 64 }, nil, nil).Handler()
	req := httptest.NewRequest(http.MethodPost, "/v1/widgets", strings.NewReader(`{"name":"`+strings.Repeat("x", 100)+`","quantity":1}`))
	req.ContentLength = -1 // as for a chunked upload
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", writer)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), problem.TypePayloadTooLarge) {
		t.Fatalf("got %d %s", rec.Code, rec.Body)
	}
}

func TestPanicBecomesProblem(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zapcore.DebugLevel)
	h := mustServer(t, nil, nil, zap.New(core)).Handler()
	res := do(t, h, http.MethodPost, "/v1/widgets", `{"name":"panic","quantity":1}`, "Authorization", writer)
	if res.status != http.StatusInternalServerError || res.problem.Type != problem.TypeInternal || res.problem.Status != 500 {
		t.Fatalf("got %d %+v", res.status, res.problem)
	}
	if strings.Contains(string(res.body), "hunter2") || strings.Contains(string(res.body), "secret") {
		t.Errorf("problem leaks internals: %s", res.body)
	}
	entries := logs.FilterMessage("handler panicked").All()
	if len(entries) != 1 {
		t.Fatalf("want one panic log entry, got %d", len(entries))
	}
	fields := entries[0].ContextMap()
	if !strings.Contains(fields["stack"].(string), "CreateWidget") {
		t.Errorf("logged stack does not show the handler: %v", fields["stack"])
	}
	if fields["correlation_id"] != res.problem.CorrelationID {
		t.Errorf("log correlation_id %v, problem %q", fields["correlation_id"], res.problem.CorrelationID)
	}
}

func TestHandlerErrorsMapToProblems(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zapcore.DebugLevel)
	h := mustServer(t, nil, nil, zap.New(core)).Handler()
	mustCreate(t, h, "taken")

	tests := []struct {
		name, method, target, body string
		wantStatus                 int
		wantType, wantDetail       string
	}{
		{"registered sentinel", http.MethodGet, "/v1/widgets/0190b4b0-0000-7000-8000-000000000000", "",
			http.StatusNotFound, typeWidgetNotFound, "no widget has this ID"},
		{"registered sentinel wrapped", http.MethodPost, "/v1/widgets", `{"name":"taken","quantity":1}`,
			http.StatusConflict, problem.TypeConflict, "a widget with this name exists"},
		{"problem returned by the handler", http.MethodPost, "/v1/widgets", `{"name":"blocked","quantity":1}`,
			http.StatusForbidden, problem.TypeForbidden, "widgets named blocked are not allowed"},
		{"unknown error", http.MethodPost, "/v1/widgets", `{"name":"boom","quantity":1}`,
			http.StatusInternalServerError, problem.TypeInternal, problem.Internal().Detail},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := do(t, h, tc.method, tc.target, tc.body, "Authorization", writer)
			if res.status != tc.wantStatus || res.problem.Type != tc.wantType || res.problem.Detail != tc.wantDetail {
				t.Fatalf("got %d %+v", res.status, res.problem)
			}
			if strings.Contains(string(res.body), "hunter2") || strings.Contains(string(res.body), "10.0.0.7") {
				t.Errorf("problem leaks internals: %s", res.body)
			}
		})
	}
	t.Cleanup(func() {
		if n := logs.FilterMessage("request failed").FilterField(zap.Int("status", 500)).Len(); n != 1 {
			t.Errorf("want the 500 logged once, got %d", n)
		}
	})
}

func TestCorrelationID(t *testing.T) {
	t.Parallel()
	h := mustServer(t, nil, nil, nil).Handler()
	tests := []struct {
		name, sent string
		echoed     bool
	}{
		{"valid ID echoed", "checkout-42.abc", true},
		{"invalid ID replaced", "has spaces\tand tabs", false},
		{"overlong ID replaced", strings.Repeat("a", 129), false},
		{"missing ID generated", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := do(t, h, http.MethodGet, "/v1/gadgets", "", correlation.HTTPHeader, tc.sent)
			got := res.header.Get(correlation.HTTPHeader)
			if tc.echoed && got != tc.sent {
				t.Errorf("header = %q, want %q", got, tc.sent)
			}
			if !tc.echoed && (got == tc.sent || !correlation.Valid(got)) {
				t.Errorf("header = %q, want a fresh valid ID", got)
			}
			if res.problem.CorrelationID != got {
				t.Errorf("problem correlation_id = %q, header %q", res.problem.CorrelationID, got)
			}
		})
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	h := mustServer(t, func(c *httpserver.Config) {
		c.RateLimit = httpserver.RateLimit{PerSecond: 0.01, Burst: 2}
	}, nil, nil).Handler()
	get := func(auth, ip string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/v1/widgets", nil)
		req.RemoteAddr = ip + ":4711"
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	for i := range 2 {
		if rec := get(reader, "192.0.2.1"); rec.Code != http.StatusOK {
			t.Fatalf("request %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	rec := get(reader, "192.0.2.1")
	if rec.Code != http.StatusTooManyRequests || !strings.Contains(rec.Body.String(), problem.TypeRateLimited) {
		t.Fatalf("third request: %d %s", rec.Code, rec.Body)
	}
	if ra := rec.Header().Get("Retry-After"); ra != "100" && ra != "99" {
		t.Errorf("Retry-After = %q, want about 100 seconds", ra)
	}
	// Keyed by principal: the same principal from another IP is limited,
	// another principal from the same IP is not.
	if rec := get(reader, "198.51.100.9"); rec.Code != http.StatusTooManyRequests {
		t.Errorf("same principal, other IP: %d", rec.Code)
	}
	if rec := get(writer, "192.0.2.1"); rec.Code != http.StatusOK {
		t.Errorf("other principal, same IP: %d", rec.Code)
	}
	// Anonymous callers are keyed by IP; failed authentication counts too.
	for i := range 2 {
		if rec := get("", "203.0.113.5"); rec.Code != http.StatusUnauthorized {
			t.Fatalf("anonymous %d: %d", i, rec.Code)
		}
	}
	if rec := get("", "203.0.113.5"); rec.Code != http.StatusTooManyRequests {
		t.Errorf("anonymous over the limit: %d", rec.Code)
	}
}

func TestRequestDeadline(t *testing.T) {
	t.Parallel()
	h := mustServer(t, func(c *httpserver.Config) {
		c.RequestTimeout = 50 * time.Millisecond
		c.WriteTimeout = time.Second
	}, nil, nil).Handler()
	res := do(t, h, http.MethodPost, "/v1/widgets", `{"name":"slow","quantity":1}`, "Authorization", writer)
	if res.status != http.StatusServiceUnavailable || res.problem.Type != problem.TypeTimeout {
		t.Fatalf("got %d %+v", res.status, res.problem)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	srv := mustServer(t, func(c *httpserver.Config) { c.ReadinessTimeout = 100 * time.Millisecond }, nil, nil)
	h := srv.Handler()
	if res := do(t, h, http.MethodGet, "/healthz", ""); res.status != http.StatusOK {
		t.Fatalf("healthz: %d", res.status)
	}
	srv.AddReadinessCheck("postgres", func(context.Context) error { return nil })
	if res := do(t, h, http.MethodGet, "/readyz", ""); res.status != http.StatusOK {
		t.Fatalf("readyz with healthy checks: %d %s", res.status, res.body)
	}
	srv.AddReadinessCheck("kafka", func(context.Context) error { return errors.New("dial 10.0.0.9:9092: refused") })
	srv.AddReadinessCheck("redis", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
	res := do(t, h, http.MethodGet, "/readyz", "")
	if res.status != http.StatusServiceUnavailable || res.problem.Type != problem.TypeNotReady {
		t.Fatalf("readyz: %d %+v", res.status, res.problem)
	}
	if diff := cmp.Diff([]any{"kafka", "redis"}, res.problem.Extensions["failing"]); diff != "" {
		t.Errorf("failing (-want +got):\n%s", diff)
	}
	if strings.Contains(string(res.body), "10.0.0.9") {
		t.Errorf("readiness leaks internals: %s", res.body)
	}
	if res := do(t, h, http.MethodGet, "/healthz", ""); res.status != http.StatusOK {
		t.Errorf("healthz while not ready: %d", res.status)
	}
}

func TestConditionalRequests(t *testing.T) {
	t.Parallel()
	h := mustServer(t, nil, nil, nil).Handler()
	id, etag := mustCreate(t, h, "conditional")
	if etag != `"1"` {
		t.Fatalf("ETag = %q", etag)
	}
	path := "/v1/widgets/" + id
	body := `{"name":"conditional","quantity":9}`

	if res := do(t, h, http.MethodGet, path, "", "Authorization", reader, "If-None-Match", etag); res.status != http.StatusNotModified || len(res.body) != 0 {
		t.Errorf("GET If-None-Match current: %d %s", res.status, res.body)
	}
	if res := do(t, h, http.MethodGet, path, "", "Authorization", reader, "If-None-Match", `"0", W/"1"`); res.status != http.StatusNotModified {
		t.Errorf("GET If-None-Match weak list: %d", res.status)
	}
	if res := do(t, h, http.MethodGet, path, "", "Authorization", reader, "If-None-Match", `"0"`); res.status != http.StatusOK || res.header.Get("ETag") != etag {
		t.Errorf("GET If-None-Match stale: %d %q", res.status, res.header.Get("ETag"))
	}

	tests := []struct {
		name, ifMatch string
		wantStatus    int
		wantType      string
	}{
		{"missing If-Match", "", http.StatusPreconditionRequired, problem.TypePreconditionRequired},
		{"stale If-Match", `"7"`, http.StatusPreconditionFailed, problem.TypePreconditionFailed},
		{"weak If-Match never matches", `W/"1"`, http.StatusPreconditionFailed, problem.TypePreconditionFailed},
		{"garbage If-Match", `1`, http.StatusPreconditionFailed, problem.TypePreconditionFailed},
	}
	for _, tc := range tests {
		res := do(t, h, http.MethodPut, path, body, "Authorization", writer, "If-Match", tc.ifMatch)
		if res.status != tc.wantStatus || res.problem.Type != tc.wantType || res.problem.Status != tc.wantStatus {
			t.Errorf("%s: got %d %+v", tc.name, res.status, res.problem)
		}
	}
	res := do(t, h, http.MethodPut, path, body, "Authorization", writer, "If-Match", `"0", `+etag)
	if res.status != http.StatusOK || res.header.Get("ETag") != `"2"` {
		t.Fatalf("PUT with current ETag: %d %s", res.status, res.body)
	}
	if res := do(t, h, http.MethodPut, path, body, "Authorization", writer, "If-Match", etag); res.status != http.StatusPreconditionFailed {
		t.Errorf("PUT with the replaced ETag: %d", res.status)
	}
	res = do(t, h, http.MethodPut, path, `{"quantity":10}`, "Authorization", writer, "If-Match", "*",
		"Content-Type", "application/merge-patch+json")
	if res.status != http.StatusOK || res.header.Get("ETag") != `"3"` {
		t.Errorf("merge patch with If-Match *: %d %s", res.status, res.body)
	}
}

func TestResponseValidationReportsMismatch(t *testing.T) {
	t.Parallel()
	var got []error
	h := mustServer(t, func(c *httpserver.Config) {
		c.ResponseValidation = func(_ *http.Request, err error) { got = append(got, err) }
	}, nil, nil).Handler()
	res := do(t, h, http.MethodPost, "/v1/widgets", `{"name":"bad-response","quantity":1}`, "Authorization", writer)
	if res.status != http.StatusCreated {
		t.Fatalf("status %d", res.status)
	}
	if len(got) != 1 || !strings.Contains(got[0].Error(), "quantity") {
		t.Fatalf("want one violation naming quantity, got %v", got)
	}
}

func TestRoutesOutsideTheSpecAreNotServed(t *testing.T) {
	t.Parallel()
	srv := mustServer(t, nil, nil, nil)
	srv.Router().Get("/v1/secret", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	if res := do(t, srv.Handler(), http.MethodGet, "/v1/secret", ""); res.status != http.StatusNotFound {
		t.Fatalf("got %d", res.status)
	}
}

func TestOperationMiddlewareSeesOperation(t *testing.T) {
	t.Parallel()
	seen := make(chan string, 1)
	h := mustServer(t, func(c *httpserver.Config) {
		c.OperationMiddleware = []func(http.Handler) http.Handler{func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				op, _ := httpserver.OperationFrom(r.Context())
				seen <- op.ID + " " + principalOf(r.Context())
				next.ServeHTTP(w, r)
			})
		}}
	}, nil, nil).Handler()
	if res := do(t, h, http.MethodGet, "/v1/widgets", "", "Authorization", reader); res.status != http.StatusOK {
		t.Fatalf("got %d", res.status)
	}
	// oapi-codegen's embedded spec capitalises operationIds.
	if got := <-seen; got != "ListWidgets bob" {
		t.Errorf("middleware saw %q", got)
	}
	// Invalid requests never reach operation middleware.
	if res := do(t, h, http.MethodGet, "/v1/widgets?limit=0", "", "Authorization", reader); res.status != http.StatusBadRequest {
		t.Fatalf("got %d", res.status)
	}
	select {
	case got := <-seen:
		t.Errorf("middleware ran for an invalid request: %q", got)
	default:
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	doc, err := testapi.GetSpec()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  httpserver.Config
		want string
	}{
		{"no spec", httpserver.Config{Authenticator: httpserver.NoAuth{}}, "exactly one of Spec and Document"},
		{"both specs", httpserver.Config{Spec: []byte("openapi: 3.0.3"), Document: doc, Authenticator: httpserver.NoAuth{}}, "exactly one of Spec and Document"},
		{"invalid spec", httpserver.Config{Spec: []byte("openapi: 3.0.3\ninfo: {}\npaths: {}\n")}, "spec"},
		{"secured spec without authenticator", httpserver.Config{Document: doc}, "Authenticator"},
		{"write timeout too short", httpserver.Config{Document: doc, Authenticator: httpserver.NoAuth{},
			RequestTimeout: time.Minute}, "WriteTimeout"},
		{"negative timeout", httpserver.Config{Document: doc, Authenticator: httpserver.NoAuth{}, IdleTimeout: -1}, "IdleTimeout"},
		{"rate without burst", httpserver.Config{Document: doc, Authenticator: httpserver.NoAuth{},
			RateLimit: httpserver.RateLimit{PerSecond: 1}}, "Burst"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := httpserver.New(tc.cfg, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestNewFromSpecBytes(t *testing.T) {
	t.Parallel()
	spec := []byte(`openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /v1/pings:
    get:
      operationId: ping
      responses:
        '204': {description: pong}
`)
	srv, err := httpserver.New(httpserver.Config{Spec: spec}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv.Router().Get("/v1/pings", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	if res := do(t, srv.Handler(), http.MethodGet, "/v1/pings", ""); res.status != http.StatusNoContent {
		t.Fatalf("got %d %s", res.status, res.body)
	}
}

func TestMediaTypeIsCanonicalised(t *testing.T) {
	t.Parallel()
	h := mustServer(t, nil, nil, nil).Handler()
	res := do(t, h, http.MethodPost, "/v1/widgets", `{"name":"cased","quantity":4}`,
		"Authorization", writer, "Content-Type", `Application/JSON; Charset="utf-8"`)
	if res.status != http.StatusCreated {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	id, etag := mustCreate(t, h, "cased-put")
	res = do(t, h, http.MethodPut, "/v1/widgets/"+id, `{"quantity":77}`,
		"Authorization", writer, "If-Match", etag, "Content-Type", "APPLICATION/merge-patch+JSON")
	if res.status != http.StatusOK || !strings.Contains(string(res.body), `"quantity":77`) {
		t.Fatalf("merge patch: %d %s", res.status, res.body)
	}
}

func TestSpecIsPublished(t *testing.T) {
	t.Parallel()
	h := mustServer(t, nil, nil, nil).Handler()
	res := do(t, h, http.MethodGet, httpserver.SpecPath, "")
	if res.status != http.StatusOK || !strings.Contains(string(res.body), `"/v1/widgets/{widgetId}"`) {
		t.Fatalf("got %d %.200s", res.status, res.body)
	}
}

// HEAD is answered wherever GET is: same status and headers (ETag,
// validation, authentication), no body; and 405 answers list HEAD beside
// GET.
func TestHeadMirrorsGet(t *testing.T) {
	t.Parallel()
	h := mustServer(t, nil, nil, nil).Handler()
	id, etag := mustCreate(t, h, "headed")
	path := "/v1/widgets/" + id

	get := do(t, h, http.MethodGet, path, "", "Authorization", reader)
	res := do(t, h, http.MethodHead, path, "", "Authorization", reader)
	if res.status != http.StatusOK || len(res.body) != 0 || res.header.Get("ETag") != etag ||
		res.header.Get("Content-Type") != get.header.Get("Content-Type") {
		t.Fatalf("HEAD: %d ETag %q Content-Type %q body %q", res.status, res.header.Get("ETag"), res.header.Get("Content-Type"), res.body)
	}
	if res := do(t, h, http.MethodHead, path, "", "Authorization", reader, "If-None-Match", etag); res.status != http.StatusNotModified {
		t.Errorf("HEAD If-None-Match current: %d", res.status)
	}
	if res := do(t, h, http.MethodHead, path, "", "Authorization", ""); res.status != http.StatusUnauthorized || len(res.body) != 0 {
		t.Errorf("HEAD without credentials: %d %q", res.status, res.body)
	}
	if res := do(t, h, http.MethodHead, "/healthz", ""); res.status != http.StatusOK || len(res.body) != 0 {
		t.Errorf("HEAD /healthz: %d %q", res.status, res.body)
	}
	res = do(t, h, http.MethodDelete, "/v1/widgets", "", "Authorization", writer)
	if allow := strings.Join(res.header.Values("Allow"), ", "); res.status != http.StatusMethodNotAllowed || !strings.Contains(allow, "HEAD") {
		t.Errorf("405 Allow = %q", allow)
	}
}
