package auth_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/platform/auth"
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

	const (
		missing     = `{"type":"about:blank","title":"Unauthorized","status":401,"detail":"This operation requires a bearer token."}` + "\n"
		invalidBody = `{"type":"about:blank","title":"Unauthorized","status":401,"detail":"The bearer token is invalid or expired."}` + "\n"
		scopeBody   = `{"type":"about:blank","title":"Forbidden","status":403,"detail":"The bearer token lacks a scope this operation requires."}` + "\n"
	)
	tests := []struct {
		name      string
		handler   http.Handler
		authz     string
		status    int
		body      string
		challenge string
	}{
		{"valid token and scope", placeOrder, "Bearer " + good, 200, "customer-1", ""},
		{"lowercase scheme", placeOrder, "bearer " + good, 200, "customer-1", ""},
		{"no token", placeOrder, "", 401, missing, `Bearer realm="agora"`},
		{"basic auth", placeOrder, "Basic dXNlcjpwYXNz", 401, invalidBody, `Bearer error="invalid_token"`},
		{"expired token", placeOrder, "Bearer " + expired, 401, invalidBody, `Bearer error="invalid_token"`},
		{"missing scope", adminOnly, "Bearer " + good, 403, scopeBody, `Bearer error="insufficient_scope", scope="orders:admin"`},
		{"anonymous operation without token", public, "", 200, "anonymous", ""},
		{"anonymous operation with token", public, "Bearer " + good, 200, "customer-1", ""},
		{"anonymous operation with a bad token", public, "Bearer " + expired, 401, invalidBody, `Bearer error="invalid_token"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/v1/orders", nil)
			if tt.authz != "" {
				req.Header.Set("Authorization", tt.authz)
			}
			rec := httptest.NewRecorder()
			tt.handler.ServeHTTP(rec, req)
			require.Equal(t, tt.status, rec.Code)
			require.Equal(t, tt.body, rec.Body.String())
			require.Equal(t, tt.challenge, rec.Header().Get("WWW-Authenticate"))
			if tt.status >= 400 {
				require.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
			}
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
	require.Equal(t, 403, rec.Code)
	require.Equal(t, `{"type":"about:blank","title":"Forbidden","status":403,"detail":"The caller may not act on this resource."}`+"\n", rec.Body.String())
}
