package notificationtest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/notification"
	"github.com/agoracommerce/agora/internal/notification/app"
)

// Event types as they appear in the outbox metadata.
const (
	typeSent   = "agora.notification.v1.MessageSent"
	typeFailed = "agora.notification.v1.MessageFailed"
)

// TestRepository runs the contract suite; newSubject returns a fresh
// adapter over an empty store for each subtest.
func TestRepository(t *testing.T, newSubject func(t *testing.T) Subject) {
	t.Helper()
	cases := []struct {
		name string
		fn   func(t *testing.T, s Subject)
	}{
		{"accept stores the recipient and the message with the event", testAccept},
		{"an event is accepted once and a notice stored once", testAcceptOnce},
		{"the first recipient of an order is kept", testFirstRecipient},
		{"claim takes due messages, longest due first, and holds them", testClaim},
		{"update stores transitions and their events", testUpdate},
		{"failed and empty updates write nothing", testFailedUpdates},
		{"messages lists a customer's messages newest first", testMessages},
		{"concurrent accepts of one event store it once", testConcurrentAccept},
		{"concurrent claims give each message to one sender", testConcurrentClaim},
		{"concurrent updates apply each change once", testConcurrentUpdate},
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

func ref() app.EventRef { return app.EventRef{Group: "notification.events", ID: uuid.NewString()} }

func diff(t *testing.T, want, got notification.Message) {
	t.Helper()
	if d := cmp.Diff(want.Snapshot(), got.Snapshot()); d != "" {
		t.Fatalf("message (-want +got):\n%s", d)
	}
}

// mustAccept stores the message of kind for r and returns it.
func mustAccept(t *testing.T, repo app.Repository, r notification.Recipient, kind notification.Kind, at time.Time) notification.Message {
	t.Helper()
	m := newMessage(t, r, kind, at)
	var rr *notification.Recipient
	if kind == notification.KindOrderReceived {
		rr = &r
	}
	out, err := repo.Accept(context.Background(), ref(), rr, &m)
	require.NoError(t, err)
	require.Equal(t, app.Created, out)
	return m
}

func testAccept(t *testing.T, s Subject) {
	ctx := context.Background()
	r := recipient(t, "order-1", "customer-1")
	_, err := s.Repo.Recipient(ctx, "order-1")
	require.ErrorIs(t, err, notification.ErrUnknownRecipient)

	m := newMessage(t, r, notification.KindOrderReceived, t0)
	out, err := s.Repo.Accept(ctx, ref(), &r, &m)
	require.NoError(t, err)
	require.Equal(t, app.Created, out)
	require.Equal(t, int64(1), m.Version(), "the accepted message is marked stored")
	require.False(t, m.Changed())

	got, err := s.Repo.Recipient(ctx, "order-1")
	require.NoError(t, err)
	require.Equal(t, r, got)
	read, err := s.Repo.Message(ctx, m.ID())
	require.NoError(t, err)
	diff(t, m, read)
	require.Equal(t, notification.StatusPending, read.Status())
	require.Equal(t, t0, read.NextAttemptAt())

	// A message of a known recipient, without the recipient.
	shipped := newMessage(t, r, notification.KindOrderShipped, t0.Add(time.Minute))
	out, err = s.Repo.Accept(ctx, ref(), nil, &shipped)
	require.NoError(t, err)
	require.Equal(t, app.Created, out)
	read, err = s.Repo.Message(ctx, shipped.ID())
	require.NoError(t, err)
	diff(t, shipped, read)

	_, err = s.Repo.Message(ctx, uuid.NewString())
	require.ErrorIs(t, err, notification.ErrNotFound)
	_, err = s.Repo.Accept(ctx, ref(), nil, &shipped)
	require.ErrorIs(t, err, notification.ErrInvalid, "a stored message is not accepted again")
	_, err = s.Repo.Accept(ctx, app.EventRef{Group: "g"}, nil, nil)
	require.Error(t, err, "an event needs its ID")
	require.Empty(t, types(t, s), "a new message publishes nothing until it is sent")
}

func testAcceptOnce(t *testing.T, s Subject) {
	ctx := context.Background()
	r := recipient(t, "order-1", "customer-1")
	ev := ref()
	m := newMessage(t, r, notification.KindOrderReceived, t0)
	out, err := s.Repo.Accept(ctx, ev, &r, &m)
	require.NoError(t, err)
	require.Equal(t, app.Created, out)

	// The same event again: nothing written.
	again := newMessage(t, r, notification.KindOrderReceived, t0.Add(time.Hour))
	out, err = s.Repo.Accept(ctx, ev, &r, &again)
	require.NoError(t, err)
	require.Equal(t, app.Duplicate, out)
	require.Equal(t, int64(0), again.Version())

	// Another event with the same notice: the event is recorded, the
	// message kept as it was.
	out, err = s.Repo.Accept(ctx, ref(), &r, &again)
	require.NoError(t, err)
	require.Equal(t, app.Existing, out)
	read, err := s.Repo.Message(ctx, m.ID())
	require.NoError(t, err)
	diff(t, m, read)

	// An event that produces nothing is still recorded.
	quiet := ref()
	out, err = s.Repo.Accept(ctx, quiet, nil, nil)
	require.NoError(t, err)
	require.Equal(t, app.Existing, out)
	out, err = s.Repo.Accept(ctx, quiet, nil, nil)
	require.NoError(t, err)
	require.Equal(t, app.Duplicate, out)

	// Another consumer group's inbox is its own.
	out, err = s.Repo.Accept(ctx, app.EventRef{Group: "another.group", ID: ev.ID}, nil, nil)
	require.NoError(t, err)
	require.Equal(t, app.Existing, out)
}

func testFirstRecipient(t *testing.T, s Subject) {
	ctx := context.Background()
	first := recipient(t, "order-1", "customer-1")
	m := newMessage(t, first, notification.KindOrderReceived, t0)
	_, err := s.Repo.Accept(ctx, ref(), &first, &m)
	require.NoError(t, err)
	second := recipient(t, "order-1", "customer-2")
	_, err = s.Repo.Accept(ctx, ref(), &second, nil)
	require.NoError(t, err)
	got, err := s.Repo.Recipient(ctx, "order-1")
	require.NoError(t, err)
	require.Equal(t, first, got)
}

func testClaim(t *testing.T, s Subject) {
	ctx := context.Background()
	r := recipient(t, "order-1", "customer-1")
	late := mustAccept(t, s.Repo, r, notification.KindOrderReceived, t0.Add(2*time.Minute))
	early := mustAccept(t, s.Repo, r, notification.KindOrderConfirmed, t0.Add(time.Minute))
	mustAccept(t, s.Repo, r, notification.KindOrderShipped, t0.Add(time.Hour))

	now := t0.Add(5 * time.Minute)
	until := now.Add(time.Minute)
	got, err := s.Repo.Claim(ctx, now, until, 1)
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, early.ID(), got[0].ID(), "the longest due first")
	require.Equal(t, 1, got[0].Attempts())
	require.Equal(t, until, got[0].NextAttemptAt())
	require.Equal(t, int64(2), got[0].Version())
	require.False(t, got[0].Changed())
	read, err := s.Repo.Message(ctx, early.ID())
	require.NoError(t, err)
	diff(t, got[0], read)

	got, err = s.Repo.Claim(ctx, now, until, 10)
	require.NoError(t, err)
	require.Len(t, got, 1, "a held message and one not due are not claimed")
	require.Equal(t, late.ID(), got[0].ID())

	got, err = s.Repo.Claim(ctx, now, until, 10)
	require.NoError(t, err)
	require.Empty(t, got)
	got, err = s.Repo.Claim(ctx, now, until, 0)
	require.NoError(t, err)
	require.Empty(t, got)

	// A claim that lapses makes the message due again; the attempt counts.
	got, err = s.Repo.Claim(ctx, until, until.Add(time.Minute), 10)
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, 2, got[0].Attempts())

	// A final message is never claimed.
	_, err = s.Repo.Update(ctx, early.ID(), func(m *notification.Message) error { return m.MarkSent(until) })
	require.NoError(t, err)
	got, err = s.Repo.Claim(ctx, t0.Add(24*time.Hour), t0.Add(25*time.Hour), 10)
	require.NoError(t, err)
	require.Len(t, got, 2)
	for _, m := range got {
		require.NotEqual(t, early.ID(), m.ID())
	}
	require.Equal(t, []string{typeSent}, types(t, s), "claims publish nothing")
}

