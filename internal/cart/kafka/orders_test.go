package kafka_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	cartv1 "github.com/agoracommerce/agora/gen/proto/agora/cart/v1"
	catalogv1 "github.com/agoracommerce/agora/gen/proto/agora/catalog/v1"
	orderingv1 "github.com/agoracommerce/agora/gen/proto/agora/ordering/v1"
	"github.com/agoracommerce/agora/internal/cart"
	"github.com/agoracommerce/agora/internal/cart/app"
	"github.com/agoracommerce/agora/internal/cart/eventsout"
	"github.com/agoracommerce/agora/internal/cart/kafka"
	"github.com/agoracommerce/agora/internal/cart/sqlstore"
	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/consumer"
	"github.com/agoracommerce/agora/internal/platform/contract"
	"github.com/agoracommerce/agora/internal/platform/correlation"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/fault"
	"github.com/agoracommerce/agora/internal/platform/kafkatest"
	"github.com/agoracommerce/agora/internal/platform/outbox"
	"github.com/agoracommerce/agora/internal/platform/outbox/outboxtest"
	"github.com/agoracommerce/agora/internal/platform/sqldb"
	"github.com/agoracommerce/agora/internal/platform/sqldb/sqldbtest"
)

// The cart's declared reads match the envelopes of the catalog and of the
// ordering service.
func TestContracts(t *testing.T) {
	t.Parallel()
	envelopes := map[string]proto.Message{
		kafka.Topic:       &catalogv1.ProductEvent{},
		kafka.OrdersTopic: &orderingv1.OrderEvent{},
	}
	reads := kafka.Contracts()
	require.Len(t, reads, 2)
	groups := map[string]string{}
	for _, r := range reads {
		env, ok := envelopes[r.Topic]
		require.True(t, ok, "unexpected topic %s", r.Topic)
		require.NoError(t, contract.Check(r, env.ProtoReflect().Descriptor()))
		groups[r.Topic] = r.Consumer
	}
	require.Equal(t, map[string]string{kafka.Topic: kafka.Group, kafka.OrdersTopic: kafka.OrdersGroup}, groups)
}

// orderFixture is the cart service over a real store, driven through the
// orders handler.
type orderFixture struct {
	db      *sqldb.DB
	store   *sqlstore.Store
	outbox  *outbox.Store
	codec   *events.Codec
	now     time.Time
	svc     *app.Service
	handler consumer.Handler
	product cart.Product
}

func newOrderFixture(t *testing.T, db *sqldb.DB, codec *events.Codec) *orderFixture {
	t.Helper()
	ctx := context.Background()
	ob, err := outbox.NewStore(ctx, db)
	require.NoError(t, err)
	store, err := sqlstore.New(ctx, db, ob, codec)
	require.NoError(t, err)
	f := &orderFixture{db: db, store: store, outbox: ob, codec: codec, now: t0}
	svc, err := app.New(store, store, app.Config{Now: func() time.Time { return f.now }, IdleTTL: time.Hour})
	require.NoError(t, err)
	h, err := kafka.Orders(svc, nil)
	require.NoError(t, err)
	f.svc, f.handler = svc, h
	price, err := cart.NewMoney(1500, "EUR")
	require.NoError(t, err)
	f.product = cart.Product{ID: uuid.Must(uuid.NewV7()), SKU: "SKU-1", Name: "Shirt", Price: price, Status: cart.ProductActive, Version: 1, UpdatedAt: t0}
	_, err = svc.ApplyProduct(ctx, f.product)
	require.NoError(t, err)
	return f
}

// newCart opens a cart of alice's, with one line unless empty.
func (f *orderFixture) newCart(t *testing.T, empty bool) uuid.UUID {
	t.Helper()
	ctx := auth.WithPrincipal(context.Background(), &auth.Principal{Subject: "alice"})
	v, err := f.svc.CreateCart(ctx, "EUR")
	require.NoError(t, err)
	if !empty {
		_, _, err = f.svc.AddLine(ctx, v.Cart.ID(), f.product.ID, 2)
		require.NoError(t, err)
	}
	return v.Cart.ID()
}

func (f *orderFixture) cart(t *testing.T, id uuid.UUID) *cart.Cart {
	t.Helper()
	c, err := f.store.Cart(context.Background(), id)
	require.NoError(t, err)
	return c
}

func (f *orderFixture) handle(env proto.Message) error {
	return f.handler(context.Background(), &consumer.Message{Event: env, Meta: events.Metadata{ID: events.NewID()}, Attempt: 1})
}

// checkouts counts the CartCheckedOut events written so far.
func (f *orderFixture) checkouts(t *testing.T) int {
	t.Helper()
	n := 0
	for _, e := range outboxtest.Pending(t, f.outbox) {
		if e.Metadata.Type == "agora.cart.v1.CartCheckedOut" {
			n++
		}
	}
	return n
}

