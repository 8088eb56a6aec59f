// Package emf exports OpenTelemetry metrics as CloudWatch embedded metric
// format (EMF) documents: one JSON object per line on an io.Writer,
// normally standard output. On Lambda, and on ECS with the awslogs log
// driver, CloudWatch Logs turns every such line into CloudWatch metrics, so
// a service publishes metrics with no agent or collector and no
// PutMetricData calls.
//
// The Exporter plugs into the OpenTelemetry SDK through a periodic reader:
//
//	exp, err := emf.New(emf.Config{Writer: os.Stdout, Service: "ordering"})
//	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp)))
//
// # Mapping
//
// Names. An instrument name loses a leading "agora.", its dots and hyphens
// become underscores, and a suffix for its unit is appended unless the name
// already ends with it: "s" gives "_seconds", "ms" "_milliseconds" and "By"
// "_bytes"; other units add nothing. So "agora.outbox.oldest_age" with unit
// "s" is published as "outbox_oldest_age_seconds". The EMF unit is
// Seconds, Milliseconds or Bytes for those units, Count for any other
// counter and None otherwise.
//
// Temporality. Counters, observable counters and histograms are collected
// as deltas, so each document carries what happened since the previous
// export and CloudWatch's Sum statistic adds up correctly over any period.
// Up-down counters and gauges are levels: they are collected cumulatively
// and every export reports their current value.
//
// Values. A sum or gauge data point contributes its value. A histogram
// (explicit or exponential) contributes four metrics, <name>_count,
// <name>_sum, <name>_max and <name>_min (the last two only when the SDK
// recorded them); summaries contribute <name>_count and <name>_sum. Buckets
// and quantiles are not exported.
//
// Dimensions. Every metric has the dimension "service" (Config.Service).
// Of a data point's attributes, only those whose key is in
// Config.Dimensions become further dimensions; all others are dropped to
// keep CloudWatch's cardinality, and its bill, bounded. Data points that
// then share a name and a dimension set are merged as the OpenTelemetry
// data model allows: sums, histogram counts and histogram sums are
// additive and are added up, histogram maxima and minima take the largest
// and smallest, and gauges, which are not additive, keep every value as a
// sample in an EMF value array, so that CloudWatch's statistics (Maximum,
// Average, Sum) apply across them.
//
// Documents. Metrics with the same dimension set share documents. A
// document has one metric directive with one dimension set and holds at
// most 100 metrics with at most 100 values each (the EMF limits); larger
// groups are split over several documents with the same timestamp, and so
// is any document longer than Config.MaxBytes. Documents come out in a
// stable order: by dimension values, then metrics by name. NaN and
// infinite values, which CloudWatch refuses, are skipped, as are values
// beyond CloudWatch's range of ±2^360; non-zero values closer to zero than
// 2^-360 are written as 0.
package emf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/agoracommerce/agora/internal/platform/fault"
)

// Defaults and limits.
const (
	// DefaultNamespace is the CloudWatch namespace used when
	// Config.Namespace is empty.
	DefaultNamespace = "agora"
	// ServiceDimension is the dimension every metric carries.
	ServiceDimension = "service"
	// DefaultMaxBytes is the default for Config.MaxBytes: just under the
	// 16 KiB at which the container runtime cuts long stdout lines into
	// several log events (the awslogs driver in non-blocking mode does not
	// join them again, and a cut document yields no metrics).
	DefaultMaxBytes = 16000
	// MaxEventBytes is the largest document CloudWatch Logs accepts: an
	// event is at most 256 KiB, 26 bytes of which are overhead.
	MaxEventBytes = 256<<10 - 26

	minMaxBytes         = 1024
	maxDimensions       = 30 // per dimension set, "service" included
	maxMetrics          = 100
	maxValues           = 100
	maxNameLen          = 255
	maxDimensionNameLen = 255
	maxDimensionValLen  = 1024
)

// DefaultDimensions returns the attribute keys that become dimensions when
// Config.Dimensions is nil.
func DefaultDimensions() []string {
	return []string{"topic", "group", "route", "status_class"}
}

