package notification_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/notification"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func money(t *testing.T, amount int64, currency string) notification.Money {
	t.Helper()
	m, err := notification.NewMoney(amount, currency)
	require.NoError(t, err)
	return m
}

func TestMoneyFormatting(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		amount   int64
		currency string
		want     string
	}{
		{0, "EUR", "EUR 0.00"},
		{5, "EUR", "EUR 0.05"},
		{1999, "USD", "USD 19.99"},
		{123456789, "EUR", "EUR 1,234,567.89"},
		{100000, "GBP", "GBP 1,000.00"},
		{-5, "EUR", "EUR -0.05"},
		{-123456, "EUR", "EUR -1,234.56"},
		{0, "JPY", "JPY 0"},
		{1500, "JPY", "JPY 1,500"},
		{999, "KRW", "KRW 999"},
		{12345, "KWD", "KWD 12.345"},
		{5, "BHD", "BHD 0.005"},
		{12345, "CLF", "CLF 1.2345"},
		{notification.MaxAmount, "EUR", "EUR 10,000,000,000.00"},
	} {
		require.Equal(t, c.want, money(t, c.amount, c.currency).String(), "%d %s", c.amount, c.currency)
	}
	require.Equal(t, "", notification.Money{}.String())
	require.True(t, notification.Money{}.IsZero())
	require.Equal(t, 0, notification.Exponent("JPY"))
	require.Equal(t, 3, notification.Exponent("TND"))
	require.Equal(t, 2, notification.Exponent("CHF"))

	for _, bad := range []struct {
		amount   int64
		currency string
	}{{1, "eur"}, {1, "EURO"}, {1, ""}, {notification.MaxAmount + 1, "EUR"}, {-notification.MaxAmount - 1, "EUR"}} {
		_, err := notification.NewMoney(bad.amount, bad.currency)
		require.ErrorIs(t, err, notification.ErrInvalid, "%d %q", bad.amount, bad.currency)
	}
	line, err := money(t, 899, "EUR").Times(3)
	require.NoError(t, err)
	require.Equal(t, "EUR 26.97", line.String())
	_, err = money(t, 899, "EUR").Times(notification.MaxQuantity + 1)
	require.ErrorIs(t, err, notification.ErrInvalid)
}

func TestMessageID(t *testing.T) {
	t.Parallel()
	id := notification.MessageID("order-1", notification.KindOrderShipped, "")
	require.Equal(t, id, notification.MessageID("order-1", notification.KindOrderShipped, ""), "deterministic")
	u, err := uuid.Parse(id)
	require.NoError(t, err)
	require.Equal(t, uuid.Version(5), u.Version())
	seen := map[string]bool{}
	for _, order := range []string{"order-1", "order-2"} {
		for _, k := range notification.Kinds() {
			for _, ref := range []string{"", "refund-1", "refund-2"} {
				id := notification.MessageID(order, k, ref)
				require.False(t, seen[id], "%s %s %s", order, k, ref)
				seen[id] = true
			}
		}
	}
	require.NotEqual(t, notification.MessageID("a\nb", "c", ""), notification.MessageID("a", "b\nc", ""), "fields cannot run into each other")
}

func TestValidation(t *testing.T) {
	t.Parallel()
	_, err := notification.NewRecipient("order-1", "customer-1", "ada@example.com", "  Ada \n Lovelace ")
	require.NoError(t, err)
	r, _ := notification.NewRecipient("order-1", "customer-1", "ada@example.com", "  Ada \n Lovelace ")
	require.Equal(t, "Ada Lovelace", r.Name, "names are cleaned")

	for name, c := range map[string][3]string{
		"bad order":     {"-order", "customer-1", "ada@example.com"},
		"long order":    {strings.Repeat("o", 65), "customer-1", "ada@example.com"},
		"no customer":   {"order-1", "", "ada@example.com"},
		"spaced":        {"order-1", " customer-1", "ada@example.com"},
		"no email":      {"order-1", "customer-1", ""},
		"not an email":  {"order-1", "customer-1", "ada"},
		"display name":  {"order-1", "customer-1", "Ada <ada@example.com>"},
		"header inject": {"order-1", "customer-1", "ada@example.com\r\nBcc: eve@example.com"},
		"long email":    {"order-1", "customer-1", strings.Repeat("a", 250) + "@example.com"},
	} {
		_, err := notification.NewRecipient(c[0], c[1], c[2], "")
		require.ErrorIs(t, err, notification.ErrInvalid, name)
	}
	require.NoError(t, notification.ValidateMessageID(uuid.NewString()))
	require.ErrorIs(t, notification.ValidateMessageID("not-a-uuid"), notification.ErrInvalid)

	require.Equal(t, "a b c", notification.Clean("a\tb\x00\n c", 10))
	require.Equal(t, "abcd…", notification.Clean("abcdefghij", 5))
	require.Equal(t, "a\uFFFD b", notification.Clean("a\uFFFD b", 10))
	require.Equal(t, "a b", notification.Clean("a\xffb", 10), "invalid UTF-8 becomes a space")
	require.Equal(t, "", notification.Clean("anything", 1))
}

