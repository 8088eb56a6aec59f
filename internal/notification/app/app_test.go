package app_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/notification"
	"github.com/agoracommerce/agora/internal/notification/app"
	"github.com/agoracommerce/agora/internal/notification/mailbox"
	"github.com/agoracommerce/agora/internal/notification/sqlstore"
	"github.com/agoracommerce/agora/internal/platform/fault"
	"github.com/agoracommerce/agora/internal/platform/inbox"
	"github.com/agoracommerce/agora/internal/platform/kafkatest"
	"github.com/agoracommerce/agora/internal/platform/outbox"
	"github.com/agoracommerce/agora/internal/platform/outbox/outboxtest"
	"github.com/agoracommerce/agora/internal/platform/sqldb/sqldbtest"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.now = t }

// sender passes emails to the mailbox, counting them by ID, or fails with
// fail when it is set.
type sender struct {
	box  *mailbox.Mailbox
	mu   sync.Mutex
	sent map[string]int
	fail error
	// block, when set, makes Send report on entered and wait for its
	// context to end.
	block   bool
	entered chan struct{}
}

func (s *sender) Send(ctx context.Context, e app.Email) error {
	s.mu.Lock()
	fail, block := s.fail, s.block
	s.mu.Unlock()
	if block {
		s.entered <- struct{}{}
		<-ctx.Done()
		return ctx.Err()
	}
	if fail != nil {
		return fail
	}
	if err := s.box.Send(ctx, e); err != nil {
		return err
	}
	s.mu.Lock()
	s.sent[e.ID]++
	s.mu.Unlock()
	return nil
}

func (s *sender) set(fail error, block bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail, s.block = fail, block
}

func (s *sender) counts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for k, v := range s.sent {
		out[k] = v
	}
	return out
}

type fixture struct {
	svc    *app.Service
	repo   app.Repository
	box    *mailbox.Mailbox
	sender *sender
	clock  *clock
	events func() []string
}

// newFixture returns the Service over a real SQLite store and the mailbox;
// tune adjusts the config, wrap the repository.
func newFixture(t *testing.T, tune func(*app.Config), wrap func(app.Repository) app.Repository) fixture {
	t.Helper()
	ctx := context.Background()
	db := sqldbtest.SQLite(t)
	ob, err := outbox.NewStore(ctx, db)
	require.NoError(t, err)
	in, err := inbox.NewStore(ctx, db)
	require.NoError(t, err)
	store, err := sqlstore.New(ctx, db, ob, in, kafkatest.Codec(t))
	require.NoError(t, err)
	clk := &clock{now: t0}
	box, err := mailbox.New(ctx, db, mailbox.Config{Now: clk.Now})
	require.NoError(t, err)
	snd := &sender{box: box, sent: map[string]int{}, entered: make(chan struct{}, 1)}
	var repo app.Repository = store
	if wrap != nil {
		repo = wrap(store)
	}
	cfg := app.Config{Now: clk.Now, Mailbox: box, Backoff: func(int) time.Duration { return time.Minute }, SendTimeout: time.Second}
	if tune != nil {
		tune(&cfg)
	}
	svc, err := app.New(repo, snd, cfg)
	require.NoError(t, err)
	return fixture{svc: svc, repo: repo, box: box, sender: snd, clock: clk, events: func() []string {
		var out []string
		for _, e := range outboxtest.Pending(t, ob) {
			out = append(out, e.Metadata.Type[len("agora.notification.v1."):])
		}
		return out
	}}
}

func ref() app.EventRef { return app.EventRef{Group: "notification.events", ID: uuid.NewString()} }

func eur(t *testing.T, amount int64) notification.Money {
	t.Helper()
	m, err := notification.NewMoney(amount, "EUR")
	require.NoError(t, err)
	return m
}

func recipient(t *testing.T, orderID string) notification.Recipient {
	t.Helper()
	r, err := notification.NewRecipient(orderID, "customer-1", "ada@example.com", "Ada")
	require.NoError(t, err)
	return r
}

