package auth

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
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
// default is WriteProblem; a service can swap in the platform's shared
// problem+json writer.
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

// Authenticate verifies the request's bearer token. It returns (nil, nil)
// when the request carries no Authorization header, ErrInvalidToken for a
// header that is not a bearer token, and Verify's error otherwise.
func (g *Guard) Authenticate(r *http.Request) (*Principal, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, nil
	}
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return nil, invalid("authorization header is not a bearer token", nil)
	}
	return g.cfg.Verifier.Verify(r.Context(), strings.TrimSpace(token))
}

// Require returns middleware for an operation with security requirements
// reqs: it authenticates the caller, puts the principal in the request
// context, and answers 401 (no or bad token), 403 (a scope is missing) or
// 503 (keys unavailable) instead of calling next. A bad token is refused
// even on an operation that admits anonymous callers.
func (g *Guard) Require(reqs Requirements) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, err := g.Authenticate(r)
			if err != nil {
				g.cfg.WriteError(w, r, err)
				return
			}
			if p == nil && !reqs.Anonymous() {
				g.cfg.WriteError(w, r, ErrMissingToken)
				return
			}
			if err := reqs.Check(p, g.cfg.BearerSchemes...); err != nil {
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

// Problem is the RFC 9457 body WriteProblem sends.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// WriteProblem answers with an application/problem+json body for err and,
// on 401 and 403, the RFC 6750 WWW-Authenticate challenge. The detail is a
// fixed sentence per case: why a token failed is for logs, not for
// clients.
func WriteProblem(w http.ResponseWriter, _ *http.Request, err error) {
	status := StatusOf(err)
	p := Problem{Type: "about:blank", Title: http.StatusText(status), Status: status}
	switch {
	case errors.Is(err, ErrMissingToken), errors.Is(err, ErrUnauthenticated):
		// RFC 6750 section 3.1: no error code when no credentials were sent.
		w.Header().Set("WWW-Authenticate", `Bearer realm="agora"`)
		p.Detail = "This operation requires a bearer token."
	case errors.Is(err, ErrInvalidToken):
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		p.Detail = "The bearer token is invalid or expired."
	case errors.Is(err, ErrInsufficientScope):
		challenge := `Bearer error="insufficient_scope"`
		var se *ScopeError
		if errors.As(err, &se) && len(se.Required) > 0 {
			challenge += `, scope="` + strings.Join(se.Required, " ") + `"`
		}
		w.Header().Set("WWW-Authenticate", challenge)
		p.Detail = "The bearer token lacks a scope this operation requires."
	case errors.Is(err, ErrForbidden):
		p.Detail = "The caller may not act on this resource."
	case errors.Is(err, ErrKeysUnavailable):
		w.Header().Set("Retry-After", "5")
		p.Detail = "Tokens cannot be checked right now."
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(p)
}
