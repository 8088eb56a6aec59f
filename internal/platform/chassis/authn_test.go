package chassis_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/chassis"
	"github.com/agoracommerce/agora/internal/platform/correlation"
	"github.com/agoracommerce/agora/internal/platform/httpserver"
	"github.com/agoracommerce/agora/internal/platform/problem"
)

// The operations' security requirements decide, through the assembled
// server, who gets in.
func TestBearerAuthThroughTheServer(t *testing.T) {
	t.Parallel()
	e := newEdge(t, edgeOptions{})
	otherIssuer, _ := mustIssuer(t)
	foreign, err := otherIssuer.Mint("customer-1", []string{scopeRead, scopeWrite}, time.Hour)
	require.NoError(t, err)
	writer := e.token(t, "customer-1", scopeRead, scopeWrite)
	reader := e.token(t, "customer-2", scopeRead)
	body := `{"name":"bolt","quantity":3}`

	tests := []struct {
		name          string
		method        string
		authz         string
		wantStatus    int
		wantType      string
		wantChallenge string
	}{
		{"read scope lists", http.MethodGet, reader, http.StatusOK, "", ""},
		{"write scope creates", http.MethodPost, writer, http.StatusCreated, "", ""},
		{"missing scope", http.MethodPost, reader, http.StatusForbidden, auth.TypeInsufficientScope,
			`Bearer error="insufficient_scope", scope="widgets:write"`},
		{"no token", http.MethodPost, "", http.StatusUnauthorized, problem.TypeUnauthorized, `Bearer realm="agora"`},
		{"no token on a read", http.MethodGet, "", http.StatusUnauthorized, problem.TypeUnauthorized, `Bearer realm="agora"`},
		{"not a bearer token", http.MethodPost, "Basic Y3VzdG9tZXI6cGFzcw==", http.StatusUnauthorized, problem.TypeUnauthorized,
			`Bearer error="invalid_token"`},
		{"another issuer's token", http.MethodPost, "Bearer " + foreign, http.StatusUnauthorized, problem.TypeUnauthorized,
			`Bearer error="invalid_token"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.api.created.Load()
			b := ""
			if tt.method == http.MethodPost {
				b = body
			}
			res := e.do(t, tt.method, "/v1/widgets", b, "Authorization", tt.authz)
			require.Equal(t, tt.wantStatus, res.status, "%s", res.body)
			require.Equal(t, tt.wantChallenge, res.header.Get("WWW-Authenticate"))
			if tt.wantStatus < 400 {
				return
			}
			require.Equal(t, problem.ContentType, res.header.Get("Content-Type"))
			require.Equal(t, tt.wantType, res.problem.Type)
			require.Equal(t, tt.wantStatus, res.problem.Status)
			require.Equal(t, res.header.Get(correlation.HTTPHeader), res.problem.CorrelationID)
			require.Equal(t, "/v1/widgets", res.problem.Instance)
			require.Equal(t, before, e.api.created.Load(), "a refused request never reaches the handler")
		})
	}
}

// Authentication comes before validation: an anonymous caller learns
// nothing about the request's shape.
func TestAuthenticationPrecedesValidation(t *testing.T) {
	t.Parallel()
	e := newEdge(t, edgeOptions{})
	res := e.do(t, http.MethodPost, "/v1/widgets", `{"name":""}`)
	require.Equal(t, http.StatusUnauthorized, res.status)
	require.Empty(t, res.problem.Errors)
	res = e.do(t, http.MethodPost, "/v1/widgets", `{"name":""}`, "Authorization", e.token(t, "c", scopeWrite))
	require.Equal(t, http.StatusBadRequest, res.status)
	require.Equal(t, problem.TypeValidation, res.problem.Type)
}

// The rate limit counts per principal: two callers from one address have
// a bucket each.
func TestRateLimitKeysByPrincipal(t *testing.T) {
	t.Parallel()
	e := newEdge(t, edgeOptions{rateLimit: httpserver.RateLimit{PerSecond: 0.001, Burst: 1}})
	alice := e.token(t, "alice", scopeRead)
	bob := e.token(t, "bob", scopeRead)
	require.Equal(t, http.StatusOK, e.do(t, http.MethodGet, "/v1/widgets", "", "Authorization", alice).status)
	require.Equal(t, http.StatusOK, e.do(t, http.MethodGet, "/v1/widgets", "", "Authorization", bob).status,
		"bob shares alice's IP address but not her bucket")
	res := e.do(t, http.MethodGet, "/v1/widgets", "", "Authorization", alice)
	require.Equal(t, http.StatusTooManyRequests, res.status)
	require.Equal(t, problem.TypeRateLimited, res.problem.Type)
	require.NotEmpty(t, res.header.Get("Retry-After"))
	require.Empty(t, res.header.Get("WWW-Authenticate"))
}

// verifierFunc adapts a function to auth.TokenVerifier.
type verifierFunc func(ctx context.Context, token string) (*auth.Principal, error)

func (f verifierFunc) Verify(ctx context.Context, token string) (*auth.Principal, error) {
	return f(ctx, token)
}

func TestBearerAuthAuthenticate(t *testing.T) {
	t.Parallel()
	keysDown := fmt.Errorf("%w: dial tcp 10.0.0.9:443: connection refused", auth.ErrKeysUnavailable)
	v := verifierFunc(func(_ context.Context, token string) (*auth.Principal, error) {
		switch token {
		case "good":
			return &auth.Principal{Subject: "customer-1", Scopes: []string{"orders:write"}}, nil
		case "keys-down":
			return nil, keysDown
		default:
			return nil, fmt.Errorf("%w: bad signature", auth.ErrInvalidToken)
		}
	})
	a, err := chassis.NewBearerAuth(v, "bearerAuth")
	require.NoError(t, err)
	secured := &httpserver.Operation{Security: openapi3.SecurityRequirements{{"bearerAuth": {"orders:write"}}}}
	admin := &httpserver.Operation{Security: openapi3.SecurityRequirements{{"bearerAuth": {"orders:admin"}}}}
	anonymous := &httpserver.Operation{}
	tests := []struct {
		name          string
		op            *httpserver.Operation
		token         string
		wantSubject   string // principal in the returned context
		wantStatus    int    // 0: admitted
		wantCause     error
		wantHeader    string
		wantHeaderVal string
	}{
		{"admitted", secured, "good", "customer-1", 0, nil, "", ""},
		{"anonymous operation, no token", anonymous, "", "", 0, nil, "", ""},
		{"anonymous operation, valid token", anonymous, "good", "customer-1", 0, nil, "", ""},
		{"anonymous operation, bad token", anonymous, "forged", "", 401, auth.ErrInvalidToken, "WWW-Authenticate", `Bearer error="invalid_token"`},
		{"no token", secured, "", "", 401, auth.ErrMissingToken, "WWW-Authenticate", `Bearer realm="agora"`},
		{"missing scope keeps the principal", admin, "good", "customer-1", 403, auth.ErrInsufficientScope,
			"WWW-Authenticate", `Bearer error="insufficient_scope", scope="orders:admin"`},
		{"keys unavailable", secured, "keys-down", "", 503, auth.ErrKeysUnavailable, "Retry-After", "5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var gotCtx context.Context
			var gotErr error
			h := a.Middleware()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				gotCtx, gotErr = a.Authenticate(r, tt.op)
				if gotErr != nil {
					_ = problem.Write(w, r, problem.FromError(gotErr))
					return
				}
				w.WriteHeader(http.StatusNoContent)
			}))
			req := httptest.NewRequest(http.MethodPost, "/v1/orders", nil)
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)

			require.NotNil(t, gotCtx)
			p, ok := auth.PrincipalFrom(gotCtx)
			require.Equal(t, tt.wantSubject != "", ok)
			if ok {
				require.Equal(t, tt.wantSubject, p.Subject)
			}
			if tt.wantStatus == 0 {
				require.NoError(t, gotErr)
				require.Equal(t, http.StatusNoContent, rec.Code)
				require.Empty(t, rec.Header().Get("WWW-Authenticate"))
				return
			}
			var d *problem.Details
			require.True(t, errors.As(gotErr, &d), "a problem comes back: %v", gotErr)
			require.Equal(t, tt.wantStatus, d.Status)
			require.ErrorIs(t, gotErr, tt.wantCause, "the cause stays in the chain for the log")
			require.Equal(t, tt.wantStatus, rec.Code)
			require.Equal(t, tt.wantHeaderVal, rec.Header().Get(tt.wantHeader))
			require.NotContains(t, rec.Body.String(), "10.0.0.9", "the cause never reaches the client")
		})
	}
}

// The challenge goes out only with the refusal it belongs to.
func TestChallengeOnlyOnItsOwnStatus(t *testing.T) {
	t.Parallel()
	a, err := chassis.NewBearerAuth(verifierFunc(func(context.Context, string) (*auth.Principal, error) {
		return nil, auth.ErrInvalidToken
	}))
	require.NoError(t, err)
	h := a.Middleware()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = a.Authenticate(r, &httpserver.Operation{})
		w.Header().Set("Retry-After", "1")
		_ = problem.Write(w, r, *problem.TooManyRequests()) // a later check answered first
	}))
	req := httptest.NewRequest(http.MethodGet, "/v1/widgets", nil)
	req.Header.Set("Authorization", "Bearer x")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, http.StatusTooManyRequests, rec.Code)
	require.Empty(t, rec.Header().Get("WWW-Authenticate"))
}

func TestNewBearerAuthNeedsAVerifier(t *testing.T) {
	t.Parallel()
	_, err := chassis.NewBearerAuth(nil)
	require.Error(t, err)
}
