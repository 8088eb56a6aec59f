package shippingtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/shipping"
	"github.com/agoracommerce/agora/internal/shipping/app"
)

// Event types as they appear in the outbox metadata.
const (
	typeCreated   = "agora.shipping.v1.ShipmentCreated"
	typeShipped   = "agora.shipping.v1.ShipmentShipped"
	typeDelivered = "agora.shipping.v1.ShipmentDelivered"
	typeCancelled = "agora.shipping.v1.ShipmentCancelled"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// TestRepository runs the contract suite; newSubject returns a fresh
// adapter over an empty store for each subtest.
func TestRepository(t *testing.T, newSubject func(t *testing.T) Subject) {
	t.Helper()
	cases := []struct {
		name string
		fn   func(t *testing.T, s Subject)
	}{
		{"create stores the shipment and its event", testCreate},
		{"an order has one shipment", testOnePerOrder},
		{"update stores transitions and their events", testUpdate},
		{"failed and empty updates write nothing", testFailedUpdates},
		{"due lists scheduled shipments earliest first", testDue},
		{"concurrent creates for an order make one shipment", testConcurrentCreate},
		{"concurrent updates apply each step once", testConcurrentUpdate},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, newSubject(t))
		})
	}
}

func types(t *testing.T, s Subject) []string {
	t.Helper()
	evs := s.Outbox(t)
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Metadata.Type
	}
	return out
}

func newID(t *testing.T) string {
	t.Helper()
	id, err := uuid.NewV7()
	require.NoError(t, err)
	return id.String()
}

// newShipment returns an unstored shipment of orderID, scheduled for next
// when next is not zero.
func newShipment(t *testing.T, orderID string, next time.Time) shipping.Shipment {
	t.Helper()
	id := newID(t)
	addr := shipping.Address{Name: "Ada Lovelace", Line1: "12 Market Street", Line2: "3rd floor", City: "Amsterdam",
		Region: "NH", PostalCode: "1012 AB", Country: "NL"}
	lines := []shipping.Line{{SKU: "TSHIRT-RED-M", Quantity: 2}, {SKU: "MUG-1", Quantity: 1}}
	req, err := shipping.NewRequest(id, orderID, "customer-1", addr, lines, t0)
	require.NoError(t, err)
	sh, err := shipping.NewShipment(req, shipping.Label{Carrier: "test-carrier", TrackingNumber: "TRK-" + id[:8], LabelID: "LBL-" + id})
	require.NoError(t, err)
	require.NoError(t, sh.Schedule(next))
	return sh
}

func mustCreate(t *testing.T, repo app.Repository, orderID string, next time.Time) shipping.Shipment {
	t.Helper()
	stored, created, err := repo.Create(context.Background(), newShipment(t, orderID, next))
	require.NoError(t, err)
	require.True(t, created)
	return stored
}

func diff(t *testing.T, want, got shipping.Shipment) {
	t.Helper()
	w, g := want.Snapshot(), got.Snapshot()
	if d := cmp.Diff(w, g); d != "" {
		t.Fatalf("shipment (-want +got):\n%s", d)
	}
}

func testCreate(t *testing.T, s Subject) {
	ctx := context.Background()
	sh := newShipment(t, "order-1", t0.Add(time.Minute))
	stored, created, err := s.Repo.Create(ctx, sh)
	require.NoError(t, err)
	require.True(t, created)
	require.Equal(t, int64(1), stored.Version())
	require.False(t, stored.Changed())

	byID, err := s.Repo.Shipment(ctx, sh.ID())
	require.NoError(t, err)
	diff(t, stored, byID)
	byOrder, err := s.Repo.ShipmentOfOrder(ctx, "order-1")
	require.NoError(t, err)
	diff(t, stored, byOrder)
	require.Equal(t, t0.Add(time.Minute), byID.NextStepAt())

	evs := s.Outbox(t)
	require.Len(t, evs, 1)
	require.Equal(t, typeCreated, evs[0].Metadata.Type)
	require.Equal(t, sh.ID(), evs[0].Key)

	_, err = s.Repo.Shipment(ctx, newID(t))
	require.ErrorIs(t, err, shipping.ErrNotFound)
	_, err = s.Repo.ShipmentOfOrder(ctx, "order-404")
	require.ErrorIs(t, err, shipping.ErrNotFound)
	_, _, err = s.Repo.Create(ctx, stored)
	require.ErrorIs(t, err, shipping.ErrInvalid, "a stored shipment is not created again")
}

func testOnePerOrder(t *testing.T, s Subject) {
	ctx := context.Background()
	first := mustCreate(t, s.Repo, "order-1", time.Time{})
	got, created, err := s.Repo.Create(ctx, newShipment(t, "order-1", time.Time{}))
	require.NoError(t, err)
	require.False(t, created)
	diff(t, first, got)
	require.Equal(t, []string{typeCreated}, types(t, s))
}

