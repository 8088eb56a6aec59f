package kafka_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/agoracommerce/agora/gen/proto/agora/common/v1"
	inventoryv1 "github.com/agoracommerce/agora/gen/proto/agora/inventory/v1"
	paymentv1 "github.com/agoracommerce/agora/gen/proto/agora/payment/v1"
	shippingv1 "github.com/agoracommerce/agora/gen/proto/agora/shipping/v1"
	"github.com/agoracommerce/agora/internal/ordering"
	"github.com/agoracommerce/agora/internal/ordering/app"
	"github.com/agoracommerce/agora/internal/ordering/kafka"
	"github.com/agoracommerce/agora/internal/ordering/orderingtest"
	"github.com/agoracommerce/agora/internal/ordering/sqlstore"
	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/consumer"
	"github.com/agoracommerce/agora/internal/platform/contract"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/fault"
	"github.com/agoracommerce/agora/internal/platform/inbox"
	"github.com/agoracommerce/agora/internal/platform/kafkatest"
	"github.com/agoracommerce/agora/internal/platform/outbox"
	"github.com/agoracommerce/agora/internal/platform/outbox/outboxtest"
	"github.com/agoracommerce/agora/internal/platform/sqldb/sqldbtest"
)

var t0 = orderingtest.T0

// The consumer's declarations hold against the envelopes the participants
// publish.
func TestContracts(t *testing.T) {
	t.Parallel()
	envelopes := map[string]protoreflect.MessageDescriptor{
		kafka.TopicInventory: (&inventoryv1.StockEvent{}).ProtoReflect().Descriptor(),
		kafka.TopicPayment:   (&paymentv1.PaymentEvent{}).ProtoReflect().Descriptor(),
		kafka.TopicShipping:  (&shippingv1.ShipmentEvent{}).ProtoReflect().Descriptor(),
	}
	reads := kafka.Contracts()
	require.Len(t, reads, len(kafka.Topics()))
	for _, r := range reads {
		require.Equal(t, kafka.Group, r.Consumer)
		env, ok := envelopes[r.Topic]
		require.True(t, ok, "a topic the consumer reads: %s", r.Topic)
		require.NoError(t, contract.Check(r, env))
	}
}

// call is one use case the handler called.
type call struct {
	name string
	key  app.DedupeKey
	id   uuid.UUID
	arg  any
}

// fakeSaga records calls and answers with err.
type fakeSaga struct {
	calls []call
	err   error
}

func (f *fakeSaga) rec(name string, key app.DedupeKey, id uuid.UUID, arg any) error {
	f.calls = append(f.calls, call{name, key, id, arg})
	return f.err
}

func (f *fakeSaga) OnStockReserved(_ context.Context, k app.DedupeKey, id uuid.UUID) error {
	return f.rec("reserved", k, id, nil)
}

func (f *fakeSaga) OnReservationRejected(_ context.Context, k app.DedupeKey, id uuid.UUID, reason string) error {
	return f.rec("rejected", k, id, reason)
}

func (f *fakeSaga) OnPaymentAuthorized(_ context.Context, k app.DedupeKey, a app.PaymentAnswer) error {
	return f.rec("authorized", k, a.OrderID, a)
}

func (f *fakeSaga) OnPaymentDeclined(_ context.Context, k app.DedupeKey, a app.PaymentAnswer) error {
	return f.rec("declined", k, a.OrderID, a)
}

func (f *fakeSaga) OnPaymentFailed(_ context.Context, k app.DedupeKey, a app.PaymentAnswer) error {
	return f.rec("failed", k, a.OrderID, a)
}

func (f *fakeSaga) OnPaymentCaptured(_ context.Context, k app.DedupeKey, a app.PaymentAnswer) error {
	return f.rec("captured", k, a.OrderID, a)
}

func (f *fakeSaga) OnPaymentRefunded(_ context.Context, k app.DedupeKey, a app.PaymentAnswer) error {
	return f.rec("refunded", k, a.OrderID, a)
}

func (f *fakeSaga) OnShipmentShipped(_ context.Context, k app.DedupeKey, a app.ShipmentAnswer) error {
	return f.rec("shipped", k, a.OrderID, a)
}

func msg(event proto.Message) *consumer.Message {
	return &consumer.Message{Record: &kgo.Record{}, Event: event, Meta: events.Metadata{ID: "ev-1"}}
}

