package kafka_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	catalogv1 "github.com/agoracommerce/agora/gen/proto/agora/catalog/v1"
	commonv1 "github.com/agoracommerce/agora/gen/proto/agora/common/v1"
	orderingv1 "github.com/agoracommerce/agora/gen/proto/agora/ordering/v1"
	paymentv1 "github.com/agoracommerce/agora/gen/proto/agora/payment/v1"
	shippingv1 "github.com/agoracommerce/agora/gen/proto/agora/shipping/v1"
	"github.com/agoracommerce/agora/internal/notification"
	"github.com/agoracommerce/agora/internal/notification/app"
	"github.com/agoracommerce/agora/internal/notification/kafka"
	"github.com/agoracommerce/agora/internal/notification/mailbox"
	"github.com/agoracommerce/agora/internal/notification/sqlstore"
	"github.com/agoracommerce/agora/internal/platform/consumer"
	"github.com/agoracommerce/agora/internal/platform/contract"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/fault"
	"github.com/agoracommerce/agora/internal/platform/inbox"
	"github.com/agoracommerce/agora/internal/platform/kafkatest"
	"github.com/agoracommerce/agora/internal/platform/outbox"
	"github.com/agoracommerce/agora/internal/platform/sqldb/sqldbtest"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// The consumer's declared reads hold against the envelope each producer
// publishes on the topic.
func TestContracts(t *testing.T) {
	t.Parallel()
	envelopes := map[string]protoreflect.MessageDescriptor{
		kafka.OrdersTopic:    (&orderingv1.OrderEvent{}).ProtoReflect().Descriptor(),
		kafka.PaymentsTopic:  (&paymentv1.PaymentEvent{}).ProtoReflect().Descriptor(),
		kafka.ShipmentsTopic: (&shippingv1.ShipmentEvent{}).ProtoReflect().Descriptor(),
	}
	reads := kafka.Contracts()
	require.Len(t, reads, len(kafka.Topics()), "one declaration per topic read")
	for _, r := range reads {
		require.Equal(t, kafka.Group, r.Consumer)
		env, ok := envelopes[r.Topic]
		require.True(t, ok, "topic %s", r.Topic)
		require.NoError(t, contract.Check(r, env))
	}
	// The check bites: the order events are not on the payment topic.
	require.Error(t, contract.Check(reads[0], envelopes[kafka.PaymentsTopic]))
}

// fixture is the consumer's handler over the real app and SQLite store.
type fixture struct {
	handler consumer.Handler
	svc     *app.Service
	box     *mailbox.Mailbox
	codec   *events.Codec
}

func newFixture(t *testing.T, codec *events.Codec) fixture {
	t.Helper()
	ctx := context.Background()
	db := sqldbtest.SQLite(t)
	ob, err := outbox.NewStore(ctx, db)
	require.NoError(t, err)
	in, err := inbox.NewStore(ctx, db)
	require.NoError(t, err)
	if codec == nil {
		codec = kafkatest.Codec(t)
	}
	store, err := sqlstore.New(ctx, db, ob, in, codec)
	require.NoError(t, err)
	box, err := mailbox.New(ctx, db, mailbox.Config{})
	require.NoError(t, err)
	svc, err := app.New(store, box, app.Config{Mailbox: box})
	require.NoError(t, err)
	h, err := kafka.Handler(svc)
	require.NoError(t, err)
	return fixture{handler: h, svc: svc, box: box, codec: codec}
}

// msg wraps an envelope as the consumer hands it over; id is its ce_id.
func msg(id string, env proto.Message) *consumer.Message {
	return &consumer.Message{Event: env, Meta: events.Metadata{ID: id, Time: t0}, Attempt: 1}
}

func eur(amount int64) *commonv1.Money { return &commonv1.Money{AmountMinor: amount, Currency: "EUR"} }

