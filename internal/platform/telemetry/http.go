package telemetry

import (
	"context"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// HTTPMiddleware returns server middleware that traces each request and
// records the RED metrics of the OpenTelemetry HTTP semantic conventions:
// http.server.request.duration, a histogram (seconds) whose count is the
// request rate, with the attributes http.route, http.request.method and
// http.response.status_code (errors are the series with a 5xx status; they
// also carry error.type), plus request and response body sizes.
//
// The incoming trace context is extracted with Propagator. Spans are named
// "<METHOD> <route>" after the chi route pattern once the router has
// matched (for example "GET /v1/orders/{orderID}"), or just "<METHOD>" when
// nothing matched, so URLs with IDs never blow up span or metric
// cardinality. Mount it as the first middleware of a chi router (or wrap
// the router with it).
func (t *Telemetry) HTTPMiddleware() func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		routed := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rctx := chi.RouteContext(r.Context())
			inner := r
			if rctx == nil {
				rctx = chi.NewRouteContext()
				inner = r.WithContext(context.WithValue(r.Context(), chi.RouteCtxKey, rctx))
			}
			next.ServeHTTP(w, inner)
			// otelhttp names the span and labels the metrics from the
			// Pattern of the request it passed down, r; the router sets
			// it on its own copy, so copy the matched pattern back.
			if p := rctx.RoutePattern(); p != "" {
				r.Pattern = p
				trace.SpanFromContext(r.Context()).SetAttributes(semconv.HTTPRoute(p))
			}
		})
		return otelhttp.NewHandler(routed, "http.server",
			otelhttp.WithTracerProvider(t.tp),
			otelhttp.WithMeterProvider(t.mp),
			otelhttp.WithPropagators(t.propagator),
			otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return spanName(r) }),
		)
	}
}

// HTTPTransport wraps base (http.DefaultTransport when nil) so that every
// outgoing request gets a client span, carries the trace context in its
// headers (tracecontext, baggage and X-Amzn-Trace-Id), and is recorded in
// http.client.request.duration.
func (t *Telemetry) HTTPTransport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return otelhttp.NewTransport(base,
		otelhttp.WithTracerProvider(t.tp),
		otelhttp.WithMeterProvider(t.mp),
		otelhttp.WithPropagators(t.propagator),
	)
}

func spanName(r *http.Request) string {
	route := r.Pattern
	// A net/http ServeMux pattern may start with the method ("GET /x").
	if i := strings.IndexByte(route, ' '); i >= 0 {
		route = strings.TrimSpace(route[i+1:])
	}
	if route == "" {
		return r.Method
	}
	return r.Method + " " + route
}
