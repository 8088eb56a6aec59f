package shipping_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/shipping"
)

var (
	t0    = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	addr  = shipping.Address{Name: "Ada Lovelace", Line1: "12 Market Street", City: "Amsterdam", PostalCode: "1012 AB", Country: "NL"}
	lines = []shipping.Line{{SKU: "TSHIRT-RED-M", Quantity: 2}}
	label = shipping.Label{Carrier: "agora-sim", TrackingNumber: "AG0123456789", LabelID: "SIM-LBL-1"}
)

const shipmentID = "01936f0e-8c4a-7b2e-9d41-6a3c2b1f0e77"

// newShipment returns a stored shipment in status, reached through the
// state machine.
func newShipment(t *testing.T, status shipping.Status) shipping.Shipment {
	t.Helper()
	req, err := shipping.NewRequest(shipmentID, "order-1", "customer-1", addr, lines, t0)
	require.NoError(t, err)
	sh, err := shipping.NewShipment(req, label)
	require.NoError(t, err)
	sh.Stored()
	path := map[shipping.Status][]func(*shipping.Shipment) error{
		shipping.StatusLabelCreated: nil,
		shipping.StatusInTransit:    {func(s *shipping.Shipment) error { return s.Advance(t0) }},
		shipping.StatusDelivered: {func(s *shipping.Shipment) error { return s.Advance(t0) },
			func(s *shipping.Shipment) error { return s.Advance(t0) }},
		shipping.StatusCancelled: {func(s *shipping.Shipment) error { return s.Cancel(t0) }},
	}
	for _, step := range path[status] {
		require.NoError(t, step(&sh))
	}
	sh.Stored()
	require.Equal(t, status, sh.Status())
	return sh
}

// Every pair of statuses: the state machine allows exactly the three
// edges of a shipment's life.
func TestCanTransition(t *testing.T) {
	t.Parallel()
	allowed := map[[2]shipping.Status]bool{
		{shipping.StatusLabelCreated, shipping.StatusInTransit}: true,
		{shipping.StatusLabelCreated, shipping.StatusCancelled}: true,
		{shipping.StatusInTransit, shipping.StatusDelivered}:    true,
	}
	for _, from := range shipping.Statuses() {
		for _, to := range shipping.Statuses() {
			t.Run(string(from)+"->"+string(to), func(t *testing.T) {
				t.Parallel()
				require.Equal(t, allowed[[2]shipping.Status{from, to}], shipping.CanTransition(from, to))
			})
		}
	}
	require.False(t, shipping.CanTransition("lost", shipping.StatusDelivered))
}