func received(t *testing.T, orderID string) notification.Notice {
	t.Helper()
	return notification.Notice{Kind: notification.KindOrderReceived, OrderID: orderID, OccurredAt: t0, Total: eur(t, 899),
		Lines: []notification.Line{{SKU: "MUG-1", Name: "Mug", Quantity: 1, UnitPrice: eur(t, 899)}}}
}

func shipped(orderID string) notification.Notice {
	return notification.Notice{Kind: notification.KindOrderShipped, OrderID: orderID, OccurredAt: t0, Carrier: "agora-sim",
		TrackingNumber: "AG1"}
}

// place stores the recipient and the order received message of orderID.
func (f fixture) place(t *testing.T, orderID string) string {
	t.Helper()
	out, err := f.svc.OrderPlaced(context.Background(), ref(), recipient(t, orderID), received(t, orderID))
	require.NoError(t, err)
	require.Equal(t, app.Created, out)
	return notification.MessageID(orderID, notification.KindOrderReceived, "")
}

func (f fixture) message(t *testing.T, id string) notification.Message {
	t.Helper()
	m, err := f.svc.Notification(context.Background(), id)
	require.NoError(t, err)
	return m
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, nil)
	_, err := app.New(nil, f.sender, app.Config{})
	require.Error(t, err)
	_, err = app.New(f.repo, nil, app.Config{})
	require.Error(t, err)
	_, err = app.New(f.repo, f.sender, app.Config{MaxAttempts: -1})
	require.Error(t, err)
	_, err = app.New(f.repo, f.sender, app.Config{RetryInitial: time.Hour, RetryMax: time.Minute})
	require.Error(t, err)
	require.Equal(t, "duplicate", app.Duplicate.String())
}

func TestOrderPlacedAndNotify(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil, nil)

	_, err := f.svc.Notify(ctx, ref(), shipped("order-1"))
	require.ErrorIs(t, err, notification.ErrUnknownRecipient, "before its OrderPlaced")

	placed := ref()
	out, err := f.svc.OrderPlaced(ctx, placed, recipient(t, "order-1"), received(t, "order-1"))
	require.NoError(t, err)
	require.Equal(t, app.Created, out)
	out, err = f.svc.OrderPlaced(ctx, placed, recipient(t, "order-1"), received(t, "order-1"))
	require.NoError(t, err)
	require.Equal(t, app.Duplicate, out)

	f.clock.Set(t0.Add(time.Minute))
	ev := ref()
	out, err = f.svc.Notify(ctx, ev, shipped("order-1"))
	require.NoError(t, err)
	require.Equal(t, app.Created, out)
	out, err = f.svc.Notify(ctx, ev, shipped("order-1"))
	require.NoError(t, err)
	require.Equal(t, app.Duplicate, out)
	out, err = f.svc.Notify(ctx, ref(), shipped("order-1"))
	require.NoError(t, err)
	require.Equal(t, app.Existing, out, "the saga's step published again")

	m := f.message(t, notification.MessageID("order-1", notification.KindOrderShipped, ""))
	require.Equal(t, "ada@example.com", m.To())
	require.Equal(t, "Your order order-1 is on its way", m.Content().Subject)
	require.Equal(t, notification.StatusPending, m.Status())

	page, err := f.svc.Notifications(ctx, "customer-1", app.PageQuery{})
	require.NoError(t, err)
	require.Len(t, page.Items, 2)
	require.Equal(t, notification.KindOrderShipped, page.Items[0].Kind(), "newest first")

	_, err = f.svc.Notify(ctx, ref(), received(t, "order-1"))
	require.ErrorIs(t, err, notification.ErrInvalid, "order received comes with OrderPlaced")
	_, err = f.svc.OrderPlaced(ctx, ref(), recipient(t, "order-2"), shipped("order-2"))
	require.ErrorIs(t, err, notification.ErrInvalid)
	_, err = f.svc.Notify(ctx, ref(), notification.Notice{Kind: notification.KindOrderShipped, OrderID: "order-1", OccurredAt: t0})
	require.ErrorIs(t, err, notification.ErrInvalid, "no tracking")
	_, err = f.svc.OrderPlaced(ctx, ref(), recipient(t, "order-2"), received(t, "order-3"))
	require.ErrorIs(t, err, notification.ErrInvalid, "a recipient of another order")
	_, err = f.svc.Notify(ctx, app.EventRef{}, shipped("order-1"))
	require.Error(t, err)
	require.Empty(t, f.events(), "nothing is published before a message is sent")
}

