package orderhistory_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/orderhistory"
	"github.com/agoracommerce/agora/internal/orderhistory/orderhistorytest"
)

var t0 = orderhistorytest.T0

func TestMoneyString(t *testing.T) {
	t.Parallel()
	for want, m := range map[string]orderhistory.Money{
		"49.97 EUR": {Amount: 4997, Currency: "EUR"},
		"0.05 USD":  {Amount: 5, Currency: "USD"},
		"-1.50 EUR": {Amount: -150, Currency: "EUR"},
		"1200 JPY":  {Amount: 1200, Currency: "JPY"},
		"1.234 KWD": {Amount: 1234, Currency: "KWD"},
	} {
		require.Equal(t, want, m.String())
	}
}

func TestStatusAndTypes(t *testing.T) {
	t.Parallel()
	for _, s := range orderhistory.Statuses() {
		require.True(t, s.Valid())
	}
	require.False(t, orderhistory.Status("lost").Valid())
	require.Len(t, orderhistory.EntryTypes(), 21)
	for _, typ := range orderhistory.EntryTypes() {
		require.True(t, typ.Valid())
		prefix, _, _ := strings.Cut(string(typ), ".")
		want := map[string]orderhistory.Source{"order": orderhistory.SourceOrdering, "stock": orderhistory.SourceInventory,
			"payment": orderhistory.SourcePayment, "shipment": orderhistory.SourceShipping}[prefix]
		require.Equal(t, want, typ.Source(), typ)
	}
	require.False(t, orderhistory.EntryType("order.lost").Valid())
}

func TestEntryValidate(t *testing.T) {
	t.Parallel()
	placed := orderhistorytest.Saga("order-1", "alice", t0)[0]
	captured := orderhistorytest.Saga("order-1", "alice", t0)[8]
	for _, c := range []struct {
		name string
		e    orderhistory.Entry
		mut  func(*orderhistory.Entry)
		ok   bool
	}{
		{"placed", placed, func(*orderhistory.Entry) {}, true},
		{"captured", captured, func(*orderhistory.Entry) {}, true},
		{"no event ID", captured, func(e *orderhistory.Entry) { e.EventID = "" }, false},
		{"long event ID", captured, func(e *orderhistory.Entry) { e.EventID = strings.Repeat("x", 129) }, false},
		{"no order ID", captured, func(e *orderhistory.Entry) { e.OrderID = "" }, false},
		{"bad order ID", captured, func(e *orderhistory.Entry) { e.OrderID = "-order" }, false},
		{"long order ID", captured, func(e *orderhistory.Entry) { e.OrderID = strings.Repeat("o", 65) }, false},
		{"unknown type", captured, func(e *orderhistory.Entry) { e.Type = "payment.lost" }, false},
		{"no time", captured, func(e *orderhistory.Entry) { e.OccurredAt = time.Time{} }, false},
		{"bad currency", captured, func(e *orderhistory.Entry) { e.Facts.Amount.Currency = "eur" }, false},
		{"amount without currency", captured, func(e *orderhistory.Entry) { e.Facts.Amount.Currency = "" }, false},
		{"long tracking", captured, func(e *orderhistory.Entry) { e.Facts.TrackingNumber = strings.Repeat("t", 65) }, false},
		{"long reason", captured, func(e *orderhistory.Entry) { e.Facts.Reason = strings.Repeat("r", 501) }, false},
		{"lines off placed", captured, func(e *orderhistory.Entry) { e.Lines = orderhistorytest.Lines() }, false},
		{"placed without customer", placed, func(e *orderhistory.Entry) { e.CustomerID = "" }, false},
		{"placed without total", placed, func(e *orderhistory.Entry) { e.Facts.Amount = orderhistory.Money{} }, false},
		{"placed line without SKU", placed, func(e *orderhistory.Entry) {
			e.Lines = []orderhistory.Line{{Quantity: 1, UnitPrice: orderhistorytest.EUR(1)}}
		}, false},
		{"placed line without quantity", placed, func(e *orderhistory.Entry) {
			e.Lines = []orderhistory.Line{{SKU: "A", UnitPrice: orderhistorytest.EUR(1)}}
		}, false},
		{"placed line bad price", placed, func(e *orderhistory.Entry) { e.Lines = []orderhistory.Line{{SKU: "A", Quantity: 1}} }, false},
		{"placed without lines", placed, func(e *orderhistory.Entry) { e.Lines = nil }, true},
	} {
		e := c.e
		e.Lines = append([]orderhistory.Line(nil), e.Lines...)
		c.mut(&e)
		err := e.Validate()
		if c.ok {
			require.NoError(t, err, c.name)
		} else {
			require.ErrorIs(t, err, orderhistory.ErrInvalid, c.name)
		}
	}
}