// Config configures New.
type Config struct {
	// Writer receives the documents, one per line; each is written with a
	// single Write call. Required; normally os.Stdout.
	Writer io.Writer
	// Namespace is the CloudWatch namespace (default DefaultNamespace).
	Namespace string
	// Service is the value of the "service" dimension. Required.
	Service string
	// Dimensions lists the attribute keys that become dimensions, in the
	// order they appear in each dimension set after "service". Nil means
	// DefaultDimensions; an empty, non-nil slice means "service" only. At
	// most 29 keys, none of them "service".
	Dimensions []string
	// MaxBytes bounds the length of a document, newline excluded (default
	// DefaultMaxBytes, at most MaxEventBytes). Only a single value with its
	// dimensions can exceed it, and is then written anyway.
	MaxBytes int
	// Clock gives the documents' timestamp (default time.Now).
	Clock func() time.Time
}

// Validate reports every problem with the configuration; empty optional
// fields are valid and take their defaults in New.
func (c Config) Validate() error {
	var errs []error
	if c.Writer == nil {
		errs = append(errs, errors.New("writer is required"))
	}
	if c.Service == "" {
		errs = append(errs, errors.New("service is required"))
	} else if err := checkDimensionValue(c.Service); err != nil {
		errs = append(errs, fmt.Errorf("service %q: %w", c.Service, err))
	}
	if c.Namespace != "" {
		if err := checkNamespace(c.Namespace); err != nil {
			errs = append(errs, fmt.Errorf("namespace %q: %w", c.Namespace, err))
		}
	}
	if len(c.Dimensions) > maxDimensions-1 {
		errs = append(errs, fmt.Errorf("%d dimensions given, at most %d are allowed besides %q",
			len(c.Dimensions), maxDimensions-1, ServiceDimension))
	}
	seen := make(map[string]bool, len(c.Dimensions))
	for _, d := range c.Dimensions {
		if err := checkDimensionName(d); err != nil {
			errs = append(errs, fmt.Errorf("dimension %q: %w", d, err))
		}
		if seen[d] {
			errs = append(errs, fmt.Errorf("dimension %q is listed twice", d))
		}
		seen[d] = true
	}
	if c.MaxBytes != 0 && (c.MaxBytes < minMaxBytes || c.MaxBytes > MaxEventBytes) {
		errs = append(errs, fmt.Errorf("max bytes %d is not between %d and %d", c.MaxBytes, minMaxBytes, MaxEventBytes))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("emf: %w", err)
	}
	return nil
}

// checkNamespace applies CloudWatch's namespace rules: at most 255
// characters out of letters, digits and . - _ / # : and space, not all
// spaces, and not starting with the "AWS/" that AWS reserves.
func checkNamespace(ns string) error {
	if len(ns) > 255 {
		return errors.New("is longer than 255 characters")
	}
	if strings.TrimSpace(ns) == "" {
		return errors.New("is blank")
	}
	if strings.HasPrefix(ns, "AWS/") {
		return errors.New(`starts with the reserved "AWS/"`)
	}
	for _, r := range ns {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(".-_/#: ", r)
		if !ok {
			return fmt.Errorf("contains %q; only letters, digits and . - _ / # : and space are allowed", r)
		}
	}
	return nil
}

// checkDimensionName applies CloudWatch's dimension-name rules and keeps
// names clear of the document members the exporter writes itself.
func checkDimensionName(name string) error {
	switch {
	case name == "":
		return errors.New("is empty")
	case name == ServiceDimension:
		return errors.New("is always a dimension and cannot be listed")
	case name == "_aws":
		return errors.New("is the EMF metadata member")
	case strings.HasPrefix(name, ":"):
		return errors.New("starts with a colon")
	case len(name) > maxDimensionNameLen:
		return fmt.Errorf("is longer than %d characters", maxDimensionNameLen)
	}
	return checkASCII(name)
}

// checkDimensionValue applies CloudWatch's dimension-value rules.
func checkDimensionValue(v string) error {
	if strings.TrimSpace(v) == "" {
		return errors.New("is blank")
	}
	if len(v) > maxDimensionValLen {
		return fmt.Errorf("is longer than %d characters", maxDimensionValLen)
	}
	return checkASCII(v)
}

func checkASCII(s string) error {
	for _, r := range s {
		if r < 0x20 || r > 0x7e {
			return fmt.Errorf("contains %q; only printable ASCII is allowed", r)
		}
	}
	return nil
}

