package problem_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/agoracommerce/agora/internal/platform/correlation"
	"github.com/agoracommerce/agora/internal/platform/fault"
	"github.com/agoracommerce/agora/internal/platform/problem"
)

func TestWriteFillsDefaults(t *testing.T) {
	t.Parallel()
	req := httptest.NewRequest(http.MethodGet, "/v1/orders/o%2F1", nil)
	req = req.WithContext(correlation.WithID(req.Context(), "corr-7"))
	rec := httptest.NewRecorder()
	rec.Header().Set("ETag", `"3"`)
	d := problem.Validation("bad", problem.FieldError{Pointer: "/items/0/quantity", Detail: "number must be at least 1"})
	if err := problem.Write(rec, req, *d); err != nil {
		t.Fatal(err)
	}
	if rec.Code != http.StatusBadRequest || rec.Header().Get("Content-Type") != problem.ContentType || rec.Header().Get("ETag") != "" {
		t.Fatalf("status %d, headers %v", rec.Code, rec.Header())
	}
	var got map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"type": problem.TypeValidation, "title": "Invalid request", "status": float64(400), "detail": "bad",
		"instance": "/v1/orders/o%2F1", "correlation_id": "corr-7",
		"errors": []any{map[string]any{"pointer": "/items/0/quantity", "detail": "number must be at least 1"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
}

func TestWriteRepairsStatusAndTitle(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	if err := problem.Write(rec, httptest.NewRequest(http.MethodGet, "/", nil), problem.Details{Status: 200}); err != nil {
		t.Fatal(err)
	}
	var d problem.Details
	if err := json.Unmarshal(rec.Body.Bytes(), &d); err != nil {
		t.Fatal(err)
	}
	if rec.Code != 500 || d.Status != 500 || d.Title != "Internal Server Error" || d.Type != "about:blank" {
		t.Errorf("got %d %+v", rec.Code, d)
	}
}

func TestExtensionsRoundTrip(t *testing.T) {
	t.Parallel()
	in := problem.Details{
		Type: problem.TypeNotReady, Title: "Not ready", Status: 503,
		Extensions: map[string]any{"failing": []any{"kafka"}, "status": "shadowed", "retry_in": float64(3)},
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out problem.Details
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	want := in
	want.Extensions = map[string]any{"failing": []any{"kafka"}, "retry_in": float64(3)}
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

var (
	errNotFound  = errors.New("order not found")
	errCancelled = errors.New("order already cancelled")
)

type limitError struct{ limit int }

func (e *limitError) Error() string { return fmt.Sprintf("limit %d exceeded", e.limit) }

func mustMapper(t *testing.T) *problem.Mapper {
	t.Helper()
	m, err := problem.NewMapper(
		problem.Rule{Err: errNotFound, Status: 404, Type: "https://agora.dev/problems/ordering/order-not-found",
			Title: "Order not found", Detail: "no order has this ID"},
		problem.Rule{Err: errCancelled, Status: 409, Type: "https://agora.dev/problems/ordering/order-cancelled",
			Title: "Order cancelled", Detail: "the order is cancelled"},
		problem.Rule{Match: func(err error) bool { var le *limitError; return errors.As(err, &le) },
			Status: 422, Type: "https://agora.dev/problems/ordering/limit", Title: "Limit exceeded", Detail: "too many items"},
	)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMapperFromError(t *testing.T) {
	t.Parallel()
	m := mustMapper(t)
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantType   string
		wantDetail string
	}{
		{"sentinel", errNotFound, 404, "https://agora.dev/problems/ordering/order-not-found", "no order has this ID"},
		{"wrapped sentinel", fmt.Errorf("postgres: select order 42 for tenant 7: %w", errCancelled), 409,
			"https://agora.dev/problems/ordering/order-cancelled", "the order is cancelled"},
		{"typed error", fmt.Errorf("place: %w", &limitError{limit: 50}), 422, "https://agora.dev/problems/ordering/limit", "too many items"},
		{"problem passes through", fmt.Errorf("auth: %w", problem.Forbidden("not your cart")), 403, problem.TypeForbidden, "not your cart"},
		{"deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), 503, problem.TypeTimeout, problem.Timeout().Detail},
		{"retryable", fault.Retryable(errors.New("broker 10.1.1.1 down")), 503, problem.TypeUnavailable,
			"a dependency is temporarily unavailable; the request may be retried"},
		{"unknown", errors.New("pq: password authentication failed for user admin"), 500, problem.TypeInternal, problem.Internal().Detail},
		{"nil", nil, 500, problem.TypeInternal, problem.Internal().Detail},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := m.FromError(tc.err)
			if d.Status != tc.wantStatus || d.Type != tc.wantType || d.Detail != tc.wantDetail || d.Title == "" {
				t.Errorf("got %+v", d)
			}
		})
	}
}

func TestPackageFromErrorKnowsNoServiceErrors(t *testing.T) {
	t.Parallel()
	if d := problem.FromError(errNotFound); d.Status != 500 || strings.Contains(d.Detail, "order") {
		t.Errorf("got %+v", d)
	}
}

func TestNewMapperRejectsBadRules(t *testing.T) {
	t.Parallel()
	ok := problem.Rule{Err: errNotFound, Status: 404, Type: "https://agora.dev/problems/x", Title: "X"}
	tests := []struct {
		name   string
		mutate func(*problem.Rule)
		want   string
	}{
		{"no matcher", func(r *problem.Rule) { r.Err = nil }, "exactly one of Err and Match"},
		{"two matchers", func(r *problem.Rule) { r.Match = func(error) bool { return true } }, "exactly one of Err and Match"},
		{"success status", func(r *problem.Rule) { r.Status = 200 }, "status 200"},
		{"relative type", func(r *problem.Rule) { r.Type = "/problems/x" }, "absolute URI"},
		{"no title", func(r *problem.Rule) { r.Title = "" }, "title"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := ok
			tc.mutate(&r)
			if _, err := problem.NewMapper(r); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := problem.NewMapper(ok); err != nil {
		t.Errorf("valid rule rejected: %v", err)
	}
}

func TestConstructors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d          *problem.Details
		wantStatus int
		wantType   string
	}{
		{problem.NotFound("x"), 404, problem.TypeNotFound},
		{problem.MethodNotAllowed("PATCH"), 405, problem.TypeMethodNotAllowed},
		{problem.Unauthorized("x"), 401, problem.TypeUnauthorized},
		{problem.Forbidden("x"), 403, problem.TypeForbidden},
		{problem.Conflict("x"), 409, problem.TypeConflict},
		{problem.PreconditionFailed("x"), 412, problem.TypePreconditionFailed},
		{problem.PreconditionRequired("x"), 428, problem.TypePreconditionRequired},
		{problem.PayloadTooLarge(1024), 413, problem.TypePayloadTooLarge},
		{problem.UnsupportedMediaType([]string{"application/json"}), 415, problem.TypeUnsupportedMediaType},
		{problem.TooManyRequests(), 429, problem.TypeRateLimited},
		{problem.Internal(), 500, problem.TypeInternal},
		{problem.Unavailable("x"), 503, problem.TypeUnavailable},
		{problem.Timeout(), 503, problem.TypeTimeout},
		{problem.MalformedBody("x"), 400, problem.TypeMalformedBody},
	}
	for _, tc := range tests {
		if tc.d.Status != tc.wantStatus || tc.d.Type != tc.wantType || tc.d.Title == "" {
			t.Errorf("%s: got %+v", tc.wantType, tc.d)
		}
	}
	if got := problem.PayloadTooLarge(1048576).Detail; !strings.Contains(got, "1048576 bytes") {
		t.Errorf("PayloadTooLarge detail = %q", got)
	}
	if got := problem.Conflict("x").Error(); got != "409 Conflict: x" {
		t.Errorf("Error() = %q", got)
	}
}
