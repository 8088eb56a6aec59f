package dynamostore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	shippingv1 "github.com/agoracommerce/agora/gen/proto/agora/shipping/v1"
	"github.com/agoracommerce/agora/internal/platform/dynamo"
	"github.com/agoracommerce/agora/internal/platform/dynamo/dynamotest"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/kafkatest"
	"github.com/agoracommerce/agora/internal/shipping"
	"github.com/agoracommerce/agora/internal/shipping/app"
	"github.com/agoracommerce/agora/internal/shipping/dynamostore"
	"github.com/agoracommerce/agora/internal/shipping/eventsout"
	"github.com/agoracommerce/agora/internal/shipping/shippingtest"
	"github.com/agoracommerce/agora/internal/shipping/simcarrier"
)

var (
	t0   = time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)
	addr = shipping.Address{Name: "Ada Lovelace", Line1: "12 Market Street", City: "Amsterdam", PostalCode: "1012 AB", Country: "NL"}
)

// fixture is a Store over a fresh table, with what the tests look at.
type fixture struct {
	st     *dynamostore.Store
	ob     *dynamo.Outbox
	client *dynamodb.Client
	table  string
	codec  *events.Codec
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	client := dynamotest.Client(t)
	table := dynamotest.NewTable(t, client, "shipping")
	ob, err := dynamo.NewOutbox(dynamo.OutboxConfig{Client: client, Table: table})
	require.NoError(t, err)
	codec := kafkatest.Codec(t)
	st, err := dynamostore.New(client, table, ob, codec)
	require.NoError(t, err)
	return fixture{st: st, ob: ob, client: client, table: table, codec: codec}
}

// The repository contract suite on DynamoDB (moto); the SQLite and
// PostgreSQL runs are in sqlstore.
func TestRepository(t *testing.T) {
	t.Parallel()
	shippingtest.TestRepository(t, func(t *testing.T) shippingtest.Subject {
		f := newFixture(t)
		return shippingtest.Subject{Repo: f.st, Outbox: func(t *testing.T) []events.Event { return dynamotest.Pending(t, f.ob) }}
	})
}

// mustShipment returns an unstored shipment of orderID with id, scheduled
// for next when next is not zero.
func mustShipment(t *testing.T, id, orderID string, next time.Time) shipping.Shipment {
	t.Helper()
	req, err := shipping.NewRequest(id, orderID, "customer-1", addr, []shipping.Line{{SKU: "MUG-1", Quantity: 3}}, t0)
	require.NoError(t, err)
	sh, err := shipping.NewShipment(req, shipping.Label{Carrier: "test-carrier", TrackingNumber: "TRK-1", LabelID: "LBL-" + id})
	require.NoError(t, err)
	require.NoError(t, sh.Schedule(next))
	return sh
}

// The items behind the access patterns: the order's guard names its
// shipment, and the shipment is in the due index exactly while a step is
// scheduled.
func TestItems(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	id := uuid.Must(uuid.NewV7()).String()
	next := t0.Add(time.Minute)
	_, created, err := f.st.Create(ctx, mustShipment(t, id, "order-1", next))
	require.NoError(t, err)
	require.True(t, created)

	guards := dynamotest.Items(t, f.client, f.table, "ORDER#")
	require.Len(t, guards, 1)
	require.Equal(t, "ORDER#order-1", dynamo.GetS(guards[0], dynamo.AttrPK))
	require.Equal(t, id, dynamo.GetS(guards[0], "shipment_id"))

	// indexed returns the shipment item's gsi1 keys and status.
	indexed := func() map[string]string {
		t.Helper()
		items := dynamotest.Items(t, f.client, f.table, "SHIPMENT#"+id)
		require.Len(t, items, 1)
		out := map[string]string{}
		for _, name := range []string{dynamo.AttrGSI1PK, dynamo.AttrGSI1SK, "status"} {
			if _, ok := items[0][name]; ok {
				out[name] = dynamo.GetS(items[0], name)
			}
		}
		return out
	}
	require.Equal(t, map[string]string{
		dynamo.AttrGSI1PK: "SHIPMENT#DUE",
		dynamo.AttrGSI1SK: fmt.Sprintf("%020d#%s", next.UnixMicro(), id),
		"status":          "label_created",
	}, indexed())

	_, err = f.st.Update(ctx, id, func(sh *shipping.Shipment) error { return sh.Advance(next) })
	require.NoError(t, err)
	require.Equal(t, map[string]string{"status": "in_transit"}, indexed(), "a step clears the schedule and leaves the index")

	// A shipment ID is not taken over by another order.
	_, _, err = f.st.Create(ctx, mustShipment(t, id, "order-2", time.Time{}))
	require.ErrorIs(t, err, shipping.ErrInvalid)
	_, err = f.st.ShipmentOfOrder(ctx, "order-2")
	require.ErrorIs(t, err, shipping.ErrNotFound)
}