func testUpdate(t *testing.T, s Subject) {
	ctx := context.Background()
	r := recipient(t, "order-1", "customer-1")
	sent := mustAccept(t, s.Repo, r, notification.KindOrderReceived, t0)
	failed := mustAccept(t, s.Repo, r, notification.KindOrderConfirmed, t0)
	retried := mustAccept(t, s.Repo, r, notification.KindOrderShipped, t0)
	at := t0.Add(time.Minute)

	got, err := s.Repo.Update(ctx, sent.ID(), func(m *notification.Message) error { return m.MarkSent(at) })
	require.NoError(t, err)
	require.Equal(t, notification.StatusSent, got.Status())
	require.Equal(t, int64(2), got.Version())
	read, err := s.Repo.Message(ctx, sent.ID())
	require.NoError(t, err)
	diff(t, got, read)
	require.Equal(t, at, read.SentAt())
	require.True(t, read.NextAttemptAt().IsZero())

	_, err = s.Repo.Update(ctx, failed.ID(), func(m *notification.Message) error { return m.Fail(at, "address refused") })
	require.NoError(t, err)
	read, err = s.Repo.Message(ctx, failed.ID())
	require.NoError(t, err)
	require.Equal(t, notification.StatusFailed, read.Status())
	require.Equal(t, "address refused", read.LastError())
	require.Equal(t, at, read.FailedAt())

	_, err = s.Repo.Update(ctx, retried.ID(), func(m *notification.Message) error { return m.Retry(at, at.Add(time.Hour), "timeout") })
	require.NoError(t, err)
	read, err = s.Repo.Message(ctx, retried.ID())
	require.NoError(t, err)
	require.Equal(t, notification.StatusPending, read.Status())
	require.Equal(t, at.Add(time.Hour), read.NextAttemptAt())
	require.Equal(t, "timeout", read.LastError())

	evs := s.Outbox(t)
	require.Len(t, evs, 2, "a retry publishes nothing")
	require.Equal(t, typeSent, evs[0].Metadata.Type)
	require.Equal(t, sent.ID(), evs[0].Key)
	require.Equal(t, typeFailed, evs[1].Metadata.Type)
	require.Equal(t, failed.ID(), evs[1].Key)
}

