// Package notificationtest holds the contract suites of the notification
// service's ports: TestRepository, which every Repository adapter (SQLite,
// PostgreSQL, later DynamoDB) runs to prove it stores each message once per
// event and per notice, claims each due message for one sender at a time,
// applies each change once under concurrency and writes the events of the
// changes that happened; and TestMailbox, which every local mailbox runs
// to prove it keeps one email per message ID and lists what it holds.
package notificationtest

import (
	"testing"
	"time"

	"github.com/agoracommerce/agora/internal/notification"
	"github.com/agoracommerce/agora/internal/notification/app"
	"github.com/agoracommerce/agora/internal/platform/events"
)

// Subject is one fresh Repository adapter under test.
type Subject struct {
	// Repo is the adapter, over an empty store.
	Repo app.Repository
	// Outbox returns every event the adapter has written to its outbox so
	// far, oldest first.
	Outbox func(t *testing.T) []events.Event
}

// Mailbox is a local mailbox: it takes emails and reads them back.
type Mailbox interface {
	app.EmailSender
	app.MailboxReader
}

// NewMailbox returns a fresh, empty mailbox that stamps received emails
// with now.
type NewMailbox func(t *testing.T, now func() time.Time) Mailbox

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func money(t *testing.T, amount int64, currency string) notification.Money {
	t.Helper()
	m, err := notification.NewMoney(amount, currency)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// recipient returns the recipient of orderID for customerID.
func recipient(t *testing.T, orderID, customerID string) notification.Recipient {
	t.Helper()
	r, err := notification.NewRecipient(orderID, customerID, customerID+"@example.com", "Ada Lovelace")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// newMessage returns an unstored message of kind for r, created at at.
func newMessage(t *testing.T, r notification.Recipient, kind notification.Kind, at time.Time) notification.Message {
	t.Helper()
	n := notification.Notice{Kind: kind, OrderID: r.OrderID, OccurredAt: at}
	switch kind {
	case notification.KindOrderReceived:
		n.Lines = []notification.Line{{SKU: "MUG-1", Name: "Mug", Quantity: 2, UnitPrice: money(t, 899, "EUR")}}
		n.Total = money(t, 1798, "EUR")
	case notification.KindOrderShipped:
		n.Carrier, n.TrackingNumber = "agora-sim", "AG0123456789"
	case notification.KindOrderCancelled, notification.KindOrderRejected:
		n.Reason = notification.ReasonOutOfStock
	case notification.KindRefundIssued:
		n.Ref, n.Amount = "refund-1", money(t, 1798, "EUR")
	}
	m, err := notification.NewMessage(n, r, at)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
