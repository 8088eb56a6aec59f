package inventory_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/inventory"
)

var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func mustLevel(t *testing.T, w string, onHand, reserved int64) inventory.Level {
	t.Helper()
	l, err := inventory.NewLevel(w, onHand, reserved)
	require.NoError(t, err)
	return l
}

func TestValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
	}{
		{"sku ok", inventory.ValidateSKU("TSHIRT-RED_M.2")},
		{"warehouse ok", inventory.ValidateWarehouse("ams-1")},
		{"order ok", inventory.ValidateOrderID("0190a4b2-7c1e:1")},
		{"receipt ok", inventory.Receipt{SKU: "A", Warehouse: "w", Quantity: 1}.Validate()},
		{"adjustment ok", inventory.Adjustment{SKU: "A", Warehouse: "w", OnHand: 0, Reason: inventory.ReasonLost}.Validate()},
		{"threshold ok", inventory.ThresholdChange{SKU: "A", Threshold: 0}.Validate()},
	}
	for _, tt := range tests {
		require.NoError(t, tt.err, tt.name)
	}
	bad := []struct {
		name string
		err  error
	}{
		{"empty sku", inventory.ValidateSKU("")},
		{"sku with space", inventory.ValidateSKU("A B")},
		{"sku too long", inventory.ValidateSKU(strings.Repeat("A", 65))},
		{"uppercase warehouse", inventory.ValidateWarehouse("AMS")},
		{"order starting with dash", inventory.ValidateOrderID("-1")},
		{"zero receipt", inventory.Receipt{SKU: "A", Warehouse: "w", Quantity: 0}.Validate()},
		{"huge receipt", inventory.Receipt{SKU: "A", Warehouse: "w", Quantity: inventory.MaxQuantity + 1}.Validate()},
		{"long note", inventory.Receipt{SKU: "A", Warehouse: "w", Quantity: 1, Note: strings.Repeat("x", 201)}.Validate()},
		{"negative on hand", inventory.Adjustment{SKU: "A", Warehouse: "w", OnHand: -1, Reason: inventory.ReasonLost}.Validate()},
		{"unknown reason", inventory.Adjustment{SKU: "A", Warehouse: "w", OnHand: 1, Reason: "stolen"}.Validate()},
		{"negative version", inventory.Adjustment{SKU: "A", Warehouse: "w", OnHand: 1, Reason: inventory.ReasonLost, IfVersion: -1}.Validate()},
		{"negative threshold", inventory.ThresholdChange{SKU: "A", Threshold: -1}.Validate()},
	}
	for _, tt := range bad {
		require.ErrorIs(t, tt.err, inventory.ErrInvalid, tt.name)
	}
}

func TestLevelInvariants(t *testing.T) {
	t.Parallel()
	l := mustLevel(t, "ams-1", 10, 4)
	require.Equal(t, int64(6), l.Available())
	for _, tc := range []struct{ onHand, reserved int64 }{{-1, 0}, {5, -1}, {5, 6}, {inventory.MaxQuantity + 1, 0}} {
		_, err := inventory.NewLevel("ams-1", tc.onHand, tc.reserved)
		require.ErrorIs(t, err, inventory.ErrInvalid, "%+v", tc)
	}
	st, err := inventory.RestoreStock("SKU", []inventory.Level{mustLevel(t, "zrh", 5, 5), l}, 3, 7, t0)
	require.NoError(t, err)
	require.Equal(t, "ams-1", st.Levels()[0].Warehouse(), "levels sorted by warehouse")
	require.Equal(t, []int64{15, 9, 6}, []int64{st.OnHand(), st.Reserved(), st.Available()})
	got, ok := st.Level("zrh")
	require.True(t, ok)
	require.Equal(t, int64(0), got.Available())
	_, err = inventory.RestoreStock("SKU", nil, 0, 0, t0)
	require.ErrorIs(t, err, inventory.ErrInvalid, "version starts at 1")
}

