package httpserver

import (
	"context"
	"errors"
	"net/http"
	"runtime/debug"

	"github.com/go-chi/chi/v5"
	"go.uber.org/zap"

	"github.com/agoracommerce/agora/internal/platform/correlation"
	"github.com/agoracommerce/agora/internal/platform/problem"
)

// statusWriter remembers whether the response has started.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// recoverPanics turns a handler panic into a logged 500 problem.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(v) // net/http's own signal to drop the connection
			}
			s.log.Error("handler panicked",
				zap.Any("panic", v),
				zap.ByteString("stack", debug.Stack()),
				zap.String("method", r.Method),
				zap.String("path", r.URL.Path),
				zap.String("correlation_id", correlation.ID(r.Context())))
			if sw.status != 0 {
				return // the response has started; the client sees a cut body
			}
			s.writeProblem(sw, r, *problem.Internal())
		}()
		next.ServeHTTP(sw, r)
	})
}

// correlate puts a valid correlation ID in the context and the response.
func (s *Server) correlate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(correlation.HTTPHeader)
		if !correlation.Valid(id) {
			id = correlation.New()
		}
		w.Header().Set(correlation.HTTPHeader, id)
		next.ServeHTTP(w, r.WithContext(correlation.WithID(r.Context(), id)))
	})
}

// deadline bounds the request's context by RequestTimeout.
func (s *Server) deadline(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// limitBody rejects a declared oversized body at once and caps the reader
// for bodies of unknown length.
func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > s.cfg.MaxBodyBytes {
			s.writeProblem(w, r, *problem.PayloadTooLarge(s.cfg.MaxBodyBytes))
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.writeProblem(w, r, *problem.NotFound("no resource matches this path"))
}

var routedMethods = []string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
	http.MethodPatch, http.MethodDelete, http.MethodOptions,
}

func (s *Server) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	path := r.URL.RawPath
	if path == "" {
		path = r.URL.Path
	}
	for _, m := range routedMethods {
		if s.root.Match(chi.NewRouteContext(), m, path) {
			w.Header().Add("Allow", m)
			if m == http.MethodGet {
				w.Header().Add("Allow", http.MethodHead)
			}
		}
	}
	s.writeProblem(w, r, *problem.MethodNotAllowed(r.Method))
}

// head answers HEAD wherever GET is served (RFC 9110, section 9.3.2): the
// request is routed, authenticated and validated as the GET it mirrors and
// answers with the GET's status and headers, without a body. The body is
// dropped here rather than left to net/http, so runtimes that bring their
// own transport (Lambda) answer HEAD correctly too.
func (s *Server) head(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodHead {
			next.ServeHTTP(w, r)
			return
		}
		if rctx := chi.RouteContext(r.Context()); rctx != nil && rctx.RouteMethod == "" {
			rctx.RouteMethod = http.MethodGet
		}
		next.ServeHTTP(headWriter{w}, r)
	})
}

// headWriter is a response without a body.
type headWriter struct{ http.ResponseWriter }

func (h headWriter) Write(p []byte) (int, error) { return len(p), nil }

// Unwrap lets http.ResponseController reach the underlying writer.
func (h headWriter) Unwrap() http.ResponseWriter { return h.ResponseWriter }

// writeProblem sends d and logs a failed write.
func (s *Server) writeProblem(w http.ResponseWriter, r *http.Request, d problem.Details) {
	if err := problem.Write(w, r, d); err != nil {
		s.log.Debug("problem response not delivered", zap.Error(err),
			zap.String("correlation_id", correlation.ID(r.Context())))
	}
}

// writeError maps err to a problem through Config.Problems, logs it when it
// is the server's fault, and sends it.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	d := s.cfg.Problems.FromError(err)
	if d.Status >= http.StatusInternalServerError {
		s.log.Error("request failed",
			zap.Error(err),
			zap.Int("status", d.Status),
			zap.String("method", r.Method),
			zap.String("path", r.URL.Path),
			zap.String("correlation_id", correlation.ID(r.Context())))
	}
	s.writeProblem(w, r, d)
}
