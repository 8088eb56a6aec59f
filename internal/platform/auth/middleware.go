package auth

import (
	"errors"
	"net/http"
	"strings"

	"github.com/agoracommerce/agora/internal/platform/problem"
)

// Requirements are one operation's OpenAPI security requirements:
// alternatives of which one must hold, each mapping a security scheme name
// to the scopes it needs. An empty list, or an empty alternative, lets
// anonymous callers in.
type Requirements []map[string][]string

// RequirementsOf converts a spec's security requirements, such as
// kin-openapi's openapi3.SecurityRequirements, without this package
// importing the spec library.
func RequirementsOf[M ~map[string][]string](reqs []M) Requirements {
	out := make(Requirements, 0, len(reqs))
	for _, r := range reqs {
		out = append(out, map[string][]string(r))
	}
	return out
}

// Anonymous reports whether an unauthenticated caller satisfies r.
func (r Requirements) Anonymous() bool {
	if len(r) == 0 {
		return true
	}
	for _, alt := range r {
		if len(alt) == 0 {
			return true
		}
	}
	return false
}

// Check decides whether p satisfies r: nil when it does (or when r admits
// anonymous callers), ErrUnauthenticated when p is nil and a token is
// needed, a *ScopeError otherwise. Schemes not in bearerSchemes cannot be
// satisfied by a bearer token; an empty bearerSchemes treats every scheme
// as a bearer scheme.
func (r Requirements) Check(p *Principal, bearerSchemes ...string) error {
	if r.Anonymous() {
		return nil
	}
	if p == nil {
		return ErrUnauthenticated
	}
	var first []string
	for _, alt := range r {
		ok := true
		var need []string
		for scheme, scopes := range alt {
			if len(bearerSchemes) > 0 && !containsString(bearerSchemes, scheme) {
				ok = false
				continue
			}
			need = append(need, scopes...)
			if !p.HasAllScopes(scopes...) {
				ok = false
			}
		}
		if ok {
			return nil
		}
		if first == nil {
			first = need
		}
	}
	return &ScopeError{Required: first}
}

func containsString(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// ErrorWriter writes the HTTP response for an error of this package. The
// default is WriteProblem, which answers with the platform's problem+json
// documents (package problem).
type ErrorWriter func(w http.ResponseWriter, r *http.Request, err error)

// GuardConfig configures a Guard.
type GuardConfig struct {
	// Verifier checks bearer tokens. Required.
	Verifier TokenVerifier
	// BearerSchemes names the OpenAPI security schemes a bearer token
	// satisfies (for example "bearerAuth", "oauth2"). Empty means all.
	BearerSchemes []string
	// WriteError writes 401, 403 and 503 responses; nil means WriteProblem.
	WriteError ErrorWriter
}

// Guard authenticates requests and enforces per-operation scopes. Safe for
// concurrent use.
type Guard struct {
	cfg GuardConfig
}

// NewGuard validates cfg and returns a Guard.
func NewGuard(cfg GuardConfig) (*Guard, error) {
	if cfg.Verifier == nil {
		return nil, errors.New("auth: GuardConfig.Verifier is required")
	}
	if cfg.WriteError == nil {
		cfg.WriteError = WriteProblem
	}
	return &Guard{cfg: cfg}, nil
}

// Authenticate verifies the request's bearer token and returns its
// principal with Principal.Token set to the raw token. It returns (nil,
// nil) when the request carries no Authorization header, ErrInvalidToken
// for a header that is not a bearer token, and Verify's error otherwise.
func (g *Guard) Authenticate(r *http.Request) (*Principal, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, nil
	}
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return nil, invalid("authorization header is not a bearer token", nil)
	}
	raw := strings.TrimSpace(token)
	p, err := g.cfg.Verifier.Verify(r.Context(), raw)
	if err != nil || p == nil {
		return p, err
	}
	// A copy, so that a verifier handing out shared principals never sees
	// one caller's token on another's.
	withToken := *p
	withToken.Token = raw
	return &withToken, nil
}

