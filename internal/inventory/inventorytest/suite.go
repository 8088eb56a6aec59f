package inventorytest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/inventory"
	"github.com/agoracommerce/agora/internal/inventory/app"
)

// Event types as they appear in the outbox metadata.
const (
	typeReceived  = "agora.inventory.v1.StockReceived"
	typeAdjusted  = "agora.inventory.v1.StockAdjusted"
	typeReserved  = "agora.inventory.v1.StockReserved"
	typeRejected  = "agora.inventory.v1.ReservationRejected"
	typeReleased  = "agora.inventory.v1.StockReleased"
	typeCommitted = "agora.inventory.v1.StockCommitted"
	typeLowStock  = "agora.inventory.v1.LowStock"
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
		{"receive creates and adds stock", testReceive},
		{"adjust sets on hand within its rules", testAdjust},
		{"threshold is conditional and low stock fires on crossing", testThresholdAndLowStock},
		{"list pages in SKU order", testList},
		{"reserve splits over warehouses and is idempotent per order", testReserve},
		{"reserve is all or nothing", testReserveAllOrNothing},
		{"release and commit move stock once", testReleaseCommit},
		{"expired reservations are listed oldest first", testExpired},
		{"concurrent reservations never oversell", testConcurrentReserve},
		{"concurrent releases apply once", testConcurrentRelease},
		{"concurrent requests reject an order once", testConcurrentReject},
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

func mustReceive(t *testing.T, repo app.Repository, sku, warehouse string, qty int64) inventory.Stock {
	t.Helper()
	st, err := repo.Receive(context.Background(), inventory.Receipt{SKU: sku, Warehouse: warehouse, Quantity: qty, At: t0})
	require.NoError(t, err)
	return st
}

type level struct{ Warehouse, OnHand, Reserved, Available any }

func levels(st inventory.Stock) []level {
	var out []level
	for _, l := range st.Levels() {
		out = append(out, level{l.Warehouse(), l.OnHand(), l.Reserved(), l.Available()})
	}
	return out
}

func lvl(w string, onHand, reserved int64) level {
	return level{w, onHand, reserved, onHand - reserved}
}

func requireLevels(t *testing.T, repo app.Repository, sku string, want ...level) inventory.Stock {
	t.Helper()
	st, err := repo.Stock(context.Background(), sku)
	require.NoError(t, err)
	if diff := cmp.Diff(want, levels(st)); diff != "" {
		t.Fatalf("levels of %s (-want +got):\n%s", sku, diff)
	}
	return st
}

func request(t *testing.T, orderID string, expires time.Time, lines ...inventory.Line) inventory.ReservationRequest {
	t.Helper()
	req, err := inventory.NewReservationRequest(orderID, lines, expires, t0)
	require.NoError(t, err)
	return req
}

func testReceive(t *testing.T, s Subject) {
	ctx := context.Background()
	_, err := s.Repo.Stock(ctx, "SKU-1")
	require.ErrorIs(t, err, inventory.ErrNotFound)

	st := mustReceive(t, s.Repo, "SKU-1", "ams-1", 10)
	require.Equal(t, int64(1), st.Version())
	require.Equal(t, t0, st.UpdatedAt())
	st = mustReceive(t, s.Repo, "SKU-1", "ams-1", 5)
	require.Equal(t, int64(2), st.Version())
	mustReceive(t, s.Repo, "SKU-1", "ber-2", 7)
	st = requireLevels(t, s.Repo, "SKU-1", lvl("ams-1", 15, 0), lvl("ber-2", 7, 0))
	require.Equal(t, int64(3), st.Version())
	require.Equal(t, int64(22), st.Available())
	require.Equal(t, []string{typeReceived, typeReceived, typeReceived}, types(t, s))
	for _, e := range s.Outbox(t) {
		require.Equal(t, "SKU-1", e.Key)
		require.Equal(t, "inventory.stock.v1", e.Topic)
	}
}

func testAdjust(t *testing.T, s Subject) {
	ctx := context.Background()
	adj := func(onHand, ifVersion int64, warehouse string) (inventory.Stock, error) {
		return s.Repo.Adjust(ctx, inventory.Adjustment{SKU: "SKU-A", Warehouse: warehouse, OnHand: onHand,
			Reason: inventory.ReasonCycleCount, IfVersion: ifVersion, At: t0})
	}
	_, err := adj(5, 0, "ams-1")
	require.ErrorIs(t, err, inventory.ErrNotFound)

	mustReceive(t, s.Repo, "SKU-A", "ams-1", 10)
	_, _, err = s.Repo.Reserve(ctx, request(t, "o-adj", t0.Add(time.Hour), inventory.Line{SKU: "SKU-A", Quantity: 4}))
	require.NoError(t, err)
	before := len(s.Outbox(t))

	_, err = adj(3, 0, "ams-1")
	require.ErrorIs(t, err, inventory.ErrBelowReserved)
	_, err = adj(8, 1, "ams-1")
	require.ErrorIs(t, err, inventory.ErrVersionMismatch)
	require.Len(t, s.Outbox(t), before, "failed adjustments write no event")
	st := requireLevels(t, s.Repo, "SKU-A", lvl("ams-1", 10, 4))

	st, err = adj(4, st.Version(), "ams-1")
	require.NoError(t, err)
	require.Equal(t, []level{lvl("ams-1", 4, 4)}, levels(st))
	_, err = adj(9, 0, "zrh-3")
	require.NoError(t, err)
	requireLevels(t, s.Repo, "SKU-A", lvl("ams-1", 4, 4), lvl("zrh-3", 9, 0))
	got := types(t, s)
	require.Equal(t, []string{typeAdjusted, typeAdjusted}, got[before:])
}

func testThresholdAndLowStock(t *testing.T, s Subject) {
	ctx := context.Background()
	set := func(threshold, ifVersion int64) (inventory.Stock, error) {
		return s.Repo.SetThreshold(ctx, inventory.ThresholdChange{SKU: "SKU-L", Threshold: threshold, IfVersion: ifVersion, At: t0})
	}
	_, err := set(5, 0)
	require.ErrorIs(t, err, inventory.ErrNotFound)
	st := mustReceive(t, s.Repo, "SKU-L", "ams-1", 10)
	_, err = set(5, st.Version()+1)
	require.ErrorIs(t, err, inventory.ErrVersionMismatch)
	st, err = set(5, st.Version())
	require.NoError(t, err)
	require.Equal(t, int64(5), st.LowStockThreshold())

	reserve := func(order string, qty int64) {
		t.Helper()
		_, _, err := s.Repo.Reserve(ctx, request(t, order, t0.Add(time.Hour), inventory.Line{SKU: "SKU-L", Quantity: qty}))
		require.NoError(t, err)
	}
	reserve("o-l1", 5) // 10 -> 5: not below 5
	reserve("o-l2", 1) // 5 -> 4: crosses
	reserve("o-l3", 1) // 4 -> 3: already low
	_, err = s.Repo.Adjust(ctx, inventory.Adjustment{SKU: "SKU-L", Warehouse: "ams-1", OnHand: 20, Reason: inventory.ReasonFound, At: t0})
	require.NoError(t, err) // 3 -> 13: back above
	_, err = s.Repo.Adjust(ctx, inventory.Adjustment{SKU: "SKU-L", Warehouse: "ams-1", OnHand: 8, Reason: inventory.ReasonLost, At: t0})
	require.NoError(t, err) // 13 -> 1: crosses again
	require.Equal(t, []string{typeReceived, typeReserved, typeReserved, typeLowStock, typeReserved, typeAdjusted, typeAdjusted, typeLowStock}, types(t, s))
	evs := s.Outbox(t)
	require.Equal(t, "SKU-L", evs[3].Key)
}

func testList(t *testing.T, s Subject) {
	ctx := context.Background()
	for i := range 5 {
		mustReceive(t, s.Repo, fmt.Sprintf("SKU-%d", 4-i), "ams-1", int64(i+1))
	}
	mustReceive(t, s.Repo, "SKU-2", "ber-1", 1)
	var got []string
	after := ""
	for {
		page, err := s.Repo.ListStock(ctx, after, 2)
		require.NoError(t, err)
		for _, st := range page {
			got = append(got, fmt.Sprintf("%s:%d", st.SKU(), len(st.Levels())))
		}
		if len(page) < 2 {
			break
		}
		after = page[len(page)-1].SKU()
	}
	require.Equal(t, []string{"SKU-0:1", "SKU-1:1", "SKU-2:2", "SKU-3:1", "SKU-4:1"}, got)
}

func testReserve(t *testing.T, s Subject) {
	ctx := context.Background()
	mustReceive(t, s.Repo, "SKU-R", "ams-1", 3)
	mustReceive(t, s.Repo, "SKU-R", "ber-2", 5)
	mustReceive(t, s.Repo, "SKU-S", "ams-1", 2)
	before := len(s.Outbox(t))

	expires := t0.Add(15 * time.Minute)
	req := request(t, "order-1", expires, inventory.Line{SKU: "SKU-S", Quantity: 2}, inventory.Line{SKU: "SKU-R", Quantity: 6})
	r, created, err := s.Repo.Reserve(ctx, req)
	require.NoError(t, err)
	require.True(t, created)
	want := []inventory.Allocation{
		{SKU: "SKU-R", Warehouse: "ber-2", Quantity: 5},
		{SKU: "SKU-R", Warehouse: "ams-1", Quantity: 1},
		{SKU: "SKU-S", Warehouse: "ams-1", Quantity: 2},
	}
	require.Equal(t, want, r.Allocations())
	require.Equal(t, inventory.StatusActive, r.Status())
	requireLevels(t, s.Repo, "SKU-R", lvl("ams-1", 3, 1), lvl("ber-2", 5, 5))
	requireLevels(t, s.Repo, "SKU-S", lvl("ams-1", 2, 2))

	got, err := s.Repo.Reservation(ctx, "order-1")
	require.NoError(t, err)
	require.Equal(t, inventory.StatusActive, got.Status())
	require.True(t, got.ExpiresAt().Equal(expires))
	require.ElementsMatch(t, want, got.Allocations())
	require.Equal(t, int64(1), got.Version())

	// The same order again (a redelivered request): nothing more is held.
	again, created, err := s.Repo.Reserve(ctx, req)
	require.NoError(t, err)
	require.False(t, created)
	require.ElementsMatch(t, want, again.Allocations())
	requireLevels(t, s.Repo, "SKU-R", lvl("ams-1", 3, 1), lvl("ber-2", 5, 5))
	evs := s.Outbox(t)[before:]
	require.Len(t, evs, 1)
	require.Equal(t, typeReserved, evs[0].Metadata.Type)
	require.Equal(t, "order-1", evs[0].Key)

	_, err = s.Repo.Reservation(ctx, "order-none")
	require.ErrorIs(t, err, inventory.ErrNotFound)
}

func testReserveAllOrNothing(t *testing.T, s Subject) {
	ctx := context.Background()
	mustReceive(t, s.Repo, "SKU-X", "ams-1", 5)
	mustReceive(t, s.Repo, "SKU-Y", "ams-1", 1)
	before := len(s.Outbox(t))

	req := request(t, "order-2", t0.Add(time.Hour),
		inventory.Line{SKU: "SKU-X", Quantity: 5}, inventory.Line{SKU: "SKU-Y", Quantity: 2}, inventory.Line{SKU: "SKU-Z", Quantity: 1})
	_, created, err := s.Repo.Reserve(ctx, req)
	require.False(t, created)
	require.ErrorIs(t, err, inventory.ErrOutOfStock)
	var short *inventory.ShortageError
	require.True(t, errors.As(err, &short))
	require.Equal(t, []inventory.Shortage{{SKU: "SKU-Y", Requested: 2, Available: 1}, {SKU: "SKU-Z", Requested: 1}}, short.Lines)

	requireLevels(t, s.Repo, "SKU-X", lvl("ams-1", 5, 0))
	requireLevels(t, s.Repo, "SKU-Y", lvl("ams-1", 1, 0))
	_, err = s.Repo.Reservation(ctx, "order-2")
	require.ErrorIs(t, err, inventory.ErrNotFound, "a rejected order holds no reservation")
	require.Equal(t, []string{typeRejected}, types(t, s)[before:], "only the rejection is published")

	// The rejection is final: the same order again (a redelivered
	// request), even once the stock is there, gets the same shortage,
	// holds nothing and publishes nothing more.
	mustReceive(t, s.Repo, "SKU-Y", "ams-1", 1)
	mustReceive(t, s.Repo, "SKU-Z", "ams-1", 1)
	before = len(s.Outbox(t))
	_, created, err = s.Repo.Reserve(ctx, req)
	require.False(t, created)
	var again *inventory.ShortageError
	require.True(t, errors.As(err, &again), "%v", err)
	require.Equal(t, short, again)
	requireLevels(t, s.Repo, "SKU-Y", lvl("ams-1", 2, 0))
	_, err = s.Repo.Reservation(ctx, "order-2")
	require.ErrorIs(t, err, inventory.ErrNotFound)
	require.Len(t, s.Outbox(t), before)

	// Another order takes the stock.
	other := request(t, "order-3", t0.Add(time.Hour), inventory.Line{SKU: "SKU-Y", Quantity: 2}, inventory.Line{SKU: "SKU-Z", Quantity: 1})
	_, created, err = s.Repo.Reserve(ctx, other)
	require.NoError(t, err)
	require.True(t, created)
}

// Many concurrent requests for one order that lacks stock reject it once.
func testConcurrentReject(t *testing.T, s Subject) {
	ctx := context.Background()
	mustReceive(t, s.Repo, "SKU-CJ", "ams-1", 1)
	mustReceive(t, s.Repo, "SKU-CK", "ams-1", 5)
	before := len(s.Outbox(t))
	req := request(t, "o-cj", t0.Add(time.Hour), inventory.Line{SKU: "SKU-CJ", Quantity: 2}, inventory.Line{SKU: "SKU-CK", Quantity: 1})
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := s.Repo.Reserve(ctx, req)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.ErrorIs(t, err, inventory.ErrOutOfStock)
	}
	requireLevels(t, s.Repo, "SKU-CK", lvl("ams-1", 5, 0))
	require.Equal(t, []string{typeRejected}, types(t, s)[before:])
}

