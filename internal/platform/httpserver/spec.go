package httpserver

import (
	"context"
	"fmt"
	"mime"
	"net/http"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
)

// Operation is one operation of the spec, as the Authenticator and the
// operation middleware see it. Treat it as read-only.
type Operation struct {
	// ID is the spec's operationId.
	ID string
	// Method and Path are the HTTP method and the path template, e.g.
	// "PUT" and "/v1/widgets/{widgetId}".
	Method string
	Path   string
	// Security is the operation's effective security requirements (its
	// own, else the document's). Empty means anonymous access; a
	// requirement with no schemes inside the list also allows it.
	Security openapi3.SecurityRequirements
	// Spec is the operation in the loaded document.
	Spec *openapi3.Operation

	route      *routers.Route
	mediaTypes []string // accepted request media types, lower case
}

// AllowsAnonymous reports whether the operation can be called without
// credentials.
func (op *Operation) AllowsAnonymous() bool {
	if len(op.Security) == 0 {
		return true
	}
	for _, req := range op.Security {
		if len(req) == 0 {
			return true
		}
	}
	return false
}

// Scopes returns the scopes the operation requires from the named scheme
// in any of its alternative requirements, and whether the scheme appears.
func (op *Operation) Scopes(scheme string) ([]string, bool) {
	for _, req := range op.Security {
		if scopes, ok := req[scheme]; ok {
			return scopes, true
		}
	}
	return nil, false
}

type opKey struct{}

// OperationFrom returns the operation a request is serving, once it has
// been routed.
func OperationFrom(ctx context.Context) (*Operation, bool) {
	op, ok := ctx.Value(opKey{}).(*Operation)
	return op, ok
}

type spec struct {
	doc     *openapi3.T
	ops     map[string]*Operation // by "METHOD /path/template"
	secured bool
}

func loadSpec(data []byte, doc *openapi3.T) (*spec, error) {
	ctx := context.Background()
	if doc == nil {
		loader := openapi3.NewLoader()
		loader.IsExternalRefsAllowed = false
		var err error
		doc, err = loader.LoadFromData(data)
		if err != nil {
			return nil, fmt.Errorf("httpserver: load spec: %w", err)
		}
	}
	if err := doc.Validate(ctx); err != nil {
		return nil, fmt.Errorf("httpserver: invalid spec: %w", err)
	}
	if doc.Paths == nil || doc.Paths.Len() == 0 {
		return nil, fmt.Errorf("httpserver: spec has no paths")
	}
	sp := &spec{doc: doc, ops: make(map[string]*Operation)}
	for path, item := range doc.Paths.Map() {
		for method, o := range item.Operations() {
			security := doc.Security
			if o.Security != nil {
				security = *o.Security
			}
			op := &Operation{
				ID:       o.OperationID,
				Method:   method,
				Path:     path,
				Security: security,
				Spec:     o,
				route: &routers.Route{
					Spec: doc, Path: path, PathItem: item, Method: method, Operation: o,
				},
			}
			if o.RequestBody != nil && o.RequestBody.Value != nil {
				for mt := range o.RequestBody.Value.Content {
					parsed, _, err := mime.ParseMediaType(mt)
					if err != nil {
						return nil, fmt.Errorf("httpserver: spec: %s %s: media type %q: %w", method, path, mt, err)
					}
					op.mediaTypes = append(op.mediaTypes, parsed)
				}
				sort.Strings(op.mediaTypes)
			}
			if !op.AllowsAnonymous() {
				sp.secured = true
			}
			sp.ops[method+" "+path] = op
		}
	}
	return sp, nil
}

// accepts reports whether the operation takes a body of media type ct (a
// Content-Type header value) and returns ct in canonical form.
func (op *Operation) accepts(ct string) (string, bool) {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return "", false
	}
	for _, want := range op.mediaTypes {
		if matchMediaType(want, mt) {
			canonical := mime.FormatMediaType(mt, params)
			return canonical, canonical != ""
		}
	}
	return "", false
}

// matchMediaType matches a spec media range ("application/json", "*/*",
// "text/*") against a concrete type.
func matchMediaType(want, got string) bool {
	if want == "*/*" || want == got {
		return true
	}
	if prefix, ok := strings.CutSuffix(want, "/*"); ok {
		return strings.HasPrefix(got, prefix+"/")
	}
	return false
}

// hasBody reports whether the request carries a body.
func hasBody(r *http.Request) bool {
	return r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0
}
