package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/correlation"
	"github.com/agoracommerce/agora/internal/platform/problem"
)

// specRequirement mimics a spec library's named map type
// (openapi3.SecurityRequirement).
type specRequirement map[string][]string

func TestGuard(t *testing.T) {
	t.Parallel()
	f := mustIssuer(t)
	guard, err := auth.NewGuard(auth.GuardConfig{Verifier: f.verifier(t), BearerSchemes: []string{"bearerAuth"}})
	require.NoError(t, err)
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, found := auth.PrincipalFrom(r.Context())
		if !found {
			_, _ = io.WriteString(w, "anonymous")
			return
		}
		_, _ = io.WriteString(w, p.Subject)
	})
	placeOrder := guard.Require(auth.RequirementsOf([]specRequirement{{"bearerAuth": {"orders:write"}}}))(ok)
	adminOnly := guard.Require(auth.Requirements{{"bearerAuth": {"orders:admin"}}, {"apiKey": {}}})(ok)
	public := guard.Require(auth.Requirements{{}, {"bearerAuth": {}}})(ok)

	claims := f.claims()
	claims["exp"] = int64(0)
	expired := mintToken(t, f.ec, claims)
	good := mintToken(t, f.ec, f.claims())

	missing := &problem.Details{Type: problem.TypeUnauthorized, Title: "Unauthorized", Status: 401,
		Detail: "This operation requires a bearer token.", Instance: "/v1/orders", CorrelationID: "corr-1"}
	invalidBody := &problem.Details{Type: problem.TypeUnauthorized, Title: "Unauthorized", Status: 401,
		Detail: "The bearer token is invalid or expired.", Instance: "/v1/orders", CorrelationID: "corr-1"}
	scopeBody := &problem.Details{Type: auth.TypeInsufficientScope, Title: "Insufficient scope", Status: 403,
		Detail: "The bearer token lacks a scope this operation requires.", Instance: "/v1/orders", CorrelationID: "corr-1"}
	tests := []struct {
		name      string
		handler   http.Handler
		authz     string
		status    int
		body      string           // for a success
		problem   *problem.Details // for a refusal
		challenge string
	}{
		{"valid token and scope", placeOrder, "Bearer " + good, 200, "customer-1", nil, ""},
		{"lowercase scheme", placeOrder, "bearer " + good, 200, "customer-1", nil, ""},
		{"no token", placeOrder, "", 401, "", missing, `Bearer realm="agora"`},
		{"basic auth", placeOrder, "Basic dXNlcjpwYXNz", 401, "", invalidBody, `Bearer error="invalid_token"`},
		{"expired token", placeOrder, "Bearer " + expired, 401, "", invalidBody, `Bearer error="invalid_token"`},
		{"missing scope", adminOnly, "Bearer " + good, 403, "", scopeBody, `Bearer error="insufficient_scope", scope="orders:admin"`},
		{"anonymous operation without token", public, "", 200, "anonymous", nil, ""},
		{"anonymous operation with token", public, "Bearer " + good, 200, "customer-1", nil, ""},
		{"anonymous operation with a bad token", public, "Bearer " + expired, 401, "", invalidBody, `Bearer error="invalid_token"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/v1/orders", nil)
			req = req.WithContext(correlation.WithID(req.Context(), "corr-1"))
			if tt.authz != "" {
				req.Header.Set("Authorization", tt.authz)
			}
			rec := httptest.NewRecorder()
			tt.handler.ServeHTTP(rec, req)
			require.Equal(t, tt.status, rec.Code)
			require.Equal(t, tt.challenge, rec.Header().Get("WWW-Authenticate"))
			if tt.problem == nil {
				require.Equal(t, tt.body, rec.Body.String())
				return
			}
			requireProblem(t, rec, *tt.problem)
		})
	}
}

func TestRequirementsCheck(t *testing.T) {
	t.Parallel()
	p := &auth.Principal{Subject: "s", Scopes: []string{"a", "b"}}
	tests := []struct {
		name string
		reqs auth.Requirements
		p    *auth.Principal
		want error
	}{
		{"no requirements", nil, nil, nil},
		{"all scopes present", auth.Requirements{{"oauth2": {"a", "b"}}}, p, nil},
		{"second alternative", auth.Requirements{{"oauth2": {"c"}}, {"oauth2": {"a"}}}, p, nil},
		{"one scope missing", auth.Requirements{{"oauth2": {"a", "c"}}}, p, auth.ErrInsufficientScope},
		{"no principal", auth.Requirements{{"oauth2": {"a"}}}, nil, auth.ErrUnauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.reqs.Check(tt.p)
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.want)
		})
	}
}

func TestRequireOwner(t *testing.T) {
	t.Parallel()
	customer := &auth.Principal{Subject: "customer-1", Scopes: auth.CustomerScopes()}
	other := &auth.Principal{Subject: "customer-2", Scopes: auth.CustomerScopes()}
	ordersAdmin := &auth.Principal{Subject: "ops", Scopes: []string{auth.ScopeOrdersAdmin}}
	admin := &auth.Principal{Subject: "root", Scopes: auth.AdminScopes()}
	tests := []struct {
		name string
		p    *auth.Principal
		want error
	}{
		{"owner", customer, nil},
		{"another customer", other, auth.ErrForbidden},
		{"service admin scope", ordersAdmin, nil},
		{"platform admin", admin, nil},
		{"anonymous", nil, auth.ErrUnauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			if tt.p != nil {
				ctx = auth.WithPrincipal(ctx, tt.p)
			}
			err := auth.RequireOwner(ctx, "customer-1", auth.ScopeOrdersAdmin)
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.want)
		})
	}
}

// Another principal's object becomes a 403 problem at the edge.
func TestRequireOwnerOverHTTP(t *testing.T) {
	t.Parallel()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := auth.RequireOwner(r.Context(), "customer-1"); err != nil {
			auth.WriteProblem(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	req := httptest.NewRequest(http.MethodGet, "/v1/carts/c1", nil)
	req = req.WithContext(auth.WithPrincipal(req.Context(), &auth.Principal{Subject: "customer-2"}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	requireProblem(t, rec, problem.Details{Type: problem.TypeForbidden, Title: "Forbidden", Status: 403,
		Detail: "The caller may not act on this resource.", Instance: "/v1/carts/c1"})
	require.Empty(t, rec.Header().Get("WWW-Authenticate"))
}

func TestProblemOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantType   string
		header     string
		wantHeader string
	}{
		{"missing token", auth.ErrMissingToken, 401, problem.TypeUnauthorized, "WWW-Authenticate", `Bearer realm="agora"`},
		{"no principal", fmt.Errorf("place order: %w", auth.ErrUnauthenticated), 401, problem.TypeUnauthorized, "WWW-Authenticate", `Bearer realm="agora"`},
		{"invalid token", fmt.Errorf("%w: expired", auth.ErrInvalidToken), 401, problem.TypeUnauthorized, "WWW-Authenticate", `Bearer error="invalid_token"`},
		{"scope", &auth.ScopeError{Required: []string{"a", "b"}}, 403, auth.TypeInsufficientScope, "WWW-Authenticate", `Bearer error="insufficient_scope", scope="a b"`},
		{"forbidden", auth.ErrForbidden, 403, problem.TypeForbidden, "WWW-Authenticate", ""},
		{"keys unavailable", fmt.Errorf("%w: dial tcp", auth.ErrKeysUnavailable), 503, problem.TypeUnavailable, "Retry-After", "5"},
		{"foreign error", errors.New("boom"), 500, problem.TypeInternal, "WWW-Authenticate", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, h := auth.ProblemOf(tt.err)
			require.Equal(t, tt.wantStatus, d.Status)
			require.Equal(t, auth.StatusOf(tt.err), d.Status, "ProblemOf agrees with StatusOf")
			require.Equal(t, tt.wantType, d.Type)
			require.NotEmpty(t, d.Title)
			require.NotContains(t, d.Detail, "dial tcp", "causes stay out of the problem")
			require.Equal(t, tt.wantHeader, h.Get(tt.header))
		})
	}
}

// requireProblem checks rec holds want as an application/problem+json
// response.
func requireProblem(t *testing.T, rec *httptest.ResponseRecorder, want problem.Details) {
	t.Helper()
	require.Equal(t, problem.ContentType, rec.Header().Get("Content-Type"))
	var got problem.Details
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("problem (-want +got):\n%s", diff)
	}
}