func placed(orderID string) *orderingv1.OrderEvent {
	return &orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderPlaced{OrderPlaced: &orderingv1.OrderPlaced{
		OrderId: orderID, CustomerId: "customer-1", CustomerEmail: "ada@example.com", Total: eur(2697),
		Lines: []*orderingv1.OrderLine{{Sku: "MUG-1", Name: "Mug", Quantity: 3, UnitPrice: eur(899), ProductId: uuid.NewString()}},
		ShippingAddress: &orderingv1.Address{Name: "Ada Lovelace", Line1: "12 Market Street", City: "Amsterdam", PostalCode: "1012 AB",
			Country: "NL"},
		PlacedAt: timestamppb.New(t0), CartId: uuid.NewString(), ReservationExpiresAt: timestamppb.New(t0.Add(time.Hour)),
	}}}
}

// stepEvents are the events of order-1 after its OrderPlaced, one of each
// kind the customer hears about.
func stepEvents(orderID string) map[notification.Kind]proto.Message {
	ts := timestamppb.New(t0.Add(time.Minute))
	return map[notification.Kind]proto.Message{
		notification.KindOrderConfirmed: &orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderConfirmed{OrderConfirmed: &orderingv1.OrderConfirmed{
			OrderId: orderID, CustomerId: "customer-1", Total: eur(2697), PaymentId: uuid.NewString(), OccurredAt: ts}}},
		notification.KindOrderShipped: &orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderShipped{OrderShipped: &orderingv1.OrderShipped{
			OrderId: orderID, CustomerId: "customer-1", ShipmentId: uuid.NewString(), Carrier: "agora-sim", TrackingNumber: "AG0123456789",
			OccurredAt: ts}}},
		notification.KindOrderDelivered: &shippingv1.ShipmentEvent{Event: &shippingv1.ShipmentEvent_ShipmentDelivered{
			ShipmentDelivered: &shippingv1.ShipmentDelivered{ShipmentId: uuid.NewString(), OrderId: orderID, Carrier: "agora-sim",
				TrackingNumber: "AG0123456789", OccurredAt: ts}}},
		notification.KindOrderCompleted: &orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderCompleted{OrderCompleted: &orderingv1.OrderCompleted{
			OrderId: orderID, CustomerId: "customer-1", Total: eur(2697), OccurredAt: ts}}},
		notification.KindOrderRejected: &orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderRejected{OrderRejected: &orderingv1.OrderRejected{
			OrderId: orderID, CustomerId: "customer-1", Reason: "MUG-1: 3 requested, 1 available", Code: orderingv1.EndReason_END_REASON_OUT_OF_STOCK,
			Step: orderingv1.SagaStep_SAGA_STEP_RESERVING_STOCK, OccurredAt: ts}}},
		notification.KindOrderCancelled: &orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderCancelled{OrderCancelled: &orderingv1.OrderCancelled{
			OrderId: orderID, CustomerId: "customer-1", Reason: "cancelled by an operator", Code: orderingv1.EndReason_END_REASON_OPERATOR_REQUEST,
			Step: orderingv1.SagaStep_SAGA_STEP_DONE, Refund: true, Total: eur(2697), OccurredAt: ts}}},
		notification.KindRefundIssued: &paymentv1.PaymentEvent{Event: &paymentv1.PaymentEvent_PaymentRefunded{PaymentRefunded: &paymentv1.PaymentRefunded{
			PaymentId: uuid.NewString(), OrderId: orderID, CustomerId: "customer-1", Amount: eur(2697), TotalRefunded: eur(2697),
			RefundId: "refund-1", Reference: "order-cancelled", OccurredAt: ts}}},
	}
}

func (f fixture) message(t *testing.T, orderID string, kind notification.Kind, ref string) notification.Message {
	t.Helper()
	m, err := f.svc.Notification(context.Background(), notification.MessageID(orderID, kind, ref))
	require.NoError(t, err, "message %s of %s", kind, orderID)
	return m
}

func (f fixture) count(t *testing.T) int {
	t.Helper()
	page, err := f.svc.Notifications(context.Background(), "customer-1", app.PageQuery{Limit: app.MaxPageSize})
	require.NoError(t, err)
	return len(page.Items)
}