func testFailedUpdates(t *testing.T, s Subject) {
	ctx := context.Background()
	r := recipient(t, "order-1", "customer-1")
	m := mustAccept(t, s.Repo, r, notification.KindOrderReceived, t0)
	boom := errors.New("boom")
	_, err := s.Repo.Update(ctx, m.ID(), func(m *notification.Message) error {
		if err := m.MarkSent(t0); err != nil {
			return err
		}
		return boom
	})
	require.ErrorIs(t, err, boom)
	_, err = s.Repo.Update(ctx, uuid.NewString(), func(*notification.Message) error { return nil })
	require.ErrorIs(t, err, notification.ErrNotFound)
	got, err := s.Repo.Update(ctx, m.ID(), func(*notification.Message) error { return nil })
	require.NoError(t, err)
	require.Equal(t, int64(1), got.Version(), "an update that changes nothing stores nothing")
	read, err := s.Repo.Message(ctx, m.ID())
	require.NoError(t, err)
	diff(t, m, read)
	require.Empty(t, types(t, s))
}

func testMessages(t *testing.T, s Subject) {
	ctx := context.Background()
	ada := recipient(t, "order-1", "customer-1")
	bob := recipient(t, "order-2", "customer-2")
	var want []string // newest first
	for i, k := range []notification.Kind{notification.KindOrderReceived, notification.KindOrderConfirmed, notification.KindOrderShipped} {
		m := mustAccept(t, s.Repo, ada, k, t0.Add(time.Duration(i)*time.Minute))
		want = append([]string{m.ID()}, want...)
	}
	// Two messages of the same instant: the greater ID first.
	a := mustAccept(t, s.Repo, ada, notification.KindOrderDelivered, t0.Add(time.Hour))
	b := mustAccept(t, s.Repo, ada, notification.KindOrderCompleted, t0.Add(time.Hour))
	same := []string{a.ID(), b.ID()}
	if same[0] < same[1] {
		same[0], same[1] = same[1], same[0]
	}
	want = append(same, want...)
	mustAccept(t, s.Repo, bob, notification.KindOrderReceived, t0.Add(2*time.Hour))

	var got []string
	cursor := ""
	pages := 0
	for {
		page, err := s.Repo.Messages(ctx, "customer-1", app.PageQuery{Cursor: cursor, Limit: 2})
		require.NoError(t, err)
		pages++
		for _, m := range page.Items {
			require.Equal(t, "customer-1", m.CustomerID())
			got = append(got, m.ID())
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	require.Equal(t, want, got)
	require.Equal(t, 3, pages)

	page, err := s.Repo.Messages(ctx, "customer-1", app.PageQuery{Limit: 5})
	require.NoError(t, err)
	require.Len(t, page.Items, 5)
	require.Empty(t, page.NextCursor, "one page holds everything")
	page, err = s.Repo.Messages(ctx, "customer-404", app.PageQuery{Limit: 5})
	require.NoError(t, err)
	require.Empty(t, page.Items)

	first, err := s.Repo.Messages(ctx, "customer-1", app.PageQuery{Limit: 1})
	require.NoError(t, err)
	require.NotEmpty(t, first.NextCursor)
	_, err = s.Repo.Messages(ctx, "customer-2", app.PageQuery{Cursor: first.NextCursor, Limit: 1})
	require.ErrorIs(t, err, notification.ErrInvalidCursor, "a cursor of another customer")
	for _, bad := range []string{"not a cursor", "bTE6", "%%%"} {
		_, err = s.Repo.Messages(ctx, "customer-1", app.PageQuery{Cursor: bad, Limit: 1})
		require.ErrorIs(t, err, notification.ErrInvalidCursor, "cursor %q", bad)
	}
}

func testConcurrentAccept(t *testing.T, s Subject) {
	r := recipient(t, "order-1", "customer-1")
	ev := ref()
	const n = 8
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		outcomes = map[app.Outcome]int{}
	)
	for range n {
		wg.Go(func() {
			m := newMessage(t, r, notification.KindOrderReceived, t0)
			out, err := s.Repo.Accept(context.Background(), ev, &r, &m)
			if err != nil {
				t.Errorf("accept: %v", err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			outcomes[out]++
		})
	}
	wg.Wait()
	require.Equal(t, map[app.Outcome]int{app.Created: 1, app.Duplicate: n - 1}, outcomes)
}

func testConcurrentClaim(t *testing.T, s Subject) {
	r := recipient(t, "order-1", "customer-1")
	var all []string
	for _, k := range notification.Kinds() {
		m := mustAccept(t, s.Repo, r, k, t0)
		all = append(all, m.ID())
	}
	const claimers = 4
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		claimed = map[string]int{}
	)
	now := t0.Add(time.Minute)
	for range claimers {
		wg.Go(func() {
			for {
				got, err := s.Repo.Claim(context.Background(), now, now.Add(time.Hour), 2)
				if err != nil {
					t.Errorf("claim: %v", err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, m := range got {
					claimed[m.ID()]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.Len(t, claimed, len(all))
	for id, n := range claimed {
		require.Equal(t, 1, n, "message %s claimed %d times", id, n)
	}
}

func testConcurrentUpdate(t *testing.T, s Subject) {
	r := recipient(t, "order-1", "customer-1")
	m := mustAccept(t, s.Repo, r, notification.KindOrderReceived, t0)
	const n = 6
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		ok      int
		refused int
	)
	for i := range n {
		wg.Go(func() {
			_, err := s.Repo.Update(context.Background(), m.ID(), func(msg *notification.Message) error {
				if i%2 == 0 {
					return msg.MarkSent(t0)
				}
				return msg.Fail(t0, "refused")
			})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, notification.ErrInvalidTransition):
				refused++
			default:
				t.Errorf("update: %v", err)
			}
		})
	}
	wg.Wait()
	// The first change wins; repeats of it succeed without a change, the
	// other change is refused.
	read, err := s.Repo.Message(context.Background(), m.ID())
	require.NoError(t, err)
	require.True(t, read.Status().Final())
	require.Equal(t, int64(2), read.Version(), "one change stored")
	require.Len(t, types(t, s), 1, "one event")
	require.Equal(t, n/2, refused)
	require.Equal(t, n/2, ok)
}
