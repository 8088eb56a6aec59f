package kafka_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/types/known/timestamppb"

	catalogv1 "github.com/agoracommerce/agora/gen/proto/agora/catalog/v1"
	commonv1 "github.com/agoracommerce/agora/gen/proto/agora/common/v1"
	"github.com/agoracommerce/agora/internal/cart"
	"github.com/agoracommerce/agora/internal/cart/app"
	"github.com/agoracommerce/agora/internal/cart/kafka"
	"github.com/agoracommerce/agora/internal/cart/sqlstore"
	"github.com/agoracommerce/agora/internal/catalog"
	catalogevents "github.com/agoracommerce/agora/internal/catalog/eventsout"
	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/consumer"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/kafkatest"
	"github.com/agoracommerce/agora/internal/platform/outbox"
	"github.com/agoracommerce/agora/internal/platform/sqldb/sqldbtest"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// outcome is one ApplyProduct call the consumer made.
type outcome struct {
	id      uuid.UUID
	version int64
	applied bool
}

// recorder passes product events to the app and remembers what happened.
type recorder struct {
	svc *app.Service
	mu  sync.Mutex
	log []outcome
}

func (r *recorder) ApplyProduct(ctx context.Context, p cart.Product) (bool, error) {
	applied, err := r.svc.ApplyProduct(ctx, p)
	if err == nil {
		r.mu.Lock()
		r.log = append(r.log, outcome{p.ID, p.Version, applied})
		r.mu.Unlock()
	}
	return applied, err
}

func (r *recorder) outcomes() []outcome {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]outcome(nil), r.log...)
}

func (r *recorder) of(id uuid.UUID) []outcome {
	var out []outcome
	for _, o := range r.outcomes() {
		if o.id == id {
			out = append(out, o)
		}
	}
	return out
}

func catalogMoney(t *testing.T, amount int64) catalog.Money {
	t.Helper()
	m, err := catalog.NewMoney(amount, "EUR")
	require.NoError(t, err)
	return m
}

func details(t *testing.T, name string, amount int64) catalog.Details {
	t.Helper()
	return catalog.Details{Name: name, Price: catalogMoney(t, amount), CategoryID: uuid.Must(uuid.NewV7())}
}

func newProduct(t *testing.T, sku string, d catalog.Details, status catalog.Status) *catalog.Product {
	t.Helper()
	p, err := catalog.NewProduct(uuid.Must(uuid.NewV7()), sku, d, status, t0)
	require.NoError(t, err)
	return p
}

