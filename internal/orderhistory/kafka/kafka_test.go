package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	orderingv1 "github.com/agoracommerce/agora/gen/proto/agora/ordering/v1"
	"github.com/agoracommerce/agora/internal/orderhistory"
	"github.com/agoracommerce/agora/internal/orderhistory/app"
	"github.com/agoracommerce/agora/internal/orderhistory/kafka"
	"github.com/agoracommerce/agora/internal/orderhistory/orderhistorytest"
	"github.com/agoracommerce/agora/internal/orderhistory/sqlstore"
	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/consumer"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/fault"
	"github.com/agoracommerce/agora/internal/platform/kafkatest"
	"github.com/agoracommerce/agora/internal/platform/sqldb/sqldbtest"
)

var admin = auth.WithPrincipal(context.Background(), &auth.Principal{Subject: "ops", Scopes: []string{auth.ScopeAdmin}})

func newApp(t *testing.T) (*app.Service, *sqlstore.Store) {
	t.Helper()
	store, err := sqlstore.New(context.Background(), sqldbtest.SQLite(t))
	require.NoError(t, err)
	svc, err := app.New(store, store, app.Config{})
	require.NoError(t, err)
	return svc, store
}

// message is p as the consumer runtime hands it over, with event ID id.
func message(id string, p produced) *consumer.Message {
	return &consumer.Message{Record: &kgo.Record{Topic: p.topic, Key: []byte(p.key)},
		Meta: events.Metadata{ID: id, Type: "t", Source: "s", Time: p.at}, Event: p.env, Attempt: 1}
}

func messages(prefix string, ps []produced) []*consumer.Message {
	out := make([]*consumer.Message, len(ps))
	for i, p := range ps {
		out[i] = message(fmt.Sprintf("%s/%02d", prefix, i+1), p)
	}
	return out
}

// expected is the history the events of ps make, built from their entries.
func expected(t *testing.T, orderID string, ms []*consumer.Message) *orderhistory.History {
	t.Helper()
	h, err := orderhistory.NewHistory(orderID)
	require.NoError(t, err)
	for _, m := range ms {
		e, ok, err := kafka.FromMessage(m)
		require.NoError(t, err)
		if ok {
			_, err := h.Add(e)
			require.NoError(t, err)
		}
	}
	return h
}

func history(t *testing.T, svc *app.Service, orderID string) *orderhistory.History {
	t.Helper()
	h, err := svc.Order(admin, orderID)
	require.NoError(t, err)
	return h
}

func TestHandlerEveryEvent(t *testing.T) {
	t.Parallel()
	svc, _ := newApp(t)
	handle, err := kafka.Handler(svc)
	require.NoError(t, err)
	ms := messages("o-1", sagaEvents("o-1", "alice", t0))
	for _, m := range ms {
		require.NoError(t, handle(context.Background(), m))
	}
	h := history(t, svc, "o-1")
	orderhistorytest.RequireSame(t, expected(t, "o-1", ms), h)
	sum := h.Summary()
	require.Equal(t, orderhistory.StatusCancelled, sum.Status)
	require.Equal(t, orderhistorytest.EUR(4997), sum.Refunded)
	require.Equal(t, "AG-o-1", sum.TrackingNumber)
	require.Len(t, h.Timeline(), 14, "the stock level change is no step")
}

// Events of the four topics arrive in any order relative to each other
// (each topic keeps its own order), some twice: the read model ends the
// same, and the order shows once its OrderPlaced is there.
func TestHandlerOutOfOrderAndDuplicates(t *testing.T) {
	t.Parallel()
	svc, _ := newApp(t)
	handle, err := kafka.Handler(svc)
	require.NoError(t, err)
	ms := messages("o-1", sagaEvents("o-1", "alice", t0))
	byTopic := map[string][]*consumer.Message{}
	for _, m := range ms {
		byTopic[m.Record.Topic] = append(byTopic[m.Record.Topic], m)
	}
	// Shipping, payment and inventory first, ordering last; everything
	// redelivered once.
	for _, topic := range []string{kafka.ShippingTopic, kafka.PaymentTopic, kafka.InventoryTopic} {
		for _, m := range byTopic[topic] {
			require.NoError(t, handle(context.Background(), m))
			require.NoError(t, handle(context.Background(), m))
		}
	}
	_, err = svc.Order(admin, "o-1")
	require.ErrorIs(t, err, orderhistory.ErrNotFound, "not visible before OrderPlaced")
	for _, m := range byTopic[kafka.OrderingTopic] {
		require.NoError(t, handle(context.Background(), m))
	}
	for _, m := range ms {
		require.NoError(t, handle(context.Background(), m))
	}
	orderhistorytest.RequireSame(t, expected(t, "o-1", ms), history(t, svc, "o-1"))
}

