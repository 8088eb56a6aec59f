// Package events is the wire contract of every Agora event on Kafka: the
// value is one Protobuf envelope message per topic, framed in the Confluent
// wire format (magic byte, schema ID, message indexes) with its schema looked
// up in or registered with the schema registry; the metadata travels in
// CloudEvents binary-mode headers (ce_id, ce_type, ce_source, ce_time,
// ce_subject, ce_specversion) plus traceparent and correlation_id; the key is
// the aggregate ID so that one aggregate's events stay in order.
package events

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/propagation"

	"github.com/agoracommerce/agora/internal/platform/correlation"
	"github.com/agoracommerce/agora/internal/platform/fault"
)

// Header names of the CloudEvents Kafka binding (binary mode) and of the
// trace and correlation context.
const (
	HeaderID            = "ce_id"
	HeaderType          = "ce_type"
	HeaderSource        = "ce_source"
	HeaderTime          = "ce_time"
	HeaderSubject       = "ce_subject"
	HeaderSpecVersion   = "ce_specversion"
	HeaderContentType   = "content-type"
	HeaderTraceParent   = "traceparent"
	HeaderTraceState    = "tracestate"
	HeaderCorrelationID = correlation.KafkaHeader

	SpecVersion = "1.0"
	ContentType = "application/protobuf"
)

// ErrInvalidMetadata is returned (marked permanent) when a record lacks the
// required CloudEvents headers.
var ErrInvalidMetadata = errors.New("events: invalid metadata")

// Metadata describes one event: what it is, where it comes from, which
// aggregate it is about and which flow caused it.
type Metadata struct {
	ID            string    // time-ordered unique ID (UUIDv7); consumers dedupe by it
	Type          string    // Protobuf full name of the event, e.g. agora.ordering.v1.OrderPlaced
	Source        string    // producing service, e.g. agora/ordering
	Subject       string    // aggregate ID; also the record key
	Time          time.Time // when the event happened
	CorrelationID string
	TraceParent   string
	TraceState    string
}

// NewID returns a new time-ordered event ID.
func NewID() string { return uuid.Must(uuid.NewV7()).String() }

// NewMetadata fills Metadata for an event about subject caused in ctx: a new
// ID, the current time, the correlation ID and the W3C trace context of ctx.
func NewMetadata(ctx context.Context, eventType, source, subject string, now time.Time) Metadata {
	carrier := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, carrier)
	return Metadata{
		ID:            NewID(),
		Type:          eventType,
		Source:        source,
		Subject:       subject,
		Time:          now.UTC(),
		CorrelationID: correlation.ID(ctx),
		TraceParent:   carrier.Get(HeaderTraceParent),
		TraceState:    carrier.Get(HeaderTraceState),
	}
}

// Headers renders m as Kafka record headers.
func (m Metadata) Headers() []kgo.RecordHeader {
	h := []kgo.RecordHeader{
		{Key: HeaderSpecVersion, Value: []byte(SpecVersion)},
		{Key: HeaderID, Value: []byte(m.ID)},
		{Key: HeaderType, Value: []byte(m.Type)},
		{Key: HeaderSource, Value: []byte(m.Source)},
		{Key: HeaderTime, Value: []byte(m.Time.UTC().Format(time.RFC3339Nano))},
		{Key: HeaderContentType, Value: []byte(ContentType)},
	}
	if m.Subject != "" {
		h = append(h, kgo.RecordHeader{Key: HeaderSubject, Value: []byte(m.Subject)})
	}
	if m.CorrelationID != "" {
		h = append(h, kgo.RecordHeader{Key: HeaderCorrelationID, Value: []byte(m.CorrelationID)})
	}
	if m.TraceParent != "" {
		h = append(h, kgo.RecordHeader{Key: HeaderTraceParent, Value: []byte(m.TraceParent)})
	}
	if m.TraceState != "" {
		h = append(h, kgo.RecordHeader{Key: HeaderTraceState, Value: []byte(m.TraceState)})
	}
	return h
}

// MetadataFromHeaders reads Metadata back from record headers. ce_id, ce_type
// and ce_source are required; a malformed ce_time is an error.
func MetadataFromHeaders(headers []kgo.RecordHeader) (Metadata, error) {
	var m Metadata
	for _, h := range headers {
		v := string(h.Value)
		switch h.Key {
		case HeaderID:
			m.ID = v
		case HeaderType:
			m.Type = v
		case HeaderSource:
			m.Source = v
		case HeaderSubject:
			m.Subject = v
		case HeaderCorrelationID:
			m.CorrelationID = v
		case HeaderTraceParent:
			m.TraceParent = v
		case HeaderTraceState:
			m.TraceState = v
		case HeaderTime:
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return Metadata{}, fault.Permanent(fmt.Errorf("%w: ce_time %q: %w", ErrInvalidMetadata, v, err))
			}
			m.Time = t
		}
	}
	var missing []string
	for name, v := range map[string]string{HeaderID: m.ID, HeaderType: m.Type, HeaderSource: m.Source} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return Metadata{}, fault.Permanent(fmt.Errorf("%w: missing header(s) %v", ErrInvalidMetadata, missing))
	}
	return m, nil
}

// Context returns ctx carrying the correlation ID and the remote trace
// context of m, so that work done for the event continues its flow.
func (m Metadata) Context(ctx context.Context) context.Context {
	if m.CorrelationID != "" {
		ctx = correlation.WithID(ctx, m.CorrelationID)
	}
	if m.TraceParent != "" {
		ctx = propagation.TraceContext{}.Extract(ctx, propagation.MapCarrier{
			HeaderTraceParent: m.TraceParent, HeaderTraceState: m.TraceState,
		})
	}
	return ctx
}

// Header returns the value of the first header named key, if any.
func Header(headers []kgo.RecordHeader, key string) (string, bool) {
	for _, h := range headers {
		if h.Key == key {
			return string(h.Value), true
		}
	}
	return "", false
}
