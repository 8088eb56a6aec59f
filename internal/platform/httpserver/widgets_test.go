package httpserver_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/agoracommerce/agora/gen/openapi/testapi"
	"github.com/agoracommerce/agora/internal/platform/httpserver"
	"github.com/agoracommerce/agora/internal/platform/problem"
)

// Errors of the widgets "domain" the test API serves.
var (
	errWidgetNotFound = errors.New("widget not found")
	errDuplicateName  = errors.New("widget name taken")
)

const typeWidgetNotFound = "https://agora.dev/problems/widgets/not-found"

// widgets implements the generated strict server over an in-memory store.
// With faults set, a few magic names make it misbehave on purpose.
type widgets struct {
	faults bool

	mu    sync.Mutex
	items map[uuid.UUID]testapi.Widget
}

var _ testapi.StrictServerInterface = (*widgets)(nil)

func newWidgets(faults bool) *widgets {
	return &widgets{faults: faults, items: make(map[uuid.UUID]testapi.Widget)}
}

func etagOf(w testapi.Widget) string { return httpserver.ETag(strconv.FormatInt(w.Version, 10)) }

func (s *widgets) ListWidgets(_ context.Context, req testapi.ListWidgetsRequestObject) (testapi.ListWidgetsResponseObject, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	page := testapi.WidgetPage{Items: []testapi.Widget{}}
	for _, w := range s.items {
		if req.Params.Color != nil && (w.Color == nil || *w.Color != *req.Params.Color) {
			continue
		}
		page.Items = append(page.Items, w)
	}
	return testapi.ListWidgets200JSONResponse(page), nil
}

func (s *widgets) CreateWidget(ctx context.Context, req testapi.CreateWidgetRequestObject) (testapi.CreateWidgetResponseObject, error) {
	if s.faults {
		switch req.Body.Name {
		case "panic":
			panic("secret internal state: db password hunter2")
		case "boom":
			return nil, fmt.Errorf("insert widget: dial tcp 10.0.0.7:5432: password hunter2 rejected")
		case "slow":
			<-ctx.Done()
			return nil, fmt.Errorf("create widget: %w", ctx.Err())
		case "bad-response":
			return testapi.CreateWidget201JSONResponse{Body: testapi.Widget{Name: "x", Quantity: 0, Version: 0}}, nil
		case "blocked":
			return nil, problem.Forbidden("widgets named blocked are not allowed")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range s.items {
		if w.Name == req.Body.Name {
			return nil, fmt.Errorf("create widget %q: %w", req.Body.Name, errDuplicateName)
		}
	}
	w := testapi.Widget{
		Id: uuid.Must(uuid.NewV7()), Name: req.Body.Name, Quantity: req.Body.Quantity,
		Color: req.Body.Color, Tags: req.Body.Tags, Version: 1,
	}
	s.items[w.Id] = w
	return testapi.CreateWidget201JSONResponse{Body: w, Headers: testapi.CreateWidget201ResponseHeaders{ETag: ptr(etagOf(w))}}, nil
}

func (s *widgets) GetWidget(_ context.Context, req testapi.GetWidgetRequestObject) (testapi.GetWidgetResponseObject, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, ok := s.items[req.WidgetId]
	if !ok {
		return nil, fmt.Errorf("get widget %s: %w", req.WidgetId, errWidgetNotFound)
	}
	if httpserver.IfNoneMatchHeader(req.Params.IfNoneMatch, etagOf(w)) {
		return testapi.GetWidget304Response{}, nil
	}
	return testapi.GetWidget200JSONResponse{Body: w, Headers: testapi.GetWidget200ResponseHeaders{ETag: ptr(etagOf(w))}}, nil
}

func (s *widgets) ReplaceWidget(_ context.Context, req testapi.ReplaceWidgetRequestObject) (testapi.ReplaceWidgetResponseObject, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, ok := s.items[req.WidgetId]
	if !ok {
		return nil, fmt.Errorf("replace widget %s: %w", req.WidgetId, errWidgetNotFound)
	}
	if err := httpserver.CheckIfMatchHeader(req.Params.IfMatch, etagOf(w), true); err != nil {
		return nil, err
	}
	switch {
	case req.JSONBody != nil:
		w.Name, w.Quantity, w.Color, w.Tags = req.JSONBody.Name, req.JSONBody.Quantity, req.JSONBody.Color, req.JSONBody.Tags
	case req.ApplicationMergePatchPlusJSONBody != nil:
		p := req.ApplicationMergePatchPlusJSONBody
		if p.Name != nil {
			w.Name = *p.Name
		}
		if p.Quantity != nil {
			w.Quantity = *p.Quantity
		}
		if p.Color != nil {
			w.Color = p.Color
		}
	}
	w.Version++
	s.items[w.Id] = w
	return testapi.ReplaceWidget200JSONResponse{Body: w, Headers: testapi.ReplaceWidget200ResponseHeaders{ETag: ptr(etagOf(w))}}, nil
}

// tokenAuth is the test Authenticator: "Bearer <principal>;<scope>,<scope>".
type tokenAuth struct{}

type principalKey struct{}

func (tokenAuth) Authenticate(r *http.Request, op *httpserver.Operation) (context.Context, error) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		if op.AllowsAnonymous() {
			return r.Context(), nil
		}
		return nil, problem.Unauthorized("a bearer token is required")
	}
	principal, scopeList, _ := strings.Cut(token, ";")
	if principal == "" {
		return nil, problem.Unauthorized("the bearer token is invalid")
	}
	ctx := context.WithValue(r.Context(), principalKey{}, principal)
	granted := map[string]bool{}
	for s := range strings.SplitSeq(scopeList, ",") {
		granted[s] = true
	}
	want, _ := op.Scopes("bearerAuth")
	for _, s := range want {
		if !granted[s] {
			return ctx, problem.Forbidden("the token lacks scope " + s)
		}
	}
	return ctx, nil
}

