package kafka_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	catalogv1 "github.com/agoracommerce/agora/gen/proto/agora/catalog/v1"
	inventoryv1 "github.com/agoracommerce/agora/gen/proto/agora/inventory/v1"
	orderingv1 "github.com/agoracommerce/agora/gen/proto/agora/ordering/v1"
	"github.com/agoracommerce/agora/internal/inventory"
	"github.com/agoracommerce/agora/internal/inventory/app"
	"github.com/agoracommerce/agora/internal/inventory/kafka"
	"github.com/agoracommerce/agora/internal/inventory/sqlstore"
	"github.com/agoracommerce/agora/internal/platform/consumer"
	"github.com/agoracommerce/agora/internal/platform/contract"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/fault"
	"github.com/agoracommerce/agora/internal/platform/kafkatest"
	"github.com/agoracommerce/agora/internal/platform/outbox"
	"github.com/agoracommerce/agora/internal/platform/outbox/outboxtest"
	"github.com/agoracommerce/agora/internal/platform/sqldb"
	"github.com/agoracommerce/agora/internal/platform/sqldb/sqldbtest"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// The inventory's declared reads match the ordering service's envelope.
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

// fixture is the inventory over a real store, driven through the handler.
type fixture struct {
	db      *sqldb.DB
	store   *sqlstore.Store
	outbox  *outbox.Store
	codec   *events.Codec
	clock   *outboxtest.Clock
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
	clock := outboxtest.NewClock(t0)
	svc, err := app.New(store, app.Config{Now: clock.Now})
	require.NoError(t, err)
	h, err := kafka.Orders(svc, nil)
	require.NoError(t, err)
	return &fixture{db: db, store: store, outbox: ob, codec: codec, clock: clock, svc: svc, handler: h}
}

func (f *fixture) receive(t *testing.T, sku string, qty int64) {
	t.Helper()
	_, err := f.svc.ReceiveStock(context.Background(), sku, "ams-1", qty, "")
	require.NoError(t, err)
}

// handle delivers env as a fresh message.
func (f *fixture) handle(env proto.Message) error {
	return f.handler(context.Background(), &consumer.Message{Event: env, Meta: events.Metadata{ID: events.NewID()}, Attempt: 1})
}

// answers decodes the inventory's events written since the n-th.
func (f *fixture) answers(t *testing.T, n int) []*inventoryv1.StockEvent {
	t.Helper()
	var out []*inventoryv1.StockEvent
	for _, e := range outboxtest.Pending(t, f.outbox)[n:] {
		msg, err := f.codec.Decode(context.Background(), e.Value)
		require.NoError(t, err)
		out = append(out, msg.(*inventoryv1.StockEvent))
	}
	return out
}

func (f *fixture) count(t *testing.T) int {
	t.Helper()
	return len(outboxtest.Pending(t, f.outbox))
}

func (f *fixture) available(t *testing.T, sku string) (onHand, reserved int64) {
	t.Helper()
	st, err := f.svc.Stock(context.Background(), sku)
	require.NoError(t, err)
	return st.OnHand(), st.Reserved()
}

func placed(orderID string, expires time.Time, lines ...*orderingv1.OrderLine) *orderingv1.OrderEvent {
	return &orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderPlaced{OrderPlaced: &orderingv1.OrderPlaced{
		OrderId: orderID, CustomerId: "cust-1", Lines: lines, CartId: "0190f5a8-3c4e-7b1a-9d2e-5f6a7b8c9d0e",
		PlacedAt: timestamppb.New(t0), ReservationExpiresAt: timestamppb.New(expires),
	}}}
}

func line(sku string, qty int32) *orderingv1.OrderLine {
	return &orderingv1.OrderLine{Sku: sku, Quantity: qty}
}

func shipped(orderID string) *orderingv1.OrderEvent {
	return &orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderShipped{OrderShipped: &orderingv1.OrderShipped{
		OrderId: orderID, ShipmentId: "ship-1", Carrier: "sim", TrackingNumber: "T-1", OccurredAt: timestamppb.New(t0)}}}
}

func cancelled(orderID string, code orderingv1.EndReason) *orderingv1.OrderEvent {
	return &orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderCancelled{OrderCancelled: &orderingv1.OrderCancelled{
		OrderId: orderID, Code: code, Reason: "because", OccurredAt: timestamppb.New(t0)}}}
}

func rejected(orderID string, code orderingv1.EndReason) *orderingv1.OrderEvent {
	return &orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderRejected{OrderRejected: &orderingv1.OrderRejected{
		OrderId: orderID, Code: code, Reason: "because", OccurredAt: timestamppb.New(t0)}}}
}

