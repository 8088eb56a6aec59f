// Package eventsout turns the payment's domain events into records of the
// Kafka topic payment.payments.v1: the PaymentEvent Protobuf envelope,
// encoded by the platform codec with the schema registry, keyed by payment
// ID. Every storage adapter of the payment service uses it to fill its
// outbox.
package eventsout

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/agoracommerce/agora/gen/proto/agora/common/v1"
	paymentv1 "github.com/agoracommerce/agora/gen/proto/agora/payment/v1"
	"github.com/agoracommerce/agora/internal/payment"
	"github.com/agoracommerce/agora/internal/platform/events"
)

// Topic is the payment service's topic; Source the CloudEvents source of
// its events.
const (
	Topic  = "payment.payments.v1"
	Source = "agora/payment"
)

// Encoder encodes domain events for the outbox. Safe for concurrent use.
type Encoder struct {
	codec *events.Codec
}

// NewEncoder returns an Encoder over codec.
func NewEncoder(codec *events.Codec) (*Encoder, error) {
	if codec == nil {
		return nil, errors.New("payment eventsout: a codec is required")
	}
	return &Encoder{codec: codec}, nil
}

// Encode turns evs into outbox events of Topic.
func (e *Encoder) Encode(ctx context.Context, evs ...payment.Event) ([]events.Event, error) {
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
func Envelope(ev payment.Event) (*paymentv1.PaymentEvent, time.Time, error) {
	switch ev := ev.(type) {
	case payment.PaymentAuthorized:
		return &paymentv1.PaymentEvent{Event: &paymentv1.PaymentEvent_PaymentAuthorized{PaymentAuthorized: &paymentv1.PaymentAuthorized{
			PaymentId: ev.PaymentID, OrderId: ev.OrderID, CustomerId: ev.CustomerID, Amount: money(ev.Amount),
			AuthorizationId: ev.AuthorizationID, OccurredAt: ts(ev.OccurredAt),
		}}}, ev.OccurredAt, nil
	case payment.PaymentDeclined:
		return &paymentv1.PaymentEvent{Event: &paymentv1.PaymentEvent_PaymentDeclined{PaymentDeclined: &paymentv1.PaymentDeclined{
			PaymentId: ev.PaymentID, OrderId: ev.OrderID, CustomerId: ev.CustomerID, Amount: money(ev.Amount),
			Reason: ev.Reason, OccurredAt: ts(ev.OccurredAt),
		}}}, ev.OccurredAt, nil
	case payment.PaymentCaptured:
		return &paymentv1.PaymentEvent{Event: &paymentv1.PaymentEvent_PaymentCaptured{PaymentCaptured: &paymentv1.PaymentCaptured{
			PaymentId: ev.PaymentID, OrderId: ev.OrderID, CustomerId: ev.CustomerID, Amount: money(ev.Amount),
			CaptureId: ev.CaptureID, OccurredAt: ts(ev.OccurredAt),
		}}}, ev.OccurredAt, nil
	case payment.PaymentVoided:
		return &paymentv1.PaymentEvent{Event: &paymentv1.PaymentEvent_PaymentVoided{PaymentVoided: &paymentv1.PaymentVoided{
			PaymentId: ev.PaymentID, OrderId: ev.OrderID, CustomerId: ev.CustomerID, Amount: money(ev.Amount),
			Reason: ev.Reason, OccurredAt: ts(ev.OccurredAt),
		}}}, ev.OccurredAt, nil
	case payment.PaymentRefunded:
		return &paymentv1.PaymentEvent{Event: &paymentv1.PaymentEvent_PaymentRefunded{PaymentRefunded: &paymentv1.PaymentRefunded{
			PaymentId: ev.PaymentID, OrderId: ev.OrderID, CustomerId: ev.CustomerID, Amount: money(ev.Amount),
			TotalRefunded: money(ev.TotalRefunded), RefundId: ev.RefundID, Reference: ev.Reference, Reason: ev.Reason,
			OccurredAt: ts(ev.OccurredAt),
		}}}, ev.OccurredAt, nil
	case payment.PaymentFailed:
		return &paymentv1.PaymentEvent{Event: &paymentv1.PaymentEvent_PaymentFailed{PaymentFailed: &paymentv1.PaymentFailed{
			PaymentId: ev.PaymentID, OrderId: ev.OrderID, CustomerId: ev.CustomerID, Amount: money(ev.Amount),
			Reason: ev.Reason, OccurredAt: ts(ev.OccurredAt),
		}}}, ev.OccurredAt, nil
	default:
		return nil, time.Time{}, fmt.Errorf("payment eventsout: unknown event %T", ev)
	}
}

func ts(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }

func money(m payment.Money) *commonv1.Money {
	return &commonv1.Money{AmountMinor: m.Amount(), Currency: m.Currency()}
}