// notices returns a valid notice of every kind for order-1.
func notices(t *testing.T) map[notification.Kind]notification.Notice {
	t.Helper()
	eur := func(a int64) notification.Money { return money(t, a, "EUR") }
	return map[notification.Kind]notification.Notice{
		notification.KindOrderReceived: {Kind: notification.KindOrderReceived, OrderID: "order-1", OccurredAt: t0, Total: eur(4497),
			Lines: []notification.Line{{SKU: "MUG-1", Name: "Mug", Quantity: 3, UnitPrice: eur(899)}, {SKU: "TEE-1", Quantity: 1, UnitPrice: eur(1800)}}},
		notification.KindOrderConfirmed: {Kind: notification.KindOrderConfirmed, OrderID: "order-1", OccurredAt: t0, Total: eur(4497)},
		notification.KindOrderShipped: {Kind: notification.KindOrderShipped, OrderID: "order-1", OccurredAt: t0, Carrier: "agora-sim",
			TrackingNumber: "AG0123456789"},
		notification.KindOrderDelivered: {Kind: notification.KindOrderDelivered, OrderID: "order-1", OccurredAt: t0, Carrier: "agora-sim",
			TrackingNumber: "AG0123456789"},
		notification.KindOrderCompleted: {Kind: notification.KindOrderCompleted, OrderID: "order-1", OccurredAt: t0, Total: eur(4497)},
		notification.KindOrderRejected: {Kind: notification.KindOrderRejected, OrderID: "order-1", OccurredAt: t0,
			Reason: notification.ReasonOutOfStock},
		notification.KindOrderCancelled: {Kind: notification.KindOrderCancelled, OrderID: "order-1", OccurredAt: t0,
			Reason: notification.ReasonOperatorRequest, Refund: true, Total: eur(4497)},
		notification.KindRefundIssued: {Kind: notification.KindRefundIssued, OrderID: "order-1", OccurredAt: t0, Ref: "refund-1",
			Amount: eur(4497)},
	}
}

