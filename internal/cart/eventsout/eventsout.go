// Package eventsout turns the cart's domain events into records of the
// Kafka topic cart.carts.v1: the CartEvent Protobuf envelope, framed by the
// platform codec with its schema ID and CloudEvents metadata, keyed by cart
// ID. Every store of the cart writes what it returns into its outbox in the
// same transaction as the change.
package eventsout

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	cartv1 "github.com/agoracommerce/agora/gen/proto/agora/cart/v1"
	commonv1 "github.com/agoracommerce/agora/gen/proto/agora/common/v1"
	"github.com/agoracommerce/agora/internal/cart"
	"github.com/agoracommerce/agora/internal/platform/events"
)

// Topic and Source of the cart's events.
const (
	Topic  = "cart.carts.v1"
	Source = "agora/cart"
)

// Encoder encodes cart events with a codec. Safe for concurrent use.
type Encoder = events.Encoder[cart.Event]

// New returns an Encoder of Topic over codec.
func New(codec *events.Codec) (*Encoder, error) {
	return events.NewEncoder(codec, Topic, Source, func(ev cart.Event) (string, proto.Message, time.Time, error) {
		env, err := Envelope(ev)
		return ev.Key().String(), env, ev.OccurredAt(), err
	})
}

// Envelope returns the CartEvent envelope of a domain event.
func Envelope(ev cart.Event) (*cartv1.CartEvent, error) {
	switch ev := ev.(type) {
	case cart.CartCreated:
		return &cartv1.CartEvent{Event: &cartv1.CartEvent_CartCreated{CartCreated: &cartv1.CartCreated{
			CartId: ev.CartID.String(), CustomerId: ev.CustomerID, Currency: ev.Currency, Version: ev.Version, OccurredAt: timestamppb.New(ev.At),
		}}}, nil
	case cart.LineAdded:
		return &cartv1.CartEvent{Event: &cartv1.CartEvent_LineAdded{LineAdded: &cartv1.LineAdded{
			CartId: ev.CartID.String(), CustomerId: ev.CustomerID, Line: Line(ev.Line), Version: ev.Version, OccurredAt: timestamppb.New(ev.At),
		}}}, nil
	case cart.LineUpdated:
		return &cartv1.CartEvent{Event: &cartv1.CartEvent_LineUpdated{LineUpdated: &cartv1.LineUpdated{
			CartId: ev.CartID.String(), CustomerId: ev.CustomerID, Line: Line(ev.Line), PreviousQuantity: ev.PreviousQuantity,
			Version: ev.Version, OccurredAt: timestamppb.New(ev.At),
		}}}, nil
	case cart.LineRemoved:
		return &cartv1.CartEvent{Event: &cartv1.CartEvent_LineRemoved{LineRemoved: &cartv1.LineRemoved{
			CartId: ev.CartID.String(), CustomerId: ev.CustomerID, Line: Line(ev.Line), Version: ev.Version, OccurredAt: timestamppb.New(ev.At),
		}}}, nil
	case cart.CartCheckedOut:
		lines := make([]*cartv1.CartLine, len(ev.Lines))
		for i, l := range ev.Lines {
			lines[i] = Line(l)
		}
		return &cartv1.CartEvent{Event: &cartv1.CartEvent_CartCheckedOut{CartCheckedOut: &cartv1.CartCheckedOut{
			CartId: ev.CartID.String(), CustomerId: ev.CustomerID, OrderId: ev.OrderID, Lines: lines, Total: Money(ev.Total),
			Version: ev.Version, OccurredAt: timestamppb.New(ev.At),
		}}}, nil
	case cart.CartExpired:
		return &cartv1.CartEvent{Event: &cartv1.CartEvent_CartExpired{CartExpired: &cartv1.CartExpired{
			CartId: ev.CartID.String(), CustomerId: ev.CustomerID, LastActivityAt: timestamppb.New(ev.LastActivityAt),
			Version: ev.Version, OccurredAt: timestamppb.New(ev.At),
		}}}, nil
	case cart.CartAbandoned:
		return &cartv1.CartEvent{Event: &cartv1.CartEvent_CartAbandoned{CartAbandoned: &cartv1.CartAbandoned{
			CartId: ev.CartID.String(), CustomerId: ev.CustomerID, Version: ev.Version, OccurredAt: timestamppb.New(ev.At),
		}}}, nil
	default:
		return nil, fmt.Errorf("cart eventsout: unknown event %T", ev)
	}
}

// Line returns the CartLine of a line.
func Line(l cart.Line) *cartv1.CartLine {
	return &cartv1.CartLine{ProductId: l.ProductID.String(), Sku: l.SKU, Name: l.Name, Quantity: l.Quantity, UnitPrice: Money(l.UnitPrice)}
}

// Money returns the Protobuf form of m.
func Money(m cart.Money) *commonv1.Money {
	return &commonv1.Money{AmountMinor: m.Amount(), Currency: m.Currency()}
}