// The app's advancer brings a shipment of the simulated carrier to
// delivered on DynamoDB: found through the due index at each scheduled
// step and out of it once delivered. Every change published its event,
// keyed by the shipment and decodable by consumers.
func TestAdvanceDue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	carrier, err := simcarrier.New(simcarrier.Config{PickupAfter: time.Hour, DeliverAfter: 2 * time.Hour})
	require.NoError(t, err)
	now := t0
	svc, err := app.New(f.st, carrier, app.Config{Now: func() time.Time { return now }})
	require.NoError(t, err)
	sh, err := svc.RequestShipment(ctx, "order-1", "customer-1", addr, []shipping.Line{{SKU: "MUG-1", Quantity: 3}})
	require.NoError(t, err)
	require.Equal(t, t0.Add(time.Hour), sh.NextStepAt())

	for _, step := range []struct {
		at     time.Time
		moved  int
		status shipping.Status
	}{
		{t0.Add(59 * time.Minute), 0, shipping.StatusLabelCreated},
		{t0.Add(time.Hour), 1, shipping.StatusInTransit},
		{t0.Add(2 * time.Hour), 0, shipping.StatusInTransit},
		{t0.Add(3 * time.Hour), 1, shipping.StatusDelivered},
		{t0.Add(24 * time.Hour), 0, shipping.StatusDelivered},
	} {
		now = step.at
		n, err := svc.AdvanceDue(ctx, now)
		require.NoError(t, err)
		require.Equal(t, step.moved, n, "at %s", now)
		got, err := f.st.Shipment(ctx, sh.ID())
		require.NoError(t, err)
		require.Equal(t, step.status, got.Status(), "at %s", now)
	}
	ids, err := f.st.Due(ctx, t0.Add(24*time.Hour), 10)
	require.NoError(t, err)
	require.Empty(t, ids, "a delivered shipment is not due")

	evs := dynamotest.Pending(t, f.ob)
	want := []string{"agora.shipping.v1.ShipmentCreated", "agora.shipping.v1.ShipmentShipped", "agora.shipping.v1.ShipmentDelivered"}
	require.Len(t, evs, len(want))
	for i, ev := range evs {
		require.Equal(t, eventsout.Topic, ev.Topic)
		require.Equal(t, sh.ID(), ev.Key)
		require.Equal(t, want[i], ev.Metadata.Type)
		require.Equal(t, eventsout.Source, ev.Metadata.Source)
		msg, err := f.codec.Decode(ctx, ev.Value)
		require.NoError(t, err)
		env, ok := msg.(*shippingv1.ShipmentEvent)
		require.True(t, ok, "event %d is a %T", i, msg)
		require.Equal(t, want[i], envelopeType(env), "event %d", i)
	}
}

// envelopeType names the event an envelope carries, as the metadata
// types it.
func envelopeType(env *shippingv1.ShipmentEvent) string {
	switch env.GetEvent().(type) {
	case *shippingv1.ShipmentEvent_ShipmentCreated:
		return "agora.shipping.v1.ShipmentCreated"
	case *shippingv1.ShipmentEvent_ShipmentShipped:
		return "agora.shipping.v1.ShipmentShipped"
	case *shippingv1.ShipmentEvent_ShipmentDelivered:
		return "agora.shipping.v1.ShipmentDelivered"
	case *shippingv1.ShipmentEvent_ShipmentCancelled:
		return "agora.shipping.v1.ShipmentCancelled"
	}
	return fmt.Sprintf("%T", env.GetEvent())
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	client := dynamotest.Client(t)
	ob, err := dynamo.NewOutbox(dynamo.OutboxConfig{Client: client, Table: "shipping"})
	require.NoError(t, err)
	_, err = dynamostore.New(nil, "shipping", ob, kafkatest.Codec(t))
	require.Error(t, err)
	_, err = dynamostore.New(client, "", ob, kafkatest.Codec(t))
	require.Error(t, err)
	_, err = dynamostore.New(client, "shipping", nil, kafkatest.Codec(t))
	require.Error(t, err)
	_, err = dynamostore.New(client, "other", ob, kafkatest.Codec(t))
	require.Error(t, err, "the outbox must be on the store's table")
	_, err = dynamostore.New(client, "shipping", ob, nil)
	require.Error(t, err)
	_, err = dynamostore.New(client, "shipping", ob, kafkatest.Codec(t))
	require.NoError(t, err)
}
