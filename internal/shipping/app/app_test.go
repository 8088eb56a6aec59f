package app_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/platform/kafkatest"
	"github.com/agoracommerce/agora/internal/platform/outbox"
	"github.com/agoracommerce/agora/internal/platform/outbox/outboxtest"
	"github.com/agoracommerce/agora/internal/platform/sqldb/sqldbtest"
	"github.com/agoracommerce/agora/internal/shipping"
	"github.com/agoracommerce/agora/internal/shipping/app"
	"github.com/agoracommerce/agora/internal/shipping/simcarrier"
	"github.com/agoracommerce/agora/internal/shipping/sqlstore"
)

var (
	t0    = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	addr  = shipping.Address{Name: "Ada Lovelace", Line1: "12 Market Street", City: "Amsterdam", PostalCode: "1012 AB", Country: "NL"}
	lines = []shipping.Line{{SKU: "TSHIRT-RED-M", Quantity: 2}}
)

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.now = t }

// carrier wraps the simulated carrier, counting voided labels and failing
// label creation on demand.
type carrier struct {
	*simcarrier.Carrier
	mu     sync.Mutex
	voided int
	fail   error
}

func (c *carrier) CreateLabel(ctx context.Context, req app.LabelRequest) (shipping.Label, error) {
	c.mu.Lock()
	fail := c.fail
	c.mu.Unlock()
	if fail != nil {
		return shipping.Label{}, fail
	}
	return c.Carrier.CreateLabel(ctx, req)
}

func (c *carrier) VoidLabel(ctx context.Context, l shipping.Label) error {
	c.mu.Lock()
	c.voided++
	c.mu.Unlock()
	return c.Carrier.VoidLabel(ctx, l)
}

type fixture struct {
	svc     *app.Service
	repo    app.Repository
	clock   *clock
	carrier *carrier
	events  func() []string
}

// newFixture returns the Service over a real SQLite store and the
// simulated carrier with the given delays.
func newFixture(t *testing.T, pickup, deliver time.Duration, wrap func(app.Repository) app.Repository) fixture {
	t.Helper()
	ctx := context.Background()
	db := sqldbtest.SQLite(t)
	ob, err := outbox.NewStore(ctx, db)
	require.NoError(t, err)
	store, err := sqlstore.New(ctx, db, ob, kafkatest.Codec(t))
	require.NoError(t, err)
	sim, err := simcarrier.New(simcarrier.Config{PickupAfter: pickup, DeliverAfter: deliver})
	require.NoError(t, err)
	c := &carrier{Carrier: sim}
	clk := &clock{now: t0}
	var repo app.Repository = store
	if wrap != nil {
		repo = wrap(store)
	}
	svc, err := app.New(repo, c, app.Config{Now: clk.Now, DueBatch: 2})
	require.NoError(t, err)
	return fixture{svc: svc, repo: repo, clock: clk, carrier: c, events: func() []string {
		var out []string
		for _, e := range outboxtest.Pending(t, ob) {
			out = append(out, e.Metadata.Type[len("agora.shipping.v1."):])
		}
		return out
	}}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 0, 0, nil)
	_, err := app.New(nil, f.carrier, app.Config{})
	require.Error(t, err)
	_, err = app.New(f.repo, nil, app.Config{})
	require.Error(t, err)
	_, err = app.New(f.repo, f.carrier, app.Config{DueBatch: -1})
	require.Error(t, err)
}

func TestRequestShipment(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, time.Minute, time.Hour, nil)
	sh, err := f.svc.RequestShipment(ctx, "order-1", "customer-1", addr, lines)
	require.NoError(t, err)
	require.Equal(t, shipping.StatusLabelCreated, sh.Status())
	require.Equal(t, simcarrier.TrackingNumber(sh.ID()), sh.Label().TrackingNumber)
	require.Equal(t, simcarrier.DefaultName, sh.Label().Carrier)
	require.Equal(t, t0.Add(time.Minute), sh.NextStepAt(), "scheduled for pick-up")
	require.Equal(t, "customer-1", sh.CustomerID())

	again, err := f.svc.RequestShipment(ctx, "order-1", "customer-1", addr, lines)
	require.NoError(t, err)
	require.Equal(t, sh.ID(), again.ID(), "one shipment per order")
	require.Equal(t, []string{"ShipmentCreated"}, f.events())

	got, err := f.svc.ShipmentOfOrder(ctx, "order-1")
	require.NoError(t, err)
	require.Equal(t, sh.ID(), got.ID())
	got, err = f.svc.Shipment(ctx, sh.ID())
	require.NoError(t, err)
	require.Equal(t, "order-1", got.OrderID())

	_, err = f.svc.RequestShipment(ctx, "order-2", "customer-1", shipping.Address{}, lines)
	require.ErrorIs(t, err, shipping.ErrInvalid)
	_, err = f.svc.RequestShipment(ctx, "order-2", "customer-1", addr, nil)
	require.ErrorIs(t, err, shipping.ErrInvalid)
	_, err = f.svc.Shipment(ctx, "nope")
	require.ErrorIs(t, err, shipping.ErrInvalid)
	_, err = f.svc.ShipmentOfOrder(ctx, "order-2")
	require.ErrorIs(t, err, shipping.ErrNotFound)
}

func TestRequestShipmentCarrierFails(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 0, 0, nil)
	down := errors.New("carrier down")
	f.carrier.fail = down
	_, err := f.svc.RequestShipment(context.Background(), "order-1", "customer-1", addr, lines)
	require.ErrorIs(t, err, down)
	_, err = f.svc.ShipmentOfOrder(context.Background(), "order-1")
	require.ErrorIs(t, err, shipping.ErrNotFound, "nothing stored without a label")
	require.Empty(t, f.events())
}

