// Package eventsout turns the shipping domain's events into records of the
// Kafka topic shipping.shipments.v1: the ShipmentEvent Protobuf envelope,
// encoded by the platform codec with the schema registry, keyed by
// shipment ID. Every storage adapter of shipping uses it to fill its
// outbox.
package eventsout

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"
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
type Encoder = events.Encoder[shipping.Event]

// NewEncoder returns an Encoder of Topic over codec.
func NewEncoder(codec *events.Codec) (*Encoder, error) {
	return events.NewEncoder(codec, Topic, Source, func(ev shipping.Event) (string, proto.Message, time.Time, error) {
		env, at, err := Envelope(ev)
		return ev.Key(), env, at, err
	})
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