func TestHandlerMalformedIsPermanent(t *testing.T) {
	t.Parallel()
	svc, _ := newApp(t)
	handle, err := kafka.Handler(svc)
	require.NoError(t, err)
	batch, err := kafka.BatchHandler(svc)
	require.NoError(t, err)
	bad := message("bad-1", produced{kafka.OrderingTopic, "o-1", &orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderCompleted{
		OrderCompleted: &orderingv1.OrderCompleted{CustomerId: "alice", OccurredAt: ts(t0)}}}, t0}) // no order ID
	err = handle(context.Background(), bad)
	require.Error(t, err)
	require.False(t, fault.IsRetryable(err))

	// A batch with it fails permanently and records nothing; the runtime
	// then handles the records one by one.
	ms := append(messages("o-1", sagaEvents("o-1", "alice", t0)), bad)
	err = batch(context.Background(), ms)
	require.Error(t, err)
	require.False(t, fault.IsRetryable(err))
	_, err = svc.Order(admin, "o-1")
	require.ErrorIs(t, err, orderhistory.ErrNotFound)

	require.NoError(t, batch(context.Background(), ms[:len(ms)-1]))
	orderhistorytest.RequireSame(t, expected(t, "o-1", ms[:len(ms)-1]), history(t, svc, "o-1"))
	require.NoError(t, batch(context.Background(), ms[:len(ms)-1]), "a redelivered batch")
	require.NoError(t, batch(context.Background(), ms[14:15]), "a batch of nothing to record")
	require.Len(t, history(t, svc, "o-1").Timeline(), 14)

	_, err = kafka.Handler(nil)
	require.Error(t, err)
	_, err = kafka.BatchHandler(nil)
	require.Error(t, err)
	_, err = kafka.Config(nil)
	require.Error(t, err)
}

type failing struct{ err error }

func (f failing) Record(context.Context, ...orderhistory.Entry) (int, error) { return 0, f.err }

// Storage errors stay retryable; a refusal of the read model's rules is
// permanent.
func TestHandlerErrorKinds(t *testing.T) {
	t.Parallel()
	m := messages("o-1", sagaEvents("o-1", "alice", t0))[0]
	for _, c := range []struct {
		err       error
		retryable bool
	}{
		{fault.Retryable(errors.New("database is locked")), true},
		{fault.Permanent(fmt.Errorf("reused event ID: %w", orderhistory.ErrInvalid)), false},
		{fmt.Errorf("wrapped: %w", orderhistory.ErrInvalid), false},
	} {
		handle, err := kafka.Handler(failing{c.err})
		require.NoError(t, err)
		err = handle(context.Background(), m)
		require.Error(t, err)
		require.Equal(t, c.retryable, fault.IsRetryable(err), "%v", c.err)
		batch, err := kafka.BatchHandler(failing{c.err})
		require.NoError(t, err)
		err = batch(context.Background(), []*consumer.Message{m})
		require.Equal(t, c.retryable, fault.IsRetryable(err), "%v", c.err)
	}
}

func TestConfig(t *testing.T) {
	t.Parallel()
	svc, _ := newApp(t)
	cfg, err := kafka.Config(svc)
	require.NoError(t, err)
	require.Equal(t, "orderhistory.projector", cfg.Group)
	require.Equal(t, []string{"ordering.orders.v1", "inventory.stock.v1", "payment.payments.v1", "shipping.shipments.v1"}, cfg.Topics)
	require.NotNil(t, cfg.Handler)
	require.NotNil(t, cfg.BatchHandler)
}

// topics are fresh topics standing in for the four the projector reads.
type topics map[string]string

func newTopics(t *testing.T, bus *kafkatest.Bus) topics {
	t.Helper()
	out := topics{}
	for _, name := range kafka.Topics() {
		out[name] = bus.Topic(t, 3)
	}
	return out
}

func (tp topics) list() []string {
	var out []string
	for _, name := range kafka.Topics() {
		out = append(out, tp[name])
	}
	return out
}

// encode publishes-ready records of ps on the stand-in topics.
func encode(t *testing.T, bus *kafkatest.Bus, tp topics, ps []produced) []*kgo.Record {
	t.Helper()
	var out []*kgo.Record
	for _, p := range ps {
		ev, err := bus.Codec.NewEvent(context.Background(), tp[p.topic], "agora/test", p.key, p.env, p.at)
		require.NoError(t, err)
		out = append(out, ev.Record())
	}
	return out
}

