package kafka_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	catalogv1 "github.com/agoracommerce/agora/gen/proto/agora/catalog/v1"
	orderingv1 "github.com/agoracommerce/agora/gen/proto/agora/ordering/v1"
	shippingv1 "github.com/agoracommerce/agora/gen/proto/agora/shipping/v1"
	"github.com/agoracommerce/agora/internal/platform/consumer"
	"github.com/agoracommerce/agora/internal/platform/contract"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/fault"
	"github.com/agoracommerce/agora/internal/platform/kafkatest"
	"github.com/agoracommerce/agora/internal/platform/outbox"
	"github.com/agoracommerce/agora/internal/platform/outbox/outboxtest"
	"github.com/agoracommerce/agora/internal/platform/sqldb"
	"github.com/agoracommerce/agora/internal/platform/sqldb/sqldbtest"
	"github.com/agoracommerce/agora/internal/shipping"
	"github.com/agoracommerce/agora/internal/shipping/app"
	"github.com/agoracommerce/agora/internal/shipping/kafka"
	"github.com/agoracommerce/agora/internal/shipping/simcarrier"
	"github.com/agoracommerce/agora/internal/shipping/sqlstore"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// The shipping's declared reads match the ordering service's envelope.
func TestContracts(t *testing.T) {
	t.Parallel()
	reads := kafka.Contracts()
	require.NotEmpty(t, reads)
	for _, r := range reads {
		require.Equal(t, kafka.OrdersGroup, r.Consumer)
		require.Equal(t, kafka.OrdersTopic, r.Topic)
		require.NoError(t, contract.Check(r, (&orderingv1.OrderEvent{}).ProtoReflect().Descriptor()))
	}
}

// fixture is the shipping service over a real store and the simulated
// carrier (steps taken by hand), driven through the handler.
type fixture struct {
	db      *sqldb.DB
	outbox  *outbox.Store
	codec   *events.Codec
	svc     *app.Service
	handler consumer.Handler
}

func newFixture(t *testing.T, db *sqldb.DB, codec *events.Codec) *fixture {
	t.Helper()
	ctx := context.Background()
	ob, err := outbox.NewStore(ctx, db)
	require.NoError(t, err)
	store, err := sqlstore.New(ctx, db, ob, codec)
	require.NoError(t, err)
	carrier, err := simcarrier.New(simcarrier.Config{})
	require.NoError(t, err)
	svc, err := app.New(store, carrier, app.Config{Now: func() time.Time { return t0 }})
	require.NoError(t, err)
	h, err := kafka.Orders(svc, nil)
	require.NoError(t, err)
	return &fixture{db: db, outbox: ob, codec: codec, svc: svc, handler: h}
}

func (f *fixture) handle(env proto.Message) error {
	return f.handler(context.Background(), &consumer.Message{Event: env, Meta: events.Metadata{ID: events.NewID()}, Attempt: 1})
}

// answers returns the types of the events written so far, by order ID.
func (f *fixture) answers(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, e := range outboxtest.Pending(t, f.outbox) {
		msg, err := f.codec.Decode(context.Background(), e.Value)
		require.NoError(t, err)
		order, typ := describe(t, msg.(*shippingv1.ShipmentEvent))
		out[order] = append(out[order], typ)
	}
	return out
}

func describe(t *testing.T, env *shippingv1.ShipmentEvent) (orderID, typ string) {
	t.Helper()
	switch ev := env.GetEvent().(type) {
	case *shippingv1.ShipmentEvent_ShipmentCreated:
		return ev.ShipmentCreated.GetOrderId(), "ShipmentCreated"
	case *shippingv1.ShipmentEvent_ShipmentShipped:
		return ev.ShipmentShipped.GetOrderId(), "ShipmentShipped"
	case *shippingv1.ShipmentEvent_ShipmentDelivered:
		return ev.ShipmentDelivered.GetOrderId(), "ShipmentDelivered"
	case *shippingv1.ShipmentEvent_ShipmentCancelled:
		return ev.ShipmentCancelled.GetOrderId(), "ShipmentCancelled"
	}
	t.Fatalf("unexpected shipment event %v", env)
	return "", ""
}