func TestDispatchSends(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, func(c *app.Config) { c.BatchSize = 2 }, nil)
	var ids []string
	for _, order := range []string{"order-1", "order-2", "order-3"} { // more than one batch
		ids = append(ids, f.place(t, order))
	}
	f.clock.Set(t0.Add(time.Second))
	rep, err := f.svc.Dispatch(ctx)
	require.NoError(t, err)
	require.Equal(t, app.Report{Sent: 3}, rep)
	for _, id := range ids {
		m := f.message(t, id)
		require.Equal(t, notification.StatusSent, m.Status())
		require.Equal(t, 1, m.Attempts())
		require.Equal(t, t0.Add(time.Second), m.SentAt())
		got, err := f.box.MailboxMessage(ctx, id)
		require.NoError(t, err)
		require.Equal(t, m.Content().Subject, got.Subject)
		require.Equal(t, m.Content().Text, got.Text)
		require.Equal(t, m.Content().HTML, got.HTML)
		require.Equal(t, "ada@example.com", got.To)
	}
	require.Equal(t, []string{"MessageSent", "MessageSent", "MessageSent"}, f.events())

	rep, err = f.svc.Dispatch(ctx)
	require.NoError(t, err)
	require.Equal(t, app.Report{}, rep, "nothing left")
	require.Equal(t, map[string]int{ids[0]: 1, ids[1]: 1, ids[2]: 1}, f.sender.counts())
}

func TestDispatchRetriesThenFails(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, func(c *app.Config) { c.MaxAttempts = 3 }, nil)
	id := f.place(t, "order-1")
	f.sender.set(fault.Retryable(errors.New("provider throttled")), false)

	round := func(at time.Time, want app.Report) {
		t.Helper()
		f.clock.Set(at)
		rep, err := f.svc.Dispatch(ctx)
		require.NoError(t, err)
		require.Equal(t, want, rep)
	}
	round(t0, app.Report{Retried: 1})
	m := f.message(t, id)
	require.Equal(t, notification.StatusPending, m.Status())
	require.Equal(t, 1, m.Attempts())
	require.Equal(t, t0.Add(time.Minute), m.NextAttemptAt(), "after the backoff")
	require.Equal(t, "provider throttled", m.LastError())

	round(t0.Add(30*time.Second), app.Report{})
	round(t0.Add(time.Minute), app.Report{Retried: 1})
	round(t0.Add(2*time.Minute), app.Report{Failed: 1})
	m = f.message(t, id)
	require.Equal(t, notification.StatusFailed, m.Status())
	require.Equal(t, 3, m.Attempts())
	require.Equal(t, "gave up after 3 attempts: provider throttled", m.LastError())
	require.Equal(t, []string{"MessageFailed"}, f.events())
	round(t0.Add(time.Hour), app.Report{})
}

func TestDispatchRecoversAfterRetry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil, nil)
	id := f.place(t, "order-1")
	f.sender.set(fault.Retryable(errors.New("timeout")), false)
	_, err := f.svc.Dispatch(ctx)
	require.NoError(t, err)
	f.sender.set(nil, false)
	f.clock.Set(t0.Add(time.Minute))
	rep, err := f.svc.Dispatch(ctx)
	require.NoError(t, err)
	require.Equal(t, app.Report{Sent: 1}, rep)
	m := f.message(t, id)
	require.Equal(t, notification.StatusSent, m.Status())
	require.Equal(t, 2, m.Attempts())
	require.Empty(t, m.LastError())
}

func TestDispatchPermanentFailure(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, nil)
	id := f.place(t, "order-1")
	f.sender.set(fault.Permanent(errors.New("address refused")), false)
	rep, err := f.svc.Dispatch(context.Background())
	require.NoError(t, err)
	require.Equal(t, app.Report{Failed: 1}, rep)
	m := f.message(t, id)
	require.Equal(t, notification.StatusFailed, m.Status())
	require.Equal(t, "address refused", m.LastError())
	require.Equal(t, []string{"MessageFailed"}, f.events())
}