// Every transition attempted from every status through the aggregate:
// allowed ones change the status and emit their event, the others are
// refused with a *TransitionError and change nothing.
func TestTransitions(t *testing.T) {
	t.Parallel()
	at := t0.Add(time.Hour)
	type op struct {
		name string
		fn   func(*shipping.Shipment) error
	}
	advance := op{"advance", func(s *shipping.Shipment) error { return s.Advance(at) }}
	cancel := op{"cancel", func(s *shipping.Shipment) error { return s.Cancel(at) }}
	cases := []struct {
		from    shipping.Status
		op      op
		want    shipping.Status
		event   string // "" when no event
		refused bool
	}{
		{shipping.StatusLabelCreated, advance, shipping.StatusInTransit, "shipped", false},
		{shipping.StatusLabelCreated, cancel, shipping.StatusCancelled, "cancelled", false},
		{shipping.StatusInTransit, advance, shipping.StatusDelivered, "delivered", false},
		{shipping.StatusInTransit, cancel, shipping.StatusInTransit, "", true},
		{shipping.StatusDelivered, advance, shipping.StatusDelivered, "", true},
		{shipping.StatusDelivered, cancel, shipping.StatusDelivered, "", true},
		{shipping.StatusCancelled, advance, shipping.StatusCancelled, "", true},
		{shipping.StatusCancelled, cancel, shipping.StatusCancelled, "", false}, // cancelling again is a no-op
	}
	for _, c := range cases {
		t.Run(string(c.from)+"/"+c.op.name, func(t *testing.T) {
			t.Parallel()
			sh := newShipment(t, c.from)
			before := sh.Snapshot()
			err := c.op.fn(&sh)
			if c.refused {
				var te *shipping.TransitionError
				require.ErrorAs(t, err, &te)
				require.ErrorIs(t, err, shipping.ErrInvalidTransition)
				require.Equal(t, c.from, te.From)
				require.Empty(t, cmp.Diff(before, sh.Snapshot()))
				require.False(t, sh.Changed())
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.want, sh.Status())
			evs := sh.Events()
			if c.event == "" {
				require.Empty(t, evs)
				require.False(t, sh.Changed())
				return
			}
			require.Len(t, evs, 1)
			var want shipping.Event
			switch c.event {
			case "shipped":
				want = shipping.ShipmentShipped{ShipmentID: shipmentID, OrderID: "order-1", Label: label, OccurredAt: at}
				require.Equal(t, at, sh.ShippedAt())
			case "delivered":
				want = shipping.ShipmentDelivered{ShipmentID: shipmentID, OrderID: "order-1", Label: label, OccurredAt: at}
				require.Equal(t, at, sh.DeliveredAt())
			case "cancelled":
				want = shipping.ShipmentCancelled{ShipmentID: shipmentID, OrderID: "order-1", Label: label, OccurredAt: at}
				require.Equal(t, at, sh.CancelledAt())
			}
			require.Equal(t, want, evs[0])
			require.Equal(t, shipmentID, evs[0].Key())
			require.Equal(t, at, sh.UpdatedAt())
			v := sh.Version()
			sh.Stored()
			require.Equal(t, v+1, sh.Version())
			require.Empty(t, sh.Events())
		})
	}
}

func TestNewShipment(t *testing.T) {
	t.Parallel()
	req, err := shipping.NewRequest(shipmentID, "order-1", "customer-1", addr, lines, t0)
	require.NoError(t, err)
	sh, err := shipping.NewShipment(req, label)
	require.NoError(t, err)
	require.Equal(t, shipping.StatusLabelCreated, sh.Status())
	require.Equal(t, int64(0), sh.Version())
	require.Equal(t, []shipping.Event{shipping.ShipmentCreated{ShipmentID: shipmentID, OrderID: "order-1", CustomerID: "customer-1",
		Label: label, Address: addr, Lines: lines, OccurredAt: t0}}, sh.Events())
	sh.Stored()
	require.Equal(t, int64(1), sh.Version())

	_, err = shipping.NewShipment(req, shipping.Label{Carrier: "x", TrackingNumber: "", LabelID: "l"})
	require.ErrorIs(t, err, shipping.ErrInvalid)
}

