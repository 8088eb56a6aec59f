package notificationtest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/notification"
	"github.com/agoracommerce/agora/internal/notification/app"
	"github.com/agoracommerce/agora/internal/platform/fault"
)

// TestMailbox runs the mailbox contract suite; newMailbox returns a fresh,
// empty mailbox for each subtest.
func TestMailbox(t *testing.T, newMailbox NewMailbox) {
	t.Helper()
	cases := []struct {
		name string
		fn   func(t *testing.T, newMailbox NewMailbox)
	}{
		{"send stores the email to read back", testSendAndRead},
		{"an email is kept once per ID", testSendOnce},
		{"bad emails are refused for good", testRefused},
		{"the mailbox lists newest first, by address", testMailboxList},
		{"concurrent sends of one ID keep one email", testConcurrentSend},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, newMailbox)
		})
	}
}

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Set(at time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.now = at }

func email(to, subject string) app.Email {
	return app.Email{ID: uuid.NewString(), To: to, Subject: subject, Text: "Hello,\n\n" + subject + ".\n", HTML: "<p>" + subject + "</p>"}
}

func testSendAndRead(t *testing.T, newMailbox NewMailbox) {
	ctx := context.Background()
	box := newMailbox(t, func() time.Time { return t0 })
	e := email("ada@example.com", "Your order is confirmed")
	require.NoError(t, box.Send(ctx, e))
	got, err := box.MailboxMessage(ctx, e.ID)
	require.NoError(t, err)
	require.Equal(t, app.MailboxMessage{ID: e.ID, To: e.To, Subject: e.Subject, Text: e.Text, HTML: e.HTML, ReceivedAt: t0}, got)
	_, err = box.MailboxMessage(ctx, uuid.NewString())
	require.ErrorIs(t, err, notification.ErrNotFound)
}

func testSendOnce(t *testing.T, newMailbox NewMailbox) {
	ctx := context.Background()
	clk := &clock{now: t0}
	box := newMailbox(t, clk.Now)
	e := email("ada@example.com", "Your order is on its way")
	require.NoError(t, box.Send(ctx, e))
	clk.Set(t0.Add(time.Minute))
	again := e
	again.Subject = "Changed"
	require.NoError(t, box.Send(ctx, again), "a repeat is accepted")
	page, err := box.MailboxMessages(ctx, "", app.PageQuery{Limit: 10})
	require.NoError(t, err)
	require.Len(t, page.Items, 1, "and kept once")
	require.Equal(t, e.Subject, page.Items[0].Subject, "the first copy stays")
	require.Equal(t, t0, page.Items[0].ReceivedAt)
}

func testRefused(t *testing.T, newMailbox NewMailbox) {
	ctx := context.Background()
	box := newMailbox(t, func() time.Time { return t0 })
	good := email("ada@example.com", "Subject")
	for name, mut := range map[string]func(e *app.Email){
		"no ID":              func(e *app.Email) { e.ID = "" },
		"an ID not a UUID":   func(e *app.Email) { e.ID = "message-1" },
		"no address":         func(e *app.Email) { e.To = "" },
		"a bad address":      func(e *app.Email) { e.To = "not an address" },
		"a display name":     func(e *app.Email) { e.To = "Ada <ada@example.com>" },
		"no subject":         func(e *app.Email) { e.Subject = "" },
		"a two-line subject": func(e *app.Email) { e.Subject = "one\r\nBcc: eve@example.com" },
		"no body":            func(e *app.Email) { e.Text, e.HTML = " ", "" },
		"a huge body":        func(e *app.Email) { e.HTML = strings.Repeat("x", 2<<20) },
	} {
		e := good
		mut(&e)
		err := box.Send(ctx, e)
		require.Error(t, err, name)
		require.True(t, fault.IsPermanent(err), "%s: %v is not permanent", name, err)
	}
	page, err := box.MailboxMessages(ctx, "", app.PageQuery{Limit: 10})
	require.NoError(t, err)
	require.Empty(t, page.Items)
}

func testMailboxList(t *testing.T, newMailbox NewMailbox) {
	ctx := context.Background()
	clk := &clock{now: t0}
	box := newMailbox(t, clk.Now)
	var ada, all []string // newest first
	for i := range 5 {
		clk.Set(t0.Add(time.Duration(i) * time.Minute))
		to := "bob@example.com"
		if i%2 == 0 {
			to = "ada@example.com"
		}
		e := email(to, fmt.Sprintf("Message %d", i))
		require.NoError(t, box.Send(ctx, e))
		all = append([]string{e.ID}, all...)
		if to == "ada@example.com" {
			ada = append([]string{e.ID}, ada...)
		}
	}
	read := func(to string, limit int) []string {
		t.Helper()
		var ids []string
		cursor := ""
		for {
			page, err := box.MailboxMessages(ctx, to, app.PageQuery{Cursor: cursor, Limit: limit})
			require.NoError(t, err)
			for _, m := range page.Items {
				ids = append(ids, m.ID)
			}
			if cursor = page.NextCursor; cursor == "" {
				return ids
			}
		}
	}
	require.Equal(t, all, read("", 2))
	require.Equal(t, all, read("", 10))
	require.Equal(t, ada, read("ada@example.com", 1))
	require.Equal(t, ada, read("ADA@Example.com", 2), "addresses match without regard to case")
	require.Empty(t, read("eve@example.com", 2))

	first, err := box.MailboxMessages(ctx, "ada@example.com", app.PageQuery{Limit: 1})
	require.NoError(t, err)
	_, err = box.MailboxMessages(ctx, "bob@example.com", app.PageQuery{Cursor: first.NextCursor, Limit: 1})
	require.ErrorIs(t, err, notification.ErrInvalidCursor, "a cursor of another filter")
	_, err = box.MailboxMessages(ctx, "", app.PageQuery{Cursor: "nope", Limit: 1})
	require.ErrorIs(t, err, notification.ErrInvalidCursor)
}

func testConcurrentSend(t *testing.T, newMailbox NewMailbox) {
	ctx := context.Background()
	box := newMailbox(t, func() time.Time { return t0 })
	e := email("ada@example.com", "Once")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if err := box.Send(ctx, e); err != nil {
				t.Errorf("send: %v", err)
			}
		})
	}
	wg.Wait()
	page, err := box.MailboxMessages(ctx, "", app.PageQuery{Limit: 10})
	require.NoError(t, err)
	require.Len(t, page.Items, 1)
}
