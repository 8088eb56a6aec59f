package kafka_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	catalogv1 "github.com/agoracommerce/agora/gen/proto/agora/catalog/v1"
	commonv1 "github.com/agoracommerce/agora/gen/proto/agora/common/v1"
	orderingv1 "github.com/agoracommerce/agora/gen/proto/agora/ordering/v1"
	paymentv1 "github.com/agoracommerce/agora/gen/proto/agora/payment/v1"
	"github.com/agoracommerce/agora/internal/payment"
	"github.com/agoracommerce/agora/internal/payment/app"
	"github.com/agoracommerce/agora/internal/payment/kafka"
	"github.com/agoracommerce/agora/internal/payment/simgateway"
	"github.com/agoracommerce/agora/internal/payment/sqlstore"
	"github.com/agoracommerce/agora/internal/platform/consumer"
	"github.com/agoracommerce/agora/internal/platform/contract"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/fault"
	"github.com/agoracommerce/agora/internal/platform/kafkatest"
	"github.com/agoracommerce/agora/internal/platform/outbox"
	"github.com/agoracommerce/agora/internal/platform/outbox/outboxtest"
	"github.com/agoracommerce/agora/internal/platform/resilience"
	"github.com/agoracommerce/agora/internal/platform/sqldb"
	"github.com/agoracommerce/agora/internal/platform/sqldb/sqldbtest"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// The payment's declared reads match the ordering service's envelope.
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

// fixture is the payment service over a real store and the simulated
// gateway, driven through the handler.
type fixture struct {
	db      *sqldb.DB
	store   *sqlstore.Store
	outbox  *outbox.Store
	codec   *events.Codec
	gw      *simgateway.Gateway
	svc     *app.Service
	handler consumer.Handler
}

func newFixture(t *testing.T, db *sqldb.DB, codec *events.Codec, processorErrors, attempts int) *fixture {
	t.Helper()
	ctx := context.Background()
	ob, err := outbox.NewStore(ctx, db)
	require.NoError(t, err)
	store, err := sqlstore.New(ctx, db, ob, codec)
	require.NoError(t, err)
	gw, err := simgateway.New(simgateway.Config{ProcessorErrors: processorErrors})
	require.NoError(t, err)
	svc, err := app.New(store, gw, app.Config{Gateway: resilience.Policy{MaxAttempts: attempts, InitialInterval: time.Millisecond,
		MaxInterval: 2 * time.Millisecond, AttemptTimeout: 5 * time.Second, MaxElapsedTime: 10 * time.Second}})
	require.NoError(t, err)
	h, err := kafka.Orders(svc)
	require.NoError(t, err)
	f := &fixture{db: db, store: store, outbox: ob, codec: codec, gw: gw, svc: svc, handler: h}
	t.Cleanup(func() {
		totals, err := store.LedgerTotals(context.Background())
		if err != nil {
			return // a test that closed the database
		}
		for cur, total := range totals {
			if total != 0 {
				t.Errorf("ledger of %s sums to %d, not 0", cur, total)
			}
		}
	})
	return f
}

func (f *fixture) handle(env proto.Message) error {
	return f.handler(context.Background(), &consumer.Message{Event: env, Meta: events.Metadata{ID: events.NewID()}, Attempt: 1})
}

// answers returns the types of the events written since the n-th, by
// order ID.
func (f *fixture) answers(t *testing.T, n int) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, e := range outboxtest.Pending(t, f.outbox)[n:] {
		msg, err := f.codec.Decode(context.Background(), e.Value)
		require.NoError(t, err)
		order, typ := describe(t, msg.(*paymentv1.PaymentEvent))
		require.Equal(t, "agora.payment.v1."+typ, e.Metadata.Type)
		out[order] = append(out[order], typ)
	}
	return out
}

func (f *fixture) count(t *testing.T) int {
	t.Helper()
	return len(outboxtest.Pending(t, f.outbox))
}

// performed counts the gateway's operations of kind.
func (f *fixture) performed(kind payment.OperationKind) int {
	n := 0
	for _, op := range f.gw.Performed() {
		if op.Kind == kind {
			n++
		}
	}
	return n
}

// describe names a payment event's order and type.
func describe(t *testing.T, env *paymentv1.PaymentEvent) (orderID, typ string) {
	t.Helper()
	switch ev := env.GetEvent().(type) {
	case *paymentv1.PaymentEvent_PaymentAuthorized:
		return ev.PaymentAuthorized.GetOrderId(), "PaymentAuthorized"
	case *paymentv1.PaymentEvent_PaymentDeclined:
		return ev.PaymentDeclined.GetOrderId(), "PaymentDeclined"
	case *paymentv1.PaymentEvent_PaymentFailed:
		return ev.PaymentFailed.GetOrderId(), "PaymentFailed"
	case *paymentv1.PaymentEvent_PaymentCaptured:
		return ev.PaymentCaptured.GetOrderId(), "PaymentCaptured"
	case *paymentv1.PaymentEvent_PaymentVoided:
		return ev.PaymentVoided.GetOrderId(), "PaymentVoided"
	case *paymentv1.PaymentEvent_PaymentRefunded:
		return ev.PaymentRefunded.GetOrderId(), "PaymentRefunded"
	}
	t.Fatalf("unexpected payment event %v", env)
	return "", ""
}