func TestHandlerMapping(t *testing.T) {
	t.Parallel()
	id := uuid.Must(uuid.NewV7())
	oid := id.String()
	eur := func(a int64) ordering.Money { m, err := ordering.NewMoney(a, "EUR"); require.NoError(t, err); return m }
	pm := &commonv1.Money{AmountMinor: 4498, Currency: "EUR"}
	key := app.DedupeKey{Group: kafka.Group, EventID: "ev-1"}
	cases := []struct {
		name string
		ev   proto.Message
		want []call
	}{
		{"stock reserved", &inventoryv1.StockEvent{Event: &inventoryv1.StockEvent_StockReserved{StockReserved: &inventoryv1.StockReserved{OrderId: oid}}},
			[]call{{"reserved", key, id, nil}}},
		{"reservation rejected", &inventoryv1.StockEvent{Event: &inventoryv1.StockEvent_ReservationRejected{ReservationRejected: &inventoryv1.ReservationRejected{
			OrderId: oid, ShortLines: []*inventoryv1.ShortLine{{Sku: "A", Requested: 3, Available: 1}, {Sku: "B", Requested: 1}}}}},
			[]call{{"rejected", key, id, "A: 3 requested, 1 available; B: 1 requested, 0 available"}}},
		{"stock received", &inventoryv1.StockEvent{Event: &inventoryv1.StockEvent_StockReceived{StockReceived: &inventoryv1.StockReceived{Sku: "A"}}}, nil},
		{"low stock", &inventoryv1.StockEvent{Event: &inventoryv1.StockEvent_LowStock{LowStock: &inventoryv1.LowStock{Sku: "A"}}}, nil},
		{"stock released", &inventoryv1.StockEvent{Event: &inventoryv1.StockEvent_StockReleased{StockReleased: &inventoryv1.StockReleased{OrderId: oid}}}, nil},
		{"stock committed", &inventoryv1.StockEvent{Event: &inventoryv1.StockEvent_StockCommitted{StockCommitted: &inventoryv1.StockCommitted{OrderId: oid}}}, nil},
		{"authorized", &paymentv1.PaymentEvent{Event: &paymentv1.PaymentEvent_PaymentAuthorized{PaymentAuthorized: &paymentv1.PaymentAuthorized{
			PaymentId: "pay-1", OrderId: oid, Amount: pm}}},
			[]call{{"authorized", key, id, app.PaymentAnswer{OrderID: id, PaymentID: "pay-1", Amount: eur(4498)}}}},
		{"authorized without amount", &paymentv1.PaymentEvent{Event: &paymentv1.PaymentEvent_PaymentAuthorized{PaymentAuthorized: &paymentv1.PaymentAuthorized{
			PaymentId: "pay-1", OrderId: oid}}},
			[]call{{"authorized", key, id, app.PaymentAnswer{OrderID: id, PaymentID: "pay-1"}}}},
		{"declined", &paymentv1.PaymentEvent{Event: &paymentv1.PaymentEvent_PaymentDeclined{PaymentDeclined: &paymentv1.PaymentDeclined{
			PaymentId: "pay-1", OrderId: oid, Reason: "insufficient_funds"}}},
			[]call{{"declined", key, id, app.PaymentAnswer{OrderID: id, PaymentID: "pay-1", Reason: "insufficient_funds"}}}},
		{"failed", &paymentv1.PaymentEvent{Event: &paymentv1.PaymentEvent_PaymentFailed{PaymentFailed: &paymentv1.PaymentFailed{
			PaymentId: "pay-1", OrderId: oid, Reason: "processor"}}},
			[]call{{"failed", key, id, app.PaymentAnswer{OrderID: id, PaymentID: "pay-1", Reason: "processor"}}}},
		{"captured", &paymentv1.PaymentEvent{Event: &paymentv1.PaymentEvent_PaymentCaptured{PaymentCaptured: &paymentv1.PaymentCaptured{
			PaymentId: "pay-1", OrderId: oid}}},
			[]call{{"captured", key, id, app.PaymentAnswer{OrderID: id, PaymentID: "pay-1"}}}},
		{"refunded", &paymentv1.PaymentEvent{Event: &paymentv1.PaymentEvent_PaymentRefunded{PaymentRefunded: &paymentv1.PaymentRefunded{
			PaymentId: "pay-1", OrderId: oid}}},
			[]call{{"refunded", key, id, app.PaymentAnswer{OrderID: id, PaymentID: "pay-1"}}}},
		{"voided", &paymentv1.PaymentEvent{Event: &paymentv1.PaymentEvent_PaymentVoided{PaymentVoided: &paymentv1.PaymentVoided{OrderId: oid}}}, nil},
		{"shipped", &shippingv1.ShipmentEvent{Event: &shippingv1.ShipmentEvent_ShipmentShipped{ShipmentShipped: &shippingv1.ShipmentShipped{
			ShipmentId: "s-1", OrderId: oid, Carrier: "DHL", TrackingNumber: "T-1"}}},
			[]call{{"shipped", key, id, app.ShipmentAnswer{OrderID: id, ShipmentID: "s-1", Carrier: "DHL", TrackingNumber: "T-1"}}}},
		{"shipment created", &shippingv1.ShipmentEvent{Event: &shippingv1.ShipmentEvent_ShipmentCreated{ShipmentCreated: &shippingv1.ShipmentCreated{OrderId: oid}}}, nil},
		{"shipment delivered", &shippingv1.ShipmentEvent{Event: &shippingv1.ShipmentEvent_ShipmentDelivered{ShipmentDelivered: &shippingv1.ShipmentDelivered{OrderId: oid}}}, nil},
		{"shipment cancelled", &shippingv1.ShipmentEvent{Event: &shippingv1.ShipmentEvent_ShipmentCancelled{ShipmentCancelled: &shippingv1.ShipmentCancelled{OrderId: oid}}}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			saga := &fakeSaga{}
			h, err := kafka.Handler(saga)
			require.NoError(t, err)
			require.NoError(t, h(context.Background(), msg(c.ev)))
			require.Equal(t, c.want, saga.calls)
		})
	}
}

