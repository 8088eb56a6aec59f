// Package telemetry sets up OpenTelemetry tracing and metrics for an Agora
// service and instruments its HTTP servers and clients.
//
// Traces use X-Ray compatible trace IDs (the first four bytes are the epoch
// seconds), so the same IDs work in AWS X-Ray, and propagate with W3C
// tracecontext, W3C baggage and the X-Ray header (X-Amzn-Trace-Id). On AWS,
// traces and metrics go over OTLP/HTTP to the ADOT collector; locally,
// metrics are served in Prometheus format and traces can be printed to
// standard output or dropped.
//
// Setup returns a Telemetry that owns the providers; Shutdown flushes and
// stops them. Nothing is installed globally unless InstallGlobals is called
// (for third-party libraries that only use the otel globals).
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/agoracommerce/agora/internal/platform/telemetry/emf"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/contrib/propagators/aws/xray"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Exporter names accepted in Config.
const (
	ExporterNone       = "none"
	ExporterStdout     = "stdout"
	ExporterOTLP       = "otlp"
	ExporterPrometheus = "prometheus"
	// ExporterEMF writes metrics as CloudWatch embedded metric format
	// lines to MetricsWriter (stdout), which CloudWatch Logs turns into
	// metrics on Lambda and on ECS with the awslogs driver.
	ExporterEMF = "emf"
)

// emfDimensions are the metric attributes that become CloudWatch
// dimensions besides the service: low-cardinality ones only.
var emfDimensions = []string{"messaging.destination.name", "messaging.consumer.group.name", "http.route"}

// Config configures Setup.
type Config struct {
	// Service is the service.name resource attribute. Required.
	Service string
	// Version is the service.version resource attribute.
	Version string
	// TracesExporter is none, stdout or otlp.
	TracesExporter string
	// MetricsExporter is prometheus, otlp, emf or none.
	MetricsExporter string
	// MetricsNamespace is the CloudWatch namespace of emf metrics
	// (default emf.DefaultNamespace), MetricsService their service
	// dimension (default Service) and MetricsWriter where the lines go
	// (default os.Stdout; give the writer the process's logs share, so
	// that their lines never interleave).
	MetricsNamespace string
	MetricsService   string
	MetricsWriter    io.Writer
	// OTLPEndpoint is the base URL of the OTLP/HTTP receiver, for example
	// http://localhost:4318 (the ADOT collector's default); /v1/traces and
	// /v1/metrics are appended. Required when an exporter is otlp.
	OTLPEndpoint string
	// SampleRatio is the share of new traces that are sampled, from 0 to 1.
	// Spans whose parent was sampled upstream are always sampled.
	SampleRatio float64

	// SpanProcessors are added to the tracer provider besides the exporter
	// (tests pass a tracetest.SpanRecorder).
	SpanProcessors []sdktrace.SpanProcessor
	// MetricReaders are added to the meter provider besides the exporter
	// (tests pass an sdkmetric.ManualReader).
	MetricReaders []sdkmetric.Reader
}

// Validate reports whether the configuration is usable.
func (c Config) Validate() error {
	var errs []error
	if c.Service == "" {
		errs = append(errs, errors.New("service is required"))
	}
	switch c.TracesExporter {
	case ExporterNone, ExporterStdout, ExporterOTLP:
	default:
		errs = append(errs, fmt.Errorf("traces exporter %q is not one of none, stdout, otlp", c.TracesExporter))
	}
	switch c.MetricsExporter {
	case ExporterNone, ExporterPrometheus, ExporterOTLP, ExporterEMF:
	default:
		errs = append(errs, fmt.Errorf("metrics exporter %q is not one of prometheus, otlp, emf, none", c.MetricsExporter))
	}
	if c.TracesExporter == ExporterOTLP || c.MetricsExporter == ExporterOTLP {
		u, err := url.Parse(c.OTLPEndpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("otlp endpoint %q is not an http(s) URL", c.OTLPEndpoint))
		}
	}
	if c.SampleRatio < 0 || c.SampleRatio > 1 {
		errs = append(errs, fmt.Errorf("sample ratio %v is not between 0 and 1", c.SampleRatio))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("telemetry: %w", err)
	}
	return nil
}

// Telemetry owns a service's tracer and meter providers. It is safe for
// concurrent use.
type Telemetry struct {
	service    string
	tp         *sdktrace.TracerProvider
	mp         *sdkmetric.MeterProvider
	propagator propagation.TextMapPropagator
	metrics    http.Handler
}

