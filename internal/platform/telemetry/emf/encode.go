package emf

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
)

// CloudWatch refuses values whose magnitude is above 2^360 or, apart from
// zero, below 2^-360.
var (
	largestValue  = math.Ldexp(1, 360)
	smallestValue = math.Ldexp(1, -360)
)

// entry is one metric of a document: a single value or a value array.
type entry struct {
	name, unit string
	values     []float64
}

// document is one EMF document before encoding.
type document struct {
	dims    []dimension
	entries []entry
	names   map[string]bool
}

// documents packs the batch into documents: groups in the order of their
// dimension values, metrics by name, each document with at most 100
// metrics, each metric with at most 100 values. A metric with more values
// continues in the group's next document, since a name can appear only
// once per document.
func (b *batch) documents() []*document {
	keys := make([]string, 0, len(b.groups))
	for k := range b.groups {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var out []*document
	for _, k := range keys {
		g := b.groups[k]
		names := make([]string, 0, len(g.series))
		for n := range g.series {
			names = append(names, n)
		}
		slices.Sort(names)
		var docs []*document
		for _, n := range names {
			s := g.series[n]
			values := publishable(s.values)
			for len(values) > 0 {
				chunk := values[:min(len(values), maxValues)]
				values = values[len(chunk):]
				d := place(&docs, g.dims, n)
				d.entries = append(d.entries, entry{name: n, unit: s.unit, values: chunk})
				d.names[n] = true
			}
		}
		out = append(out, docs...)
	}
	return out
}

// place returns the first document of docs with room for metric name,
// adding one if none has.
func place(docs *[]*document, dims []dimension, name string) *document {
	for _, d := range *docs {
		if len(d.entries) < maxMetrics && !d.names[name] {
			return d
		}
	}
	d := &document{dims: dims, names: make(map[string]bool)}
	*docs = append(*docs, d)
	return d
}

// publishable returns the values CloudWatch accepts, sorted so that the
// output is stable: a merged sum may have overflowed to infinity, values
// beyond ±2^360 are dropped, and tiny ones become 0.
func publishable(values []float64) []float64 {
	out := make([]float64, 0, len(values))
	for _, v := range values {
		switch a := math.Abs(v); {
		case math.IsNaN(v) || a > largestValue:
			continue
		case a < smallestValue:
			v = 0
		}
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

// metadata is the EMF "_aws" member.
type metadata struct {
	Timestamp         int64       `json:"Timestamp"`
	CloudWatchMetrics []directive `json:"CloudWatchMetrics"`
}

// directive is an EMF MetricDirective.
type directive struct {
	Namespace  string       `json:"Namespace"`
	Dimensions [][]string   `json:"Dimensions"`
	Metrics    []definition `json:"Metrics"`
}

// definition is an EMF MetricDefinition.
type definition struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

// encode appends to out the JSON of a document with the given dimensions
// and entries, split into several documents while it is longer than
// maxBytes: first between metrics, then, for a single metric, between its
// values.
func (e *Exporter) encode(ts int64, dims []dimension, entries []entry, out [][]byte) ([][]byte, error) {
	doc, err := e.marshal(ts, dims, entries)
	if err != nil {
		return out, err
	}
	if len(doc) <= e.maxBytes {
		return append(out, doc), nil
	}
	switch {
	case len(entries) > 1:
		half := len(entries) / 2
		if out, err = e.encode(ts, dims, entries[:half], out); err != nil {
			return out, err
		}
		return e.encode(ts, dims, entries[half:], out)
	case len(entries[0].values) > 1:
		en := entries[0]
		half := len(en.values) / 2
		first, second := en, en
		first.values, second.values = en.values[:half], en.values[half:]
		if out, err = e.encode(ts, dims, []entry{first}, out); err != nil {
			return out, err
		}
		return e.encode(ts, dims, []entry{second}, out)
	default:
		// One value with its dimensions cannot be split further; it is
		// still far below CloudWatch's own limit.
		return append(out, doc), nil
	}
}

// marshal encodes one document: the "_aws" metadata, the dimension
// members and one member per metric, holding a number or, for several
// samples, an array of numbers.
func (e *Exporter) marshal(ts int64, dims []dimension, entries []entry) ([]byte, error) {
	root := make(map[string]any, 2+len(dims)+len(entries))
	set := make([]string, 0, 1+len(dims))
	set = append(set, ServiceDimension)
	root[ServiceDimension] = e.service
	for _, d := range dims {
		set = append(set, d.name)
		root[d.name] = d.value
	}
	defs := make([]definition, 0, len(entries))
	for _, en := range entries {
		defs = append(defs, definition{Name: en.name, Unit: en.unit})
		if len(en.values) == 1 {
			root[en.name] = en.values[0]
		} else {
			root[en.name] = en.values
		}
	}
	root["_aws"] = metadata{
		Timestamp: ts,
		CloudWatchMetrics: []directive{{
			Namespace:  e.namespace,
			Dimensions: [][]string{set},
			Metrics:    defs,
		}},
	}
	doc, err := json.Marshal(root)
	if err != nil {
		return nil, fmt.Errorf("encode document: %w", err)
	}
	return doc, nil
}
