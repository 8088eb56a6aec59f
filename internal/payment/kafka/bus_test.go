package kafka_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	orderingv1 "github.com/agoracommerce/agora/gen/proto/agora/ordering/v1"
	paymentv1 "github.com/agoracommerce/agora/gen/proto/agora/payment/v1"
	"github.com/agoracommerce/agora/internal/payment"
	"github.com/agoracommerce/agora/internal/payment/eventsout"
	"github.com/agoracommerce/agora/internal/payment/kafka"
	"github.com/agoracommerce/agora/internal/payment/simgateway"
	"github.com/agoracommerce/agora/internal/platform/consumer"
	"github.com/agoracommerce/agora/internal/platform/correlation"
	"github.com/agoracommerce/agora/internal/platform/kafkatest"
	"github.com/agoracommerce/agora/internal/platform/outbox"
	"github.com/agoracommerce/agora/internal/platform/sqldb/sqldbtest"
)

// saga runs the payment service's order consumer and its outbox relay on a bus,
// under a topic prefix of its own, as `agora serve payment` does.
type saga struct {
	bus    *kafkatest.Bus
	prefix string
}

func startSaga(t *testing.T, bus *kafkatest.Bus, ob *outbox.Store, handler consumer.Handler) *saga {
	t.Helper()
	s := &saga{bus: bus, prefix: "test-" + kafkatest.RandomID(t) + "."}
	bus.CreateTopic(t, s.prefix+kafka.OrdersTopic, 3)
	bus.CreateTopic(t, s.prefix+eventsout.Topic, 3)
	t.Cleanup(func() { _, _ = bus.Admin.DeleteTopics(context.Background(), s.prefix+kafka.OrdersGroup+".dlq") })

	producer, err := kgo.NewClient(kgo.SeedBrokers(bus.Brokers...), kgo.ProducerLinger(0))
	require.NoError(t, err)
	t.Cleanup(producer.Close)
	relay, err := outbox.NewRelay(outbox.RelayConfig{Source: ob, Producer: producer, TopicPrefix: s.prefix, MaxPoll: 20 * time.Millisecond})
	require.NoError(t, err)
	c, err := consumer.New(consumer.Config{
		ClientOpts: []kgo.Opt{kgo.SeedBrokers(bus.Brokers...), kgo.FetchMaxWait(200 * time.Millisecond)},
		Group:      s.prefix + kafka.OrdersGroup, Topics: []string{s.prefix + kafka.OrdersTopic},
		Decoder: bus.Codec, Handler: handler,
		Retry: consumer.RetryPolicy{MaxAttempts: 3, InitialInterval: 5 * time.Millisecond, MaxInterval: 20 * time.Millisecond},
	})
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	go func() { done <- relay.Run(ctx) }()
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		for range 2 {
			select {
			case err := <-done:
				require.NoError(t, err)
			case <-time.After(30 * time.Second):
				t.Error("the consumer or the relay did not stop")
			}
		}
	})
	return s
}

// record encodes an order event as ordering's relay would publish it, with
// the correlation ID of ctx.
func (s *saga) record(ctx context.Context, t *testing.T, env *orderingv1.OrderEvent, orderID string) *kgo.Record {
	t.Helper()
	ev, err := s.bus.Codec.NewEvent(ctx, s.prefix+kafka.OrdersTopic, "agora/ordering", orderID, env, t0)
	require.NoError(t, err)
	return ev.Record()
}

// drained waits until the group has committed every order event and the
// outbox has published every answer.
func (s *saga) drained(t *testing.T, ob *outbox.Store) {
	t.Helper()
	ctx := context.Background()
	topic := s.prefix + kafka.OrdersTopic
	require.Eventually(t, func() bool {
		ends, err := s.bus.Admin.ListEndOffsets(ctx, topic)
		if err != nil {
			return false
		}
		committed, err := s.bus.Admin.FetchOffsets(ctx, s.prefix+kafka.OrdersGroup)
		if err != nil {
			return false
		}
		caughtUp := true
		ends.Each(func(end kadm.ListedOffset) {
			c, ok := committed.Lookup(topic, end.Partition)
			if end.Offset > 0 && (!ok || c.At < end.Offset) {
				caughtUp = false
			}
		})
		st, err := ob.Stats(ctx)
		return caughtUp && err == nil && st.Backlog == 0
	}, 60*time.Second, 20*time.Millisecond, "the saga never drained")
}

// Order events produced on the ordering topic reach the payment's group
// on a real broker; its answers leave through the outbox on
// payment.payments.v1, keyed by payment and carrying the order event's
// correlation ID. Redelivered requests and the saga's repeated
// OrderShipped charge once and answer once, and a record that is no order
// event goes to the dead-letter topic.
func TestOrdersThroughKafka(t *testing.T) {
	t.Parallel()
	kafkatest.Each(t, func(t *testing.T, bus *kafkatest.Bus) {
		f := newFixture(t, sqldbtest.SQLite(t), bus.Codec, 0, 3)
		s := startSaga(t, bus, f.outbox, f.handler)

		ctx := correlation.WithID(context.Background(), "corr-p1")
		request := s.record(ctx, t, requested("order-p1", 2500, simgateway.TokenApprove), "order-p1")
		again := *request
		poison := s.record(ctx, t, shipped("order-p1"), "order-p1")
		poison.Value = []byte("not an event")
		bus.Produce(t,
			request,
			s.record(ctx, t, requested("order-p2", 800, simgateway.TokenInsufficientFunds), "order-p2"),
			s.record(ctx, t, requested("order-p3", 300, simgateway.TokenApprove), "order-p3"),
			&again, // redelivered
			s.record(ctx, t, shipped("order-p1"), "order-p1"),
			s.record(ctx, t, cancelled("order-p2", orderingv1.EndReason_END_REASON_PAYMENT_DECLINED, false), "order-p2"),
			s.record(ctx, t, cancelled("order-p3", orderingv1.EndReason_END_REASON_CUSTOMER_REQUEST, false), "order-p3"),
			s.record(ctx, t, shipped("order-p1"), "order-p1"), // the saga's retry of the capture
			poison,
		)
		s.drained(t, f.outbox)

		const want = 5
		require.Equal(t, int64(want), bus.Records(t, s.prefix+eventsout.Topic))
		got := map[string][]string{}
		for _, r := range bus.Read(t, s.prefix+eventsout.Topic, want) {
			msg, err := bus.Codec.Decode(context.Background(), r.Value)
			require.NoError(t, err)
			order, typ := describe(t, msg.(*paymentv1.PaymentEvent))
			got[order] = append(got[order], typ)
			h := kafkatest.Headers(r)
			require.Equal(t, "corr-p1", h["correlation_id"], "answers keep the order event's correlation ID")
			p, err := f.svc.PaymentByOrder(context.Background(), order)
			require.NoError(t, err)
			require.Equal(t, p.ID(), string(r.Key), "keyed by payment")
		}
		require.Equal(t, map[string][]string{
			"order-p1": {"PaymentAuthorized", "PaymentCaptured"},
			"order-p2": {"PaymentDeclined"},
			"order-p3": {"PaymentAuthorized", "PaymentVoided"},
		}, got)
		require.Equal(t, 1, f.performed(payment.OpCapture))
		require.Equal(t, 3, f.performed(payment.OpAuthorize), "each order once, the decline included")

		dead := bus.Read(t, s.prefix+kafka.OrdersGroup+".dlq", 1)
		require.Equal(t, "order-p1", string(dead[0].Key))
		require.Equal(t, int64(1), bus.Records(t, s.prefix+kafka.OrdersGroup+".dlq"))
	})
}