func TestAllocate(t *testing.T) {
	t.Parallel()
	levels := []inventory.Level{mustLevel(t, "a", 3, 0), mustLevel(t, "b", 10, 5), mustLevel(t, "c", 5, 0), mustLevel(t, "d", 2, 2)}
	tests := []struct {
		name      string
		qty       int64
		want      []inventory.Allocation
		wantShort int64
	}{
		{"one warehouse suffices", 4, []inventory.Allocation{{SKU: "S", Warehouse: "b", Quantity: 4}}, 0},
		{"ties go by warehouse", 5, []inventory.Allocation{{SKU: "S", Warehouse: "b", Quantity: 5}}, 0},
		{"split over the fullest", 9, []inventory.Allocation{{SKU: "S", Warehouse: "b", Quantity: 5}, {SKU: "S", Warehouse: "c", Quantity: 4}}, 0},
		{"everything available", 13, []inventory.Allocation{{SKU: "S", Warehouse: "b", Quantity: 5}, {SKU: "S", Warehouse: "c", Quantity: 5}, {SKU: "S", Warehouse: "a", Quantity: 3}}, 0},
		{"short by one", 14, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			plan, short := inventory.Allocate(inventory.Line{SKU: "S", Quantity: tt.qty}, levels)
			require.Equal(t, tt.wantShort, short)
			if diff := cmp.Diff(tt.want, plan); diff != "" {
				t.Fatalf("plan (-want +got):\n%s", diff)
			}
		})
	}
	_, short := inventory.Allocate(inventory.Line{SKU: "S", Quantity: 1}, nil)
	require.Equal(t, int64(1), short, "no levels, nothing available")
}

func TestReservationRequest(t *testing.T) {
	t.Parallel()
	req, err := inventory.NewReservationRequest("o-1", []inventory.Line{{SKU: "B", Quantity: 1}, {SKU: "A", Quantity: 2}}, t0.Add(time.Minute), t0)
	require.NoError(t, err)
	require.Equal(t, []inventory.Line{{SKU: "A", Quantity: 2}, {SKU: "B", Quantity: 1}}, req.Lines, "sorted by SKU")

	many := make([]inventory.Line, inventory.MaxLines+1)
	for i := range many {
		many[i] = inventory.Line{SKU: "S" + strings.Repeat("x", i%60) + string(rune('a'+i%26)), Quantity: 1}
	}
	tests := []struct {
		name    string
		orderID string
		lines   []inventory.Line
		expires time.Time
	}{
		{"bad order", "", []inventory.Line{{SKU: "A", Quantity: 1}}, t0.Add(time.Minute)},
		{"no lines", "o", nil, t0.Add(time.Minute)},
		{"too many lines", "o", many, t0.Add(time.Minute)},
		{"zero quantity", "o", []inventory.Line{{SKU: "A", Quantity: 0}}, t0.Add(time.Minute)},
		{"bad sku", "o", []inventory.Line{{SKU: "a b", Quantity: 1}}, t0.Add(time.Minute)},
		{"duplicate sku", "o", []inventory.Line{{SKU: "A", Quantity: 1}, {SKU: "A", Quantity: 2}}, t0.Add(time.Minute)},
		{"expired already", "o", []inventory.Line{{SKU: "A", Quantity: 1}}, t0},
	}
	for _, tt := range tests {
		_, err := inventory.NewReservationRequest(tt.orderID, tt.lines, tt.expires, t0)
		require.ErrorIs(t, err, inventory.ErrInvalid, tt.name)
		require.Equal(t, tt.name == "expired already", errors.Is(err, inventory.ErrExpiryPassed), tt.name)
	}
}

