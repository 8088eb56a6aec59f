// Package orderhistorytest is the contract suite of the order history's
// storage ports (app.Repository and app.Generations): every adapter runs
// TestRepository to prove that recording is idempotent and independent of
// the order events arrive in, that the status follows ordering's events
// only and never moves back, that lists page newest first per customer,
// that concurrent recording loses nothing, and that a new generation is
// filled apart from the active one and switched to at once. It also holds
// the entries of whole sagas, which other tests of the service share.
package orderhistorytest

import (
	"fmt"
	"time"

	"github.com/agoracommerce/agora/internal/orderhistory"
)

// T0 is the time the sagas of this package start at.
var T0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// EUR returns amount euro cents.
func EUR(amount int64) orderhistory.Money { return orderhistory.Money{Amount: amount, Currency: "EUR"} }

// Lines are the lines of every saga here: two shirts and a mug, 49.97 EUR.
func Lines() []orderhistory.Line {
	return []orderhistory.Line{
		{SKU: "SHIRT-RED-M", ProductID: "01936f0e-6b2c-7d4e-9f10-2a3b4c5d6e7f", Name: "Red shirt", Quantity: 2, UnitPrice: EUR(1999)},
		{SKU: "MUG-1", ProductID: "01936f0e-6b2c-7d4e-9f10-2a3b4c5d6e80", Name: "Mug", Quantity: 1, UnitPrice: EUR(999)},
	}
}

// Total is the total of Lines.
const Total = 4997

// Saga returns the entries of a completed checkout of orderID by
// customerID, one second apart from at, in the order the saga takes them;
// event IDs are "<orderID>/<n>".
func Saga(orderID, customerID string, at time.Time) []orderhistory.Entry {
	n := 0
	e := func(typ orderhistory.EntryType, customer string, f orderhistory.Facts) orderhistory.Entry {
		n++
		return orderhistory.Entry{EventID: fmt.Sprintf("%s/%02d", orderID, n), OrderID: orderID, Type: typ,
			OccurredAt: at.Add(time.Duration(n) * time.Second), CustomerID: customer, Facts: f}
	}
	placed := e(orderhistory.OrderPlaced, customerID, orderhistory.Facts{Amount: EUR(Total)})
	placed.Lines = Lines()
	track := orderhistory.Facts{Carrier: "agora-sim", TrackingNumber: "AG-" + orderID, ShipmentID: "ship-" + orderID}
	return []orderhistory.Entry{
		placed,
		e(orderhistory.StockReserved, "", orderhistory.Facts{Quantity: 3}),
		e(orderhistory.OrderPaymentRequested, customerID, orderhistory.Facts{Amount: EUR(Total)}),
		e(orderhistory.PaymentAuthorized, customerID, orderhistory.Facts{Amount: EUR(Total), PaymentID: "pay-" + orderID}),
		e(orderhistory.OrderConfirmed, customerID, orderhistory.Facts{Amount: EUR(Total), PaymentID: "pay-" + orderID}),
		e(orderhistory.ShipmentCreated, customerID, track),
		e(orderhistory.ShipmentShipped, "", track),
		e(orderhistory.OrderShipped, customerID, track),
		e(orderhistory.PaymentCaptured, customerID, orderhistory.Facts{Amount: EUR(Total), PaymentID: "pay-" + orderID}),
		e(orderhistory.StockCommitted, "", orderhistory.Facts{Quantity: 3}),
		e(orderhistory.OrderCompleted, customerID, orderhistory.Facts{Amount: EUR(Total)}),
		e(orderhistory.ShipmentDelivered, "", track),
	}
}

// Refund returns the entries of an operator's cancellation of a completed
// saga of Saga and the refund that follows, after the saga's entries.
func Refund(orderID, customerID string, at time.Time) []orderhistory.Entry {
	return []orderhistory.Entry{
		{EventID: orderID + "/20", OrderID: orderID, Type: orderhistory.OrderCancelled, OccurredAt: at.Add(20 * time.Second),
			CustomerID: customerID, Facts: orderhistory.Facts{Amount: EUR(Total), Code: orderhistory.EndOperatorRequest,
				Reason: "damaged in transit", Refund: true}},
		{EventID: orderID + "/21", OrderID: orderID, Type: orderhistory.PaymentRefunded, OccurredAt: at.Add(21 * time.Second),
			CustomerID: customerID, Facts: orderhistory.Facts{Amount: EUR(Total), RefundedTotal: EUR(Total), PaymentID: "pay-" + orderID,
				Reason: "damaged in transit"}},
	}
}

// Rejected returns the entries of a checkout of orderID that inventory
// could not reserve.
func Rejected(orderID, customerID string, at time.Time) []orderhistory.Entry {
	placed := orderhistory.Entry{EventID: orderID + "/01", OrderID: orderID, Type: orderhistory.OrderPlaced,
		OccurredAt: at.Add(time.Second), CustomerID: customerID, Facts: orderhistory.Facts{Amount: EUR(Total)}, Lines: Lines()}
	return []orderhistory.Entry{
		placed,
		{EventID: orderID + "/02", OrderID: orderID, Type: orderhistory.ReservationRejected, OccurredAt: at.Add(2 * time.Second),
			Facts: orderhistory.Facts{Quantity: 2, Reason: "SHIRT-RED-M: 2 requested, 1 available"}},
		{EventID: orderID + "/03", OrderID: orderID, Type: orderhistory.OrderRejected, OccurredAt: at.Add(3 * time.Second),
			CustomerID: customerID, Facts: orderhistory.Facts{Code: orderhistory.EndOutOfStock, Reason: "out of stock"}},
	}
}
