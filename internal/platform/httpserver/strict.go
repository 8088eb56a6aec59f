package httpserver

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/agoracommerce/agora/internal/platform/problem"
)

var errPanicked = errors.New("httpserver: readiness check panicked")

// RequestErrorHandler answers a request the generated code could not
// decode (a body or parameter that passed validation but not binding) with a
// problem. Use it as the strict server's RequestErrorHandlerFunc and the chi
// server's ErrorHandlerFunc.
func (s *Server) RequestErrorHandler(w http.ResponseWriter, r *http.Request, err error) {
	var tooLarge *http.MaxBytesError
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooLarge):
		s.writeProblem(w, r, *problem.PayloadTooLarge(tooLarge.Limit))
	case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		s.writeProblem(w, r, *problem.MalformedBody(malformedDetail(err)))
	case errors.As(err, &typ):
		ptr := ""
		if typ.Field != "" {
			ptr = "/" + typ.Field
		}
		s.writeProblem(w, r, *problem.Validation(validationDetail,
			problem.FieldError{Pointer: ptr, Detail: "value has the wrong type"}))
	default:
		s.logDebug(r, "request could not be bound", err)
		s.writeProblem(w, r, *problem.Validation(validationDetail,
			problem.FieldError{Detail: "the request could not be read"}))
	}
}

// ResponseErrorHandler answers an error returned by a handler (or by the
// generated code writing its response) with the problem Config.Problems
// maps it to, logging it when the fault is the server's. Use it as the
// strict server's ResponseErrorHandlerFunc.
func (s *Server) ResponseErrorHandler(w http.ResponseWriter, r *http.Request, err error) {
	s.writeError(w, r, err)
}

// WriteError maps err through Config.Problems and sends the problem, for
// hand-written handlers.
func (s *Server) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	s.writeError(w, r, err)
}