func address() *orderingv1.Address {
	return &orderingv1.Address{Name: "Ada Lovelace", Line1: "1 Main St", City: "Berlin", PostalCode: "10115", Country: "DE"}
}

func confirmed(orderID string, a *orderingv1.Address, lines ...*orderingv1.OrderLine) *orderingv1.OrderEvent {
	return &orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderConfirmed{OrderConfirmed: &orderingv1.OrderConfirmed{
		OrderId: orderID, CustomerId: "cust-1", Lines: lines, ShippingAddress: a, PaymentId: "pay-1", OccurredAt: timestamppb.New(t0),
	}}}
}

func line(sku string, qty int32) *orderingv1.OrderLine {
	return &orderingv1.OrderLine{Sku: sku, Quantity: qty}
}

func cancelled(orderID string) *orderingv1.OrderEvent {
	return &orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderCancelled{OrderCancelled: &orderingv1.OrderCancelled{
		OrderId: orderID, Code: orderingv1.EndReason_END_REASON_CUSTOMER_REQUEST, OccurredAt: timestamppb.New(t0)}}}
}

func rejected(orderID string) *orderingv1.OrderEvent {
	return &orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderRejected{OrderRejected: &orderingv1.OrderRejected{
		OrderId: orderID, Code: orderingv1.EndReason_END_REASON_DEADLINE_EXCEEDED, OccurredAt: timestamppb.New(t0)}}}
}

func TestOrders(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, open func(testing.TB) *sqldb.DB) {
		t.Run("confirmed ships once", func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, open(t), kafkatest.Codec(t))
			ev := confirmed("order-1", address(), line("SKU-A", 2), line("SKU-B", 1))
			require.NoError(t, f.handle(ev))
			require.NoError(t, f.handle(ev), "a redelivered OrderConfirmed")
			sh, err := f.svc.ShipmentOfOrder(context.Background(), "order-1")
			require.NoError(t, err)
			require.Equal(t, shipping.StatusLabelCreated, sh.Status())
			require.Equal(t, "cust-1", sh.CustomerID())
			require.Equal(t, []shipping.Line{{SKU: "SKU-A", Quantity: 2}, {SKU: "SKU-B", Quantity: 1}}, sh.Lines())
			require.Equal(t, shipping.Address{Name: "Ada Lovelace", Line1: "1 Main St", City: "Berlin", PostalCode: "10115", Country: "DE"}, sh.Address())
			require.Equal(t, map[string][]string{"order-1": {"ShipmentCreated"}}, f.answers(t))
		})

		t.Run("cancelled before it left cancels once", func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, open(t), kafkatest.Codec(t))
			require.NoError(t, f.handle(confirmed("order-2", address(), line("SKU-A", 1))))
			require.NoError(t, f.handle(confirmed("order-3", address(), line("SKU-A", 1))))
			for range 2 {
				require.NoError(t, f.handle(cancelled("order-2")))
				require.NoError(t, f.handle(rejected("order-3")))
			}
			for _, id := range []string{"order-2", "order-3"} {
				sh, err := f.svc.ShipmentOfOrder(context.Background(), id)
				require.NoError(t, err)
				require.Equal(t, shipping.StatusCancelled, sh.Status())
			}
			require.Equal(t, map[string][]string{
				"order-2": {"ShipmentCreated", "ShipmentCancelled"},
				"order-3": {"ShipmentCreated", "ShipmentCancelled"},
			}, f.answers(t))
		})

		t.Run("a shipment that left stays shipped", func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, open(t), kafkatest.Codec(t))
			ctx := context.Background()
			require.NoError(t, f.handle(confirmed("order-4", address(), line("SKU-A", 1))))
			sh, err := f.svc.ShipmentOfOrder(ctx, "order-4")
			require.NoError(t, err)
			_, err = f.svc.Advance(ctx, sh.ID(), 0)
			require.NoError(t, err)
			require.NoError(t, f.handle(cancelled("order-4")), "an operator's cancellation after shipping")
			sh, err = f.svc.ShipmentOfOrder(ctx, "order-4")
			require.NoError(t, err)
			require.Equal(t, shipping.StatusInTransit, sh.Status())
			require.Equal(t, map[string][]string{"order-4": {"ShipmentCreated", "ShipmentShipped"}}, f.answers(t))
		})

		t.Run("orders without a shipment have nothing to cancel", func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, open(t), kafkatest.Codec(t))
			require.NoError(t, f.handle(cancelled("order-5")))
			require.NoError(t, f.handle(rejected("order-5")))
			require.Empty(t, f.answers(t))
		})

		t.Run("other order events pass without effect", func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, open(t), kafkatest.Codec(t))
			for _, ev := range []*orderingv1.OrderEvent{
				{Event: &orderingv1.OrderEvent_OrderPlaced{OrderPlaced: &orderingv1.OrderPlaced{OrderId: "order-6"}}},
				{Event: &orderingv1.OrderEvent_OrderPaymentRequested{OrderPaymentRequested: &orderingv1.OrderPaymentRequested{OrderId: "order-6"}}},
				{Event: &orderingv1.OrderEvent_OrderShipped{OrderShipped: &orderingv1.OrderShipped{OrderId: "order-6"}}},
				{Event: &orderingv1.OrderEvent_OrderCompleted{OrderCompleted: &orderingv1.OrderCompleted{OrderId: "order-6"}}},
				newerEvent(t),
			} {
				require.NoError(t, f.handle(ev))
			}
			require.Empty(t, f.answers(t))
		})

		t.Run("a storage failure is retryable", func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, open(t), kafkatest.Codec(t))
			require.NoError(t, f.db.Close())
			for _, ev := range []*orderingv1.OrderEvent{confirmed("order-7", address(), line("SKU-A", 1)), cancelled("order-7")} {
				err := f.handle(ev)
				require.Error(t, err)
				require.True(t, fault.IsRetryable(err), "%v", err)
			}
		})
	})
}