func orderPlaced(orderID, cartID string) *orderingv1.OrderEvent {
	return &orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderPlaced{OrderPlaced: &orderingv1.OrderPlaced{
		OrderId: orderID, CustomerId: "alice", CartId: cartID, PlacedAt: timestamppb.New(t0),
		Lines:                []*orderingv1.OrderLine{{Sku: "SKU-1", Quantity: 2}},
		ReservationExpiresAt: timestamppb.New(t0.Add(time.Hour)),
	}}}
}

func TestOrders(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, open func(testing.TB) *sqldb.DB) {
		t.Run("placed checks the cart out once", func(t *testing.T) {
			t.Parallel()
			f := newOrderFixture(t, open(t), kafkatest.Codec(t))
			id := f.newCart(t, false)
			require.NoError(t, f.handle(orderPlaced("order-1", id.String())))
			c := f.cart(t, id)
			require.Equal(t, cart.StatusCheckedOut, c.Status())
			require.Equal(t, "order-1", c.OrderID())
			require.NoError(t, f.handle(orderPlaced("order-1", id.String())), "a redelivered OrderPlaced")
			require.Equal(t, c.Version(), f.cart(t, id).Version())
			require.Equal(t, 1, f.checkouts(t))
		})

		t.Run("carts that cannot be checked out are left alone", func(t *testing.T) {
			t.Parallel()
			f := newOrderFixture(t, open(t), kafkatest.Codec(t))
			ctx := context.Background()
			alice := auth.WithPrincipal(ctx, &auth.Principal{Subject: "alice"})

			require.NoError(t, f.handle(orderPlaced("order-2", uuid.Must(uuid.NewV7()).String())), "an unknown cart")

			abandoned := f.newCart(t, false)
			require.NoError(t, f.svc.AbandonCart(alice, abandoned))
			require.NoError(t, f.handle(orderPlaced("order-3", abandoned.String())))
			require.Equal(t, cart.StatusAbandoned, f.cart(t, abandoned).Status())

			empty := f.newCart(t, true)
			require.NoError(t, f.handle(orderPlaced("order-4", empty.String())))
			require.Equal(t, cart.StatusOpen, f.cart(t, empty).Status())

			other := f.newCart(t, false)
			require.NoError(t, f.handle(orderPlaced("order-5", other.String())))
			require.NoError(t, f.handle(orderPlaced("order-6", other.String())), "a second order of one cart")
			require.Equal(t, "order-5", f.cart(t, other).OrderID())

			expired := f.newCart(t, false)
			f.now = t0.Add(2 * time.Hour)
			n, err := f.svc.ExpireCarts(ctx, f.now)
			require.NoError(t, err)
			require.Positive(t, n)
			require.NoError(t, f.handle(orderPlaced("order-7", expired.String())))
			require.Equal(t, cart.StatusExpired, f.cart(t, expired).Status())

			require.Equal(t, 1, f.checkouts(t), "only order-5 checked a cart out")
		})

		t.Run("other order events pass without effect", func(t *testing.T) {
			t.Parallel()
			f := newOrderFixture(t, open(t), kafkatest.Codec(t))
			id := f.newCart(t, false)
			newer := &orderingv1.OrderEvent{}
			require.NoError(t, proto.Unmarshal([]byte{0x9a, 0x06, 0x00}, newer)) // field 99: a later event type
			for _, ev := range []*orderingv1.OrderEvent{
				{Event: &orderingv1.OrderEvent_OrderConfirmed{OrderConfirmed: &orderingv1.OrderConfirmed{OrderId: "order-8"}}},
				{Event: &orderingv1.OrderEvent_OrderCancelled{OrderCancelled: &orderingv1.OrderCancelled{OrderId: "order-8"}}},
				{Event: &orderingv1.OrderEvent_OrderRejected{OrderRejected: &orderingv1.OrderRejected{OrderId: "order-8"}}},
				{Event: &orderingv1.OrderEvent_OrderShipped{OrderShipped: &orderingv1.OrderShipped{OrderId: "order-8"}}},
				newer,
			} {
				require.NoError(t, f.handle(ev))
			}
			require.Equal(t, cart.StatusOpen, f.cart(t, id).Status())
			require.Zero(t, f.checkouts(t))
		})

		t.Run("a storage failure is retryable", func(t *testing.T) {
			t.Parallel()
			f := newOrderFixture(t, open(t), kafkatest.Codec(t))
			id := f.newCart(t, false)
			require.NoError(t, f.db.Close())
			err := f.handle(orderPlaced("order-9", id.String()))
			require.Error(t, err)
			require.True(t, fault.IsRetryable(err), "%v", err)
		})
	})
}

