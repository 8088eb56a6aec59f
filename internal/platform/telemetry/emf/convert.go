package emf

import (
	"fmt"
	"math"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// unitSuffixes and cloudWatchUnits translate the OpenTelemetry (UCUM) units
// Agora uses; any other unit adds no suffix and maps to Count or None.
var (
	unitSuffixes = map[string]string{
		"s":  "_seconds",
		"ms": "_milliseconds",
		"By": "_bytes",
	}
	cloudWatchUnits = map[string]string{
		"s":  "Seconds",
		"ms": "Milliseconds",
		"By": "Bytes",
	}
	nameReplacer = strings.NewReplacer(".", "_", "-", "_")
)

// metricName turns an instrument name and unit into a CloudWatch metric
// name: "agora.outbox.oldest_age" in "s" becomes
// "outbox_oldest_age_seconds".
func metricName(name, unit string) string {
	n := nameReplacer.Replace(strings.TrimPrefix(name, "agora."))
	if suffix := unitSuffixes[unit]; suffix != "" && !strings.HasSuffix(n, suffix) {
		n += suffix
	}
	return n
}

// cloudWatchUnit is the EMF unit for an OpenTelemetry unit; counted is
// whether the values count occurrences (counters, histogram counts).
func cloudWatchUnit(unit string, counted bool) string {
	if u, ok := cloudWatchUnits[unit]; ok {
		return u
	}
	if counted {
		return "Count"
	}
	return "None"
}

// merge says how values that land in one series combine.
type merge int

const (
	// mergeSum adds values up: sums, histogram counts and sums.
	mergeSum merge = iota
	// mergeMax and mergeMin keep the extreme: histogram maxima and minima.
	mergeMax
	mergeMin
	// mergeList keeps every value as a sample: gauges, which are not
	// additive.
	mergeList
)

// series is one metric of one dimension set within an export.
type series struct {
	name   string
	unit   string
	merge  merge
	values []float64
}

// add merges v into s. Non-finite values are skipped so that one NaN does
// not spoil a total. The first contribution fixes the series' unit and
// merge; a later instrument that maps to the same name follows them.
func (s *series) add(v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	if len(s.values) == 0 || s.merge == mergeList {
		s.values = append(s.values, v)
		return
	}
	switch s.merge {
	case mergeSum:
		s.values[0] += v
	case mergeMax:
		s.values[0] = math.Max(s.values[0], v)
	case mergeMin:
		s.values[0] = math.Min(s.values[0], v)
	}
}

// dimension is one dimension besides "service".
type dimension struct {
	name, value string
}

// group holds the series of one dimension set.
type group struct {
	key    string // canonical form of dims, for lookup and ordering
	dims   []dimension
	series map[string]*series
}

// batch gathers one export's data points into groups and series.
type batch struct {
	e      *Exporter
	groups map[string]*group
	errs   []error
	failed map[string]bool // metric names already reported in errs
}

func newBatch(e *Exporter) *batch {
	return &batch{e: e, groups: make(map[string]*group), failed: make(map[string]bool)}
}

// addMetric adds every data point of m.
func (b *batch) addMetric(m metricdata.Metrics) {
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		addSum(b, m, d)
	case metricdata.Sum[float64]:
		addSum(b, m, d)
	case metricdata.Gauge[int64]:
		addGauge(b, m, d)
	case metricdata.Gauge[float64]:
		addGauge(b, m, d)
	case metricdata.Histogram[int64]:
		addHistogram(b, m, d)
	case metricdata.Histogram[float64]:
		addHistogram(b, m, d)
	case metricdata.ExponentialHistogram[int64]:
		addExponentialHistogram(b, m, d)
	case metricdata.ExponentialHistogram[float64]:
		addExponentialHistogram(b, m, d)
	case metricdata.Summary:
		name := metricName(m.Name, m.Unit)
		for _, dp := range d.DataPoints {
			b.add(dp.Attributes, name+"_count", "Count", mergeSum, float64(dp.Count))
			b.add(dp.Attributes, name+"_sum", cloudWatchUnit(m.Unit, false), mergeSum, dp.Sum)
		}
	case nil:
	default:
		b.fail(m.Name, fmt.Errorf("metric %q: unsupported aggregation %T", m.Name, m.Data))
	}
}