func TestDescriptions(t *testing.T) {
	t.Parallel()
	entries := append(orderhistorytest.Saga("order-1", "alice", t0), orderhistorytest.Refund("order-1", "alice", t0)...)
	entries = append(entries, orderhistorytest.Rejected("order-2", "bob", t0)...)
	got := map[orderhistory.EntryType]string{}
	for _, e := range entries {
		got[e.Type] = e.Description()
	}
	require.Equal(t, map[orderhistory.EntryType]string{
		orderhistory.OrderPlaced:           "Order placed: 3 items for 49.97 EUR",
		orderhistory.StockReserved:         "Stock reserved: 3 units",
		orderhistory.OrderPaymentRequested: "Payment of 49.97 EUR requested",
		orderhistory.PaymentAuthorized:     "Payment of 49.97 EUR authorized",
		orderhistory.OrderConfirmed:        "Order confirmed: stock reserved and payment authorized",
		orderhistory.ShipmentCreated:       "Shipment created with agora-sim, tracking number AG-order-1",
		orderhistory.ShipmentShipped:       "Parcel handed to the carrier with agora-sim, tracking number AG-order-1",
		orderhistory.OrderShipped:          "Order shipped with agora-sim, tracking number AG-order-1",
		orderhistory.PaymentCaptured:       "Payment of 49.97 EUR captured",
		orderhistory.StockCommitted:        "Reserved stock committed to the shipment: 3 units",
		orderhistory.OrderCompleted:        "Order completed: shipped and paid",
		orderhistory.ShipmentDelivered:     "Parcel delivered",
		orderhistory.OrderCancelled:        "Order cancelled: damaged in transit (refund requested)",
		orderhistory.PaymentRefunded:       "49.97 EUR refunded",
		orderhistory.ReservationRejected:   "Stock could not be reserved: SHIRT-RED-M: 2 requested, 1 available",
		orderhistory.OrderRejected:         "Order rejected: out of stock",
	}, got)

	at := t0.Add(time.Hour)
	for want, e := range map[string]orderhistory.Entry{
		"Order rejected: deadline exceeded": {Type: orderhistory.OrderRejected, Facts: orderhistory.Facts{Code: orderhistory.EndDeadlineExceeded}},
		"Order cancelled":                   {Type: orderhistory.OrderCancelled},
		"Reserved stock released: payment declined": {Type: orderhistory.StockReleased,
			Facts: orderhistory.Facts{Reason: "payment declined"}},
		"Payment of 10.00 EUR declined: insufficient_funds": {Type: orderhistory.PaymentDeclined,
			Facts: orderhistory.Facts{Amount: orderhistorytest.EUR(1000), Reason: "insufficient_funds"}},
		"Payment of 10.00 EUR failed":       {Type: orderhistory.PaymentFailed, Facts: orderhistory.Facts{Amount: orderhistorytest.EUR(1000)}},
		"Authorization of 10.00 EUR voided": {Type: orderhistory.PaymentVoided, Facts: orderhistory.Facts{Amount: orderhistorytest.EUR(1000)}},
		"5.00 EUR refunded (15.00 EUR in total)": {Type: orderhistory.PaymentRefunded,
			Facts: orderhistory.Facts{Amount: orderhistorytest.EUR(500), RefundedTotal: orderhistorytest.EUR(1500)}},
		"Shipment cancelled before it left": {Type: orderhistory.ShipmentCancelled},
		"Order placed: 1 item for 1.00 EUR": {Type: orderhistory.OrderPlaced, Facts: orderhistory.Facts{Amount: orderhistorytest.EUR(100)},
			Lines: []orderhistory.Line{{SKU: "A", Quantity: 1, UnitPrice: orderhistorytest.EUR(100)}}},
	} {
		e.OccurredAt = at
		require.Equal(t, want, e.Description())
	}
	long := orderhistory.ClipText(strings.Repeat("é", 400))
	require.LessOrEqual(t, len(long), orderhistory.MaxTextLength)
	require.True(t, strings.HasSuffix(long, "..."))
}