func TestReservationLifecycle(t *testing.T) {
	t.Parallel()
	req, err := inventory.NewReservationRequest("o-1", []inventory.Line{{SKU: "A", Quantity: 3}}, t0.Add(time.Hour), t0)
	require.NoError(t, err)
	allocs := []inventory.Allocation{{SKU: "B", Warehouse: "w", Quantity: 1}, {SKU: "A", Warehouse: "x", Quantity: 2}, {SKU: "A", Warehouse: "w", Quantity: 1}}

	r := inventory.NewReservation(req, allocs)
	require.Equal(t, []inventory.Event{inventory.StockReserved{OrderID: "o-1", Allocations: allocs, ExpiresAt: t0.Add(time.Hour), OccurredAt: t0}}, r.Events())
	require.Equal(t, []inventory.LevelDelta{{SKU: "A", Warehouse: "w", Reserved: 1}, {SKU: "A", Warehouse: "x", Reserved: 2}, {SKU: "B", Warehouse: "w", Reserved: 1}}, r.Deltas())
	r.Stored()
	require.Equal(t, int64(1), r.Version())
	require.False(t, r.Changed())
	require.False(t, r.Expired(t0.Add(59*time.Minute)))
	require.True(t, r.Expired(t0.Add(time.Hour)))

	require.ErrorIs(t, r.Release("", t0), inventory.ErrInvalid)
	require.NoError(t, r.Release("cancelled", t0.Add(time.Minute)))
	require.Equal(t, inventory.StatusReleased, r.Status())
	require.Equal(t, int64(-2), r.Deltas()[1].Reserved)
	require.Equal(t, int64(0), r.Deltas()[1].OnHand)
	require.Len(t, r.Events(), 1)
	r.Stored()
	require.Equal(t, int64(2), r.Version())
	require.NoError(t, r.Release("again", t0), "releasing twice is a no-op")
	require.False(t, r.Changed())
	require.Equal(t, "cancelled", r.Reason())
	require.ErrorIs(t, r.Commit(t0), inventory.ErrReservationClosed)
	require.False(t, r.Expired(t0.Add(2*time.Hour)), "only active reservations expire")

	c := inventory.NewReservation(req, allocs)
	c.Stored()
	require.NoError(t, c.Commit(t0))
	require.Equal(t, inventory.LevelDelta{SKU: "A", Warehouse: "x", OnHand: -2, Reserved: -2}, c.Deltas()[1])
	require.Equal(t, []inventory.Event{inventory.StockCommitted{OrderID: "o-1", Allocations: allocs, OccurredAt: t0}}, c.Events())
	c.Stored()
	require.NoError(t, c.Commit(t0))
	require.False(t, c.Changed())
	require.ErrorIs(t, c.Release("late", t0), inventory.ErrReservationClosed)

	_, err = inventory.RestoreReservation("o-1", "lost", "", nil, t0, t0, t0, 1)
	require.ErrorIs(t, err, inventory.ErrInvalid)
}

func TestLowStockCrossed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                     string
		threshold, before, after int64
		want                     bool
	}{
		{"crosses", 5, 5, 4, true},
		{"crosses to zero", 5, 10, 0, true},
		{"stays above", 5, 10, 5, false},
		{"already below", 5, 4, 3, false},
		{"rises", 5, 3, 8, false},
		{"alert off", 0, 1, 0, false},
	}
	for _, tt := range tests {
		ev, ok := inventory.LowStockCrossed("S", tt.threshold, tt.before, tt.after, t0)
		require.Equal(t, tt.want, ok, tt.name)
		if ok {
			require.Equal(t, inventory.LowStock{SKU: "S", Available: tt.after, Threshold: tt.threshold, OccurredAt: t0}, ev)
			require.Equal(t, "S", ev.Key())
		}
	}
}

func TestShortageError(t *testing.T) {
	t.Parallel()
	var err error = &inventory.ShortageError{OrderID: "o", Lines: []inventory.Shortage{{SKU: "A"}, {SKU: "B"}}}
	require.ErrorIs(t, err, inventory.ErrOutOfStock)
	require.Contains(t, err.Error(), "A, B")
	var se *inventory.ShortageError
	require.True(t, errors.As(err, &se))
}