func TestHandlerFailures(t *testing.T) {
	t.Parallel()
	oid := uuid.Must(uuid.NewV7()).String()
	reserved := &inventoryv1.StockEvent{Event: &inventoryv1.StockEvent_StockReserved{StockReserved: &inventoryv1.StockReserved{OrderId: oid}}}
	permanent := []struct {
		name string
		ev   proto.Message
		err  error
	}{
		{"not a saga envelope", &commonv1.Money{}, nil},
		{"an empty stock event", &inventoryv1.StockEvent{}, nil},
		{"an empty payment event", &paymentv1.PaymentEvent{}, nil},
		{"an empty shipment event", &shippingv1.ShipmentEvent{}, nil},
		{"a bad order ID", &inventoryv1.StockEvent{Event: &inventoryv1.StockEvent_StockReserved{StockReserved: &inventoryv1.StockReserved{OrderId: "nope"}}}, nil},
		{"a bad amount", &paymentv1.PaymentEvent{Event: &paymentv1.PaymentEvent_PaymentAuthorized{PaymentAuthorized: &paymentv1.PaymentAuthorized{
			OrderId: oid, Amount: &commonv1.Money{AmountMinor: -1, Currency: "EUR"}}}}, nil},
		{"a bad order ID in a shipment", &shippingv1.ShipmentEvent{Event: &shippingv1.ShipmentEvent_ShipmentShipped{ShipmentShipped: &shippingv1.ShipmentShipped{}}}, nil},
		{"a bad order ID in a payment", &paymentv1.PaymentEvent{Event: &paymentv1.PaymentEvent_PaymentCaptured{PaymentCaptured: &paymentv1.PaymentCaptured{}}}, nil},
		{"an invalid transition", reserved, &ordering.TransitionError{Trigger: ordering.TriggerStockReserved}},
		{"an unknown order", reserved, ordering.ErrNotFound},
		{"an invalid answer", reserved, ordering.ErrInvalid},
	}
	for _, c := range permanent {
		h, err := kafka.Handler(&fakeSaga{err: c.err})
		require.NoError(t, err)
		err = h(context.Background(), msg(c.ev))
		require.Error(t, err, c.name)
		require.True(t, fault.IsPermanent(err), "%s: %v", c.name, err)
	}
	h, err := kafka.Handler(&fakeSaga{err: fault.Retryable(errors.New("database gone"))})
	require.NoError(t, err)
	err = h(context.Background(), msg(reserved))
	require.True(t, fault.IsRetryable(err), "storage errors stay retryable")

	h, err = kafka.Handler(&fakeSaga{})
	require.NoError(t, err)
	err = h(context.Background(), &consumer.Message{Record: &kgo.Record{}, Event: reserved})
	require.True(t, fault.IsPermanent(err), "an event without ID")
	_, err = kafka.Handler(nil)
	require.Error(t, err)
}