func TestOrders(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, open func(testing.TB) *sqldb.DB) {
		t.Run("placed reserves once and shipped commits once", func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, open(t), kafkatest.Codec(t))
			f.receive(t, "SKU-A", 10)
			f.receive(t, "SKU-B", 3)
			n := f.count(t)
			ev := placed("order-1", t0.Add(time.Hour), line("SKU-A", 4), line("SKU-B", 3))
			require.NoError(t, f.handle(ev))
			require.NoError(t, f.handle(ev), "a redelivered OrderPlaced reserves nothing more")
			r, err := f.svc.Reservation(context.Background(), "order-1")
			require.NoError(t, err)
			require.Equal(t, inventory.StatusActive, r.Status())
			require.True(t, r.ExpiresAt().Equal(t0.Add(time.Hour)))
			onHand, reserved := f.available(t, "SKU-A")
			require.Equal(t, [2]int64{10, 4}, [2]int64{onHand, reserved})

			// OrderShipped twice (the saga repeats it until the capture is
			// confirmed): committed once.
			require.NoError(t, f.handle(shipped("order-1")))
			require.NoError(t, f.handle(shipped("order-1")))
			onHand, reserved = f.available(t, "SKU-A")
			require.Equal(t, [2]int64{6, 0}, [2]int64{onHand, reserved})

			// A cancellation after the shipment leaves the committed stock.
			require.NoError(t, f.handle(cancelled("order-1", orderingv1.EndReason_END_REASON_OPERATOR_REQUEST)))
			r, err = f.svc.Reservation(context.Background(), "order-1")
			require.NoError(t, err)
			require.Equal(t, inventory.StatusCommitted, r.Status())

			got := f.answers(t, n)
			require.Len(t, got, 2, "%v", got)
			reservedEv := got[0].GetStockReserved()
			require.NotNil(t, reservedEv, "%v", got[0])
			require.Equal(t, "order-1", reservedEv.GetOrderId())
			require.Len(t, reservedEv.GetAllocations(), 2)
			require.Equal(t, "order-1", got[1].GetStockCommitted().GetOrderId())
		})

		t.Run("short stock is rejected once, for good", func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, open(t), kafkatest.Codec(t))
			f.receive(t, "SKU-C", 1)
			n := f.count(t)
			ev := placed("order-2", t0.Add(time.Hour), line("SKU-C", 2))
			require.NoError(t, f.handle(ev), "a rejection is an answer, not an error")
			f.receive(t, "SKU-C", 5)
			m := f.count(t)
			require.NoError(t, f.handle(ev), "a redelivered OrderPlaced after stock arrived")
			require.Equal(t, m, f.count(t), "nothing more is published")
			_, reserved := f.available(t, "SKU-C")
			require.Zero(t, reserved)
			// The saga's OrderRejected finds nothing to release.
			require.NoError(t, f.handle(rejected("order-2", orderingv1.EndReason_END_REASON_OUT_OF_STOCK)))
			require.Equal(t, m, f.count(t))

			got := f.answers(t, n)
			require.NotNil(t, got[0].GetReservationRejected(), "%v", got[0])
			require.Equal(t, "order-2", got[0].GetReservationRejected().GetOrderId())
		})

		t.Run("cancelled and rejected release once", func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, open(t), kafkatest.Codec(t))
			f.receive(t, "SKU-D", 10)
			require.NoError(t, f.handle(placed("order-3", t0.Add(time.Hour), line("SKU-D", 2))))
			require.NoError(t, f.handle(placed("order-4", t0.Add(time.Hour), line("SKU-D", 3))))
			n := f.count(t)
			for range 2 {
				require.NoError(t, f.handle(cancelled("order-3", orderingv1.EndReason_END_REASON_PAYMENT_DECLINED)))
				require.NoError(t, f.handle(rejected("order-4", orderingv1.EndReason_END_REASON_DEADLINE_EXCEEDED)))
			}
			_, reserved := f.available(t, "SKU-D")
			require.Zero(t, reserved)
			got := f.answers(t, n)
			require.Len(t, got, 2)
			require.Equal(t, "order-3", got[0].GetStockReleased().GetOrderId())
			require.Equal(t, "order cancelled: payment_declined", got[0].GetStockReleased().GetReason())
			require.Equal(t, "order-4", got[1].GetStockReleased().GetOrderId())
			require.Equal(t, "order rejected: deadline_exceeded", got[1].GetStockReleased().GetReason())

			// Unknown orders have nothing to release.
			require.NoError(t, f.handle(cancelled("order-none", orderingv1.EndReason_END_REASON_CUSTOMER_REQUEST)))
			require.Len(t, f.answers(t, n), 2)
		})

		t.Run("an expired reservation is committed until the expiry job released it", func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, open(t), kafkatest.Codec(t))
			ctx := context.Background()
			f.receive(t, "SKU-E", 10)
			require.NoError(t, f.handle(placed("order-5", t0.Add(time.Minute), line("SKU-E", 2))))
			require.NoError(t, f.handle(placed("order-6", t0.Add(time.Minute), line("SKU-E", 3))))
			f.clock.Advance(2 * time.Minute)

			// Past its expiry but not swept yet: still held, so committed.
			require.NoError(t, f.handle(shipped("order-5")))
			released, err := f.svc.ExpireReservations(ctx, f.clock.Now())
			require.NoError(t, err)
			require.Equal(t, 1, released, "only order-6 was still active")

			// Swept: the commit fails for good, with the reason.
			err = f.handle(shipped("order-6"))
			require.Error(t, err)
			require.False(t, fault.IsRetryable(err))
			require.ErrorIs(t, err, inventory.ErrReservationClosed)
			require.ErrorContains(t, err, "reason: expired")
			onHand, reserved := f.available(t, "SKU-E")
			require.Equal(t, [2]int64{8, 0}, [2]int64{onHand, reserved})
		})

		t.Run("an order placed past its reservation expiry holds nothing", func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, open(t), kafkatest.Codec(t))
			f.receive(t, "SKU-F", 10)
			n := f.count(t)
			require.NoError(t, f.handle(placed("order-7", t0.Add(-time.Second), line("SKU-F", 2))))
			require.Equal(t, n, f.count(t))
			_, err := f.svc.Reservation(context.Background(), "order-7")
			require.ErrorIs(t, err, inventory.ErrNotFound)
		})

		t.Run("other order events pass without effect", func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, open(t), kafkatest.Codec(t))
			f.receive(t, "SKU-G", 10)
			n := f.count(t)
			for _, ev := range []*orderingv1.OrderEvent{
				{Event: &orderingv1.OrderEvent_OrderConfirmed{OrderConfirmed: &orderingv1.OrderConfirmed{OrderId: "order-8"}}},
				{Event: &orderingv1.OrderEvent_OrderPaymentRequested{OrderPaymentRequested: &orderingv1.OrderPaymentRequested{OrderId: "order-8"}}},
				{Event: &orderingv1.OrderEvent_OrderCompleted{OrderCompleted: &orderingv1.OrderCompleted{OrderId: "order-8"}}},
				newerEvent(t),
			} {
				require.NoError(t, f.handle(ev))
			}
			require.Equal(t, n, f.count(t))
		})

		t.Run("a storage failure is retryable", func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, open(t), kafkatest.Codec(t))
			f.receive(t, "SKU-H", 10)
			require.NoError(t, f.db.Close())
			for _, ev := range []*orderingv1.OrderEvent{
				placed("order-9", t0.Add(time.Hour), line("SKU-H", 1)),
				shipped("order-9"),
				cancelled("order-9", orderingv1.EndReason_END_REASON_CUSTOMER_REQUEST),
			} {
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
	// Field 99, wire type 2 (length-delimited), holding an empty message.
	require.NoError(t, proto.Unmarshal([]byte{0x9a, 0x06, 0x00}, env))
	require.Nil(t, env.GetEvent())
	require.NotEmpty(t, env.ProtoReflect().GetUnknown())
	return env
}