func TestNewRequestValidates(t *testing.T) {
	t.Parallel()
	with := func(f func(*shipping.Address)) shipping.Address { a := addr; f(&a); return a }
	cases := []struct {
		name                string
		id, order, customer string
		address             shipping.Address
		lines               []shipping.Line
	}{
		{"bad shipment ID", "not-a-uuid", "order-1", "c-1", addr, lines},
		{"bad order ID", shipmentID, "-order", "c-1", addr, lines},
		{"long order ID", shipmentID, strings.Repeat("o", 65), "c-1", addr, lines},
		{"empty customer", shipmentID, "order-1", "", addr, lines},
		{"padded customer", shipmentID, "order-1", " c-1", addr, lines},
		{"no name", shipmentID, "order-1", "c-1", with(func(a *shipping.Address) { a.Name = "" }), lines},
		{"long line1", shipmentID, "order-1", "c-1", with(func(a *shipping.Address) { a.Line1 = strings.Repeat("x", 101) }), lines},
		{"control char", shipmentID, "order-1", "c-1", with(func(a *shipping.Address) { a.City = "Ams\nterdam" }), lines},
		{"no postal code", shipmentID, "order-1", "c-1", with(func(a *shipping.Address) { a.PostalCode = "" }), lines},
		{"lowercase country", shipmentID, "order-1", "c-1", with(func(a *shipping.Address) { a.Country = "nl" }), lines},
		{"no lines", shipmentID, "order-1", "c-1", addr, nil},
		{"zero quantity", shipmentID, "order-1", "c-1", addr, []shipping.Line{{SKU: "A", Quantity: 0}}},
		{"huge quantity", shipmentID, "order-1", "c-1", addr, []shipping.Line{{SKU: "A", Quantity: shipping.MaxQuantity + 1}}},
		{"bad sku", shipmentID, "order-1", "c-1", addr, []shipping.Line{{SKU: "a b", Quantity: 1}}},
		{"duplicate sku", shipmentID, "order-1", "c-1", addr, []shipping.Line{{SKU: "A", Quantity: 1}, {SKU: "A", Quantity: 2}}},
		{"too many lines", shipmentID, "order-1", "c-1", addr, make([]shipping.Line, shipping.MaxLines+1)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := shipping.NewRequest(c.id, c.order, c.customer, c.address, c.lines, t0)
			require.ErrorIs(t, err, shipping.ErrInvalid)
		})
	}
	withLine2 := with(func(a *shipping.Address) { a.Line2, a.Region = "3rd floor", "NH" })
	_, err := shipping.NewRequest(shipmentID, "order-1", "c-1", withLine2, lines, t0)
	require.NoError(t, err)
}

func TestSchedule(t *testing.T) {
	t.Parallel()
	sh := newShipment(t, shipping.StatusLabelCreated)
	require.False(t, sh.Due(t0.Add(time.Hour)), "nothing scheduled")
	require.NoError(t, sh.Schedule(t0.Add(time.Minute)))
	require.True(t, sh.Changed())
	require.Empty(t, sh.Events(), "a schedule publishes nothing")
	require.False(t, sh.Due(t0.Add(time.Minute-1)))
	require.True(t, sh.Due(t0.Add(time.Minute)))
	require.NoError(t, sh.Advance(t0.Add(time.Minute)))
	require.True(t, sh.NextStepAt().IsZero(), "a step clears the schedule")

	done := newShipment(t, shipping.StatusDelivered)
	require.ErrorIs(t, done.Schedule(t0), shipping.ErrInvalidTransition)
	require.NoError(t, done.Schedule(time.Time{}))
	require.False(t, done.Changed())
}

func TestRestoreShipment(t *testing.T) {
	t.Parallel()
	orig := newShipment(t, shipping.StatusInTransit)
	good := orig.Snapshot()
	sh, err := shipping.RestoreShipment(good)
	require.NoError(t, err)
	require.Empty(t, cmp.Diff(good, sh.Snapshot()))

	cases := map[string]func(*shipping.Snapshot){
		"bad ID":              func(s *shipping.Snapshot) { s.ID = "x" },
		"bad order":           func(s *shipping.Snapshot) { s.OrderID = "" },
		"bad status":          func(s *shipping.Snapshot) { s.Status = "lost" },
		"unstored":            func(s *shipping.Snapshot) { s.Version = 0 },
		"final with a step":   func(s *shipping.Snapshot) { s.Status, s.NextStepAt = shipping.StatusDelivered, t0 },
		"cancelled scheduled": func(s *shipping.Snapshot) { s.Status, s.NextStepAt = shipping.StatusCancelled, t0 },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := good
			mutate(&s)
			_, err := shipping.RestoreShipment(s)
			require.ErrorIs(t, err, shipping.ErrInvalid)
		})
	}
}

func TestTransitionErrorMessage(t *testing.T) {
	t.Parallel()
	err := error(&shipping.TransitionError{From: shipping.StatusInTransit, To: shipping.StatusCancelled})
	require.Equal(t, "shipping: a in_transit shipment cannot become cancelled", err.Error())
	require.True(t, errors.Is(err, shipping.ErrInvalidTransition))
}