func TestEveryEventKind(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil)
	require.NoError(t, f.handler(ctx, msg(uuid.NewString(), placed("order-1"))))
	m := f.message(t, "order-1", notification.KindOrderReceived, "")
	require.Equal(t, "ada@example.com", m.To())
	require.Equal(t, "customer-1", m.CustomerID())
	require.Contains(t, m.Content().Text, "Hello Ada Lovelace,")
	require.Contains(t, m.Content().Text, "3 x Mug (MUG-1) at EUR 8.99: EUR 26.97")

	says := map[notification.Kind]string{
		notification.KindOrderConfirmed: "payment of EUR 26.97 is authorized",
		notification.KindOrderShipped:   "Tracking number: AG0123456789",
		notification.KindOrderDelivered: "delivered by agora-sim",
		notification.KindOrderCompleted: "has been charged",
		notification.KindOrderRejected:  "some of the items are out of stock",
		notification.KindOrderCancelled: "The payment of EUR 26.97 will be refunded",
		notification.KindRefundIssued:   "We have refunded EUR 26.97",
	}
	for kind, env := range stepEvents("order-1") {
		m := msg(uuid.NewString(), env)
		require.NoError(t, f.handler(ctx, m), kind)
		require.False(t, m.Duplicate)
		ref := ""
		if kind == notification.KindRefundIssued {
			ref = "refund-1"
		}
		got := f.message(t, "order-1", kind, ref)
		require.Contains(t, got.Content().Text, says[kind], kind)
	}
	require.Equal(t, len(notification.Kinds()), f.count(t))

	// The steps the customer is not told about change nothing.
	for _, env := range []proto.Message{
		&orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderPaymentRequested{OrderPaymentRequested: &orderingv1.OrderPaymentRequested{
			OrderId: "order-1", Amount: eur(2697)}}},
		&paymentv1.PaymentEvent{Event: &paymentv1.PaymentEvent_PaymentAuthorized{PaymentAuthorized: &paymentv1.PaymentAuthorized{OrderId: "order-1"}}},
		&paymentv1.PaymentEvent{Event: &paymentv1.PaymentEvent_PaymentCaptured{PaymentCaptured: &paymentv1.PaymentCaptured{OrderId: "order-1"}}},
		&shippingv1.ShipmentEvent{Event: &shippingv1.ShipmentEvent_ShipmentCreated{ShipmentCreated: &shippingv1.ShipmentCreated{OrderId: "order-1"}}},
		&shippingv1.ShipmentEvent{Event: &shippingv1.ShipmentEvent_ShipmentShipped{ShipmentShipped: &shippingv1.ShipmentShipped{OrderId: "order-unknown"}}},
	} {
		require.NoError(t, f.handler(ctx, msg(uuid.NewString(), env)))
	}
	require.Equal(t, len(notification.Kinds()), f.count(t))
}

func TestDuplicatesMakeOneMessage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil)
	id := uuid.NewString()
	first := msg(id, placed("order-1"))
	require.NoError(t, f.handler(ctx, first))
	require.False(t, first.Duplicate)
	again := msg(id, placed("order-1"))
	require.NoError(t, f.handler(ctx, again))
	require.True(t, again.Duplicate, "the inbox had the event")

	// The saga publishes OrderShipped again to retry a capture: a new
	// event, the same message.
	shipped := stepEvents("order-1")[notification.KindOrderShipped]
	require.NoError(t, f.handler(ctx, msg(uuid.NewString(), shipped)))
	require.NoError(t, f.handler(ctx, msg(uuid.NewString(), shipped)))
	require.Equal(t, 2, f.count(t))

	rep, err := f.svc.Dispatch(ctx)
	require.NoError(t, err)
	require.Equal(t, app.Report{Sent: 2}, rep)
	page, err := f.box.MailboxMessages(ctx, "ada@example.com", app.PageQuery{Limit: 10})
	require.NoError(t, err)
	require.Len(t, page.Items, 2, "one email per message")
}

func TestUnknownRecipientIsRetryable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil)
	refund := msg(uuid.NewString(), stepEvents("order-1")[notification.KindRefundIssued])
	err := f.handler(ctx, refund)
	require.ErrorIs(t, err, notification.ErrUnknownRecipient)
	require.True(t, fault.IsRetryable(err), "the OrderPlaced is on its way: %v", err)

	// It arrives; the retried refund is applied.
	require.NoError(t, f.handler(ctx, msg(uuid.NewString(), placed("order-1"))))
	require.NoError(t, f.handler(ctx, refund))
	f.message(t, "order-1", notification.KindRefundIssued, "refund-1")
}

