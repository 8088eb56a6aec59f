package httpserver

import (
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/agoracommerce/agora/internal/platform/problem"
)

const validationDetail = "the request does not match the API contract; see errors"

// requestProblem turns the error of openapi3filter.ValidateRequest into the
// problem to send: 413 when the body was too large, 415 for a rejected
// media type, a malformed-body 400 when the body is not JSON at all, and
// otherwise a validation 400 listing every failure.
func (s *Server) requestProblem(r *http.Request, err error) problem.Details {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return *problem.PayloadTooLarge(tooLarge.Limit)
	}
	c := collector{}
	c.walk(err)
	if c.unsupportedMedia {
		op, _ := OperationFrom(r.Context())
		var accepted []string
		if op != nil {
			accepted = op.mediaTypes
		}
		return *problem.UnsupportedMediaType(accepted)
	}
	if c.malformed != "" {
		return *problem.MalformedBody(c.malformed)
	}
	if c.unknown {
		s.logDebug(r, "unclassified request validation error", err)
	}
	errs := c.errs
	sort.SliceStable(errs, func(i, j int) bool {
		a, b := errs[i], errs[j]
		if a.In != b.In {
			return a.In < b.In
		}
		if a.Parameter != b.Parameter {
			return a.Parameter < b.Parameter
		}
		if a.Pointer != b.Pointer {
			return a.Pointer < b.Pointer
		}
		return a.Detail < b.Detail
	})
	if len(errs) == 0 {
		errs = []problem.FieldError{{Detail: "the request is invalid"}}
	}
	return *problem.Validation(validationDetail, errs...)
}

type collector struct {
	errs             []problem.FieldError
	malformed        string
	unsupportedMedia bool
	unknown          bool
}

// walk flattens the error tree of kin-openapi into field errors. Only
// reasons the library writes without the offending value are used, so no
// input is echoed back.
func (c *collector) walk(err error) {
	switch e := err.(type) {
	case openapi3.MultiError:
		for _, inner := range e {
			c.walk(inner)
		}
	case *openapi3filter.RequestError:
		switch {
		case e.Parameter != nil:
			c.parameter(e.Parameter, e.Err)
		case e.RequestBody != nil:
			c.body(e)
		default:
			c.unknown = true
			c.errs = append(c.errs, problem.FieldError{Detail: "the request is invalid"})
		}
	default:
		c.unknown = true
		c.errs = append(c.errs, problem.FieldError{Detail: "the request is invalid"})
	}
}

func (c *collector) parameter(p *openapi3.Parameter, err error) {
	add := func(detail string) {
		c.errs = append(c.errs, problem.FieldError{Parameter: p.Name, In: p.In, Detail: detail})
	}
	switch e := err.(type) {
	case openapi3.MultiError:
		for _, inner := range e {
			c.parameter(p, inner)
		}
		return
	case *openapi3.SchemaError:
		add(schemaReason(e))
		return
	case *openapi3filter.ParseError:
		typ := "the declared type"
		if p.Schema != nil && p.Schema.Value != nil && p.Schema.Value.Type != nil && len(*p.Schema.Value.Type) > 0 {
			typ = (*p.Schema.Value.Type)[0]
		}
		add("value cannot be read as " + typ)
		return
	}
	switch {
	case errors.Is(err, openapi3filter.ErrInvalidRequired):
		add("parameter is required")
	case errors.Is(err, openapi3filter.ErrInvalidEmptyValue):
		add("parameter must not be empty")
	default:
		add("parameter is invalid")
	}
}

func (c *collector) body(e *openapi3filter.RequestError) {
	if strings.HasPrefix(e.Reason, "header Content-Type") {
		c.unsupportedMedia = true
		return
	}
	if errors.Is(e.Err, openapi3filter.ErrInvalidRequired) {
		c.errs = append(c.errs, problem.FieldError{Pointer: "", Detail: "a request body is required"})
		return
	}
	var pe *openapi3filter.ParseError
	if errors.As(e.Err, &pe) {
		c.malformed = malformedDetail(e.Err)
		return
	}
	c.schema(e.Err)
}

func (c *collector) schema(err error) {
	switch e := err.(type) {
	case openapi3.MultiError:
		for _, inner := range e {
			c.schema(inner)
		}
	case *openapi3.SchemaError:
		c.errs = append(c.errs, problem.FieldError{Pointer: schemaPointer(e), Detail: schemaReason(e)})
	default:
		if err == nil {
			return
		}
		var se *openapi3.SchemaError
		if errors.As(err, &se) {
			c.errs = append(c.errs, problem.FieldError{Pointer: schemaPointer(se), Detail: schemaReason(se)})
			return
		}
		c.malformed = malformedDetail(err)
	}
}

// schemaPointer is the RFC 6901 pointer to the failing value. An unknown
// member is reported at the member itself, not at its parent object.
func schemaPointer(e *openapi3.SchemaError) string {
	path := e.JSONPointer()
	if e.SchemaField == "properties" {
		if name, ok := quotedName(e.Reason, "property ", " is unsupported"); ok {
			path = append(path, name)
		}
	}
	var b strings.Builder
	for _, p := range path {
		b.WriteByte('/')
		b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(p))
	}
	return b.String()
}

func quotedName(reason, prefix, suffix string) (string, bool) {
	rest, ok := strings.CutPrefix(reason, prefix)
	if !ok {
		return "", false
	}
	quoted, ok := strings.CutSuffix(rest, suffix)
	if !ok {
		return "", false
	}
	name, err := strconv.Unquote(quoted)
	return name, err == nil
}

func schemaReason(e *openapi3.SchemaError) string {
	switch {
	case e.SchemaField == "format" && e.Schema != nil:
		return "value does not match the format " + strconv.Quote(e.Schema.Format)
	case e.Reason != "":
		return e.Reason
	case e.SchemaField != "":
		return "value does not satisfy " + e.SchemaField
	default:
		return "value does not match the schema"
	}
}

// malformedDetail describes an undecodable body without quoting it.
func malformedDetail(err error) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return "the body is not valid JSON (syntax error at byte " + strconv.FormatInt(syn.Offset, 10) + ")"
	}
	return "the body is not valid JSON"
}
