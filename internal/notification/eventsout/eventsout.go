// Package eventsout turns the notification domain's events into records of
// the Kafka topic notification.messages.v1: the MessageEvent Protobuf
// envelope, encoded by the platform codec with the schema registry, keyed
// by message ID. Every storage adapter of notification uses it to fill its
// outbox.
package eventsout

import (
	"fmt"
	"math"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	notificationv1 "github.com/agoracommerce/agora/gen/proto/agora/notification/v1"
	"github.com/agoracommerce/agora/internal/notification"
	"github.com/agoracommerce/agora/internal/platform/events"
)

// Topic is the notification topic; Source the CloudEvents source of its
// events.
const (
	Topic  = "notification.messages.v1"
	Source = "agora/notification"
)

// Encoder encodes domain events for the outbox. Safe for concurrent use.
type Encoder = events.Encoder[notification.Event]

// NewEncoder returns an Encoder of Topic over codec.
func NewEncoder(codec *events.Codec) (*Encoder, error) {
	return events.NewEncoder(codec, Topic, Source, func(ev notification.Event) (string, proto.Message, time.Time, error) {
		env, at, err := Envelope(ev)
		if err != nil {
			return "", nil, time.Time{}, err
		}
		return ev.Key(), env, at, nil
	})
}

var kinds = map[notification.Kind]notificationv1.MessageKind{
	notification.KindOrderReceived:  notificationv1.MessageKind_MESSAGE_KIND_ORDER_RECEIVED,
	notification.KindOrderConfirmed: notificationv1.MessageKind_MESSAGE_KIND_ORDER_CONFIRMED,
	notification.KindOrderShipped:   notificationv1.MessageKind_MESSAGE_KIND_ORDER_SHIPPED,
	notification.KindOrderDelivered: notificationv1.MessageKind_MESSAGE_KIND_ORDER_DELIVERED,
	notification.KindOrderCompleted: notificationv1.MessageKind_MESSAGE_KIND_ORDER_COMPLETED,
	notification.KindOrderRejected:  notificationv1.MessageKind_MESSAGE_KIND_ORDER_REJECTED,
	notification.KindOrderCancelled: notificationv1.MessageKind_MESSAGE_KIND_ORDER_CANCELLED,
	notification.KindRefundIssued:   notificationv1.MessageKind_MESSAGE_KIND_REFUND_ISSUED,
}

// Kind maps a domain kind to the schema's.
func Kind(k notification.Kind) (notificationv1.MessageKind, error) {
	if v, ok := kinds[k]; ok {
		return v, nil
	}
	return 0, fmt.Errorf("notification eventsout: unknown message kind %q", k)
}

func attempts(n int) int32 {
	return int32(min(max(n, 0), math.MaxInt32)) // #nosec G115 -- clamped to the int32 range
}

// Envelope maps a domain event to its envelope and returns when it
// happened.
func Envelope(ev notification.Event) (*notificationv1.MessageEvent, time.Time, error) {
	switch ev := ev.(type) {
	case notification.MessageSent:
		kind, err := Kind(ev.Kind)
		if err != nil {
			return nil, time.Time{}, err
		}
		return &notificationv1.MessageEvent{Event: &notificationv1.MessageEvent_MessageSent{MessageSent: &notificationv1.MessageSent{
			MessageId: ev.MessageID, OrderId: ev.OrderID, CustomerId: ev.CustomerID, Kind: kind,
			Channel: notificationv1.Channel_CHANNEL_EMAIL, Attempts: attempts(ev.Attempts), OccurredAt: timestamppb.New(ev.OccurredAt),
		}}}, ev.OccurredAt, nil
	case notification.MessageFailed:
		kind, err := Kind(ev.Kind)
		if err != nil {
			return nil, time.Time{}, err
		}
		return &notificationv1.MessageEvent{Event: &notificationv1.MessageEvent_MessageFailed{MessageFailed: &notificationv1.MessageFailed{
			MessageId: ev.MessageID, OrderId: ev.OrderID, CustomerId: ev.CustomerID, Kind: kind,
			Channel: notificationv1.Channel_CHANNEL_EMAIL, Attempts: attempts(ev.Attempts), Reason: ev.Reason,
			OccurredAt: timestamppb.New(ev.OccurredAt),
		}}}, ev.OccurredAt, nil
	default:
		return nil, time.Time{}, fmt.Errorf("notification eventsout: unknown event %T", ev)
	}
}