func TestOrdersMalformedIsPermanent(t *testing.T) {
	t.Parallel()
	f := newOrderFixture(t, sqldbtest.SQLite(t), kafkatest.Codec(t))
	id := f.newCart(t, false)
	for name, env := range map[string]proto.Message{
		"not an order event": &catalogv1.ProductEvent{},
		"no event":           &orderingv1.OrderEvent{},
		"no order id":        orderPlaced("", id.String()),
		"no cart id":         orderPlaced("order-m", ""),
		"bad cart id":        orderPlaced("order-m", "cart-1"),
		"order id too long":  orderPlaced(strings.Repeat("o", 65), id.String()),
	} {
		err := f.handle(env)
		require.Error(t, err, name)
		require.True(t, fault.IsPermanent(err), "%s: %v", name, err)
	}
	require.Equal(t, cart.StatusOpen, f.cart(t, id).Status())

	_, err := kafka.Orders(nil, nil)
	require.Error(t, err)
}

// OrderPlaced events produced on the ordering topic reach the cart's
// orders group on a real broker; CartCheckedOut leaves through the outbox
// on cart.carts.v1, keyed by cart and carrying the order event's
// correlation ID, once although the event came twice.
func TestOrdersThroughKafka(t *testing.T) {
	t.Parallel()
	kafkatest.Each(t, func(t *testing.T, bus *kafkatest.Bus) {
		ctx := context.Background()
		f := newOrderFixture(t, sqldbtest.SQLite(t), bus.Codec)
		id := f.newCart(t, false)
		// The cart's own events (not leased: Pending would hold them back
		// from the relay) go out too.
		st, err := f.outbox.Stats(ctx)
		require.NoError(t, err)
		before := int(st.Backlog)

		prefix := "test-" + kafkatest.RandomID(t) + "."
		ordersTopic, cartsTopic := prefix+kafka.OrdersTopic, prefix+eventsout.Topic
		bus.CreateTopic(t, ordersTopic, 3)
		bus.CreateTopic(t, cartsTopic, 3)
		t.Cleanup(func() { _, _ = bus.Admin.DeleteTopics(context.Background(), prefix+kafka.OrdersGroup+".dlq") })
		runConsumerAndRelay(t, bus, f.outbox, prefix, f.handler)

		corr := correlation.WithID(ctx, "corr-c1")
		ev, err := bus.Codec.NewEvent(corr, ordersTopic, "agora/ordering", "order-c1", orderPlaced("order-c1", id.String()), t0)
		require.NoError(t, err)
		first, again := ev.Record(), ev.Record()
		bus.Produce(t, first, again)

		require.Eventually(t, func() bool {
			st, err := f.outbox.Stats(ctx)
			return err == nil && st.Backlog == 0 && committed(ctx, bus, prefix+kafka.OrdersGroup, ordersTopic)
		}, 60*time.Second, 20*time.Millisecond)
		recs := bus.Read(t, cartsTopic, before+1)
		require.Equal(t, int64(before+1), bus.Records(t, cartsTopic))
		last := recs[len(recs)-1] // one cart: one partition, in order
		msg, err := bus.Codec.Decode(ctx, last.Value)
		require.NoError(t, err)
		co := msg.(*cartv1.CartEvent).GetCartCheckedOut()
		require.NotNil(t, co, "%v", msg)
		require.Equal(t, "order-c1", co.GetOrderId())
		require.Equal(t, id.String(), string(last.Key))
		require.Equal(t, "corr-c1", kafkatest.Headers(last)["correlation_id"])
	})
}

// runConsumerAndRelay runs the orders consumer and the outbox relay under
// prefix until the test ends.
func runConsumerAndRelay(t *testing.T, bus *kafkatest.Bus, ob *outbox.Store, prefix string, handler consumer.Handler) {
	t.Helper()
	producer, err := kgo.NewClient(kgo.SeedBrokers(bus.Brokers...), kgo.ProducerLinger(0))
	require.NoError(t, err)
	t.Cleanup(producer.Close)
	relay, err := outbox.NewRelay(outbox.RelayConfig{Source: ob, Producer: producer, TopicPrefix: prefix, MaxPoll: 20 * time.Millisecond})
	require.NoError(t, err)
	c, err := consumer.New(consumer.Config{
		ClientOpts: []kgo.Opt{kgo.SeedBrokers(bus.Brokers...), kgo.FetchMaxWait(200 * time.Millisecond)},
		Group:      prefix + kafka.OrdersGroup, Topics: []string{prefix + kafka.OrdersTopic},
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
}

// committed reports whether group has committed every record of topic.
func committed(ctx context.Context, bus *kafkatest.Bus, group, topic string) bool {
	ends, err := bus.Admin.ListEndOffsets(ctx, topic)
	if err != nil {
		return false
	}
	offsets, err := bus.Admin.FetchOffsets(ctx, group)
	if err != nil {
		return false
	}
	done := true
	ends.Each(func(end kadm.ListedOffset) {
		c, ok := offsets.Lookup(topic, end.Partition)
		if end.Offset > 0 && (!ok || c.At < end.Offset) {
			done = false
		}
	})
	return done
}