// Exporter writes metrics as EMF documents. It implements
// sdkmetric.Exporter and is safe for concurrent use; exports are
// serialised so that documents never interleave.
type Exporter struct {
	w         io.Writer
	namespace string
	service   string
	dims      []string
	allowed   map[string]bool
	maxBytes  int
	clock     func() time.Time

	mu   sync.Mutex
	done bool // guarded by mu
}

var _ sdkmetric.Exporter = (*Exporter)(nil)

// New validates cfg, applies its defaults and returns an Exporter.
func New(cfg Config) (*Exporter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	e := &Exporter{
		w:         cfg.Writer,
		namespace: cfg.Namespace,
		service:   cfg.Service,
		dims:      cfg.Dimensions,
		maxBytes:  cfg.MaxBytes,
		clock:     cfg.Clock,
	}
	if e.namespace == "" {
		e.namespace = DefaultNamespace
	}
	if e.dims == nil {
		e.dims = DefaultDimensions()
	} else {
		e.dims = append([]string(nil), e.dims...)
	}
	if e.maxBytes == 0 {
		e.maxBytes = DefaultMaxBytes
	}
	if e.clock == nil {
		e.clock = time.Now
	}
	e.allowed = make(map[string]bool, len(e.dims))
	for _, d := range e.dims {
		e.allowed[d] = true
	}
	return e, nil
}

// Temporality asks for deltas from counters, observable counters and
// histograms, whose CloudWatch statistics then add up over any period, and
// for cumulative values (the current level) from up-down counters and
// gauges.
func (e *Exporter) Temporality(k sdkmetric.InstrumentKind) metricdata.Temporality {
	return sdkmetric.DeltaTemporalitySelector(k)
}

// Aggregation keeps the SDK's default aggregation for every instrument
// kind.
func (e *Exporter) Aggregation(k sdkmetric.InstrumentKind) sdkmetric.Aggregation {
	return sdkmetric.DefaultAggregationSelector(k)
}

// Export writes rm as EMF documents, all stamped with the current time of
// Config.Clock. It stops between documents when ctx ends and returns ctx's
// error. A write error is returned as soon as it happens, wrapped.
// Metrics that cannot be expressed (a name that clashes with a dimension,
// an unknown aggregation) are skipped and reported in the returned error
// after everything else was written. After Shutdown it returns an error
// matching sdkmetric.ErrExporterShutdown, marked permanent.
func (e *Exporter) Export(ctx context.Context, rm *metricdata.ResourceMetrics) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.done {
		return fault.Permanent(fmt.Errorf("emf: export: %w", sdkmetric.ErrExporterShutdown))
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("emf: export: %w", err)
	}
	if rm == nil {
		return nil
	}
	b := newBatch(e)
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			b.addMetric(m)
		}
	}
	ts := e.clock().UnixMilli()
	for _, d := range b.documents() {
		lines, err := e.encode(ts, d.dims, d.entries, nil)
		if err != nil {
			return fmt.Errorf("emf: export: %w", err)
		}
		for _, line := range lines {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("emf: export: %w", err)
			}
			if err := e.write(line); err != nil {
				return err
			}
		}
	}
	if err := errors.Join(b.errs...); err != nil {
		return fmt.Errorf("emf: export: %w", err)
	}
	return nil
}

// write writes one document and its newline with a single Write call, so
// a writer shared with a logger receives it whole.
func (e *Exporter) write(doc []byte) error {
	line := append(doc, '\n')
	n, err := e.w.Write(line)
	if err == nil && n < len(line) {
		err = io.ErrShortWrite
	}
	if err != nil {
		return fmt.Errorf("emf: write document: %w", err)
	}
	return nil
}

// ForceFlush has nothing to do: Export writes synchronously. It returns
// ctx's error if ctx has ended.
func (e *Exporter) ForceFlush(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("emf: force flush: %w", err)
	}
	return nil
}

// Shutdown waits for a running Export to finish and makes later exports
// fail. The writer is not closed: it usually is standard output. Calling
// Shutdown again is harmless.
func (e *Exporter) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	e.done = true
	e.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("emf: shutdown: %w", err)
	}
	return nil
}