// Setup builds the providers described by cfg. Call Shutdown when the
// service stops so buffered spans and metrics are flushed.
func Setup(ctx context.Context, cfg Config) (*Telemetry, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName(cfg.Service), semconv.ServiceVersion(cfg.Version)),
		resource.WithTelemetrySDK(),
	)
	if err != nil {
		return nil, fmt.Errorf("telemetry: resource: %w", err)
	}

	topts := []sdktrace.TracerProviderOption{
		sdktrace.WithResource(res),
		sdktrace.WithIDGenerator(xray.NewIDGenerator()),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(cfg.SampleRatio))),
	}
	switch cfg.TracesExporter {
	case ExporterStdout:
		exp, err := stdouttrace.New(stdouttrace.WithWriter(os.Stdout))
		if err != nil {
			return nil, fmt.Errorf("telemetry: stdout trace exporter: %w", err)
		}
		topts = append(topts, sdktrace.WithBatcher(exp))
	case ExporterOTLP:
		u, _ := url.Parse(cfg.OTLPEndpoint)
		exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(u.JoinPath("v1", "traces").String()))
		if err != nil {
			return nil, fmt.Errorf("telemetry: otlp trace exporter: %w", err)
		}
		topts = append(topts, sdktrace.WithBatcher(exp))
	}
	for _, sp := range cfg.SpanProcessors {
		topts = append(topts, sdktrace.WithSpanProcessor(sp))
	}

	t := &Telemetry{
		service: cfg.Service,
		propagator: propagation.NewCompositeTextMapPropagator(
			propagation.TraceContext{}, propagation.Baggage{}, xray.Propagator{}),
		metrics: http.NotFoundHandler(),
	}

	mopts := []sdkmetric.Option{sdkmetric.WithResource(res)}
	switch cfg.MetricsExporter {
	case ExporterPrometheus:
		reg := prometheus.NewRegistry()
		exp, err := otelprom.New(otelprom.WithRegisterer(reg))
		if err != nil {
			return nil, fmt.Errorf("telemetry: prometheus exporter: %w", err)
		}
		mopts = append(mopts, sdkmetric.WithReader(exp))
		t.metrics = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	case ExporterOTLP:
		u, _ := url.Parse(cfg.OTLPEndpoint)
		exp, err := otlpmetrichttp.New(ctx, otlpmetrichttp.WithEndpointURL(u.JoinPath("v1", "metrics").String()))
		if err != nil {
			return nil, fmt.Errorf("telemetry: otlp metric exporter: %w", err)
		}
		mopts = append(mopts, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp)))
	case ExporterEMF:
		w, service := cfg.MetricsWriter, cfg.MetricsService
		if w == nil {
			w = os.Stdout
		}
		if service == "" {
			service = cfg.Service
		}
		exp, err := emf.New(emf.Config{Writer: w, Namespace: cfg.MetricsNamespace, Service: service, Dimensions: emfDimensions})
		if err != nil {
			return nil, fmt.Errorf("telemetry: emf exporter: %w", err)
		}
		// CloudWatch keeps one-minute resolution; a function flushes at the
		// end of every invocation (ForceFlush) as it may freeze after.
		mopts = append(mopts, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp, sdkmetric.WithInterval(time.Minute))))
	}
	for _, r := range cfg.MetricReaders {
		mopts = append(mopts, sdkmetric.WithReader(r))
	}

	t.tp = sdktrace.NewTracerProvider(topts...)
	t.mp = sdkmetric.NewMeterProvider(mopts...)
	return t, nil
}

// TracerProvider returns the service's tracer provider.
func (t *Telemetry) TracerProvider() trace.TracerProvider { return t.tp }

// MeterProvider returns the service's meter provider.
func (t *Telemetry) MeterProvider() metric.MeterProvider { return t.mp }

// Propagator returns the composite propagator: W3C tracecontext, W3C
// baggage and AWS X-Ray.
func (t *Telemetry) Propagator() propagation.TextMapPropagator { return t.propagator }

// MetricsHandler serves the metrics in Prometheus text format when the
// metrics exporter is prometheus, and answers 404 otherwise.
func (t *Telemetry) MetricsHandler() http.Handler { return t.metrics }

// InstallGlobals makes t's providers and propagator the otel globals, for
// libraries that read them. Agora's own packages take providers explicitly.
func (t *Telemetry) InstallGlobals() {
	otel.SetTracerProvider(t.tp)
	otel.SetMeterProvider(t.mp)
	otel.SetTextMapPropagator(t.propagator)
}

// Shutdown flushes buffered spans and metrics and stops the providers. It
// honours ctx's deadline.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	var errs []error
	if err := t.tp.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("telemetry: shutdown tracer provider: %w", err))
	}
	if err := t.mp.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("telemetry: shutdown meter provider: %w", err))
	}
	return errors.Join(errs...)
}
