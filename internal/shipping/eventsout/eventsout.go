// Package eventsout turns the shipping domain's events into records of the
// Kafka topic shipping.shipments.v1: the ShipmentEvent Protobuf envelope,
// encoded by the platform codec with the schema registry, keyed by
// shipment ID. Every storage adapter of shipping uses it to fill its
// outbox.
package eventsout

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	shippingv1 "github.com/agoracommerce/agora/gen/proto/agora/shipping/v1"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/shipping"
)

// Topic is the shipping topic; Source the CloudEvents source of its
// events.
const (
	Topic  = "shipping.shipments.v1"
	Source = "agora/shipping"
)

// Encoder encodes domain events for the outbox. Safe for concurrent use.
type Encoder struct {
	codec *events.Codec
}

// NewEncoder returns an Encoder over codec.
func NewEncoder(codec *events.Codec) (*Encoder, error) {
	if codec == nil {
		return nil, errors.New("shipping eventsout: a codec is required")
	}
	return &Encoder{codec: codec}, nil
}

// Encode turns evs into outbox events of Topic.
func (e *Encoder) Encode(ctx context.Context, evs ...shipping.Event) ([]events.Event, error) {
	out := make([]events.Event, 0, len(evs))
	for _, ev := range evs {
		env, at, err := Envelope(ev)
		if err != nil {
			return nil, err
		}
		enc, err := e.codec.NewEvent(ctx, Topic, Source, ev.Key(), env, at)
		if err != nil {
			return nil, fmt.Errorf("encode %T: %w", ev, err)
		}
		out = append(out, enc)
	}
	return out, nil
}

// Envelope maps a domain event to its envelope and returns when it
// happened.
func Envelope(ev shipping.Event) (*shippingv1.ShipmentEvent, time.Time, error) {
	switch ev := ev.(type) {
	case shipping.ShipmentCreated:
		lines := make([]*shippingv1.Line, len(ev.Lines))
		for i, l := range ev.Lines {
			lines[i] = &shippingv1.Line{Sku: l.SKU, Quantity: l.Quantity}
		}
		a := ev.Address
		return &shippingv1.ShipmentEvent{Event: &shippingv1.ShipmentEvent_ShipmentCreated{ShipmentCreated: &shippingv1.ShipmentCreated{
			ShipmentId: ev.ShipmentID, OrderId: ev.OrderID, CustomerId: ev.CustomerID,
			Carrier: ev.Label.Carrier, TrackingNumber: ev.Label.TrackingNumber, LabelId: ev.Label.LabelID,
			Address: &shippingv1.Address{Name: a.Name, Line1: a.Line1, Line2: a.Line2, City: a.City, Region: a.Region,
				PostalCode: a.PostalCode, Country: a.Country},
			Lines: lines, OccurredAt: timestamppb.New(ev.OccurredAt),
		}}}, ev.OccurredAt, nil
	case shipping.ShipmentShipped:
		return &shippingv1.ShipmentEvent{Event: &shippingv1.ShipmentEvent_ShipmentShipped{ShipmentShipped: &shippingv1.ShipmentShipped{
			ShipmentId: ev.ShipmentID, OrderId: ev.OrderID, Carrier: ev.Label.Carrier, TrackingNumber: ev.Label.TrackingNumber,
			OccurredAt: timestamppb.New(ev.OccurredAt),
		}}}, ev.OccurredAt, nil
	case shipping.ShipmentDelivered:
		return &shippingv1.ShipmentEvent{Event: &shippingv1.ShipmentEvent_ShipmentDelivered{ShipmentDelivered: &shippingv1.ShipmentDelivered{
			ShipmentId: ev.ShipmentID, OrderId: ev.OrderID, Carrier: ev.Label.Carrier, TrackingNumber: ev.Label.TrackingNumber,
			OccurredAt: timestamppb.New(ev.OccurredAt),
		}}}, ev.OccurredAt, nil
	case shipping.ShipmentCancelled:
		return &shippingv1.ShipmentEvent{Event: &shippingv1.ShipmentEvent_ShipmentCancelled{ShipmentCancelled: &shippingv1.ShipmentCancelled{
			ShipmentId: ev.ShipmentID, OrderId: ev.OrderID, Carrier: ev.Label.Carrier, TrackingNumber: ev.Label.TrackingNumber,
			OccurredAt: timestamppb.New(ev.OccurredAt),
		}}}, ev.OccurredAt, nil
	default:
		return nil, time.Time{}, fmt.Errorf("shipping eventsout: unknown event %T", ev)
	}
}