func addSum[N int64 | float64](b *batch, m metricdata.Metrics, s metricdata.Sum[N]) {
	name, unit := metricName(m.Name, m.Unit), cloudWatchUnit(m.Unit, s.IsMonotonic)
	for _, dp := range s.DataPoints {
		b.add(dp.Attributes, name, unit, mergeSum, float64(dp.Value))
	}
}

func addGauge[N int64 | float64](b *batch, m metricdata.Metrics, g metricdata.Gauge[N]) {
	name, unit := metricName(m.Name, m.Unit), cloudWatchUnit(m.Unit, false)
	for _, dp := range g.DataPoints {
		b.add(dp.Attributes, name, unit, mergeList, float64(dp.Value))
	}
}

func addHistogram[N int64 | float64](b *batch, m metricdata.Metrics, h metricdata.Histogram[N]) {
	for _, dp := range h.DataPoints {
		addDistribution(b, m, dp.Attributes, dp.Count, dp.Sum, dp.Min, dp.Max)
	}
}

func addExponentialHistogram[N int64 | float64](b *batch, m metricdata.Metrics, h metricdata.ExponentialHistogram[N]) {
	for _, dp := range h.DataPoints {
		addDistribution(b, m, dp.Attributes, dp.Count, dp.Sum, dp.Min, dp.Max)
	}
}

// addDistribution adds a histogram data point as its count, sum, maximum
// and minimum.
func addDistribution[N int64 | float64](b *batch, m metricdata.Metrics, attrs attribute.Set, count uint64, sum N, lo, hi metricdata.Extrema[N]) {
	name, unit := metricName(m.Name, m.Unit), cloudWatchUnit(m.Unit, false)
	b.add(attrs, name+"_count", "Count", mergeSum, float64(count))
	b.add(attrs, name+"_sum", unit, mergeSum, float64(sum))
	if v, ok := hi.Value(); ok {
		b.add(attrs, name+"_max", unit, mergeMax, float64(v))
	}
	if v, ok := lo.Value(); ok {
		b.add(attrs, name+"_min", unit, mergeMin, float64(v))
	}
}

// add merges one value into the series name of the dimension set that
// attrs select.
func (b *batch) add(attrs attribute.Set, name, unit string, mg merge, v float64) {
	if err := b.checkName(name); err != nil {
		b.fail(name, err)
		return
	}
	g := b.group(attrs)
	s := g.series[name]
	if s == nil {
		s = &series{name: name, unit: unit, merge: mg}
		g.series[name] = s
	}
	s.add(v)
}

// checkName rejects metric names that CloudWatch refuses or that would
// overwrite a dimension member of the document.
func (b *batch) checkName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("metric name is empty")
	case len(name) > maxNameLen:
		return fmt.Errorf("metric %q: name is longer than %d characters", name, maxNameLen)
	case name == ServiceDimension || name == "_aws" || b.e.allowed[name]:
		return fmt.Errorf("metric %q: name clashes with a dimension or EMF member", name)
	}
	return nil
}

func (b *batch) fail(name string, err error) {
	if !b.failed[name] {
		b.failed[name] = true
		b.errs = append(b.errs, err)
	}
}

// group finds or creates the group for the allow-listed attributes of
// attrs, in the order of Config.Dimensions.
func (b *batch) group(attrs attribute.Set) *group {
	var dims []dimension
	var key strings.Builder
	for _, name := range b.e.dims {
		v, ok := attrs.Value(attribute.Key(name))
		if !ok {
			continue
		}
		value := dimensionValue(v.String())
		if value == "" {
			continue
		}
		dims = append(dims, dimension{name: name, value: value})
		// Names and values are printable ASCII, so control characters
		// separate them unambiguously.
		key.WriteString(name)
		key.WriteByte(0x1f)
		key.WriteString(value)
		key.WriteByte(0x1e)
	}
	k := key.String()
	g := b.groups[k]
	if g == nil {
		g = &group{key: k, dims: dims, series: make(map[string]*series)}
		b.groups[k] = g
	}
	return g
}

// dimensionValue makes an attribute value acceptable to CloudWatch:
// characters outside printable ASCII become "_", the value is cut at 1024
// characters, and a blank value yields "" (the dimension is left out).
func dimensionValue(s string) string {
	out := make([]byte, 0, min(len(s), maxDimensionValLen))
	for _, r := range s {
		if len(out) == maxDimensionValLen {
			break
		}
		if r < 0x20 || r > 0x7e {
			r = '_'
		}
		out = append(out, byte(r))
	}
	if strings.TrimSpace(string(out)) == "" {
		return ""
	}
	return string(out)
}