func TestNoticeValidation(t *testing.T) {
	t.Parallel()
	all := notices(t)
	require.Len(t, all, len(notification.Kinds()))
	for k, n := range all {
		require.NoError(t, n.Validate(), k)
	}
	for name, c := range map[string]struct {
		kind notification.Kind
		mut  func(n *notification.Notice)
	}{
		"unknown kind":        {notification.KindOrderConfirmed, func(n *notification.Notice) { n.Kind = "order_lost" }},
		"bad order":           {notification.KindOrderConfirmed, func(n *notification.Notice) { n.OrderID = "" }},
		"no time":             {notification.KindOrderConfirmed, func(n *notification.Notice) { n.OccurredAt = time.Time{} }},
		"ref on a non-refund": {notification.KindOrderConfirmed, func(n *notification.Notice) { n.Ref = "x" }},
		"refund without ref":  {notification.KindRefundIssued, func(n *notification.Notice) { n.Ref = "" }},
		"refund without money": {notification.KindRefundIssued, func(n *notification.Notice) {
			n.Amount = notification.Money{}
		}},
		"negative refund": {notification.KindRefundIssued, func(n *notification.Notice) { n.Amount = money(t, -1, "EUR") }},
		"no lines":        {notification.KindOrderReceived, func(n *notification.Notice) { n.Lines = nil }},
		"no total":        {notification.KindOrderReceived, func(n *notification.Notice) { n.Total = notification.Money{} }},
		"bad sku":         {notification.KindOrderReceived, func(n *notification.Notice) { n.Lines[0].SKU = "bad sku" }},
		"no quantity":     {notification.KindOrderReceived, func(n *notification.Notice) { n.Lines[0].Quantity = 0 }},
		"no price":        {notification.KindOrderReceived, func(n *notification.Notice) { n.Lines[0].UnitPrice = notification.Money{} }},
		"negative price":  {notification.KindOrderReceived, func(n *notification.Notice) { n.Lines[0].UnitPrice = money(t, -1, "EUR") }},
		"negative total":  {notification.KindOrderCompleted, func(n *notification.Notice) { n.Total = money(t, -1, "EUR") }},
		"dirty name":      {notification.KindOrderReceived, func(n *notification.Notice) { n.Lines[0].Name = "a\nb" }},
		"no tracking":     {notification.KindOrderShipped, func(n *notification.Notice) { n.TrackingNumber = "" }},
		"no reason":       {notification.KindOrderRejected, func(n *notification.Notice) { n.Reason = "" }},
		"dirty detail":    {notification.KindOrderCancelled, func(n *notification.Notice) { n.Detail = "a\r\nb" }},
	} {
		n := notices(t)[c.kind]
		c.mut(&n)
		require.ErrorIs(t, n.Validate(), notification.ErrInvalid, name)
	}
}

func TestRender(t *testing.T) {
	t.Parallel()
	r, err := notification.NewRecipient("order-1", "customer-1", "ada@example.com", "Ada")
	require.NoError(t, err)
	all := notices(t)
	for _, c := range []struct {
		kind    notification.Kind
		subject string
		says    []string
	}{
		{notification.KindOrderReceived, "We received your order order-1",
			[]string{"Hello Ada,", "3 x Mug (MUG-1) at EUR 8.99: EUR 26.97", "1 x TEE-1 (TEE-1) at EUR 18.00: EUR 18.00", "Total: EUR 44.97"}},
		{notification.KindOrderConfirmed, "Your order order-1 is confirmed", []string{"payment of EUR 44.97 is authorized"}},
		{notification.KindOrderShipped, "Your order order-1 is on its way", []string{"with agora-sim", "Tracking number: AG0123456789"}},
		{notification.KindOrderDelivered, "Your order order-1 was delivered", []string{"delivered by agora-sim", "AG0123456789"}},
		{notification.KindOrderCompleted, "Your order order-1 is complete", []string{"payment of EUR 44.97"}},
		{notification.KindOrderRejected, "We could not accept your order order-1",
			[]string{"order-1: some of the items are out of stock.", "Nothing has been charged."}},
		{notification.KindOrderCancelled, "Your order order-1 was cancelled",
			[]string{"cancelled: our team cancelled it.", "The payment of EUR 44.97 will be refunded"}},
		{notification.KindRefundIssued, "Refund of EUR 44.97 for your order order-1", []string{"We have refunded EUR 44.97"}},
	} {
		got, err := notification.Render(all[c.kind], r)
		require.NoError(t, err, c.kind)
		require.Equal(t, c.subject, got.Subject, c.kind)
		for _, s := range c.says {
			require.Contains(t, got.Text, s, c.kind)
		}
		require.True(t, strings.HasPrefix(got.HTML, "<!DOCTYPE html>"), c.kind)
		require.Contains(t, got.HTML, "<title>"+c.subject+"</title>", c.kind)
		require.Contains(t, got.HTML, "<p>Hello Ada,</p>", c.kind)
		require.NotContains(t, got.Text, "\n\n\n", "%s: at most one blank line", c.kind)
		require.NotContains(t, got.Text, "<no value>", c.kind)
		require.NotContains(t, got.HTML, "<no value>", c.kind)
	}
}