func requested(orderID string, amount int64, token string) *orderingv1.OrderEvent {
	return &orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderPaymentRequested{OrderPaymentRequested: &orderingv1.OrderPaymentRequested{
		OrderId: orderID, CustomerId: "cust-1", Amount: &commonv1.Money{AmountMinor: amount, Currency: "EUR"},
		PaymentToken: token, OccurredAt: timestamppb.New(t0),
	}}}
}

func shipped(orderID string) *orderingv1.OrderEvent {
	return &orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderShipped{OrderShipped: &orderingv1.OrderShipped{
		OrderId: orderID, CustomerId: "cust-1", ShipmentId: "ship-1", OccurredAt: timestamppb.New(t0)}}}
}

func cancelled(orderID string, code orderingv1.EndReason, refund bool) *orderingv1.OrderEvent {
	return &orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderCancelled{OrderCancelled: &orderingv1.OrderCancelled{
		OrderId: orderID, CustomerId: "cust-1", Code: code, Refund: refund, Reason: "because",
		Total: &commonv1.Money{AmountMinor: 1999, Currency: "EUR"}, OccurredAt: timestamppb.New(t0)}}}
}

func rejected(orderID string) *orderingv1.OrderEvent {
	return &orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderRejected{OrderRejected: &orderingv1.OrderRejected{
		OrderId: orderID, Code: orderingv1.EndReason_END_REASON_OUT_OF_STOCK, OccurredAt: timestamppb.New(t0)}}}
}

func TestOrders(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, open func(testing.TB) *sqldb.DB) {
		// The money rule of the saga: OrderPaymentRequested and OrderShipped
		// each delivered twice authorize once and capture once.
		t.Run("never charged twice", func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, open(t), kafkatest.Codec(t), 0, 3)
			for _, ev := range []*orderingv1.OrderEvent{
				requested("order-1", 1999, simgateway.TokenApprove), requested("order-1", 1999, simgateway.TokenApprove),
				shipped("order-1"), shipped("order-1"),
			} {
				require.NoError(t, f.handle(ev))
			}
			require.Equal(t, 1, f.performed(payment.OpAuthorize))
			require.Equal(t, 1, f.performed(payment.OpCapture))
			p, err := f.svc.PaymentByOrder(context.Background(), "order-1")
			require.NoError(t, err)
			require.Equal(t, payment.StatusCaptured, p.Status())
			require.Equal(t, int64(1999), p.Captured().Amount())
			require.Equal(t, map[string][]string{"order-1": {"PaymentAuthorized", "PaymentCaptured"}}, f.answers(t, 0))
		})

		t.Run("a decline is an answer, once", func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, open(t), kafkatest.Codec(t), 0, 3)
			require.NoError(t, f.handle(requested("order-2", 500, simgateway.TokenDecline)))
			require.NoError(t, f.handle(requested("order-2", 500, simgateway.TokenDecline)))
			// The saga cancels the order; nothing is held, nothing to undo.
			require.NoError(t, f.handle(cancelled("order-2", orderingv1.EndReason_END_REASON_PAYMENT_DECLINED, false)))
			require.Equal(t, map[string][]string{"order-2": {"PaymentDeclined"}}, f.answers(t, 0))
			require.Zero(t, f.performed(payment.OpVoid))
		})

		t.Run("a failing gateway is retried with the same authorization", func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, open(t), kafkatest.Codec(t), 3, 2)
			ev := requested("order-3", 700, simgateway.TokenProcessorError)
			err := f.handle(ev)
			require.Error(t, err)
			require.True(t, fault.IsRetryable(err), "the consumer retries in place: %v", err)
			require.ErrorIs(t, err, app.ErrGatewayUnavailable)
			require.Zero(t, f.count(t), "nothing is answered while the payment is pending")
			require.NoError(t, f.handle(ev), "the retry: error 3, then the authorization")
			require.Equal(t, 1, f.performed(payment.OpAuthorize))
			require.Equal(t, map[string][]string{"order-3": {"PaymentAuthorized"}}, f.answers(t, 0))
		})

		t.Run("cancellation voids an authorization once", func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, open(t), kafkatest.Codec(t), 0, 3)
			require.NoError(t, f.handle(requested("order-4", 1200, simgateway.TokenApprove)))
			for range 2 {
				require.NoError(t, f.handle(cancelled("order-4", orderingv1.EndReason_END_REASON_DEADLINE_EXCEEDED, false)))
			}
			require.Equal(t, 1, f.performed(payment.OpVoid))
			require.Zero(t, f.performed(payment.OpRefund))
			require.Equal(t, map[string][]string{"order-4": {"PaymentAuthorized", "PaymentVoided"}}, f.answers(t, 0))
			p, err := f.svc.PaymentByOrder(context.Background(), "order-4")
			require.NoError(t, err)
			require.Equal(t, "order cancelled: deadline_exceeded", p.Operations()[1].Reason)
		})

		t.Run("cancellation refunds a capture in full once", func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, open(t), kafkatest.Codec(t), 0, 3)
			require.NoError(t, f.handle(requested("order-5", 1999, simgateway.TokenApprove)))
			require.NoError(t, f.handle(shipped("order-5")))
			for range 2 {
				require.NoError(t, f.handle(cancelled("order-5", orderingv1.EndReason_END_REASON_OPERATOR_REQUEST, true)))
			}
			require.Equal(t, 1, f.performed(payment.OpRefund))
			p, err := f.svc.PaymentByOrder(context.Background(), "order-5")
			require.NoError(t, err)
			require.Equal(t, payment.StatusRefunded, p.Status())
			require.Equal(t, int64(1999), p.Refunded().Amount())
			require.Equal(t, map[string][]string{"order-5": {"PaymentAuthorized", "PaymentCaptured", "PaymentRefunded"}}, f.answers(t, 0))
		})

		t.Run("orders without a payment have nothing to undo", func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, open(t), kafkatest.Codec(t), 0, 3)
			require.NoError(t, f.handle(rejected("order-6")))
			require.NoError(t, f.handle(cancelled("order-6", orderingv1.EndReason_END_REASON_CUSTOMER_REQUEST, false)))
			require.Zero(t, f.count(t))
			require.Zero(t, f.gw.Calls())
		})

		t.Run("other order events pass without effect", func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, open(t), kafkatest.Codec(t), 0, 3)
			for _, ev := range []*orderingv1.OrderEvent{
				{Event: &orderingv1.OrderEvent_OrderPlaced{OrderPlaced: &orderingv1.OrderPlaced{OrderId: "order-7"}}},
				{Event: &orderingv1.OrderEvent_OrderConfirmed{OrderConfirmed: &orderingv1.OrderConfirmed{OrderId: "order-7"}}},
				{Event: &orderingv1.OrderEvent_OrderCompleted{OrderCompleted: &orderingv1.OrderCompleted{OrderId: "order-7"}}},
				newerEvent(t),
			} {
				require.NoError(t, f.handle(ev))
			}
			require.Zero(t, f.count(t))
			require.Zero(t, f.gw.Calls())
		})

		t.Run("a storage failure is retryable", func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, open(t), kafkatest.Codec(t), 0, 3)
			require.NoError(t, f.db.Close())
			for _, ev := range []*orderingv1.OrderEvent{
				requested("order-8", 100, simgateway.TokenApprove),
				shipped("order-8"),
				cancelled("order-8", orderingv1.EndReason_END_REASON_CUSTOMER_REQUEST, false),
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
	require.NoError(t, proto.Unmarshal([]byte{0x9a, 0x06, 0x00}, env))
	require.Nil(t, env.GetEvent())
	return env
}