// The event contract between the catalog (producer) and the cart
// (consumer): product events encoded by the catalog's own encoder, on a
// real consumer group, end in the cart's read model — the latest version
// of each product, replays and stale copies ignored — and an event the
// cart cannot apply goes to the dead-letter topic without stopping the
// others.
func TestProductEventsFromCatalog(t *testing.T) {
	t.Parallel()
	kafkatest.Each(t, func(t *testing.T, bus *kafkatest.Bus) {
		ctx := context.Background()
		topic := bus.Topic(t, 3)
		enc, err := catalogevents.NewForTopic(bus.Codec, topic)
		require.NoError(t, err)

		db := sqldbtest.SQLite(t)
		ob, err := outbox.NewStore(ctx, db)
		require.NoError(t, err)
		store, err := sqlstore.New(ctx, db, ob, bus.Codec)
		require.NoError(t, err)
		svc, err := app.New(store, store, app.Config{Now: func() time.Time { return t0 }})
		require.NoError(t, err)
		rec := &recorder{svc: svc}
		handler, err := kafka.Products(rec)
		require.NoError(t, err)

		// The catalog's changes: a shirt changed and repriced in one update
		// (ProductUpdated and ProductPriceChanged of version 2), and again
		// (version 3); a lamp archived; a draft mug.
		shirt := newProduct(t, "SHIRT-1", details(t, "Shirt", 1999), catalog.StatusActive)
		require.NoError(t, shirt.Replace(details(t, "Red shirt", 1799), catalog.StatusActive, t0.Add(time.Minute)))
		lamp := newProduct(t, "LAMP-1", details(t, "Lamp", 4999), catalog.StatusActive)
		require.True(t, lamp.Archive(t0.Add(time.Minute)))
		mug := newProduct(t, "MUG-1", details(t, "Mug", 899), catalog.StatusDraft)
		first, err := enc.Encode(ctx, append(append(shirt.Events(), lamp.Events()...), mug.Events()...)...)
		require.NoError(t, err)
		require.NoError(t, shirt.Replace(details(t, "Red shirt", 1599), catalog.StatusActive, t0.Add(2*time.Minute)))
		last, err := enc.Encode(ctx, shirt.Events()[3:]...)
		require.NoError(t, err)

		// An event the cart cannot apply: a price of zero.
		poison, err := bus.Codec.NewEvent(ctx, topic, catalogevents.Source, "poison", &catalogv1.ProductEvent{
			Event: &catalogv1.ProductEvent_ProductCreated{ProductCreated: &catalogv1.ProductCreated{
				ProductId: uuid.Must(uuid.NewV7()).String(), Sku: "BAD-1", Name: "Bad", Price: &commonv1.Money{Currency: "EUR"},
				Status: catalogv1.ProductStatus_PRODUCT_STATUS_ACTIVE, Version: 1, OccurredAt: timestamppb.New(t0)}}}, t0)
		require.NoError(t, err)

		var recs []*kgo.Record
		for _, batch := range [][]events.Event{first, first, {first[0], poison}, last} { // every event twice, a stale copy, then v3
			for _, ev := range batch {
				recs = append(recs, ev.Record())
			}
		}
		bus.Produce(t, recs...)

		c, err := consumer.New(consumer.Config{
			ClientOpts: []kgo.Opt{kgo.SeedBrokers(bus.Brokers...), kgo.FetchMaxWait(200 * time.Millisecond)},
			Group:      topic + "-group", Topics: []string{topic}, Decoder: bus.Codec, Handler: handler,
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

		require.Eventually(t, func() bool {
			o := rec.of(shirt.ID())
			return len(o) == 9 && len(rec.of(lamp.ID())) == 4 && len(rec.of(mug.ID())) == 2
		}, 60*time.Second, 20*time.Millisecond, "applied %v", rec.outcomes())

		// Per product, in order: only each new version was applied.
		require.Equal(t, []outcome{
			{shirt.ID(), 1, true}, {shirt.ID(), 2, true}, {shirt.ID(), 2, false}, // updated, then price changed at the same version
			{shirt.ID(), 1, false}, {shirt.ID(), 2, false}, {shirt.ID(), 2, false}, // the replay
			{shirt.ID(), 1, false},                        // the stale copy
			{shirt.ID(), 3, true}, {shirt.ID(), 3, false}, // updated (a new category), then price changed
		}, rec.of(shirt.ID()))
		require.Equal(t, []outcome{{lamp.ID(), 1, true}, {lamp.ID(), 2, true}, {lamp.ID(), 1, false}, {lamp.ID(), 2, false}}, rec.of(lamp.ID()))

		got, err := store.Products(ctx, []uuid.UUID{shirt.ID(), lamp.ID(), mug.ID()})
		require.NoError(t, err)
		eur := func(a int64) cart.Money { m, err := cart.NewMoney(a, "EUR"); require.NoError(t, err); return m }
		require.Equal(t, map[uuid.UUID]cart.Product{
			shirt.ID(): {ID: shirt.ID(), SKU: "SHIRT-1", Name: "Red shirt", Price: eur(1599), Status: cart.ProductActive, Version: 3, UpdatedAt: t0.Add(2 * time.Minute)},
			lamp.ID():  {ID: lamp.ID(), SKU: "LAMP-1", Name: "Lamp", Price: eur(4999), Status: cart.ProductArchived, Version: 2, UpdatedAt: t0.Add(time.Minute)},
			mug.ID():   {ID: mug.ID(), SKU: "MUG-1", Name: "Mug", Price: eur(899), Status: cart.ProductDraft, Version: 1, UpdatedAt: t0},
		}, got)

		dead := bus.Read(t, topic+"-group.dlq", 1)
		require.Equal(t, "poison", string(dead[0].Key))

		// The cart prices from what the catalog said, and refuses what is
		// not on sale.
		shopper := auth.WithPrincipal(ctx, &auth.Principal{Subject: "alice"})
		v, err := svc.CreateCart(shopper, "EUR")
		require.NoError(t, err)
		v, _, err = svc.AddLine(shopper, v.Cart.ID(), shirt.ID(), 2)
		require.NoError(t, err)
		require.Equal(t, eur(3198), v.Priced.Total)
		_, _, err = svc.AddLine(shopper, v.Cart.ID(), lamp.ID(), 1)
		require.ErrorIs(t, err, cart.ErrProductUnavailable)
		_, _, err = svc.AddLine(shopper, v.Cart.ID(), mug.ID(), 1)
		require.ErrorIs(t, err, cart.ErrProductUnavailable)
	})
}

func TestProductMapping(t *testing.T) {
	t.Parallel()
	id := uuid.Must(uuid.NewV7()).String()
	price := &commonv1.Money{AmountMinor: 100, Currency: "EUR"}
	ts := timestamppb.New(t0)
	created := func(mut func(*catalogv1.ProductCreated)) *catalogv1.ProductEvent {
		e := &catalogv1.ProductCreated{ProductId: id, Sku: "S-1", Name: "N", Price: price,
			Status: catalogv1.ProductStatus_PRODUCT_STATUS_ACTIVE, Version: 1, OccurredAt: ts}
		mut(e)
		return &catalogv1.ProductEvent{Event: &catalogv1.ProductEvent_ProductCreated{ProductCreated: e}}
	}
	for _, c := range []struct {
		name string
		env  *catalogv1.ProductEvent
		ok   bool
	}{
		{"valid", created(func(*catalogv1.ProductCreated) {}), true},
		{"archived event", &catalogv1.ProductEvent{Event: &catalogv1.ProductEvent_ProductArchived{ProductArchived: &catalogv1.ProductArchived{
			ProductId: id, Sku: "S-1", Name: "N", Price: price, Version: 2, OccurredAt: ts}}}, true},
		{"no event", &catalogv1.ProductEvent{}, false},
		{"bad id", created(func(e *catalogv1.ProductCreated) { e.ProductId = "x" }), false},
		{"no price", created(func(e *catalogv1.ProductCreated) { e.Price = nil }), false},
		{"no status", created(func(e *catalogv1.ProductCreated) { e.Status = catalogv1.ProductStatus_PRODUCT_STATUS_UNSPECIFIED }), false},
		{"no time", created(func(e *catalogv1.ProductCreated) { e.OccurredAt = nil }), false},
		{"no version", created(func(e *catalogv1.ProductCreated) { e.Version = 0 }), false},
		{"no sku", created(func(e *catalogv1.ProductCreated) { e.Sku = "" }), false},
	} {
		p, err := kafka.Product(c.env)
		require.Equal(t, c.ok, err == nil, "%s: %v", c.name, err)
		if c.name == "archived event" {
			require.Equal(t, cart.ProductArchived, p.Status)
		}
	}
	_, err := kafka.Products(nil)
	require.Error(t, err)
}