// Admit authenticates the request and checks it against reqs: it returns
// the caller's principal (nil for an anonymous caller of an operation that
// admits one), or ErrMissingToken, an error wrapping ErrInvalidToken or
// ErrKeysUnavailable, or a *ScopeError. A bad token is refused even on an
// operation that admits anonymous callers. It writes no response: Require
// and the platform's HTTP server adapter decide how to answer.
func (g *Guard) Admit(r *http.Request, reqs Requirements) (*Principal, error) {
	p, err := g.Authenticate(r)
	if err != nil {
		return nil, err
	}
	if p == nil && !reqs.Anonymous() {
		return nil, ErrMissingToken
	}
	if err := reqs.Check(p, g.cfg.BearerSchemes...); err != nil {
		return p, err
	}
	return p, nil
}

// Require returns middleware for an operation with security requirements
// reqs: it admits the caller (Admit), puts the principal in the request
// context, and answers 401 (no or bad token), 403 (a scope is missing) or
// 503 (keys unavailable) instead of calling next.
func (g *Guard) Require(reqs Requirements) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, err := g.Admit(r, reqs)
			if err != nil {
				g.cfg.WriteError(w, r, err)
				return
			}
			if p != nil {
				r = r.WithContext(WithPrincipal(r.Context(), p))
			}
			next.ServeHTTP(w, r)
		})
	}
}

// StatusOf maps an error of this package to its HTTP status, or 500 for
// any other error.
func StatusOf(err error) int {
	switch {
	case errors.Is(err, ErrMissingToken), errors.Is(err, ErrInvalidToken), errors.Is(err, ErrUnauthenticated):
		return http.StatusUnauthorized
	case errors.Is(err, ErrInsufficientScope), errors.Is(err, ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, ErrKeysUnavailable):
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// TypeInsufficientScope is the problem type of a 403 for a token that
// lacks a scope the operation requires; other refusals of an authenticated
// caller are problem.TypeForbidden.
const TypeInsufficientScope = problem.TypeBase + "insufficient-scope"

// Problem is the problem document WriteProblem sends.
//
// Deprecated: use problem.Details, which it now is.
type Problem = problem.Details

// ProblemOf returns the problem to answer err with and the headers that go
// with it: the RFC 6750 WWW-Authenticate challenge on 401 and on a missing
// scope, Retry-After when the keys are unavailable. The detail is a fixed
// sentence per case: why a token failed is for logs, never for clients.
// Errors of other packages become the generic 500.
func ProblemOf(err error) (problem.Details, http.Header) {
	h := http.Header{}
	var d *problem.Details
	switch {
	case errors.Is(err, ErrMissingToken), errors.Is(err, ErrUnauthenticated):
		// RFC 6750 section 3.1: no error code when no credentials were sent.
		h.Set("WWW-Authenticate", `Bearer realm="agora"`)
		d = problem.Unauthorized("This operation requires a bearer token.")
	case errors.Is(err, ErrInvalidToken):
		h.Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		d = problem.Unauthorized("The bearer token is invalid or expired.")
	case errors.Is(err, ErrInsufficientScope):
		challenge := `Bearer error="insufficient_scope"`
		var se *ScopeError
		if errors.As(err, &se) && len(se.Required) > 0 {
			challenge += `, scope="` + strings.Join(se.Required, " ") + `"`
		}
		h.Set("WWW-Authenticate", challenge)
		d = problem.New(http.StatusForbidden, TypeInsufficientScope, "Insufficient scope",
			"The bearer token lacks a scope this operation requires.")
	case errors.Is(err, ErrForbidden):
		d = problem.Forbidden("The caller may not act on this resource.")
	case errors.Is(err, ErrKeysUnavailable):
		h.Set("Retry-After", "5")
		d = problem.Unavailable("Tokens cannot be checked right now.")
	default:
		d = problem.Internal()
	}
	return *d, h
}

// WriteProblem answers err with the application/problem+json document and
// headers of ProblemOf, through the platform's shared problem writer (which
// adds the correlation ID and the request path).
func WriteProblem(w http.ResponseWriter, r *http.Request, err error) {
	d, h := ProblemOf(err)
	for name, values := range h {
		w.Header()[name] = values
	}
	_ = problem.Write(w, r, d) // the client is gone; nothing else to do
}
