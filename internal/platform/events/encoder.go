package events

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"
)

// EnvelopeFunc maps one of a service's domain events to its record: the
// aggregate key, the topic's envelope message and when the event happened.
type EnvelopeFunc[E any] func(E) (key string, envelope proto.Message, at time.Time, err error)

// Encoder turns a service's domain events into encoded events of one topic,
// ready for the outbox. Safe for concurrent use.
type Encoder[E any] struct {
	codec    *Codec
	topic    string
	source   string
	envelope EnvelopeFunc[E]
}

// NewEncoder returns an Encoder of topic for events from source.
func NewEncoder[E any](codec *Codec, topic, source string, envelope EnvelopeFunc[E]) (*Encoder[E], error) {
	if codec == nil || topic == "" || source == "" || envelope == nil {
		return nil, errors.New("events: an encoder needs a codec, a topic, a source and an envelope function")
	}
	return &Encoder[E]{codec: codec, topic: topic, source: source, envelope: envelope}, nil
}

// Topic is the topic the encoder writes for.
func (e *Encoder[E]) Topic() string { return e.topic }

// Encode maps and encodes evs, in order.
func (e *Encoder[E]) Encode(ctx context.Context, evs ...E) ([]Event, error) {
	out := make([]Event, 0, len(evs))
	for _, ev := range evs {
		key, env, at, err := e.envelope(ev)
		if err != nil {
			return nil, err
		}
		enc, err := e.codec.NewEvent(ctx, e.topic, e.source, key, env, at)
		if err != nil {
			return nil, fmt.Errorf("encode %T for %s: %w", ev, e.topic, err)
		}
		out = append(out, enc)
	}
	return out, nil
}