// staticCarts answers every cart ID with the one cart of its customer.
type staticCarts struct{}

func (staticCarts) Cart(_ context.Context, id uuid.UUID, _ string) (ordering.Cart, error) {
	price, err := ordering.NewMoney(1999, "EUR")
	if err != nil {
		return ordering.Cart{}, err
	}
	return ordering.Cart{ID: id, CustomerID: "alice", Status: ordering.CartOpen, Currency: "EUR", Lines: []ordering.CartLine{
		{ProductID: uuid.Must(uuid.NewV7()), SKU: "SHIRT-1", Name: "Shirt", Quantity: 2, UnitPrice: price, Available: true}}}, nil
}

// The saga runs on a real consumer group: the participants' answers,
// produced in their own envelopes on their own topics, move an order to
// COMPLETED; a redelivered answer and the events ordering ignores change
// nothing; an answer the machine refuses and an unreadable one go to the
// dead-letter topic with the reason, and the others keep flowing.
func TestSagaOverKafka(t *testing.T) {
	t.Parallel()
	kafkatest.Each(t, func(t *testing.T, bus *kafkatest.Bus) {
		ctx := context.Background()
		inv, pay, ship := bus.Topic(t, 2), bus.Topic(t, 2), bus.Topic(t, 2)
		group := inv + "-group"

		db := sqldbtest.SQLite(t)
		ob, err := outbox.NewStore(ctx, db)
		require.NoError(t, err)
		in, err := inbox.NewStore(ctx, db)
		require.NoError(t, err)
		store, err := sqlstore.New(ctx, db, ob, in, bus.Codec)
		require.NoError(t, err)
		svc, err := app.New(store, staticCarts{}, app.Config{Policy: orderingtest.Policy})
		require.NoError(t, err)
		alice := auth.WithPrincipal(ctx, &auth.Principal{Subject: "alice"})
		place := func() uuid.UUID {
			o, err := svc.PlaceOrder(alice, app.PlaceOrder{CartID: uuid.Must(uuid.NewV7()), PaymentToken: "tok_visa", Email: "a@example.com",
				Address: ordering.Address{Name: "Ada", Line1: "1 Row", City: "London", PostalCode: "EC1", Country: "GB"}})
			require.NoError(t, err)
			return o.ID()
		}
		id, rejected := place(), place()

		handler, err := kafka.Handler(svc)
		require.NoError(t, err)
		c, err := consumer.New(consumer.Config{
			ClientOpts: []kgo.Opt{kgo.SeedBrokers(bus.Brokers...), kgo.FetchMaxWait(200 * time.Millisecond)},
			Group:      group, Topics: []string{inv, pay, ship}, Decoder: bus.Codec, Handler: handler,
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

		ts := timestamppb.New(t0)
		event := func(topic, key string, env proto.Message) events.Event {
			ev, err := bus.Codec.NewEvent(ctx, topic, "agora/test", key, env, t0)
			require.NoError(t, err)
			return ev
		}
		produce := func(evs ...events.Event) {
			recs := make([]*kgo.Record, len(evs))
			for i, ev := range evs {
				recs[i] = ev.Record()
			}
			bus.Produce(t, recs...)
		}
		waitFor := func(id uuid.UUID, want ordering.State) {
			require.Eventually(t, func() bool {
				o, err := store.Get(ctx, id)
				require.NoError(t, err)
				return o.State() == want
			}, 60*time.Second, 20*time.Millisecond, "order %s never reached %s", id, want)
		}
		oid := id.String()

		// Inventory reserves; the answer arrives twice, with a stock event
		// ordering ignores.
		reserved := event(inv, oid, &inventoryv1.StockEvent{Event: &inventoryv1.StockEvent_StockReserved{StockReserved: &inventoryv1.StockReserved{
			OrderId: oid, ExpiresAt: ts, OccurredAt: ts}}})
		produce(reserved, event(inv, "SHIRT-1", &inventoryv1.StockEvent{Event: &inventoryv1.StockEvent_LowStock{LowStock: &inventoryv1.LowStock{
			Sku: "SHIRT-1", OccurredAt: ts}}}), reserved)
		waitFor(id, ordering.State{Status: ordering.StatusPending, Step: ordering.StepAuthorizingPayment})
		produce(event(pay, "pay-1", &paymentv1.PaymentEvent{Event: &paymentv1.PaymentEvent_PaymentAuthorized{PaymentAuthorized: &paymentv1.PaymentAuthorized{
			PaymentId: "pay-1", OrderId: oid, CustomerId: "alice", Amount: &commonv1.Money{AmountMinor: 3998, Currency: "EUR"}, OccurredAt: ts}}}))
		waitFor(id, ordering.State{Status: ordering.StatusConfirmed, Step: ordering.StepShipping})
		produce(
			event(ship, "s-1", &shippingv1.ShipmentEvent{Event: &shippingv1.ShipmentEvent_ShipmentCreated{ShipmentCreated: &shippingv1.ShipmentCreated{
				ShipmentId: "s-1", OrderId: oid, OccurredAt: ts}}}),
			event(ship, "s-1", &shippingv1.ShipmentEvent{Event: &shippingv1.ShipmentEvent_ShipmentShipped{ShipmentShipped: &shippingv1.ShipmentShipped{
				ShipmentId: "s-1", OrderId: oid, Carrier: "DHL", TrackingNumber: "T-1", OccurredAt: ts}}}))
		waitFor(id, ordering.State{Status: ordering.StatusShipped, Step: ordering.StepCapturingPayment})
		produce(event(pay, "pay-1", &paymentv1.PaymentEvent{Event: &paymentv1.PaymentEvent_PaymentCaptured{PaymentCaptured: &paymentv1.PaymentCaptured{
			PaymentId: "pay-1", OrderId: oid, OccurredAt: ts}}}))
		waitFor(id, ordering.State{Status: ordering.StatusCompleted, Step: ordering.StepDone})

		// A refused answer (a decline of a completed order) and an
		// unreadable one are dead-lettered; the rejection after them
		// still applies.
		produce(
			event(pay, "pay-1", &paymentv1.PaymentEvent{Event: &paymentv1.PaymentEvent_PaymentDeclined{PaymentDeclined: &paymentv1.PaymentDeclined{
				PaymentId: "pay-1", OrderId: oid, Reason: "declined", OccurredAt: ts}}}),
			event(inv, "bad", &inventoryv1.StockEvent{Event: &inventoryv1.StockEvent_StockReserved{StockReserved: &inventoryv1.StockReserved{
				OrderId: "not-an-order"}}}),
			event(inv, rejected.String(), &inventoryv1.StockEvent{Event: &inventoryv1.StockEvent_ReservationRejected{ReservationRejected: &inventoryv1.ReservationRejected{
				OrderId: rejected.String(), ShortLines: []*inventoryv1.ShortLine{{Sku: "SHIRT-1", Requested: 2}}, OccurredAt: ts}}}))
		waitFor(rejected, ordering.State{Status: ordering.StatusRejected, Step: ordering.StepDone})

		dead := bus.Read(t, group+".dlq", 2)
		errs := map[string]string{}
		for _, r := range dead {
			h := kafkatest.Headers(r)
			errs[string(r.Key)] = h[consumer.HeaderDLQError]
			require.Equal(t, group, h[consumer.HeaderDLQGroup])
		}
		require.Contains(t, errs["pay-1"], "PaymentDeclined is not allowed for an order COMPLETED")
		require.Contains(t, errs["bad"], "malformed")

		var types []string
		for _, e := range outboxtest.Pending(t, ob) {
			if e.Key == oid {
				types = append(types, e.Metadata.Type)
			}
		}
		require.Equal(t, []string{"agora.ordering.v1.OrderPlaced", "agora.ordering.v1.OrderPaymentRequested", "agora.ordering.v1.OrderConfirmed",
			"agora.ordering.v1.OrderShipped", "agora.ordering.v1.OrderCompleted"}, types, "each answer applied once")
		seen, err := in.Seen(ctx, kafka.Group, reserved.Metadata.ID)
		require.NoError(t, err)
		require.True(t, seen, "the answer's ID is in the inbox")
	})
}
