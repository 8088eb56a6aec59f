package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	cartv1 "github.com/agoracommerce/agora/gen/proto/agora/cart/v1"
	commonv1 "github.com/agoracommerce/agora/gen/proto/agora/common/v1"
	"github.com/agoracommerce/agora/internal/cart"
	"github.com/agoracommerce/agora/internal/platform/kafkatest"
	"github.com/agoracommerce/agora/internal/platform/outbox/outboxtest"
	"github.com/agoracommerce/agora/internal/platform/sqldb/sqldbtest"
)

// The events a change writes to the outbox decode, through the codec and
// the embedded registry a consumer uses, into the CartEvent envelope with
// the change's fields, keyed by cart ID and typed in the metadata.
func TestEventContract(t *testing.T) {
	t.Parallel()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
	require.NoError(t, err)
	t.Cleanup(cluster.Close)
	bus := kafkatest.New(t, cluster.ListenAddrs())
	st, ob := newStore(t, sqldbtest.SQLite(t), bus.Codec)
	ctx := context.Background()
	at := time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)
	ts := timestamppb.New(at)
	eur := func(a int64) cart.Money { m, err := cart.NewMoney(a, "EUR"); require.NoError(t, err); return m }
	p := cart.Product{ID: uuid.Must(uuid.NewV7()), SKU: "SHIRT-1", Name: "Shirt", Price: eur(1999), Status: cart.ProductActive, Version: 1, UpdatedAt: at}

	open := func() *cart.Cart {
		c, err := cart.New(uuid.Must(uuid.NewV7()), "customer-1", "EUR", at)
		require.NoError(t, err)
		require.NoError(t, st.Create(ctx, c))
		return c
	}
	update := func(c *cart.Cart, fn func(*cart.Cart) error) {
		_, err := st.Update(ctx, c.ID(), fn)
		require.NoError(t, err)
	}
	a := open()
	update(a, func(c *cart.Cart) error { _, err := c.Add(p, 2, at); return err })
	update(a, func(c *cart.Cart) error { return c.SetQuantity(p.ID, 3, at) })
	update(a, func(c *cart.Cart) error { return c.CheckOut("order-7", at) })
	b := open()
	update(b, func(c *cart.Cart) error { _, err := c.Add(p, 1, at); return err })
	update(b, func(c *cart.Cart) error { return c.Remove(p.ID, at) })
	update(b, func(c *cart.Cart) error { return c.Abandon(at) })
	x := open()
	later := at.Add(time.Hour)
	update(x, func(c *cart.Cart) error { c.Expire(at, later); return nil })

	line := func(q int64) *cartv1.CartLine {
		return &cartv1.CartLine{ProductId: p.ID.String(), Sku: "SHIRT-1", Name: "Shirt", Quantity: q,
			UnitPrice: &commonv1.Money{AmountMinor: 1999, Currency: "EUR"}}
	}
	created := func(c *cart.Cart) *cartv1.CartEvent {
		return &cartv1.CartEvent{Event: &cartv1.CartEvent_CartCreated{CartCreated: &cartv1.CartCreated{
			CartId: c.ID().String(), CustomerId: "customer-1", Currency: "EUR", Version: 1, OccurredAt: ts}}}
	}
	want := []struct {
		cart *cart.Cart
		typ  string
		env  *cartv1.CartEvent
	}{
		{a, "agora.cart.v1.CartCreated", created(a)},
		{a, "agora.cart.v1.LineAdded", &cartv1.CartEvent{Event: &cartv1.CartEvent_LineAdded{LineAdded: &cartv1.LineAdded{
			CartId: a.ID().String(), CustomerId: "customer-1", Line: line(2), Version: 2, OccurredAt: ts}}}},
		{a, "agora.cart.v1.LineUpdated", &cartv1.CartEvent{Event: &cartv1.CartEvent_LineUpdated{LineUpdated: &cartv1.LineUpdated{
			CartId: a.ID().String(), CustomerId: "customer-1", Line: line(3), PreviousQuantity: 2, Version: 3, OccurredAt: ts}}}},
		{a, "agora.cart.v1.CartCheckedOut", &cartv1.CartEvent{Event: &cartv1.CartEvent_CartCheckedOut{CartCheckedOut: &cartv1.CartCheckedOut{
			CartId: a.ID().String(), CustomerId: "customer-1", OrderId: "order-7", Lines: []*cartv1.CartLine{line(3)},
			Total: &commonv1.Money{AmountMinor: 5997, Currency: "EUR"}, Version: 4, OccurredAt: ts}}}},
		{b, "agora.cart.v1.CartCreated", created(b)},
		{b, "agora.cart.v1.LineAdded", &cartv1.CartEvent{Event: &cartv1.CartEvent_LineAdded{LineAdded: &cartv1.LineAdded{
			CartId: b.ID().String(), CustomerId: "customer-1", Line: line(1), Version: 2, OccurredAt: ts}}}},
		{b, "agora.cart.v1.LineRemoved", &cartv1.CartEvent{Event: &cartv1.CartEvent_LineRemoved{LineRemoved: &cartv1.LineRemoved{
			CartId: b.ID().String(), CustomerId: "customer-1", Line: line(1), Version: 3, OccurredAt: ts}}}},
		{b, "agora.cart.v1.CartAbandoned", &cartv1.CartEvent{Event: &cartv1.CartEvent_CartAbandoned{CartAbandoned: &cartv1.CartAbandoned{
			CartId: b.ID().String(), CustomerId: "customer-1", Version: 4, OccurredAt: ts}}}},
		{x, "agora.cart.v1.CartCreated", created(x)},
		{x, "agora.cart.v1.CartExpired", &cartv1.CartEvent{Event: &cartv1.CartEvent_CartExpired{CartExpired: &cartv1.CartExpired{
			CartId: x.ID().String(), CustomerId: "customer-1", LastActivityAt: ts, Version: 2, OccurredAt: timestamppb.New(later)}}}},
	}
	evs := outboxtest.Pending(t, ob)
	require.Len(t, evs, len(want))
	for i, ev := range evs {
		require.Equal(t, "cart.carts.v1", ev.Topic)
		require.Equal(t, want[i].cart.ID().String(), ev.Key, "event %d", i)
		require.Equal(t, want[i].typ, ev.Metadata.Type, "event %d", i)
		require.Equal(t, "agora/cart", ev.Metadata.Source)
		require.Equal(t, ev.Key, ev.Metadata.Subject)
		msg, err := bus.Codec.Decode(ctx, ev.Value)
		require.NoError(t, err)
		if diff := cmp.Diff(want[i].env, msg, protocmp.Transform()); diff != "" {
			t.Errorf("event %d (-want +got):\n%s", i, diff)
		}
	}
}