func TestMalformedIsPermanent(t *testing.T) {
	t.Parallel()
	f := newFixture(t, sqldbtest.SQLite(t), kafkatest.Codec(t), 0, 3)
	require.NoError(t, f.handle(requested("order-v", 1000, simgateway.TokenApprove)))
	require.NoError(t, f.handle(cancelled("order-v", orderingv1.EndReason_END_REASON_CUSTOMER_REQUEST, false)))
	n, calls := f.count(t), f.gw.Calls()
	noAmount := requested("order-m", 1, simgateway.TokenApprove)
	noAmount.GetOrderPaymentRequested().Amount = nil
	for name, env := range map[string]proto.Message{
		"not an order event":      &catalogv1.ProductEvent{},
		"no event":                &orderingv1.OrderEvent{},
		"requested without id":    requested("", 1000, simgateway.TokenApprove),
		"requested without money": noAmount,
		"zero amount":             requested("order-m", 0, simgateway.TokenApprove),
		"negative amount":         requested("order-m", -5, simgateway.TokenApprove),
		"bad currency": &orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderPaymentRequested{OrderPaymentRequested: &orderingv1.OrderPaymentRequested{
			OrderId: "order-m", CustomerId: "cust-1", Amount: &commonv1.Money{AmountMinor: 100, Currency: "euro"}, PaymentToken: simgateway.TokenApprove}}},
		"no token":               requested("order-m", 100, ""),
		"bad order id":           requested("-bad", 100, simgateway.TokenApprove),
		"other terms":            requested("order-v", 999, simgateway.TokenApprove),
		"shipped without id":     shipped(""),
		"shipped without a paid": shipped("order-unknown"),
		"shipped after a void":   shipped("order-v"),
		"cancelled without id":   cancelled("", orderingv1.EndReason_END_REASON_CUSTOMER_REQUEST, false),
		"rejected with a bad id": rejected("-bad"),
	} {
		err := f.handle(env)
		require.Error(t, err, name)
		require.True(t, fault.IsPermanent(err), "%s: %v", name, err)
	}
	require.Equal(t, n, f.count(t), "nothing was published")
	require.Equal(t, calls, f.gw.Calls(), "the gateway was not called")

	_, err := kafka.Orders(nil)
	require.Error(t, err)
}
