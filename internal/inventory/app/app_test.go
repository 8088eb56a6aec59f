package app_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/inventory"
	"github.com/agoracommerce/agora/internal/inventory/app"
	"github.com/agoracommerce/agora/internal/inventory/sqlstore"
	"github.com/agoracommerce/agora/internal/platform/kafkatest"
	"github.com/agoracommerce/agora/internal/platform/outbox"
	"github.com/agoracommerce/agora/internal/platform/sqldb/sqldbtest"
)

var t0 = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

// clock is a settable test clock; safe for concurrent use.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.now = t }

// newService returns the Service over a real SQLite store and its clock.
func newService(t *testing.T) (*app.Service, *sqlstore.Store, *clock) {
	t.Helper()
	ctx := context.Background()
	db := sqldbtest.SQLite(t)
	ob, err := outbox.NewStore(ctx, db)
	require.NoError(t, err)
	store, err := sqlstore.New(ctx, db, ob, kafkatest.Codec(t))
	require.NoError(t, err)
	c := &clock{now: t0}
	svc, err := app.New(store, app.Config{Now: c.Now, ExpiryBatch: 2})
	require.NoError(t, err)
	return svc, store, c
}

func available(t *testing.T, svc *app.Service, sku string) (onHand, reserved int64) {
	t.Helper()
	st, err := svc.Stock(context.Background(), sku)
	require.NoError(t, err)
	return st.OnHand(), st.Reserved()
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	_, err := app.New(nil, app.Config{})
	require.Error(t, err)
	_, store, _ := newService(t)
	_, err = app.New(store, app.Config{ExpiryBatch: -1})
	require.Error(t, err)
}

func TestInvalidCommandsNeverReachTheStore(t *testing.T) {
	t.Parallel()
	svc, _, _ := newService(t)
	ctx := context.Background()
	lines := []inventory.Line{{SKU: "A", Quantity: 1}}
	tests := []struct {
		name string
		err  error
	}{
		{"reserve without lines", func() error { _, err := svc.ReserveForOrder(ctx, "o", nil, t0.Add(time.Hour)); return err }()},
		{"reserve already expired", func() error { _, err := svc.ReserveForOrder(ctx, "o", lines, t0); return err }()},
		{"release bad order", func() error { _, err := svc.Release(ctx, " ", "x"); return err }()},
		{"commit bad order", func() error { _, err := svc.Commit(ctx, ""); return err }()},
		{"receive zero", func() error { _, err := svc.ReceiveStock(ctx, "A", "w", 0, ""); return err }()},
		{"adjust unknown reason", func() error { _, err := svc.AdjustStock(ctx, "A", "w", 1, "stolen", "", 0); return err }()},
		{"threshold negative", func() error { _, err := svc.SetLowStockThreshold(ctx, "A", -1, 0); return err }()},
		{"stock bad sku", func() error { _, err := svc.Stock(ctx, "a b"); return err }()},
		{"list limit", func() error { _, _, err := svc.ListStock(ctx, "", 0); return err }()},
		{"reservation bad order", func() error { _, err := svc.Reservation(ctx, ""); return err }()},
	}
	for _, tt := range tests {
		require.ErrorIs(t, tt.err, inventory.ErrInvalid, tt.name)
	}
}

func TestReserveReleaseCommit(t *testing.T) {
	t.Parallel()
	svc, _, _ := newService(t)
	ctx := context.Background()
	_, err := svc.ReceiveStock(ctx, "SKU", "ams-1", 10, "")
	require.NoError(t, err)

	r, err := svc.ReserveForOrder(ctx, "o-1", []inventory.Line{{SKU: "SKU", Quantity: 4}}, t0.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, inventory.StatusActive, r.Status())
	_, err = svc.ReserveForOrder(ctx, "o-1", []inventory.Line{{SKU: "SKU", Quantity: 4}}, t0.Add(time.Hour))
	require.NoError(t, err)
	onHand, reserved := available(t, svc, "SKU")
	require.Equal(t, [2]int64{10, 4}, [2]int64{onHand, reserved}, "reserved once")

	_, err = svc.ReserveForOrder(ctx, "o-2", []inventory.Line{{SKU: "SKU", Quantity: 7}}, t0.Add(time.Hour))
	require.ErrorIs(t, err, inventory.ErrOutOfStock)

	r, err = svc.Commit(ctx, "o-1")
	require.NoError(t, err)
	require.Equal(t, inventory.StatusCommitted, r.Status())
	onHand, reserved = available(t, svc, "SKU")
	require.Equal(t, [2]int64{6, 0}, [2]int64{onHand, reserved})
	_, err = svc.Release(ctx, "o-1", "cancelled")
	require.ErrorIs(t, err, inventory.ErrReservationClosed)
	_, err = svc.Release(ctx, "o-404", "cancelled")
	require.ErrorIs(t, err, inventory.ErrNotFound)
}

func TestExpireReservations(t *testing.T) {
	t.Parallel()
	svc, _, c := newService(t)
	ctx := context.Background()
	_, err := svc.ReceiveStock(ctx, "SKU", "ams-1", 10, "")
	require.NoError(t, err)
	// Five reservations expiring after 1..5 minutes; the second ships.
	for i, id := range []string{"o-1", "o-2", "o-3", "o-4", "o-5"} {
		_, err := svc.ReserveForOrder(ctx, id, []inventory.Line{{SKU: "SKU", Quantity: 1}}, t0.Add(time.Duration(i+1)*time.Minute))
		require.NoError(t, err)
	}
	_, err = svc.Commit(ctx, "o-2")
	require.NoError(t, err)

	n, err := svc.ExpireReservations(ctx, t0)
	require.NoError(t, err)
	require.Zero(t, n, "nothing has expired yet")

	c.Set(t0.Add(4 * time.Minute))
	n, err = svc.ExpireReservations(ctx, c.Now())
	require.NoError(t, err)
	require.Equal(t, 3, n, "o-1, o-3 and o-4 expired; batches of 2 are drained")
	for id, want := range map[string]inventory.ReservationStatus{"o-1": inventory.StatusReleased, "o-2": inventory.StatusCommitted,
		"o-3": inventory.StatusReleased, "o-4": inventory.StatusReleased, "o-5": inventory.StatusActive} {
		r, err := svc.Reservation(ctx, id)
		require.NoError(t, err)
		require.Equal(t, want, r.Status(), id)
		if want == inventory.StatusReleased {
			require.Equal(t, inventory.ReasonExpired, r.Reason())
		}
	}
	onHand, reserved := available(t, svc, "SKU")
	require.Equal(t, [2]int64{9, 1}, [2]int64{onHand, reserved})

	n, err = svc.ExpireReservations(ctx, c.Now())
	require.NoError(t, err)
	require.Zero(t, n, "expiring again releases nothing twice")
}