func TestMalformedIsPermanent(t *testing.T) {
	t.Parallel()
	f := newFixture(t, sqldbtest.SQLite(t), kafkatest.Codec(t))
	f.receive(t, "SKU-M", 10)
	n := f.count(t)
	exp := t0.Add(time.Hour)
	for name, env := range map[string]proto.Message{
		"not an order event":   &catalogv1.ProductEvent{},
		"no event":             &orderingv1.OrderEvent{},
		"placed without id":    placed("", exp, line("SKU-M", 1)),
		"placed without lines": placed("order-m", exp),
		"placed without expiry": &orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderPlaced{OrderPlaced: &orderingv1.OrderPlaced{
			OrderId: "order-m", Lines: []*orderingv1.OrderLine{line("SKU-M", 1)}}}},
		"zero quantity":          placed("order-m", exp, line("SKU-M", 0)),
		"negative quantity":      placed("order-m", exp, line("SKU-M", -1)),
		"bad sku":                placed("order-m", exp, line("not a sku", 1)),
		"sku twice":              placed("order-m", exp, line("SKU-M", 1), line("SKU-M", 2)),
		"bad order id":           placed("-bad", exp, line("SKU-M", 1)),
		"shipped without id":     shipped(""),
		"shipped unknown order":  shipped("order-unknown"),
		"cancelled without id":   cancelled("", orderingv1.EndReason_END_REASON_CUSTOMER_REQUEST),
		"rejected with a bad id": rejected("-bad", orderingv1.EndReason_END_REASON_OUT_OF_STOCK),
	} {
		err := f.handle(env)
		require.Error(t, err, name)
		require.True(t, fault.IsPermanent(err), "%s: %v", name, err)
	}
	require.Equal(t, n, f.count(t), "nothing was published")
	_, reserved := f.available(t, "SKU-M")
	require.Zero(t, reserved)

	_, err := kafka.Orders(nil, nil)
	require.Error(t, err)
}
