package kafka_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	inventoryv1 "github.com/agoracommerce/agora/gen/proto/agora/inventory/v1"
	orderingv1 "github.com/agoracommerce/agora/gen/proto/agora/ordering/v1"
	"github.com/agoracommerce/agora/internal/inventory/eventsout"
	"github.com/agoracommerce/agora/internal/inventory/kafka"
	"github.com/agoracommerce/agora/internal/platform/consumer"
	"github.com/agoracommerce/agora/internal/platform/correlation"
	"github.com/agoracommerce/agora/internal/platform/kafkatest"
	"github.com/agoracommerce/agora/internal/platform/outbox"
	"github.com/agoracommerce/agora/internal/platform/sqldb/sqldbtest"
)

// saga runs the inventory's order consumer and its outbox relay on a bus,
// under a topic prefix of its own, as `agora serve inventory` does.
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

// Order events produced on the ordering topic reach the inventory's group
// on a real broker; its answers leave through the outbox on
// inventory.stock.v1, keyed by order and carrying the order event's
// correlation ID. Redelivered events answer once, and a record that is no
// order event goes to the dead-letter topic.
func TestOrdersThroughKafka(t *testing.T) {
	t.Parallel()
	kafkatest.Each(t, func(t *testing.T, bus *kafkatest.Bus) {
		f := newFixture(t, sqldbtest.SQLite(t), bus.Codec)
		f.receive(t, "SKU-K", 5)
		s := startSaga(t, bus, f.outbox, f.handler)

		ctx := correlation.WithID(context.Background(), "corr-k1")
		exp := t0.Add(time.Hour)
		placeK1 := s.record(ctx, t, placed("order-k1", exp, line("SKU-K", 2)), "order-k1")
		again := *placeK1
		poison := s.record(ctx, t, placed("order-k1", exp, line("SKU-K", 2)), "order-k1")
		poison.Value = []byte("not an event")
		recs := []*kgo.Record{
			placeK1,
			s.record(ctx, t, placed("order-k2", exp, line("SKU-K", 9)), "order-k2"),
			s.record(ctx, t, placed("order-k3", exp, line("SKU-K", 3)), "order-k3"),
			&again, // redelivered
			s.record(ctx, t, shipped("order-k1"), "order-k1"),
			s.record(ctx, t, cancelled("order-k3", orderingv1.EndReason_END_REASON_PAYMENT_DECLINED), "order-k3"),
			s.record(ctx, t, rejected("order-k2", orderingv1.EndReason_END_REASON_OUT_OF_STOCK), "order-k2"),
			s.record(ctx, t, shipped("order-k1"), "order-k1"), // the saga's retry
			poison,
		}
		bus.Produce(t, recs...)
		s.drained(t, f.outbox)

		// One StockReceived, then exactly one answer per step.
		const want = 1 + 5
		require.Equal(t, int64(want), bus.Records(t, s.prefix+eventsout.Topic))
		got := map[string][]string{}
		for _, r := range bus.Read(t, s.prefix+eventsout.Topic, want) {
			msg, err := bus.Codec.Decode(context.Background(), r.Value)
			require.NoError(t, err)
			require.IsType(t, &inventoryv1.StockEvent{}, msg)
			h := kafkatest.Headers(r)
			got[string(r.Key)] = append(got[string(r.Key)], strings.TrimPrefix(h["ce_type"], "agora.inventory.v1."))
			if string(r.Key) != "SKU-K" {
				require.Equal(t, "corr-k1", h["correlation_id"], "answers keep the order event's correlation ID")
			}
		}
		require.Equal(t, map[string][]string{
			"SKU-K":    {"StockReceived"},
			"order-k1": {"StockReserved", "StockCommitted"},
			"order-k2": {"ReservationRejected"},
			"order-k3": {"StockReserved", "StockReleased"},
		}, got)

		dead := bus.Read(t, s.prefix+kafka.OrdersGroup+".dlq", 1)
		require.Equal(t, "order-k1", string(dead[0].Key))
		require.Equal(t, int64(1), bus.Records(t, s.prefix+kafka.OrdersGroup+".dlq"))

		st, err := f.svc.Stock(context.Background(), "SKU-K")
		require.NoError(t, err)
		require.Equal(t, [2]int64{3, 0}, [2]int64{st.OnHand(), st.Reserved()})
	})
}