// blindRepo does not see existing shipments by order, as when two
// requests for one order race past the first lookup.
type blindRepo struct{ app.Repository }

func (blindRepo) ShipmentOfOrder(context.Context, string) (shipping.Shipment, error) {
	return shipping.Shipment{}, shipping.ErrNotFound
}

func TestRequestShipmentRaceVoidsTheLoserLabel(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, 0, 0, func(r app.Repository) app.Repository { return blindRepo{r} })
	first, err := f.svc.RequestShipment(ctx, "order-1", "customer-1", addr, lines)
	require.NoError(t, err)
	second, err := f.svc.RequestShipment(ctx, "order-1", "customer-1", addr, lines)
	require.NoError(t, err)
	require.Equal(t, first.ID(), second.ID())
	require.Equal(t, 1, f.carrier.voided)
	require.Equal(t, []string{"ShipmentCreated"}, f.events())
}

func TestCancelShipment(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, time.Minute, time.Minute, nil)
	_, err := f.svc.CancelShipment(ctx, "order-404")
	require.ErrorIs(t, err, shipping.ErrNotFound)

	_, err = f.svc.RequestShipment(ctx, "order-1", "customer-1", addr, lines)
	require.NoError(t, err)
	f.clock.Set(t0.Add(10 * time.Second))
	sh, err := f.svc.CancelShipment(ctx, "order-1")
	require.NoError(t, err)
	require.Equal(t, shipping.StatusCancelled, sh.Status())
	require.True(t, sh.NextStepAt().IsZero(), "a cancelled shipment is not moved on")
	require.Equal(t, t0.Add(10*time.Second), sh.CancelledAt())
	again, err := f.svc.CancelShipment(ctx, "order-1")
	require.NoError(t, err)
	require.Equal(t, sh.Version(), again.Version(), "cancelling twice changes nothing")
	require.Equal(t, 2, f.carrier.voided, "the label is voided on every call")

	shipped, err := f.svc.RequestShipment(ctx, "order-2", "customer-1", addr, lines)
	require.NoError(t, err)
	_, err = f.svc.Advance(ctx, shipped.ID(), 0)
	require.NoError(t, err)
	_, err = f.svc.CancelShipment(ctx, "order-2")
	var te *shipping.TransitionError
	require.ErrorAs(t, err, &te)
	require.Equal(t, shipping.StatusInTransit, te.From)
	require.Equal(t, []string{"ShipmentCreated", "ShipmentCancelled", "ShipmentCreated", "ShipmentShipped"}, f.events())
}

func TestAdvance(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, time.Minute, time.Hour, nil)
	sh, err := f.svc.RequestShipment(ctx, "order-1", "customer-1", addr, lines)
	require.NoError(t, err)
	_, err = f.svc.Advance(ctx, sh.ID(), 7)
	require.ErrorIs(t, err, shipping.ErrVersionMismatch)
	f.clock.Set(t0.Add(time.Second))
	sh, err = f.svc.Advance(ctx, sh.ID(), sh.Version())
	require.NoError(t, err)
	require.Equal(t, shipping.StatusInTransit, sh.Status())
	require.Equal(t, t0.Add(time.Second+time.Hour), sh.NextStepAt(), "delivery scheduled from pick-up")
	sh, err = f.svc.Advance(ctx, sh.ID(), 0)
	require.NoError(t, err)
	require.Equal(t, shipping.StatusDelivered, sh.Status())
	_, err = f.svc.Advance(ctx, sh.ID(), 0)
	require.ErrorIs(t, err, shipping.ErrInvalidTransition)
	_, err = f.svc.Advance(ctx, "01936f0e-8c4a-7b2e-9d41-6a3c2b1f0e77", 0)
	require.ErrorIs(t, err, shipping.ErrNotFound)
}

// With the simulated carrier's delays, due shipments move on round after
// round until delivered, without anyone calling the API.
func TestAdvanceDue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, time.Minute, 2*time.Minute, nil)
	var ids []string
	for _, order := range []string{"order-1", "order-2", "order-3"} { // more than one DueBatch
		sh, err := f.svc.RequestShipment(ctx, order, "customer-1", addr, lines)
		require.NoError(t, err)
		ids = append(ids, sh.ID())
	}
	cancelled, err := f.svc.RequestShipment(ctx, "order-4", "customer-1", addr, lines)
	require.NoError(t, err)
	_, err = f.svc.CancelShipment(ctx, "order-4")
	require.NoError(t, err)

	status := func() []shipping.Status {
		var out []shipping.Status
		for _, id := range ids {
			sh, err := f.svc.Shipment(ctx, id)
			require.NoError(t, err)
			out = append(out, sh.Status())
		}
		return out
	}
	round := func(at time.Time, want int) {
		t.Helper()
		f.clock.Set(at)
		n, err := f.svc.AdvanceDue(ctx, at)
		require.NoError(t, err)
		require.Equal(t, want, n)
	}
	round(t0.Add(59*time.Second), 0)
	round(t0.Add(time.Minute), 3)
	require.Equal(t, []shipping.Status{shipping.StatusInTransit, shipping.StatusInTransit, shipping.StatusInTransit}, status())
	round(t0.Add(2*time.Minute), 0)
	round(t0.Add(3*time.Minute), 3)
	require.Equal(t, []shipping.Status{shipping.StatusDelivered, shipping.StatusDelivered, shipping.StatusDelivered}, status())
	round(t0.Add(time.Hour), 0)
	sh, err := f.svc.Shipment(ctx, cancelled.ID())
	require.NoError(t, err)
	require.Equal(t, shipping.StatusCancelled, sh.Status())
}
