// Package eventsout turns the payment's domain events into records of the
// Kafka topic payment.payments.v1: the PaymentEvent Protobuf envelope,
// encoded by the platform codec with the schema registry, keyed by payment
// ID. Every storage adapter of the payment service uses it to fill its
// outbox.
package eventsout

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"
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
type Encoder = events.Encoder[payment.Event]

// NewEncoder returns an Encoder of Topic over codec.
func NewEncoder(codec *events.Codec) (*Encoder, error) {
	return events.NewEncoder(codec, Topic, Source, func(ev payment.Event) (string, proto.Message, time.Time, error) {
		env, at, err := Envelope(ev)
		return ev.Key(), env, at, err
	})
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
