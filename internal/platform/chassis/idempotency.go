package chassis

import (
	"fmt"
	"net/http"
	"sort"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/agoracommerce/agora/internal/platform/httpserver"
	"github.com/agoracommerce/agora/internal/platform/idempotency"
)

// IdempotencyExtension is the OpenAPI operation extension that says how an
// operation treats the Idempotency-Key header:
//
//	post:
//	  operationId: placeOrder
//	  x-agora-idempotency: required
//
// Its values are IdempotencyRequired, IdempotencyOptional and
// IdempotencyNone. Without it a POST is IdempotencyOptional and every other
// method IdempotencyNone. Safe methods (GET, HEAD, OPTIONS, TRACE) cannot
// take keys.
const IdempotencyExtension = "x-agora-idempotency"

// Values of IdempotencyExtension.
const (
	// IdempotencyRequired refuses a request without a key (400).
	IdempotencyRequired = "required"
	// IdempotencyOptional protects requests that send a key and lets the
	// others through.
	IdempotencyOptional = "optional"
	// IdempotencyNone ignores the header.
	IdempotencyNone = "none"
)

// idempotencyKeys applies the idempotency middleware of each operation
// that takes keys, found by the operation httpserver has routed to.
type idempotencyKeys struct {
	byOp map[string]func(http.Handler) http.Handler // by "METHOD /path/template"
}

// newIdempotencyKeys reads every operation's policy; it returns nil when no
// operation takes keys.
func newIdempotencyKeys(doc *openapi3.T, store idempotency.Store, base idempotency.Options) (*idempotencyKeys, error) {
	k := &idempotencyKeys{byOp: map[string]func(http.Handler) http.Handler{}}
	items := doc.Paths.Map()
	paths := make([]string, 0, len(items))
	for path := range items {
		paths = append(paths, path)
	}
	sort.Strings(paths) // report errors in a stable order
	for _, path := range paths {
		for method, op := range items[path].Operations() {
			policy, err := policyOf(method, op)
			if err != nil {
				return nil, fmt.Errorf("chassis: %s %s: %w", method, path, err)
			}
			if policy == IdempotencyNone {
				continue
			}
			if store == nil {
				return nil, fmt.Errorf("chassis: %s %s takes idempotency keys but Deps.Idempotency is nil (opt it out with %s: %s)",
					method, path, IdempotencyExtension, IdempotencyNone)
			}
			opts := base
			opts.Required = policy == IdempotencyRequired
			opts.Methods = []string{method}
			opts.Route = routeTemplate
			mw, err := idempotency.Middleware(store, opts)
			if err != nil {
				return nil, fmt.Errorf("chassis: %w", err)
			}
			k.byOp[method+" "+path] = mw
		}
	}
	if len(k.byOp) == 0 {
		return nil, nil
	}
	return k, nil
}

// policyOf returns the operation's IdempotencyExtension value or its
// default.
func policyOf(method string, op *openapi3.Operation) (string, error) {
	raw, ok := op.Extensions[IdempotencyExtension]
	if !ok {
		if method == http.MethodPost {
			return IdempotencyOptional, nil
		}
		return IdempotencyNone, nil
	}
	v, _ := raw.(string)
	switch v {
	case IdempotencyNone:
		return v, nil
	case IdempotencyRequired, IdempotencyOptional:
		switch method {
		case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
			return "", fmt.Errorf("%s cannot be %q on a safe method", IdempotencyExtension, v)
		}
		return v, nil
	}
	return "", fmt.Errorf("%s is %v; want %q, %q or %q", IdempotencyExtension, raw,
		IdempotencyRequired, IdempotencyOptional, IdempotencyNone)
}

// routeTemplate scopes keys by the operation's path template.
func routeTemplate(r *http.Request) string {
	if op, ok := httpserver.OperationFrom(r.Context()); ok {
		return op.Path
	}
	return r.URL.Path
}

// middleware is the httpserver operation middleware.
func (k *idempotencyKeys) middleware(next http.Handler) http.Handler {
	wrapped := make(map[string]http.Handler, len(k.byOp))
	for op, mw := range k.byOp {
		wrapped[op] = mw(next)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if op, ok := httpserver.OperationFrom(r.Context()); ok {
			if h := wrapped[op.Method+" "+op.Path]; h != nil {
				h.ServeHTTP(w, r)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