func testUpdate(t *testing.T, s Subject) {
	ctx := context.Background()
	sh := mustCreate(t, s.Repo, "order-1", t0.Add(time.Minute))
	at := t0.Add(2 * time.Minute)
	got, err := s.Repo.Update(ctx, sh.ID(), func(sh *shipping.Shipment) error {
		if err := sh.Advance(at); err != nil {
			return err
		}
		return sh.Schedule(at.Add(time.Hour))
	})
	require.NoError(t, err)
	require.Equal(t, shipping.StatusInTransit, got.Status())
	require.Equal(t, int64(2), got.Version())
	read, err := s.Repo.Shipment(ctx, sh.ID())
	require.NoError(t, err)
	diff(t, got, read)
	require.Equal(t, at, read.ShippedAt())
	require.Equal(t, at.Add(time.Hour), read.NextStepAt())

	got, err = s.Repo.Update(ctx, sh.ID(), func(sh *shipping.Shipment) error { return sh.Advance(at) })
	require.NoError(t, err)
	require.Equal(t, shipping.StatusDelivered, got.Status())
	require.True(t, got.NextStepAt().IsZero())
	read, err = s.Repo.Shipment(ctx, sh.ID())
	require.NoError(t, err)
	diff(t, got, read)

	other := mustCreate(t, s.Repo, "order-2", time.Time{})
	_, err = s.Repo.Update(ctx, other.ID(), func(sh *shipping.Shipment) error { return sh.Cancel(at) })
	require.NoError(t, err)
	require.Equal(t, []string{typeCreated, typeShipped, typeDelivered, typeCreated, typeCancelled}, types(t, s))

	// A schedule alone is stored (a new version) and publishes nothing.
	third := mustCreate(t, s.Repo, "order-3", time.Time{})
	got, err = s.Repo.Update(ctx, third.ID(), func(sh *shipping.Shipment) error { return sh.Schedule(at) })
	require.NoError(t, err)
	require.Equal(t, int64(2), got.Version())
	read, err = s.Repo.Shipment(ctx, third.ID())
	require.NoError(t, err)
	require.Equal(t, at, read.NextStepAt())
	require.Len(t, types(t, s), 6)
}

func testFailedUpdates(t *testing.T, s Subject) {
	ctx := context.Background()
	sh := mustCreate(t, s.Repo, "order-1", time.Time{})
	boom := errors.New("boom")
	_, err := s.Repo.Update(ctx, sh.ID(), func(sh *shipping.Shipment) error {
		if err := sh.Advance(t0); err != nil {
			return err
		}
		return boom
	})
	require.ErrorIs(t, err, boom)
	_, err = s.Repo.Update(ctx, newID(t), func(*shipping.Shipment) error { return nil })
	require.ErrorIs(t, err, shipping.ErrNotFound)
	got, err := s.Repo.Update(ctx, sh.ID(), func(*shipping.Shipment) error { return nil })
	require.NoError(t, err)
	require.Equal(t, int64(1), got.Version(), "an update that changes nothing stores nothing")
	read, err := s.Repo.Shipment(ctx, sh.ID())
	require.NoError(t, err)
	diff(t, sh, read)
	require.Equal(t, []string{typeCreated}, types(t, s))
}

func testDue(t *testing.T, s Subject) {
	ctx := context.Background()
	late := mustCreate(t, s.Repo, "order-late", t0.Add(3*time.Minute))
	early := mustCreate(t, s.Repo, "order-early", t0.Add(time.Minute))
	mustCreate(t, s.Repo, "order-unscheduled", time.Time{})
	mustCreate(t, s.Repo, "order-future", t0.Add(time.Hour))

	ids, err := s.Repo.Due(ctx, t0.Add(3*time.Minute), 10)
	require.NoError(t, err)
	require.Equal(t, []string{early.ID(), late.ID()}, ids)
	ids, err = s.Repo.Due(ctx, t0.Add(3*time.Minute), 1)
	require.NoError(t, err)
	require.Equal(t, []string{early.ID()}, ids)
	ids, err = s.Repo.Due(ctx, t0, 10)
	require.NoError(t, err)
	require.Empty(t, ids)

	_, err = s.Repo.Update(ctx, early.ID(), func(sh *shipping.Shipment) error { return sh.Advance(t0) })
	require.NoError(t, err)
	ids, err = s.Repo.Due(ctx, t0.Add(3*time.Minute), 10)
	require.NoError(t, err)
	require.Equal(t, []string{late.ID()}, ids, "a step clears the schedule")
}

func testConcurrentCreate(t *testing.T, s Subject) {
	const n = 8
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		ids     = map[string]bool{}
		created int
	)
	for range n {
		wg.Go(func() {
			got, c, err := s.Repo.Create(context.Background(), newShipment(t, "order-race", time.Time{}))
			if err != nil {
				t.Errorf("create: %v", err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			ids[got.ID()] = true
			if c {
				created++
			}
		})
	}
	wg.Wait()
	require.Equal(t, 1, created)
	require.Len(t, ids, 1, "every caller gets the one shipment")
	require.Equal(t, []string{typeCreated}, types(t, s))
}

func testConcurrentUpdate(t *testing.T, s Subject) {
	sh := mustCreate(t, s.Repo, "order-1", time.Time{})
	const n = 5
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		moved   int
		refused int
	)
	for range n {
		wg.Go(func() {
			_, err := s.Repo.Update(context.Background(), sh.ID(), func(sh *shipping.Shipment) error { return sh.Advance(t0) })
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				moved++
			case errors.Is(err, shipping.ErrInvalidTransition):
				refused++
			default:
				t.Errorf("advance: %v", err)
			}
		})
	}
	wg.Wait()
	require.Equal(t, 2, moved, "label_created has exactly two steps to delivered")
	require.Equal(t, n-2, refused)
	got, err := s.Repo.Shipment(context.Background(), sh.ID())
	require.NoError(t, err)
	require.Equal(t, shipping.StatusDelivered, got.Status())
	require.Equal(t, int64(3), got.Version())
	require.Equal(t, []string{typeCreated, typeShipped, typeDelivered}, types(t, s), fmt.Sprintf("after %d racing steps", n))
}