func TestHistory(t *testing.T) {
	t.Parallel()
	saga := orderhistorytest.Saga("order-1", "alice", t0)
	h, err := orderhistory.NewHistory("order-1")
	require.NoError(t, err)
	require.False(t, h.Visible())
	// Backwards, each twice.
	for i := len(saga) - 1; i >= 0; i-- {
		added, err := h.Add(saga[i])
		require.NoError(t, err)
		require.True(t, added)
		added, err = h.Add(saga[i])
		require.NoError(t, err)
		require.False(t, added)
		require.True(t, h.Has(saga[i].EventID))
	}
	require.Empty(t, cmp.Diff(saga, h.Timeline()))
	sum := h.Summary()
	require.Equal(t, orderhistory.StatusCompleted, sum.Status)
	require.Equal(t, 12, sum.Entries)

	_, err = h.Add(orderhistorytest.Saga("order-2", "alice", t0)[0])
	require.ErrorIs(t, err, orderhistory.ErrInvalid, "another order's entry")
	_, err = orderhistory.NewHistory("bad id!")
	require.ErrorIs(t, err, orderhistory.ErrInvalid)
	_, err = orderhistory.NewHistory("order-1", orderhistory.Entry{})
	require.ErrorIs(t, err, orderhistory.ErrInvalid)

	// Entries of one instant are ordered by event ID; times are kept to
	// the microsecond.
	same := saga[1]
	same.EventID, same.OccurredAt = "order-1/00", saga[1].OccurredAt.Add(300*time.Nanosecond)
	_, err = h.Add(same)
	require.NoError(t, err)
	require.Equal(t, []string{"order-1/00", "order-1/02"}, []string{h.Timeline()[1].EventID, h.Timeline()[2].EventID})
	require.Equal(t, saga[1].OccurredAt, h.Timeline()[1].OccurredAt)

	// Before order.placed the order is invisible, and its customer is the
	// first one any entry named.
	early, err := orderhistory.NewHistory("order-3", orderhistorytest.Saga("order-3", "carol", t0)[3])
	require.NoError(t, err)
	require.False(t, early.Visible())
	require.Equal(t, "carol", early.Summary().CustomerID)
	require.Equal(t, orderhistory.Status(""), early.Summary().Status)

	// The refunded amount is the highest running total, whatever the
	// order the refunds arrive in.
	refunds, err := orderhistory.NewHistory("order-4", orderhistorytest.Saga("order-4", "dave", t0)...)
	require.NoError(t, err)
	for i, amounts := range [][2]int64{{1500, 4000}, {1000, 1000}, {1500, 2500}} {
		_, err := refunds.Add(orderhistory.Entry{EventID: "refund-" + string(rune('a'+i)), OrderID: "order-4", Type: orderhistory.PaymentRefunded,
			OccurredAt: t0.Add(time.Duration(30+i) * time.Second), Facts: orderhistory.Facts{Amount: orderhistorytest.EUR(amounts[0]),
				RefundedTotal: orderhistorytest.EUR(amounts[1])}})
		require.NoError(t, err)
	}
	require.Equal(t, orderhistorytest.EUR(4000), refunds.Summary().Refunded)
	require.Equal(t, orderhistory.StatusCompleted, refunds.Summary().Status, "refunds do not set the status")
}
