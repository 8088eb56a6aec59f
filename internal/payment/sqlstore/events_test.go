package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/agoracommerce/agora/gen/proto/agora/common/v1"
	paymentv1 "github.com/agoracommerce/agora/gen/proto/agora/payment/v1"
	"github.com/agoracommerce/agora/internal/payment"
	"github.com/agoracommerce/agora/internal/payment/sqlstore"
	"github.com/agoracommerce/agora/internal/platform/kafkatest"
	"github.com/agoracommerce/agora/internal/platform/outbox/outboxtest"
	"github.com/agoracommerce/agora/internal/platform/sqldb"
	"github.com/agoracommerce/agora/internal/platform/sqldb/sqldbtest"
)

func money(t *testing.T, amount int64, currency string) payment.Money {
	t.Helper()
	m, err := payment.NewMoney(amount, currency)
	require.NoError(t, err)
	return m
}

func create(t *testing.T, st *sqlstore.Store, orderID string, amount payment.Money, at time.Time) payment.Payment {
	t.Helper()
	id, err := uuid.NewV7()
	require.NoError(t, err)
	p, err := payment.New(id.String(), orderID, "cust-1", amount, at)
	require.NoError(t, err)
	p, created, err := st.Create(context.Background(), p)
	require.NoError(t, err)
	require.True(t, created)
	return p
}

func update(t *testing.T, st *sqlstore.Store, id string, fn func(*payment.Payment) error) payment.Payment {
	t.Helper()
	p, err := st.Update(context.Background(), id, fn)
	require.NoError(t, err)
	return p
}

// The events a change writes to the outbox decode, through the codec and
// the embedded registry a consumer uses, into the PaymentEvent envelope
// with the change's fields, keyed by payment ID and typed in the metadata.
func TestEventContract(t *testing.T) {
	t.Parallel()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
	require.NoError(t, err)
	t.Cleanup(cluster.Close)
	bus := kafkatest.New(t, cluster.ListenAddrs())
	st, ob := newStore(t, sqldbtest.SQLite(t), bus.Codec)
	ctx := context.Background()
	at := time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)
	ts := timestamppb.New(at)

	p := create(t, st, "order-ev", money(t, 1000, "EUR"), at)
	update(t, st, p.ID(), func(p *payment.Payment) error { return p.Authorize("auth-1", at) })
	update(t, st, p.ID(), func(p *payment.Payment) error { return p.Capture("cap-1", at) })
	update(t, st, p.ID(), func(p *payment.Payment) error { return p.Refund("r-1", "ref-1", money(t, 400, "EUR"), "damaged", at) })
	v := create(t, st, "order-void", money(t, 500, "USD"), at)
	update(t, st, v.ID(), func(p *payment.Payment) error { return p.Authorize("auth-2", at) })
	update(t, st, v.ID(), func(p *payment.Payment) error { return p.Void("void-1", "cancelled", at) })
	d := create(t, st, "order-decl", money(t, 700, "EUR"), at)
	update(t, st, d.ID(), func(p *payment.Payment) error { return p.Decline("insufficient_funds", at) })
	f := create(t, st, "order-fail", money(t, 800, "EUR"), at)
	update(t, st, f.ID(), func(p *payment.Payment) error { return p.Fail("gateway rejected", at) })

	eur := func(a int64) *commonv1.Money { return &commonv1.Money{AmountMinor: a, Currency: "EUR"} }
	usd := func(a int64) *commonv1.Money { return &commonv1.Money{AmountMinor: a, Currency: "USD"} }
	want := []struct {
		key, typ string
		env      *paymentv1.PaymentEvent
	}{
		{p.ID(), "agora.payment.v1.PaymentAuthorized", &paymentv1.PaymentEvent{Event: &paymentv1.PaymentEvent_PaymentAuthorized{PaymentAuthorized: &paymentv1.PaymentAuthorized{
			PaymentId: p.ID(), OrderId: "order-ev", CustomerId: "cust-1", Amount: eur(1000), AuthorizationId: "auth-1", OccurredAt: ts}}}},
		{p.ID(), "agora.payment.v1.PaymentCaptured", &paymentv1.PaymentEvent{Event: &paymentv1.PaymentEvent_PaymentCaptured{PaymentCaptured: &paymentv1.PaymentCaptured{
			PaymentId: p.ID(), OrderId: "order-ev", CustomerId: "cust-1", Amount: eur(1000), CaptureId: "cap-1", OccurredAt: ts}}}},
		{p.ID(), "agora.payment.v1.PaymentRefunded", &paymentv1.PaymentEvent{Event: &paymentv1.PaymentEvent_PaymentRefunded{PaymentRefunded: &paymentv1.PaymentRefunded{
			PaymentId: p.ID(), OrderId: "order-ev", CustomerId: "cust-1", Amount: eur(400), TotalRefunded: eur(400), RefundId: "ref-1",
			Reference: "r-1", Reason: "damaged", OccurredAt: ts}}}},
		{v.ID(), "agora.payment.v1.PaymentAuthorized", &paymentv1.PaymentEvent{Event: &paymentv1.PaymentEvent_PaymentAuthorized{PaymentAuthorized: &paymentv1.PaymentAuthorized{
			PaymentId: v.ID(), OrderId: "order-void", CustomerId: "cust-1", Amount: usd(500), AuthorizationId: "auth-2", OccurredAt: ts}}}},
		{v.ID(), "agora.payment.v1.PaymentVoided", &paymentv1.PaymentEvent{Event: &paymentv1.PaymentEvent_PaymentVoided{PaymentVoided: &paymentv1.PaymentVoided{
			PaymentId: v.ID(), OrderId: "order-void", CustomerId: "cust-1", Amount: usd(500), Reason: "cancelled", OccurredAt: ts}}}},
		{d.ID(), "agora.payment.v1.PaymentDeclined", &paymentv1.PaymentEvent{Event: &paymentv1.PaymentEvent_PaymentDeclined{PaymentDeclined: &paymentv1.PaymentDeclined{
			PaymentId: d.ID(), OrderId: "order-decl", CustomerId: "cust-1", Amount: eur(700), Reason: "insufficient_funds", OccurredAt: ts}}}},
		{f.ID(), "agora.payment.v1.PaymentFailed", &paymentv1.PaymentEvent{Event: &paymentv1.PaymentEvent_PaymentFailed{PaymentFailed: &paymentv1.PaymentFailed{
			PaymentId: f.ID(), OrderId: "order-fail", CustomerId: "cust-1", Amount: eur(800), Reason: "gateway rejected", OccurredAt: ts}}}},
	}
	evs := outboxtest.Pending(t, ob)
	require.Len(t, evs, len(want))
	for i, ev := range evs {
		require.Equal(t, "payment.payments.v1", ev.Topic)
		require.Equal(t, want[i].key, ev.Key, "event %d", i)
		require.Equal(t, want[i].typ, ev.Metadata.Type, "event %d", i)
		require.Equal(t, "agora/payment", ev.Metadata.Source)
		msg, err := bus.Codec.Decode(ctx, ev.Value)
		require.NoError(t, err)
		if diff := cmp.Diff(want[i].env, msg, protocmp.Transform()); diff != "" {
			t.Errorf("event %d (-want +got):\n%s", i, diff)
		}
	}
}