func TestDefaultBackoff(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, func(c *app.Config) {
		c.Backoff, c.RetryInitial, c.RetryMax, c.MaxAttempts = nil, 4*time.Second, 10*time.Second, 10
	}, nil)
	id := f.place(t, "order-1")
	f.sender.set(fault.Retryable(errors.New("timeout")), false)
	now := t0
	for _, bound := range []time.Duration{4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second} {
		f.clock.Set(now)
		_, err := f.svc.Dispatch(ctx)
		require.NoError(t, err)
		m := f.message(t, id)
		wait := m.NextAttemptAt().Sub(now)
		require.GreaterOrEqual(t, wait, bound/2, "jitter draws from the upper half")
		require.LessOrEqual(t, wait, bound)
		now = now.Add(wait)
	}
}

// failingUpdates fails the first n updates of a message, as a database
// that is down right after a send.
type failingUpdates struct {
	app.Repository
	mu sync.Mutex
	n  int
}

func (r *failingUpdates) Update(ctx context.Context, id string, fn func(*notification.Message) error) (notification.Message, error) {
	r.mu.Lock()
	fail := r.n > 0
	r.n--
	r.mu.Unlock()
	if fail {
		return notification.Message{}, fault.Retryable(errors.New("database unavailable"))
	}
	return r.Repository.Update(ctx, id, fn)
}

// The at-least-once boundary: the email was sent but marking the message
// failed (as if the process had died). The claim lapses, the message is
// sent again with the same ID, and the mailbox still shows one email.
func TestDispatchSendsAgainAfterAnUnmarkedSend(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil, func(r app.Repository) app.Repository { return &failingUpdates{Repository: r, n: 1} })
	id := f.place(t, "order-1")
	_, err := f.svc.Dispatch(ctx)
	require.ErrorContains(t, err, "database unavailable")
	m := f.message(t, id)
	require.Equal(t, notification.StatusPending, m.Status())
	require.Equal(t, t0.Add(2*time.Second), m.NextAttemptAt(), "claimed for twice the send timeout")

	f.clock.Set(t0.Add(time.Second))
	rep, err := f.svc.Dispatch(ctx)
	require.NoError(t, err)
	require.Equal(t, app.Report{}, rep, "not while the claim holds")

	f.clock.Set(t0.Add(2 * time.Second))
	rep, err = f.svc.Dispatch(ctx)
	require.NoError(t, err)
	require.Equal(t, app.Report{Sent: 1}, rep)
	require.Equal(t, map[string]int{id: 2}, f.sender.counts(), "sent twice")
	page, err := f.box.MailboxMessages(ctx, "ada@example.com", app.PageQuery{Limit: 10})
	require.NoError(t, err)
	require.Len(t, page.Items, 1, "and shown once")
	require.Equal(t, []string{"MessageSent"}, f.events(), "published once")
	m = f.message(t, id)
	require.Equal(t, 2, m.Attempts())
}

// Attempts that never finish (the process died mid-send every time) still
// end: the claim after the last allowed attempt fails the message.
func TestDispatchGivesUpUnfinishedAttempts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, func(c *app.Config) { c.MaxAttempts = 2 }, nil)
	id := f.place(t, "order-1")
	now := t0
	for range 2 {
		claimed, err := f.repo.Claim(ctx, now, now.Add(time.Second), 10)
		require.NoError(t, err)
		require.Len(t, claimed, 1)
		now = now.Add(time.Second)
	}
	f.clock.Set(now)
	rep, err := f.svc.Dispatch(ctx)
	require.NoError(t, err)
	require.Equal(t, app.Report{Failed: 1}, rep)
	m := f.message(t, id)
	require.Equal(t, notification.StatusFailed, m.Status())
	require.Equal(t, "gave up after 2 unfinished attempts", m.LastError())
	require.Empty(t, f.sender.counts(), "without sending a third time")
}