func principalOf(ctx context.Context) string {
	p, _ := ctx.Value(principalKey{}).(string)
	return p
}

const (
	writer = "Bearer alice;widgets:read,widgets:write"
	reader = "Bearer bob;widgets:read"
)

func mustMapper(tb testing.TB) *problem.Mapper {
	tb.Helper()
	m, err := problem.NewMapper(
		problem.Rule{Err: errWidgetNotFound, Status: http.StatusNotFound, Type: typeWidgetNotFound,
			Title: "Widget not found", Detail: "no widget has this ID"},
		problem.Rule{Err: errDuplicateName, Status: http.StatusConflict, Type: problem.TypeConflict,
			Title: "Conflict", Detail: "a widget with this name exists"},
	)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// mustServer builds a server over the test API with the widgets mounted,
// validating every response against the spec.
func mustServer(tb testing.TB, mutate func(*httpserver.Config), impl *widgets, logger *zap.Logger) *httpserver.Server {
	tb.Helper()
	doc, err := testapi.GetSpec()
	if err != nil {
		tb.Fatal(err)
	}
	var (
		mu       sync.Mutex
		finished bool
	)
	if t, ok := tb.(*testing.T); ok {
		t.Cleanup(func() { mu.Lock(); finished = true; mu.Unlock() })
	}
	cfg := httpserver.Config{
		Document:      doc,
		Authenticator: tokenAuth{},
		Principal:     principalOf,
		Problems:      mustMapper(tb),
		ResponseValidation: func(r *http.Request, err error) {
			mu.Lock()
			defer mu.Unlock()
			if !finished {
				tb.Errorf("response does not match the spec: %v", err)
			}
		},
	}
	if mutate != nil {
		mutate(&cfg)
	}
	srv, err := httpserver.New(cfg, logger)
	if err != nil {
		tb.Fatal(err)
	}
	if impl == nil {
		impl = newWidgets(true)
	}
	strict := testapi.NewStrictHandlerWithOptions(impl, nil, testapi.StrictHTTPServerOptions{
		RequestErrorHandlerFunc:  srv.RequestErrorHandler,
		ResponseErrorHandlerFunc: srv.ResponseErrorHandler,
	})
	testapi.HandlerWithOptions(strict, testapi.ChiServerOptions{
		BaseRouter:       srv.Router(),
		ErrorHandlerFunc: srv.RequestErrorHandler,
	})
	return srv
}

type response struct {
	status  int
	header  http.Header
	body    []byte
	problem problem.Details
}

// do sends one request through the handler. headers are name/value pairs.
func do(tb testing.TB, h http.Handler, method, target, body string, headers ...string) response {
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
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	if ct := rec.Header().Get("Content-Type"); ct == problem.ContentType && method != http.MethodHead {
		if err := json.Unmarshal(res.body, &res.problem); err != nil {
			tb.Fatalf("problem body %q: %v", res.body, err)
		}
	}
	return res
}

// mustCreate creates a widget and returns its ID and ETag.
func mustCreate(tb testing.TB, h http.Handler, name string) (string, string) {
	tb.Helper()
	res := do(tb, h, http.MethodPost, "/v1/widgets", `{"name":"`+name+`","quantity":3,"color":"red"}`, "Authorization", writer)
	if res.status != http.StatusCreated {
		tb.Fatalf("create: %d %s", res.status, res.body)
	}
	var w testapi.Widget
	if err := json.Unmarshal(res.body, &w); err != nil {
		tb.Fatal(err)
	}
	return w.Id.String(), res.header.Get("ETag")
}

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func ptr[T any](v T) *T { return &v }