func testReleaseCommit(t *testing.T, s Subject) {
	ctx := context.Background()
	mustReceive(t, s.Repo, "SKU-C", "ams-1", 10)
	for _, o := range []string{"o-rel", "o-com"} {
		_, _, err := s.Repo.Reserve(ctx, request(t, o, t0.Add(time.Hour), inventory.Line{SKU: "SKU-C", Quantity: 3}))
		require.NoError(t, err)
	}
	requireLevels(t, s.Repo, "SKU-C", lvl("ams-1", 10, 6))
	before := len(s.Outbox(t))
	at := t0.Add(time.Minute)

	release := func(order string) (inventory.Reservation, error) {
		return s.Repo.UpdateReservation(ctx, order, func(r *inventory.Reservation) error { return r.Release("cancelled", at) })
	}
	commit := func(order string) (inventory.Reservation, error) {
		return s.Repo.UpdateReservation(ctx, order, func(r *inventory.Reservation) error { return r.Commit(at) })
	}
	r, err := release("o-rel")
	require.NoError(t, err)
	require.Equal(t, inventory.StatusReleased, r.Status())
	require.Equal(t, "cancelled", r.Reason())
	_, err = release("o-rel")
	require.NoError(t, err, "releasing twice is a no-op")
	_, err = commit("o-rel")
	require.ErrorIs(t, err, inventory.ErrReservationClosed)
	requireLevels(t, s.Repo, "SKU-C", lvl("ams-1", 10, 3))

	r, err = commit("o-com")
	require.NoError(t, err)
	require.Equal(t, inventory.StatusCommitted, r.Status())
	_, err = commit("o-com")
	require.NoError(t, err)
	_, err = release("o-com")
	require.ErrorIs(t, err, inventory.ErrReservationClosed)
	requireLevels(t, s.Repo, "SKU-C", lvl("ams-1", 7, 0))

	stored, err := s.Repo.Reservation(ctx, "o-com")
	require.NoError(t, err)
	require.Equal(t, inventory.StatusCommitted, stored.Status())
	require.Equal(t, int64(2), stored.Version())
	require.Equal(t, at, stored.UpdatedAt())

	_, err = release("o-none")
	require.ErrorIs(t, err, inventory.ErrNotFound)
	require.Equal(t, []string{typeReleased, typeCommitted}, types(t, s)[before:])
}