func TestMalformedEventsArePermanent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil)
	require.NoError(t, f.handler(ctx, msg(uuid.NewString(), placed("order-1"))))
	mutPlaced := func(mut func(e *orderingv1.OrderPlaced)) proto.Message {
		env := placed("order-2")
		mut(env.GetOrderPlaced())
		return env
	}
	refund := func(mut func(e *paymentv1.PaymentRefunded)) proto.Message {
		env := stepEvents("order-1")[notification.KindRefundIssued].(*paymentv1.PaymentEvent)
		mut(env.GetPaymentRefunded())
		return env
	}
	for name, env := range map[string]proto.Message{
		"not an event it reads": &catalogv1.ProductEvent{},
		"empty order event":     &orderingv1.OrderEvent{},
		"empty payment event":   &paymentv1.PaymentEvent{},
		"empty shipment event":  &shippingv1.ShipmentEvent{},
		"placed without order":  mutPlaced(func(e *orderingv1.OrderPlaced) { e.OrderId = "" }),
		"placed without email":  mutPlaced(func(e *orderingv1.OrderPlaced) { e.CustomerEmail = "" }),
		"placed with bad email": mutPlaced(func(e *orderingv1.OrderPlaced) { e.CustomerEmail = "ada" }),
		"placed without total":  mutPlaced(func(e *orderingv1.OrderPlaced) { e.Total = nil }),
		"placed with bad price": mutPlaced(func(e *orderingv1.OrderPlaced) { e.Lines[0].UnitPrice.Currency = "euro" }),
		"placed without lines":  mutPlaced(func(e *orderingv1.OrderPlaced) { e.Lines = nil }),
		"placed with no price":  mutPlaced(func(e *orderingv1.OrderPlaced) { e.Lines[0].UnitPrice = nil }),
		"placed with 0 items":   mutPlaced(func(e *orderingv1.OrderPlaced) { e.Lines[0].Quantity = 0 }),
		"too many lines": mutPlaced(func(e *orderingv1.OrderPlaced) {
			for range notification.MaxLines {
				e.Lines = append(e.Lines, e.Lines[0])
			}
		}),
		"shipped without tracking": &orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderShipped{OrderShipped: &orderingv1.OrderShipped{
			OrderId: "order-1", Carrier: "agora-sim"}}},
		"confirmed with a bad total": &orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderConfirmed{OrderConfirmed: &orderingv1.OrderConfirmed{
			OrderId: "order-1", Total: &commonv1.Money{AmountMinor: 1}}}},
		"refund without its ID":  refund(func(e *paymentv1.PaymentRefunded) { e.RefundId, e.Reference = "", "" }),
		"refund without amount":  refund(func(e *paymentv1.PaymentRefunded) { e.Amount = nil }),
		"refund of nothing":      refund(func(e *paymentv1.PaymentRefunded) { e.Amount = eur(0) }),
		"delivered of bad order": &shippingv1.ShipmentEvent{Event: &shippingv1.ShipmentEvent_ShipmentDelivered{ShipmentDelivered: &shippingv1.ShipmentDelivered{OrderId: "bad order"}}},
	} {
		err := f.handler(ctx, msg(uuid.NewString(), env))
		require.Error(t, err, name)
		require.True(t, fault.IsPermanent(err), "%s: %v", name, err)
	}
	require.Equal(t, 1, f.count(t), "nothing stored")

	// A refund named by its reference only is fine.
	require.NoError(t, f.handler(ctx, msg(uuid.NewString(), refund(func(e *paymentv1.PaymentRefunded) { e.RefundId = "" }))))
	f.message(t, "order-1", notification.KindRefundIssued, "order-cancelled")

	// Missing times fall back to the record's; free text is cleaned.
	odd := &orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderCancelled{OrderCancelled: &orderingv1.OrderCancelled{
		OrderId: "order-1", Reason: "warehouse\r\nflooded", Code: orderingv1.EndReason_END_REASON_UNSPECIFIED}}}
	require.NoError(t, f.handler(ctx, msg(uuid.NewString(), odd)))
	m := f.message(t, "order-1", notification.KindOrderCancelled, "")
	require.Contains(t, m.Content().Text, "cancelled: warehouse flooded.")

	_, err := kafka.Handler(nil)
	require.Error(t, err)
}