// runProjector runs the live projector over tp into svc until the test
// ends.
func runProjector(t *testing.T, bus *kafkatest.Bus, tp topics, group string, svc *app.Service) {
	t.Helper()
	cfg, err := kafka.Config(svc)
	require.NoError(t, err)
	cfg.ClientOpts = []kgo.Opt{kgo.SeedBrokers(bus.Brokers...), kgo.FetchMaxWait(200 * time.Millisecond)}
	cfg.Group, cfg.Topics, cfg.Decoder = group, tp.list(), bus.Codec
	cfg.Retry = consumer.RetryPolicy{MaxAttempts: 3, InitialInterval: 5 * time.Millisecond, MaxInterval: 20 * time.Millisecond}
	c, err := consumer.New(cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(30 * time.Second):
			t.Error("projector did not stop")
		}
	})
}

// The live projector on a real consumer group: the events of several
// sagas, produced on the four topics by their producers' keys, every one
// twice, with a record it cannot project among them, end as the read
// model the events make; the bad record goes to the dead-letter topic.
func TestProjectorOnBroker(t *testing.T) {
	t.Parallel()
	kafkatest.Each(t, func(t *testing.T, bus *kafkatest.Bus) {
		tp := newTopics(t, bus)
		svc, _ := newApp(t)
		var recs []*kgo.Record
		orders := map[string][]*kgo.Record{}
		for i := range 3 {
			id := fmt.Sprintf("order-%d", i)
			rs := encode(t, bus, tp, sagaEvents(id, "alice", t0.Add(time.Duration(i)*time.Minute)))
			orders[id] = rs
			recs = append(recs, rs...)
		}
		// An OrderCompleted without an order ID: a valid envelope that can
		// never be projected.
		poison := encode(t, bus, tp, []produced{{kafka.OrderingTopic, "poison", &orderingv1.OrderEvent{
			Event: &orderingv1.OrderEvent_OrderCompleted{OrderCompleted: &orderingv1.OrderCompleted{CustomerId: "alice", OccurredAt: ts(t0)}}}, t0}})
		recs = append(recs, poison...)
		for _, r := range recs[:len(recs):len(recs)] { // each once more: a producer's retry (kgo owns a record while producing it)
			recs = append(recs, &kgo.Record{Topic: r.Topic, Key: r.Key, Value: r.Value, Headers: r.Headers})
		}
		bus.Produce(t, recs...)
		runProjector(t, bus, tp, tp[kafka.OrderingTopic]+"-group", svc)

		for id, rs := range orders {
			want := expectedOf(t, bus, id, rs)
			require.Eventually(t, func() bool {
				h, err := svc.Order(admin, id)
				return err == nil && len(h.Timeline()) == len(want.Timeline()) && h.Summary().Status == orderhistory.StatusCancelled
			}, 60*time.Second, 20*time.Millisecond, "order %s", id)
			orderhistorytest.RequireSame(t, want, history(t, svc, id))
		}
		dead := bus.Read(t, tp[kafka.OrderingTopic]+"-group.dlq", 1)
		require.Equal(t, "poison", string(dead[0].Key))
		require.Equal(t, consumer.ReasonHandlerFailed, kafkatest.Headers(dead[0])[consumer.HeaderDLQReason])
	})
}

// expectedOf decodes records as the projector does and builds the history
// their entries make.
func expectedOf(t *testing.T, bus *kafkatest.Bus, orderID string, recs []*kgo.Record) *orderhistory.History {
	t.Helper()
	h, err := orderhistory.NewHistory(orderID)
	require.NoError(t, err)
	for _, r := range recs {
		meta, err := events.MetadataFromHeaders(r.Headers)
		require.NoError(t, err)
		env, err := bus.Codec.Decode(context.Background(), r.Value)
		require.NoError(t, err)
		e, ok, err := kafka.Entry(meta.ID, meta.Time, env)
		require.NoError(t, err)
		if ok {
			_, err := h.Add(e)
			require.NoError(t, err)
		}
	}
	return h
}

// differ reports the difference between two read models (nil: none).
func differ(want, got map[string]*orderhistory.History) string {
	type view struct {
		Summary  orderhistory.Summary
		Timeline []orderhistory.Entry
	}
	w, g := map[string]view{}, map[string]view{}
	for id, h := range want {
		w[id] = view{h.Summary(), h.Timeline()}
	}
	for id, h := range got {
		g[id] = view{h.Summary(), h.Timeline()}
	}
	return cmp.Diff(w, g)
}