func testExpired(t *testing.T, s Subject) {
	ctx := context.Background()
	mustReceive(t, s.Repo, "SKU-E", "ams-1", 10)
	for i, minutes := range []int{30, 10, 20, 40} {
		_, _, err := s.Repo.Reserve(ctx, request(t, fmt.Sprintf("o-e%d", i), t0.Add(time.Duration(minutes)*time.Minute),
			inventory.Line{SKU: "SKU-E", Quantity: 1}))
		require.NoError(t, err)
	}
	_, err := s.Repo.UpdateReservation(ctx, "o-e1", func(r *inventory.Reservation) error { return r.Commit(t0) })
	require.NoError(t, err)

	ids, err := s.Repo.ExpiredReservations(ctx, t0.Add(30*time.Minute), 10)
	require.NoError(t, err)
	require.Equal(t, []string{"o-e2", "o-e0"}, ids, "active ones at or past expiry, oldest first")
	ids, err = s.Repo.ExpiredReservations(ctx, t0.Add(time.Hour), 1)
	require.NoError(t, err)
	require.Equal(t, []string{"o-e2"}, ids)
	ids, err = s.Repo.ExpiredReservations(ctx, t0, 10)
	require.NoError(t, err)
	require.Empty(t, ids)
}

// 200 orders of one unit race for 50 units: exactly 50 are reserved, the
// rest rejected as out of stock, and the level ends fully reserved.
func testConcurrentReserve(t *testing.T, s Subject) {
	ctx := context.Background()
	mustReceive(t, s.Repo, "SKU-HOT", "ams-1", 50)
	svc, err := app.New(s.Repo, app.Config{Now: func() time.Time { return t0 }})
	require.NoError(t, err)

	const orders = 200
	var (
		wg                 sync.WaitGroup
		mu                 sync.Mutex
		reserved, rejected []string
		other              []error
	)
	start := make(chan struct{})
	for i := range orders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			id := fmt.Sprintf("hot-%03d", i)
			_, err := svc.ReserveForOrder(ctx, id, []inventory.Line{{SKU: "SKU-HOT", Quantity: 1}}, t0.Add(time.Hour))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				reserved = append(reserved, id)
			case errors.Is(err, inventory.ErrOutOfStock):
				rejected = append(rejected, id)
			default:
				other = append(other, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	require.Empty(t, other)
	require.Len(t, reserved, 50)
	require.Len(t, rejected, 150)
	st := requireLevels(t, s.Repo, "SKU-HOT", lvl("ams-1", 50, 50))
	require.Equal(t, int64(0), st.Available())

	// A successful order reserved again holds nothing more.
	r, err := svc.ReserveForOrder(ctx, reserved[0], []inventory.Line{{SKU: "SKU-HOT", Quantity: 1}}, t0.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, reserved[0], r.OrderID())
	requireLevels(t, s.Repo, "SKU-HOT", lvl("ams-1", 50, 50))

	counts := map[string]int{}
	for _, ty := range types(t, s) {
		counts[ty]++
	}
	require.Equal(t, map[string]int{typeReceived: 1, typeReserved: 50, typeRejected: 150}, counts)
}

// Many concurrent releases of one order give its stock back once.
func testConcurrentRelease(t *testing.T, s Subject) {
	ctx := context.Background()
	mustReceive(t, s.Repo, "SKU-CR", "ams-1", 10)
	_, _, err := s.Repo.Reserve(ctx, request(t, "o-cr", t0.Add(time.Hour), inventory.Line{SKU: "SKU-CR", Quantity: 4}))
	require.NoError(t, err)
	svc, err := app.New(s.Repo, app.Config{Now: func() time.Time { return t0 }})
	require.NoError(t, err)

	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := svc.Release(ctx, "o-cr", "cancelled")
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	requireLevels(t, s.Repo, "SKU-CR", lvl("ams-1", 10, 0))
	counts := map[string]int{}
	for _, ty := range types(t, s) {
		counts[ty]++
	}
	require.Equal(t, 1, counts[typeReleased])
}