// On a real consumer group (kfake and the test environment's Kafka): the
// events of an order, from three producers' topics and delivered twice,
// become one message each, sent once to the mailbox; an event for an
// order whose OrderPlaced never comes is retried, then dead-lettered with
// the reason.
func TestConsumerOnTheBroker(t *testing.T) {
	t.Parallel()
	kafkatest.Each(t, func(t *testing.T, bus *kafkatest.Bus) {
		ctx := context.Background()
		orders, payments, shipments := bus.Topic(t, 3), bus.Topic(t, 2), bus.Topic(t, 1)
		f := newFixture(t, bus.Codec)

		encode := func(topic, key string, env proto.Message) events.Event {
			t.Helper()
			ev, err := bus.Codec.NewEvent(ctx, topic, "agora/test", key, env, t0)
			require.NoError(t, err)
			return ev
		}
		steps := stepEvents("order-1")
		// Every event twice. Ordering's events first: payment's and
		// shipping's topics are not ordered with ordering's, and the
		// consumer's retries here are short.
		twice := func(evs ...events.Event) []*kgo.Record {
			var recs []*kgo.Record
			for range 2 {
				for _, ev := range evs {
					recs = append(recs, ev.Record())
				}
			}
			return recs
		}
		bus.Produce(t, twice(encode(orders, "order-1", placed("order-1")), encode(orders, "order-1", steps[notification.KindOrderConfirmed]),
			encode(orders, "order-1", steps[notification.KindOrderShipped]), encode(orders, "order-1", steps[notification.KindOrderCompleted]))...)

		c, err := consumer.New(consumer.Config{
			ClientOpts: []kgo.Opt{kgo.SeedBrokers(bus.Brokers...), kgo.FetchMaxWait(200 * time.Millisecond)},
			Group:      orders + "-group", Topics: []string{orders, payments, shipments}, Decoder: bus.Codec, Handler: f.handler,
			Retry: consumer.RetryPolicy{MaxAttempts: 3, InitialInterval: 5 * time.Millisecond, MaxInterval: 20 * time.Millisecond},
		})
		require.NoError(t, err)
		run, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- c.Run(run) }()
		t.Cleanup(func() {
			cancel()
			select {
			case err := <-done:
				require.NoError(t, err)
			case <-time.After(30 * time.Second):
				t.Error("consumer did not stop")
			}
		})

		require.Eventually(t, func() bool { return f.count(t) == 4 }, 60*time.Second, 20*time.Millisecond)
		orphan := encode(payments, "payment-2", stepEvents("order-404")[notification.KindRefundIssued])
		bus.Produce(t, append(twice(encode(shipments, "shipment-1", steps[notification.KindOrderDelivered]),
			encode(payments, "payment-1", steps[notification.KindRefundIssued])), orphan.Record())...)

		dead := bus.Read(t, orders+"-group.dlq", 1)
		h := kafkatest.Headers(dead[0])
		require.Equal(t, "payment-2", string(dead[0].Key))
		require.Equal(t, consumer.ReasonRetriesExhausted, h[consumer.HeaderDLQReason])
		require.Contains(t, h[consumer.HeaderDLQError], "OrderPlaced has not been applied yet")

		require.Eventually(t, func() bool { return f.count(t) == 6 }, 60*time.Second, 20*time.Millisecond)
		rep, err := f.svc.Dispatch(ctx)
		require.NoError(t, err)
		require.Equal(t, app.Report{Sent: 6}, rep)
		page, err := f.box.MailboxMessages(ctx, "ada@example.com", app.PageQuery{Limit: 20})
		require.NoError(t, err)
		require.Len(t, page.Items, 6)
		var subjects []string
		for _, m := range page.Items {
			subjects = append(subjects, m.Subject)
		}
		require.ElementsMatch(t, []string{
			"We received your order order-1", "Your order order-1 is confirmed", "Your order order-1 is on its way",
			"Your order order-1 is complete", "Your order order-1 was delivered", "Refund of EUR 26.97 for your order order-1",
		}, subjects)
	})
}