// Stopping mid-send leaves the message claimed, neither failed nor
// retried: a later round sends it once the claim lapses.
func TestDispatchStopping(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *app.Config) { c.SendTimeout = time.Minute }, nil)
	id := f.place(t, "order-1")
	f.sender.set(nil, true)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := f.svc.Dispatch(ctx); done <- err }()
	<-f.sender.entered
	cancel()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(10 * time.Second):
		t.Fatal("dispatch did not stop")
	}
	m := f.message(t, id)
	require.Equal(t, notification.StatusPending, m.Status())
	require.Equal(t, 1, m.Attempts())
	require.Empty(t, m.LastError())
	require.Empty(t, f.events())
}

// Dispatchers running at once (several processes) send each message once.
func TestConcurrentDispatchers(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *app.Config) { c.BatchSize = 3 }, nil)
	var ids []string
	for i := range 20 {
		ids = append(ids, f.place(t, "order-"+string(rune('a'+i))))
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		total app.Report
	)
	for range 4 {
		wg.Go(func() {
			rep, err := f.svc.Dispatch(context.Background())
			if err != nil {
				t.Errorf("dispatch: %v", err)
			}
			mu.Lock()
			total.Sent += rep.Sent
			mu.Unlock()
		})
	}
	wg.Wait()
	require.Equal(t, len(ids), total.Sent)
	counts := f.sender.counts()
	require.Len(t, counts, len(ids))
	for id, n := range counts {
		require.Equal(t, 1, n, "message %s sent %d times", id, n)
	}
	require.Len(t, f.events(), len(ids))
}

func TestQueries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil, nil)
	id := f.place(t, "order-1")

	_, err := f.svc.Notification(ctx, "nope")
	require.ErrorIs(t, err, notification.ErrInvalid)
	_, err = f.svc.Notification(ctx, uuid.NewString())
	require.ErrorIs(t, err, notification.ErrNotFound)
	_, err = f.svc.Notifications(ctx, "customer-1", app.PageQuery{Limit: app.MaxPageSize + 1})
	require.ErrorIs(t, err, notification.ErrInvalid)
	_, err = f.svc.Notifications(ctx, "", app.PageQuery{})
	require.ErrorIs(t, err, notification.ErrInvalid)
	_, err = f.svc.Notifications(ctx, "customer-1", app.PageQuery{Cursor: "nope"})
	require.ErrorIs(t, err, notification.ErrInvalidCursor)

	_, err = f.svc.Dispatch(ctx)
	require.NoError(t, err)
	page, err := f.svc.MailboxMessages(ctx, " ADA@example.com ", app.PageQuery{})
	require.NoError(t, err)
	require.Len(t, page.Items, 1)
	require.Equal(t, "order-1", page.Items[0].OrderID, "the order, from the message of the same ID")
	require.Equal(t, notification.KindOrderReceived, page.Items[0].Kind)
	got, err := f.svc.MailboxMessage(ctx, id)
	require.NoError(t, err)
	require.Equal(t, id, got.ID)
	require.Equal(t, "order-1", got.OrderID)

	// An email the service did not render has no order.
	stray := uuid.NewString()
	require.NoError(t, f.box.Send(ctx, app.Email{ID: stray, To: "ops@example.com", Subject: "Test", Text: "test"}))
	got, err = f.svc.MailboxMessage(ctx, stray)
	require.NoError(t, err)
	require.Empty(t, got.OrderID)
	require.Empty(t, got.Kind)
	_, err = f.svc.MailboxMessages(ctx, "not an address", app.PageQuery{})
	require.ErrorIs(t, err, notification.ErrInvalid)
	_, err = f.svc.MailboxMessage(ctx, "nope")
	require.ErrorIs(t, err, notification.ErrInvalid)
	_, err = f.svc.MailboxMessage(ctx, uuid.NewString())
	require.ErrorIs(t, err, notification.ErrNotFound)

	noMailbox, err := app.New(f.repo, f.sender, app.Config{})
	require.NoError(t, err)
	_, err = noMailbox.MailboxMessages(ctx, "", app.PageQuery{})
	require.ErrorIs(t, err, app.ErrMailboxDisabled)
	_, err = noMailbox.MailboxMessage(ctx, id)
	require.ErrorIs(t, err, app.ErrMailboxDisabled)
}