// newerEvent is an OrderEvent carrying an event type this build does not
// know (field 99 of the oneof, as a later schema would add it).
func newerEvent(t *testing.T) *orderingv1.OrderEvent {
	t.Helper()
	env := &orderingv1.OrderEvent{}
	require.NoError(t, proto.Unmarshal([]byte{0x9a, 0x06, 0x00}, env))
	require.Nil(t, env.GetEvent())
	return env
}

func TestMalformedIsPermanent(t *testing.T) {
	t.Parallel()
	f := newFixture(t, sqldbtest.SQLite(t), kafkatest.Codec(t))
	noCountry := address()
	noCountry.Country = ""
	for name, env := range map[string]proto.Message{
		"not an order event":      &catalogv1.ProductEvent{},
		"no event":                &orderingv1.OrderEvent{},
		"confirmed without id":    confirmed("", address(), line("SKU-A", 1)),
		"no address":              confirmed("order-m", nil, line("SKU-A", 1)),
		"address without country": confirmed("order-m", noCountry, line("SKU-A", 1)),
		"no lines":                confirmed("order-m", address()),
		"zero quantity":           confirmed("order-m", address(), line("SKU-A", 0)),
		"bad sku":                 confirmed("order-m", address(), line("no sku", 1)),
		"sku twice":               confirmed("order-m", address(), line("SKU-A", 1), line("SKU-A", 1)),
		"bad order id":            confirmed("-bad", address(), line("SKU-A", 1)),
		"cancelled without id":    cancelled(""),
		"rejected with a bad id":  rejected("-bad"),
	} {
		err := f.handle(env)
		require.Error(t, err, name)
		require.True(t, fault.IsPermanent(err), "%s: %v", name, err)
	}
	require.Empty(t, f.answers(t), "nothing was published")

	_, err := kafka.Orders(nil, nil)
	require.Error(t, err)
}
