package chassis

import (
	"context"
	"fmt"
	"net/http"

	"github.com/felixge/httpsnoop"

	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/httpserver"
)

// BearerAuth is the httpserver.Authenticator of Agora's APIs: the
// operation's OpenAPI security requirements decide which scopes the bearer
// token must carry (auth.Guard), and the verified caller goes into the
// request context (auth.PrincipalFrom). Operations that admit anonymous
// callers pass without a token, but a token that is sent must be valid.
//
// Refusals come back as *problem.Details that httpserver sends: 401 for a
// missing or bad token, 403 (auth.TypeInsufficientScope) for a missing
// scope, 503 when the issuer's keys cannot be fetched; the underlying auth
// error is wrapped for the server's log. Their RFC 6750 WWW-Authenticate
// challenge (or Retry-After) needs the response, which the Authenticator
// interface does not give: Middleware must wrap the server's requests
// for those headers to be sent. NewHTTP installs both. Safe for concurrent
// use.
type BearerAuth struct {
	guard *auth.Guard
}

var _ httpserver.Authenticator = (*BearerAuth)(nil)

// NewBearerAuth returns a BearerAuth over v. bearerSchemes names the spec's
// security schemes a bearer token satisfies; none means every scheme.
func NewBearerAuth(v auth.TokenVerifier, bearerSchemes ...string) (*BearerAuth, error) {
	g, err := auth.NewGuard(auth.GuardConfig{Verifier: v, BearerSchemes: bearerSchemes})
	if err != nil {
		return nil, fmt.Errorf("chassis: %w", err)
	}
	return &BearerAuth{guard: g}, nil
}

// Authenticate implements httpserver.Authenticator. On a missing scope the
// returned context still carries the principal, so the rate limit counts
// the refusal against the caller.
func (a *BearerAuth) Authenticate(r *http.Request, op *httpserver.Operation) (context.Context, error) {
	ctx := r.Context()
	p, err := a.guard.Admit(r, auth.RequirementsOf(op.Security))
	if p != nil {
		ctx = auth.WithPrincipal(ctx, p)
	}
	if err == nil {
		return ctx, nil
	}
	d, h := auth.ProblemOf(err)
	if c, ok := ctx.Value(challengeKey{}).(*challenge); ok {
		c.status, c.header = d.Status, h
	}
	return ctx, fmt.Errorf("%w: %w", &d, err)
}

// Middleware returns the middleware that sends the headers of a refusal
// (WWW-Authenticate, Retry-After) with the problem httpserver writes for
// it. Install it in httpserver.Config.Middleware.
func (a *BearerAuth) Middleware() func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c := &challenge{}
			hooked := httpsnoop.Wrap(w, httpsnoop.Hooks{
				WriteHeader: func(write httpsnoop.WriteHeaderFunc) httpsnoop.WriteHeaderFunc {
					return func(code int) {
						c.apply(w.Header(), code)
						write(code)
					}
				},
			})
			next.ServeHTTP(hooked, r.WithContext(context.WithValue(r.Context(), challengeKey{}, c)))
		})
	}
}

type challengeKey struct{}

// challenge holds the headers of one request's authentication refusal
// until its response starts. A request is served by one goroutine at a
// time, so it needs no lock.
type challenge struct {
	status int
	header http.Header
}

// apply adds the headers when the response is the refusal itself (and not,
// say, the 429 of a rate limit checked after the authentication).
func (c *challenge) apply(h http.Header, status int) {
	if c.header == nil || status != c.status {
		return
	}
	for name, values := range c.header {
		h[name] = values
	}
	c.header = nil
}
