package logging

import (
	"context"
	"net/http"

	"github.com/felixge/httpsnoop"
	"github.com/go-chi/chi/v5"
	"go.uber.org/zap"
)

// AccessLog returns net/http middleware that writes one line per request
// once the handler has finished: method, route (the chi route pattern, such
// as /v1/orders/{orderID}; empty when no route matched), status, duration,
// bytes written, plus the context fields of FromContext. Server errors
// (5xx) are logged at error level, everything else at info.
//
// Mount it after the middlewares that put the correlation ID and the span
// into the request context, so that its line carries them. It works as a
// chi middleware (router.Use) and also wrapped around a chi router, in
// which case it supplies the routing context the router fills in.
func AccessLog(base *zap.Logger) func(http.Handler) http.Handler {
	if base == nil {
		base = zap.NewNop()
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rctx := chi.RouteContext(r.Context())
			if rctx == nil {
				rctx = chi.NewRouteContext()
				r = r.WithContext(context.WithValue(r.Context(), chi.RouteCtxKey, rctx))
			}
			m := httpsnoop.CaptureMetrics(next, w, r)
			fields := []zap.Field{
				zap.String("method", r.Method),
				zap.String("route", rctx.RoutePattern()),
				zap.String("path", r.URL.Path),
				zap.Int("status", m.Code),
				zap.Duration("duration_ms", m.Duration),
				zap.Int64("bytes", m.Written),
			}
			log := FromContext(r.Context(), base)
			if m.Code >= http.StatusInternalServerError {
				log.Error("http request", fields...)
				return
			}
			log.Info("http request", fields...)
		})
	}
}
