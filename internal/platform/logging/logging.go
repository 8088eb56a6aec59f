// Package logging builds Agora's structured JSON loggers (zap) and ties log
// lines to the request or event being handled.
//
// Every line carries the service name; lines written through FromContext
// also carry the correlation ID (package correlation) and the active span's
// trace and span IDs. The trace ID is written in AWS X-Ray form
// (1-<8 hex epoch>-<24 hex>) so CloudWatch Logs lines can be joined with
// X-Ray traces; Agora's tracer provider generates X-Ray compatible IDs.
//
//	log, err := logging.New(logging.Config{Service: "ordering", Level: "info"})
//	logging.FromContext(ctx, log).Info("order placed", zap.String("order_id", id))
package logging

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"time"

	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/agoracommerce/agora/internal/platform/correlation"
)

// Field names shared by every Agora log line.
const (
	FieldService       = "service"
	FieldCorrelationID = "correlation_id"
	FieldTraceID       = "trace_id"
	FieldSpanID        = "span_id"
)

// Config configures New.
type Config struct {
	// Service names the service; it is written on every line. Required.
	Service string
	// Level is the minimum level written: debug, info, warn or error.
	// Empty means info.
	Level string
	// Output receives the JSON lines. Nil means standard output.
	Output io.Writer
}

// Validate reports whether the configuration is usable.
func (c Config) Validate() error {
	if c.Service == "" {
		return fmt.Errorf("logging: service name is required")
	}
	if _, err := parseLevel(c.Level); err != nil {
		return err
	}
	return nil
}

func parseLevel(s string) (zapcore.Level, error) {
	if s == "" {
		return zapcore.InfoLevel, nil
	}
	switch s {
	case "debug", "info", "warn", "error":
		l, err := zapcore.ParseLevel(s)
		if err != nil {
			return 0, fmt.Errorf("logging: level %q: %w", s, err)
		}
		return l, nil
	}
	return 0, fmt.Errorf("logging: level %q is not one of debug, info, warn, error", s)
}

// stdout is the process's standard output behind one lock, shared by every
// logger and by the metrics exporter that writes there too, so that lines
// of different writers never interleave (a pipe keeps only writes of up
// to 4 KiB whole).
var stdout = zapcore.Lock(zapcore.AddSync(os.Stdout))

// Stdout returns the process's standard output as every logger without an
// Output writes it: one write at a time. Give it to anything else that
// writes whole lines there.
func Stdout() zapcore.WriteSyncer { return stdout }

// New returns a logger writing one JSON object per line, with RFC 3339
// timestamps in UTC ("ts"), the level, the message ("msg"), the caller, and
// the service field on every line. It is safe for concurrent use.
func New(cfg Config) (*zap.Logger, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	level, _ := parseLevel(cfg.Level)
	var out zapcore.WriteSyncer = stdout
	if cfg.Output != nil {
		out = zapcore.Lock(zapcore.AddSync(cfg.Output))
	}
	enc := zap.NewProductionEncoderConfig()
	enc.TimeKey = "ts"
	enc.EncodeTime = func(t time.Time, e zapcore.PrimitiveArrayEncoder) {
		e.AppendString(t.UTC().Format(time.RFC3339Nano))
	}
	enc.EncodeDuration = zapcore.MillisDurationEncoder
	core := zapcore.NewCore(zapcore.NewJSONEncoder(enc), out, level)
	return zap.New(core, zap.AddCaller(), zap.ErrorOutput(zapcore.Lock(zapcore.AddSync(os.Stderr)))).
		With(zap.String(FieldService, cfg.Service)), nil
}

// FromContext returns base with the fields of ctx added: correlation_id
// when ctx carries one, and trace_id (X-Ray form) and span_id when ctx
// carries a valid span context. The service field comes from base (see
// New). A nil base yields a no-op logger.
func FromContext(ctx context.Context, base *zap.Logger) *zap.Logger {
	if base == nil {
		return zap.NewNop()
	}
	fields := Fields(ctx)
	if len(fields) == 0 {
		return base
	}
	return base.With(fields...)
}

// Fields returns the context fields FromContext adds, for callers that
// build their own log entries.
func Fields(ctx context.Context) []zap.Field {
	fields := make([]zap.Field, 0, 3)
	if id := correlation.ID(ctx); id != "" {
		fields = append(fields, zap.String(FieldCorrelationID, id))
	}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		fields = append(fields,
			zap.String(FieldTraceID, XRayTraceID(sc.TraceID())),
			zap.String(FieldSpanID, sc.SpanID().String()))
	}
	return fields
}

// XRayTraceID formats an OpenTelemetry trace ID the way AWS X-Ray writes
// it: "1-" then the first 4 bytes (the epoch seconds when the ID comes from
// the X-Ray ID generator) as 8 hex digits, "-", and the remaining 12 bytes
// as 24 hex digits.
func XRayTraceID(id trace.TraceID) string {
	h := hex.EncodeToString(id[:])
	return "1-" + h[:8] + "-" + h[8:]
}