// The stored ledger is double entry: every operation's two entries are
// stored with it, they match the entries derived from the operations, and
// the whole ledger sums to zero per currency.
func TestLedgerConservesMoney(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, open func(testing.TB) *sqldb.DB) {
		st, _ := newStore(t, open(t), kafkatest.Codec(t))
		ctx := context.Background()
		at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		var all []payment.Payment
		for i, cur := range []string{"EUR", "USD", "JPY"} {
			p := create(t, st, "order-c"+cur, money(t, int64(1000*(i+1)), cur), at)
			update(t, st, p.ID(), func(p *payment.Payment) error { return p.Authorize("auth-"+cur, at) })
			p = update(t, st, p.ID(), func(p *payment.Payment) error { return p.Capture("cap-"+cur, at) })
			p = update(t, st, p.ID(), func(p *payment.Payment) error { return p.Refund("r", "ref-"+cur, money(t, 250, cur), "partial", at) })
			v := create(t, st, "order-v"+cur, money(t, 300, cur), at)
			update(t, st, v.ID(), func(p *payment.Payment) error { return p.Authorize("auth-v"+cur, at) })
			v = update(t, st, v.ID(), func(p *payment.Payment) error { return p.Void("void-"+cur, "cancelled", at) })
			all = append(all, p, v)
		}
		totals, err := st.LedgerTotals(ctx)
		require.NoError(t, err)
		require.Equal(t, map[string]int64{"EUR": 0, "USD": 0, "JPY": 0}, totals)
		for _, p := range all {
			stored, err := st.Ledger(ctx, p.ID())
			require.NoError(t, err)
			if diff := cmp.Diff(p.Ledger(), stored); diff != "" {
				t.Errorf("ledger of %s (-derived +stored):\n%s", p.OrderID(), diff)
			}
		}
		// The captured payment's balances: nothing held, the merchant keeps
		// the capture minus the refund, the customer paid as much.
		b := payment.Balances(all[0].Ledger())
		require.Equal(t, int64(0), b[payment.AccountHeld]["EUR"])
		require.Equal(t, int64(750), b[payment.AccountMerchant]["EUR"])
		require.Equal(t, int64(-750), b[payment.AccountCustomer]["EUR"])
	})
}
