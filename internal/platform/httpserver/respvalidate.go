package httpserver

import (
	"bytes"
	"fmt"
	"net/http"

	"github.com/getkin/kin-openapi/openapi3filter"
)

// responseValidator buffers one API response, checks it against the
// operation's responses in the spec and then sends it unchanged.
type responseValidator struct {
	s  *Server
	op *Operation
}

type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header { return b.header }

func (b *bufferedWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

func (b *bufferedWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

func (v *responseValidator) serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	buf := &bufferedWriter{header: w.Header()}
	req := r.Clone(r.Context())
	req.Body = http.NoBody // the request was validated on its way in
	next.ServeHTTP(buf, r)
	if buf.status == 0 {
		buf.status = http.StatusOK
	}
	params, _ := v.s.pathParams(r)
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: v.op.route,
		},
		Status: buf.status,
		Header: buf.header,
		Options: &openapi3filter.Options{
			MultiError:              true,
			IncludeResponseStatus:   true,
			SchemaValidationOptions: formatOptions(),
		},
	}
	input.SetBodyBytes(buf.body.Bytes())
	if err := openapi3filter.ValidateResponse(r.Context(), input); err != nil {
		v.s.cfg.ResponseValidation(r, fmt.Errorf("%s %s -> %d: %w", r.Method, r.URL.Path, buf.status, err))
	}
	w.WriteHeader(buf.status)
	_, _ = w.Write(buf.body.Bytes())
}
