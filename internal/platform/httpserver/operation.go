package httpserver

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/go-chi/chi/v5"
	"go.uber.org/zap"

	"github.com/agoracommerce/agora/internal/platform/correlation"
	"github.com/agoracommerce/agora/internal/platform/problem"
)

// Authenticator establishes who calls an operation. Authenticate receives
// the request and the operation (its Security requirements included) and
// returns the request's context, enriched with the principal, or an error:
// a *problem.Details (401 Unauthorized, 403 Forbidden) is sent as it is,
// any other error goes through Config.Problems (a JWKS outage is a 503, not
// a 401). It is called for every operation, anonymous ones included, so an
// optional credential can still be read. Implementations must be safe for
// concurrent use.
type Authenticator interface {
	Authenticate(r *http.Request, op *Operation) (context.Context, error)
}

// NoAuth admits every request without a principal. It is meant for tests and
// for APIs whose spec declares no security; it never checks credentials.
type NoAuth struct{}

// Authenticate returns the request's context unchanged.
func (NoAuth) Authenticate(r *http.Request, _ *Operation) (context.Context, error) {
	return r.Context(), nil
}

var _ Authenticator = NoAuth{}

// operation runs the per-operation steps for a route chi has matched.
func (s *Server) operation(next http.Handler) http.Handler {
	inner := s.validate(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rctx := chi.RouteContext(r.Context())
		var op *Operation
		if rctx != nil {
			method := r.Method
			if method == http.MethodHead {
				method = http.MethodGet // answered as the GET it mirrors
			}
			op = s.spec.ops[method+" "+rctx.RoutePattern()]
		}
		if op == nil {
			// Mounted on Router but absent from the spec: the contract
			// does not offer it.
			s.log.Warn("route is not an operation of the spec",
				zap.String("method", r.Method), zap.String("path", r.URL.Path))
			s.notFound(w, r)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), opKey{}, op))
		if s.cfg.ResponseValidation != nil {
			rv := &responseValidator{s: s, op: op}
			rv.serve(w, r, inner)
			return
		}
		inner.ServeHTTP(w, r)
	})
}

// validate returns the handler that authenticates, rate-limits and
// validates the request before calling the operation middleware and next.
func (s *Server) validate(next http.Handler) http.HandlerFunc {
	for i := len(s.cfg.OperationMiddleware) - 1; i >= 0; i-- {
		next = s.cfg.OperationMiddleware[i](next)
	}
	return func(w http.ResponseWriter, r *http.Request) {
		op, _ := OperationFrom(r.Context())

		ctx, authErr := s.authenticate(r, op)
		if ctx != nil {
			r = r.WithContext(ctx)
		}
		if !s.allow(w, r) {
			return
		}
		if authErr != nil {
			s.writeError(w, r, authErr)
			return
		}

		if hasBody(r) {
			ct, ok := op.accepts(r.Header.Get("Content-Type"))
			if !ok {
				s.writeProblem(w, r, *problem.UnsupportedMediaType(op.mediaTypes))
				return
			}
			// Generated code compares media types by prefix and case:
			// hand it the canonical form it expects.
			r.Header.Set("Content-Type", ct)
		}

		params, ok := s.pathParams(r)
		if !ok {
			s.notFound(w, r)
			return
		}
		input := &openapi3filter.RequestValidationInput{
			Request:    r,
			PathParams: params,
			Route:      op.route,
			Options: &openapi3filter.Options{
				MultiError:              true,
				SkipSettingDefaults:     true,
				AuthenticationFunc:      openapi3filter.NoopAuthenticationFunc,
				SchemaValidationOptions: formatOptions(),
			},
		}
		if err := openapi3filter.ValidateRequest(r.Context(), input); err != nil {
			s.writeProblem(w, r, s.requestProblem(r, err))
			return
		}
		next.ServeHTTP(w, r)
	}
}

// formatOptions checks the string formats Agora's APIs use beyond the
// ones kin-openapi checks by default (date, date-time, byte). They are
// passed per validation so no package-level registry is touched.
func formatOptions() []openapi3.SchemaValidationOption {
	return []openapi3.SchemaValidationOption{
		openapi3.WithStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC9562)),
		openapi3.WithStringFormatValidator("email", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForEmail)),
		openapi3.WithStringFormatValidator("ipv4", openapi3.NewIPValidator(true)),
		openapi3.WithStringFormatValidator("ipv6", openapi3.NewIPValidator(false)),
	}
}

func (s *Server) authenticate(r *http.Request, op *Operation) (ctx context.Context, err error) {
	if s.cfg.Authenticator == nil {
		return r.Context(), nil
	}
	return s.cfg.Authenticator.Authenticate(r, op)
}

// allow applies the rate limit and answers 429 when it is exceeded.
func (s *Server) allow(w http.ResponseWriter, r *http.Request) bool {
	if s.limiter == nil {
		return true
	}
	key := ""
	if s.cfg.Principal != nil {
		if p := s.cfg.Principal(r.Context()); p != "" {
			key = "principal:" + p
		}
	}
	if key == "" {
		key = "ip:" + s.cfg.ClientIP(r)
	}
	ok, wait := s.limiter.allow(key)
	if ok {
		return true
	}
	secs := int64(wait.Seconds())
	if float64(secs) < wait.Seconds() || secs < 1 {
		secs++
	}
	w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	s.writeProblem(w, r, *problem.TooManyRequests())
	return false
}

// pathParams returns chi's path parameters, unescaped.
func (s *Server) pathParams(r *http.Request) (map[string]string, bool) {
	rctx := chi.RouteContext(r.Context())
	params := make(map[string]string, len(rctx.URLParams.Keys))
	for i, k := range rctx.URLParams.Keys {
		v := rctx.URLParams.Values[i]
		if r.URL.RawPath != "" {
			u, err := url.PathUnescape(v)
			if err != nil {
				return nil, false
			}
			v = u
		}
		params[k] = v
	}
	return params, true
}

func (s *Server) logDebug(r *http.Request, msg string, err error) {
	s.log.Debug(msg, zap.Error(err),
		zap.String("method", r.Method), zap.String("path", r.URL.Path),
		zap.String("correlation_id", correlation.ID(r.Context())))
}