func TestRenderDetails(t *testing.T) {
	t.Parallel()
	anonymous, err := notification.NewRecipient("order-1", "customer-1", "ada@example.com", "")
	require.NoError(t, err)
	hostile, err := notification.NewRecipient("order-1", "customer-1", "ada@example.com", `<script>alert("x")</script>`)
	require.NoError(t, err)

	cancelled := notices(t)[notification.KindOrderCancelled]
	cancelled.Refund, cancelled.Reason, cancelled.Detail, cancelled.Total = false, notification.ReasonOther, "Warehouse <flooded>.", notification.Money{}
	got, err := notification.Render(cancelled, hostile)
	require.NoError(t, err)
	require.Contains(t, got.Text, "cancelled: Warehouse <flooded>.\n", "the producer's words, without a double period")
	require.Contains(t, got.Text, "Any amount held on your payment method is released.")
	require.NotContains(t, got.Text, "refunded")
	require.Contains(t, got.HTML, "Warehouse &lt;flooded&gt;", "the HTML body escapes what others wrote")
	require.Contains(t, got.HTML, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;")
	require.NotContains(t, got.HTML, "<script>")

	cancelled.Detail = ""
	got, err = notification.Render(cancelled, anonymous)
	require.NoError(t, err)
	require.Contains(t, got.Text, "Hello,\n")
	require.Contains(t, got.Text, "cancelled: a problem on our side.")

	confirmed := notices(t)[notification.KindOrderConfirmed]
	confirmed.Total = notification.Money{}
	got, err = notification.Render(confirmed, anonymous)
	require.NoError(t, err)
	require.Contains(t, got.Text, "your\npayment is authorized", "no amount when the event has none")

	yen := notices(t)[notification.KindOrderReceived]
	yen.Lines = []notification.Line{{SKU: "CUP-1", Name: "Cup", Quantity: 2, UnitPrice: money(t, 1500, "JPY")}}
	yen.Total = money(t, 3000, "JPY")
	got, err = notification.Render(yen, anonymous)
	require.NoError(t, err)
	require.Contains(t, got.Text, "2 x Cup (CUP-1) at JPY 1,500: JPY 3,000")
	require.Contains(t, got.Text, "Total: JPY 3,000")

	_, err = notification.Render(notification.Notice{Kind: notification.KindOrderShipped, OrderID: "order-1", OccurredAt: t0}, anonymous)
	require.ErrorIs(t, err, notification.ErrInvalid)
	_, err = notification.Render(notices(t)[notification.KindOrderShipped], notification.Recipient{OrderID: "order-1"})
	require.ErrorIs(t, err, notification.ErrInvalid)
}

func newMessage(t *testing.T) notification.Message {
	t.Helper()
	r, err := notification.NewRecipient("order-1", "customer-1", "ada@example.com", "Ada")
	require.NoError(t, err)
	m, err := notification.NewMessage(notices(t)[notification.KindOrderShipped], r, t0)
	require.NoError(t, err)
	return m
}

func TestMessageLifecycle(t *testing.T) {
	t.Parallel()
	m := newMessage(t)
	require.Equal(t, notification.MessageID("order-1", notification.KindOrderShipped, ""), m.ID())
	require.Equal(t, notification.StatusPending, m.Status())
	require.Equal(t, "ada@example.com", m.To())
	require.Equal(t, "customer-1", m.CustomerID())
	require.True(t, m.Changed())
	require.Empty(t, m.Events())
	m.Stored()
	require.Equal(t, int64(1), m.Version())

	require.False(t, m.Due(t0.Add(-time.Second)))
	require.True(t, m.Due(t0))
	require.ErrorIs(t, m.Claim(t0.Add(-time.Second), t0.Add(time.Minute)), notification.ErrNotDue)
	require.ErrorIs(t, m.Claim(t0, t0), notification.ErrInvalid, "a claim holds for some time")
	require.NoError(t, m.Claim(t0, t0.Add(time.Minute)))
	require.Equal(t, 1, m.Attempts())
	require.False(t, m.Due(t0.Add(30*time.Second)), "held by the claim")
	require.True(t, m.Due(t0.Add(time.Minute)), "until it lapses")

	require.NoError(t, m.Retry(t0.Add(time.Second), t0.Add(time.Hour), "timeout\nafter 30s"))
	require.Equal(t, "timeout after 30s", m.LastError())
	require.Equal(t, t0.Add(time.Hour), m.NextAttemptAt())
	require.Empty(t, m.Events(), "a retry publishes nothing")

	require.NoError(t, m.Claim(t0.Add(time.Hour), t0.Add(2*time.Hour)))
	require.NoError(t, m.MarkSent(t0.Add(time.Hour)))
	require.Equal(t, notification.StatusSent, m.Status())
	require.Equal(t, t0.Add(time.Hour), m.SentAt())
	require.True(t, m.NextAttemptAt().IsZero())
	require.Empty(t, m.LastError())
	require.Equal(t, []notification.Event{notification.MessageSent{MessageID: m.ID(), OrderID: "order-1", CustomerID: "customer-1",
		Kind: notification.KindOrderShipped, Attempts: 2, OccurredAt: t0.Add(time.Hour)}}, m.Events())
	m.Stored()

	require.NoError(t, m.MarkSent(t0.Add(2*time.Hour)), "marking again is harmless")
	require.False(t, m.Changed())
	var te *notification.TransitionError
	require.ErrorAs(t, m.Fail(t0, "late"), &te)
	require.Equal(t, notification.StatusSent, te.From)
	require.ErrorIs(t, m.Retry(t0, t0, "late"), notification.ErrInvalidTransition)
	require.ErrorIs(t, m.Claim(t0.Add(24*time.Hour), t0.Add(25*time.Hour)), notification.ErrInvalidTransition)

	failed := newMessage(t)
	failed.Stored()
	require.NoError(t, failed.Fail(t0, "mailbox full"))
	require.Equal(t, []notification.Event{notification.MessageFailed{MessageID: failed.ID(), OrderID: "order-1", CustomerID: "customer-1",
		Kind: notification.KindOrderShipped, Reason: "mailbox full", OccurredAt: t0}}, failed.Events())
	failed.Stored()
	require.NoError(t, failed.Fail(t0, "again"))
	require.False(t, failed.Changed())
	require.ErrorIs(t, failed.MarkSent(t0), notification.ErrInvalidTransition)

	_, err := notification.NewMessage(notices(t)[notification.KindOrderShipped], notification.Recipient{OrderID: "order-2",
		CustomerID: "c", Email: "c@example.com"}, t0)
	require.ErrorIs(t, err, notification.ErrInvalid, "a recipient of another order")
}

func TestRestoreMessage(t *testing.T) {
	t.Parallel()
	m := newMessage(t)
	m.Stored()
	good := m.Snapshot()
	restored, err := notification.RestoreMessage(good)
	require.NoError(t, err)
	require.Equal(t, good, restored.Snapshot())

	for name, mut := range map[string]func(s *notification.Snapshot){
		"bad ID":                 func(s *notification.Snapshot) { s.ID = "x" },
		"ID of another order":    func(s *notification.Snapshot) { s.OrderID = "order-2" },
		"ID of another kind":     func(s *notification.Snapshot) { s.Kind = notification.KindOrderDelivered },
		"no customer":            func(s *notification.Snapshot) { s.CustomerID = "" },
		"bad address":            func(s *notification.Snapshot) { s.To = "x" },
		"no subject":             func(s *notification.Snapshot) { s.Content.Subject = "" },
		"no body":                func(s *notification.Snapshot) { s.Content.Text = "" },
		"bad status":             func(s *notification.Snapshot) { s.Status = "lost" },
		"no version":             func(s *notification.Snapshot) { s.Version = 0 },
		"negative attempts":      func(s *notification.Snapshot) { s.Attempts = -1 },
		"pending without a time": func(s *notification.Snapshot) { s.NextAttemptAt = time.Time{} },
		"sent with a next time":  func(s *notification.Snapshot) { s.Status, s.SentAt = notification.StatusSent, t0 },
		"sent without its time": func(s *notification.Snapshot) {
			s.Status, s.NextAttemptAt = notification.StatusSent, time.Time{}
		},
		"failed without its time": func(s *notification.Snapshot) {
			s.Status, s.NextAttemptAt = notification.StatusFailed, time.Time{}
		},
	} {
		s := good
		mut(&s)
		_, err := notification.RestoreMessage(s)
		require.ErrorIs(t, err, notification.ErrInvalid, name)
	}
	require.True(t, errors.Is(&notification.TransitionError{From: notification.StatusSent, To: notification.StatusFailed},
		notification.ErrInvalidTransition))
	require.True(t, notification.StatusSent.Final())
	require.False(t, notification.StatusPending.Final())
}
