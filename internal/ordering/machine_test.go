package ordering_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/ordering"
)

var (
	t0        = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	deadlines = ordering.Deadlines{ReservingStock: 30 * time.Second, AuthorizingPayment: time.Minute, Shipping: 15 * time.Minute,
		CapturingPayment: 2 * time.Minute}
	policy = ordering.Policy{Deadlines: deadlines, ReservationTTL: time.Hour}

	reserving   = ordering.State{Status: ordering.StatusPending, Step: ordering.StepReservingStock}
	authorizing = ordering.State{Status: ordering.StatusPending, Step: ordering.StepAuthorizingPayment}
	shipping    = ordering.State{Status: ordering.StatusConfirmed, Step: ordering.StepShipping}
	capturing   = ordering.State{Status: ordering.StatusShipped, Step: ordering.StepCapturingPayment}
	completed   = ordering.State{Status: ordering.StatusCompleted, Step: ordering.StepDone}
	rejected    = ordering.State{Status: ordering.StatusRejected, Step: ordering.StepDone}
	cancelled   = ordering.State{Status: ordering.StatusCancelled, Step: ordering.StepDone}
)

func eur(t testing.TB, amount int64) ordering.Money {
	t.Helper()
	m, err := ordering.NewMoney(amount, "EUR")
	require.NoError(t, err)
	return m
}

func address() ordering.Address {
	return ordering.Address{Name: "Ada Lovelace", Line1: "12 Analytical Row", City: "London", PostalCode: "EC1A 1BB", Country: "GB"}
}

func cart(t testing.TB) ordering.Cart {
	t.Helper()
	return ordering.Cart{ID: uuid.Must(uuid.NewV7()), CustomerID: "alice", Status: ordering.CartOpen, Currency: "EUR", Lines: []ordering.CartLine{
		{ProductID: uuid.Must(uuid.NewV7()), SKU: "SHIRT-1", Name: "Shirt", Quantity: 2, UnitPrice: eur(t, 1999), Available: true},
		{ProductID: uuid.Must(uuid.NewV7()), SKU: "MUG-1", Name: "Mug", Quantity: 1, UnitPrice: eur(t, 500), Available: true},
	}}
}

func checkout(t testing.TB) ordering.Checkout {
	t.Helper()
	return ordering.Checkout{OrderID: uuid.Must(uuid.NewV7()), CustomerID: "alice", Cart: cart(t), PaymentToken: "tok_visa",
		Address: address(), Email: "ada@example.com"}
}

// signal returns a complete signal of trigger.
func signal(t testing.TB, trigger ordering.Trigger) ordering.Signal {
	t.Helper()
	return ordering.Signal{Trigger: trigger, PaymentID: "pay-1", Amount: eur(t, 2*1999+500), ShipmentID: "ship-1", Carrier: "DHL",
		TrackingNumber: "TRK-1", Reason: "because"}
}

// orderIn drives a new order into state through the happy path and a
// cancellation or rejection; the clock advances a second per step.
func orderIn(t testing.TB, state ordering.State) *ordering.Order {
	t.Helper()
	o, _, err := ordering.Place(checkout(t), t0, policy)
	require.NoError(t, err)
	at := t0
	step := func(trigger ordering.Trigger) {
		at = at.Add(time.Second)
		_, err := o.Apply(signal(t, trigger), at, deadlines)
		require.NoError(t, err)
	}
	path := map[ordering.State][]ordering.Trigger{
		reserving:   nil,
		authorizing: {ordering.TriggerStockReserved},
		shipping:    {ordering.TriggerStockReserved, ordering.TriggerPaymentAuthorized},
		capturing:   {ordering.TriggerStockReserved, ordering.TriggerPaymentAuthorized, ordering.TriggerShipmentShipped},
		completed: {ordering.TriggerStockReserved, ordering.TriggerPaymentAuthorized, ordering.TriggerShipmentShipped,
			ordering.TriggerPaymentCaptured},
		rejected: {ordering.TriggerStockRejected},
		cancelled: {ordering.TriggerStockReserved, ordering.TriggerPaymentAuthorized, ordering.TriggerShipmentShipped,
			ordering.TriggerOperatorCancel},
	}[state]
	for _, tr := range path {
		step(tr)
	}
	require.Equal(t, state, o.State())
	return o
}

// outcome is what the machine must do with one (state, trigger).
type outcome struct {
	invalid bool
	ignored bool
	next    ordering.State
	event   string // the type of the one event published; "" for none
	code    ordering.EndCode
	refund  bool
}

var (
	bad = outcome{invalid: true}
	ign = outcome{ignored: true}
)

func to(next ordering.State, event string) outcome { return outcome{next: next, event: event} }

func end(next ordering.State, event string, code ordering.EndCode, refund bool) outcome {
	return outcome{next: next, event: event, code: code, refund: refund}
}

// TestStateMachine checks every (state, trigger) pair of the checkout saga
// against the design: where it leads, what it publishes, and which pairs
// are ignored or refused.
func TestStateMachine(t *testing.T) {
	t.Parallel()
	const (
		requested = "ordering.PaymentRequested"
		confirmed = "ordering.OrderConfirmed"
		shipped   = "ordering.OrderShipped"
		complete  = "ordering.OrderCompleted"
		rej       = "ordering.OrderRejected"
		can       = "ordering.OrderCancelled"
	)
	table := map[ordering.State]map[ordering.Trigger]outcome{
		reserving: {
			ordering.TriggerStockReserved:     to(authorizing, requested),
			ordering.TriggerStockRejected:     end(rejected, rej, ordering.EndOutOfStock, false),
			ordering.TriggerPaymentAuthorized: bad,
			ordering.TriggerPaymentDeclined:   bad,
			ordering.TriggerPaymentFailed:     bad,
			ordering.TriggerShipmentShipped:   bad,
			ordering.TriggerPaymentCaptured:   bad,
			ordering.TriggerPaymentRefunded:   bad,
			ordering.TriggerDeadlinePassed:    end(rejected, rej, ordering.EndDeadlineExceeded, false),
			ordering.TriggerCustomerCancel:    end(cancelled, can, ordering.EndCustomerRequest, false),
			ordering.TriggerOperatorCancel:    end(cancelled, can, ordering.EndOperatorRequest, false),
		},
		authorizing: {
			ordering.TriggerStockReserved:     ign,
			ordering.TriggerStockRejected:     bad,
			ordering.TriggerPaymentAuthorized: to(shipping, confirmed),
			ordering.TriggerPaymentDeclined:   end(cancelled, can, ordering.EndPaymentDeclined, false),
			ordering.TriggerPaymentFailed:     end(cancelled, can, ordering.EndPaymentFailed, false),
			ordering.TriggerShipmentShipped:   bad,
			ordering.TriggerPaymentCaptured:   bad,
			ordering.TriggerPaymentRefunded:   bad,
			ordering.TriggerDeadlinePassed:    end(cancelled, can, ordering.EndDeadlineExceeded, false),
			ordering.TriggerCustomerCancel:    end(cancelled, can, ordering.EndCustomerRequest, false),
			ordering.TriggerOperatorCancel:    end(cancelled, can, ordering.EndOperatorRequest, false),
		},
		shipping: {
			ordering.TriggerStockReserved:     ign,
			ordering.TriggerStockRejected:     bad,
			ordering.TriggerPaymentAuthorized: ign,
			ordering.TriggerPaymentDeclined:   bad,
			ordering.TriggerPaymentFailed:     bad,
			ordering.TriggerShipmentShipped:   to(capturing, shipped),
			ordering.TriggerPaymentCaptured:   bad,
			ordering.TriggerPaymentRefunded:   bad,
			ordering.TriggerDeadlinePassed:    end(cancelled, can, ordering.EndDeadlineExceeded, false),
			ordering.TriggerCustomerCancel:    end(cancelled, can, ordering.EndCustomerRequest, false),
			ordering.TriggerOperatorCancel:    end(cancelled, can, ordering.EndOperatorRequest, false),
		},
		capturing: {
			ordering.TriggerStockReserved:     ign,
			ordering.TriggerStockRejected:     bad,
			ordering.TriggerPaymentAuthorized: ign,
			ordering.TriggerPaymentDeclined:   bad,
			ordering.TriggerPaymentFailed:     bad,
			ordering.TriggerShipmentShipped:   ign,
			ordering.TriggerPaymentCaptured:   to(completed, complete),
			ordering.TriggerPaymentRefunded:   bad,
			ordering.TriggerDeadlinePassed:    to(capturing, shipped),
			ordering.TriggerCustomerCancel:    bad,
			ordering.TriggerOperatorCancel:    end(cancelled, can, ordering.EndOperatorRequest, true),
		},
		completed: {
			ordering.TriggerStockReserved:     ign,
			ordering.TriggerStockRejected:     bad,
			ordering.TriggerPaymentAuthorized: ign,
			ordering.TriggerPaymentDeclined:   bad,
			ordering.TriggerPaymentFailed:     bad,
			ordering.TriggerShipmentShipped:   ign,
			ordering.TriggerPaymentCaptured:   ign,
			ordering.TriggerPaymentRefunded:   ign,
			ordering.TriggerDeadlinePassed:    ign,
			ordering.TriggerCustomerCancel:    bad,
			ordering.TriggerOperatorCancel:    end(cancelled, can, ordering.EndOperatorRequest, true),
		},
		rejected: {
			ordering.TriggerStockReserved:     ign,
			ordering.TriggerStockRejected:     ign,
			ordering.TriggerPaymentAuthorized: bad,
			ordering.TriggerPaymentDeclined:   bad,
			ordering.TriggerPaymentFailed:     bad,
			ordering.TriggerShipmentShipped:   bad,
			ordering.TriggerPaymentCaptured:   bad,
			ordering.TriggerPaymentRefunded:   bad,
			ordering.TriggerDeadlinePassed:    ign,
			ordering.TriggerCustomerCancel:    bad,
			ordering.TriggerOperatorCancel:    bad,
		},
		cancelled: {
			ordering.TriggerStockReserved:     ign,
			ordering.TriggerStockRejected:     ign,
			ordering.TriggerPaymentAuthorized: ign,
			ordering.TriggerPaymentDeclined:   ign,
			ordering.TriggerPaymentFailed:     ign,
			ordering.TriggerShipmentShipped:   ign,
			ordering.TriggerPaymentCaptured:   ign,
			ordering.TriggerPaymentRefunded:   to(cancelled, ""),
			ordering.TriggerDeadlinePassed:    ign,
			ordering.TriggerCustomerCancel:    ign,
			ordering.TriggerOperatorCancel:    ign,
		},
	}
	require.Len(t, table, len(ordering.States()))
	for _, state := range ordering.States() {
		require.Len(t, table[state], len(ordering.Triggers()), "the table lists every trigger of %s", state)
		for _, trigger := range ordering.Triggers() {
			want, ok := table[state][trigger]
			require.True(t, ok, "%s %s is in the table", state, trigger)
			t.Run(state.String()+"/"+string(trigger), func(t *testing.T) {
				t.Parallel()
				o := orderIn(t, state)
				before := o.Snapshot()
				at := before.UpdatedAt.Add(time.Minute)
				evs, err := o.Apply(signal(t, trigger), at, deadlines)
				switch {
				case want.invalid:
					var te *ordering.TransitionError
					require.ErrorAs(t, err, &te)
					require.ErrorIs(t, err, ordering.ErrInvalidTransition)
					require.Equal(t, state, te.State)
					require.Equal(t, trigger, te.Trigger)
					require.Contains(t, err.Error(), string(state.Status))
					require.Empty(t, evs)
					require.Equal(t, before, o.Snapshot(), "a refused trigger changes nothing")
					return
				case want.ignored:
					require.NoError(t, err)
					require.Empty(t, evs)
					require.Equal(t, before, o.Snapshot(), "an ignored trigger changes nothing")
					return
				}
				require.NoError(t, err)
				require.Equal(t, want.next, o.State())
				require.Equal(t, before.Version+1, o.Version())
				require.Equal(t, at, o.UpdatedAt())
				if d := deadlines.For(want.next.Step); d > 0 {
					require.Equal(t, at.Add(d), o.DeadlineAt(), "the next step's deadline")
				} else {
					require.True(t, o.DeadlineAt().IsZero(), "no deadline once done")
				}
				if want.event == "" {
					require.Empty(t, evs)
				} else {
					require.Len(t, evs, 1)
					require.Equal(t, want.event, fmt.Sprintf("%T", evs[0]))
					require.Equal(t, o.ID(), evs[0].Key())
					require.Equal(t, at, evs[0].OccurredAt())
				}
				if want.code != "" {
					r, ok := o.EndReason()
					require.True(t, ok)
					require.Equal(t, want.code, r.Code)
					switch ev := evs[0].(type) {
					case ordering.OrderRejected:
						require.Equal(t, want.code, ev.Code)
						require.Equal(t, state.Step, ev.Step, "the step the saga was in")
						require.Equal(t, r.Message, ev.Reason)
					case ordering.OrderCancelled:
						require.Equal(t, want.code, ev.Code)
						require.Equal(t, state.Step, ev.Step, "the step the saga was in")
						require.Equal(t, want.refund, ev.Refund)
						require.Equal(t, o.Total(), ev.Total)
					default:
						t.Fatalf("an ending publishes %T", ev)
					}
					require.Empty(t, o.Snapshot().PaymentToken, "an ended order forgets the payment token")
				}
				// The new state restores: the machine only reaches
				// consistent states.
				_, err = ordering.Restore(o.Snapshot())
				require.NoError(t, err)
			})
		}
	}
}

func TestHappyPathEvents(t *testing.T) {
	t.Parallel()
	c := checkout(t)
	o, evs, err := ordering.Place(c, t0, policy)
	require.NoError(t, err)
	require.Len(t, evs, 1)
	placed := evs[0].(ordering.OrderPlaced)
	require.Equal(t, c.Cart.ID, placed.CartID)
	require.Equal(t, eur(t, 2*1999+500), placed.Total)
	require.Equal(t, t0.Add(time.Hour), placed.ReservationExpiresAt)
	require.Equal(t, t0.Add(30*time.Second), o.DeadlineAt())
	require.Equal(t, "ada@example.com", placed.Email)
	require.Len(t, placed.Lines, 2)

	evs, err = o.Apply(ordering.Signal{Trigger: ordering.TriggerStockReserved}, t0.Add(time.Second), deadlines)
	require.NoError(t, err)
	req := evs[0].(ordering.PaymentRequested)
	require.Equal(t, "tok_visa", req.PaymentToken)
	require.Equal(t, o.Total(), req.Amount)
	require.Empty(t, o.Snapshot().PaymentToken, "the token is forgotten once payment was asked")

	evs, err = o.Apply(ordering.Signal{Trigger: ordering.TriggerPaymentAuthorized, PaymentID: "pay-9"}, t0.Add(2*time.Second), deadlines)
	require.NoError(t, err)
	require.Equal(t, "pay-9", evs[0].(ordering.OrderConfirmed).PaymentID)
	require.Equal(t, "pay-9", o.PaymentID())

	evs, err = o.Apply(ordering.Signal{Trigger: ordering.TriggerShipmentShipped, ShipmentID: "s-1", Carrier: "UPS", TrackingNumber: "1Z"},
		t0.Add(3*time.Second), deadlines)
	require.NoError(t, err)
	require.Equal(t, ordering.OrderShipped{OrderID: o.ID(), CustomerID: "alice", ShipmentID: "s-1", Carrier: "UPS", TrackingNumber: "1Z",
		At: t0.Add(3 * time.Second)}, evs[0])

	// The capture's deadline passes: OrderShipped again, with a new deadline.
	late := t0.Add(3*time.Second + 2*time.Minute)
	require.True(t, o.Overdue(late))
	evs, err = o.Apply(ordering.Signal{Trigger: ordering.TriggerDeadlinePassed}, late, deadlines)
	require.NoError(t, err)
	require.Equal(t, ordering.OrderShipped{OrderID: o.ID(), CustomerID: "alice", ShipmentID: "s-1", Carrier: "UPS", TrackingNumber: "1Z",
		At: late}, evs[0])
	require.Equal(t, late.Add(2*time.Minute), o.DeadlineAt())
	require.False(t, o.Overdue(late))

	_, err = o.Apply(ordering.Signal{Trigger: ordering.TriggerPaymentCaptured, PaymentID: "pay-other"}, late, deadlines)
	require.ErrorIs(t, err, ordering.ErrInvalid, "another payment's capture")
	evs, err = o.Apply(ordering.Signal{Trigger: ordering.TriggerPaymentCaptured, PaymentID: "pay-9"}, late, deadlines)
	require.NoError(t, err)
	require.Equal(t, ordering.OrderCompleted{OrderID: o.ID(), CustomerID: "alice", Total: o.Total(), At: late}, evs[0])
	require.Equal(t, ordering.StatusCompleted, o.Status())
	require.True(t, o.DeadlineAt().IsZero())
	require.False(t, o.Overdue(late.Add(time.Hour)))
}

func TestRefundAfterCancellation(t *testing.T) {
	t.Parallel()
	o := orderIn(t, cancelled)
	require.False(t, o.Refunded())
	v := o.Version()
	evs, err := o.Apply(ordering.Signal{Trigger: ordering.TriggerPaymentRefunded, PaymentID: "pay-1"}, t0.Add(time.Hour), deadlines)
	require.NoError(t, err)
	require.Empty(t, evs)
	require.True(t, o.Refunded())
	require.Equal(t, ordering.StatusCancelled, o.Status())
	require.Equal(t, v+1, o.Version())
	evs, err = o.Apply(ordering.Signal{Trigger: ordering.TriggerPaymentRefunded, PaymentID: "pay-1"}, t0.Add(2*time.Hour), deadlines)
	require.NoError(t, err)
	require.Empty(t, evs)
	require.Equal(t, v+1, o.Version(), "a second refund report changes nothing")
}

func TestSignalChecks(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		state ordering.State
		sig   ordering.Signal
	}{
		{"authorized without payment", authorizing, ordering.Signal{Trigger: ordering.TriggerPaymentAuthorized}},
		{"authorized another amount", authorizing, ordering.Signal{Trigger: ordering.TriggerPaymentAuthorized, PaymentID: "p", Amount: eur(t, 1)}},
		{"shipped without shipment", shipping, ordering.Signal{Trigger: ordering.TriggerShipmentShipped}},
		{"shipped with a control character", shipping, ordering.Signal{Trigger: ordering.TriggerShipmentShipped, ShipmentID: "s\n1"}},
		{"cancel with a long reason", reserving, ordering.Signal{Trigger: ordering.TriggerCustomerCancel, Reason: string(make([]byte, 201))}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			o := orderIn(t, c.state)
			before := o.Snapshot()
			_, err := o.Apply(c.sig, t0.Add(time.Hour), deadlines)
			require.ErrorIs(t, err, ordering.ErrInvalid)
			require.Equal(t, before, o.Snapshot())
		})
	}
	// An unknown trigger is not in the machine.
	o := orderIn(t, reserving)
	_, err := o.Apply(ordering.Signal{Trigger: "Teleported"}, t0, deadlines)
	require.True(t, errors.Is(err, ordering.ErrInvalidTransition))
}

func TestEndReasonMessages(t *testing.T) {
	t.Parallel()
	o := orderIn(t, authorizing)
	evs, err := o.Apply(ordering.Signal{Trigger: ordering.TriggerPaymentDeclined, Reason: "insufficient_funds\x00"}, t0.Add(time.Hour), deadlines)
	require.NoError(t, err)
	r, _ := o.EndReason()
	require.Equal(t, "the payment was declined: insufficient_funds", r.Message)
	require.Equal(t, r.Message, evs[0].(ordering.OrderCancelled).Reason)

	o = orderIn(t, reserving)
	_, err = o.Apply(ordering.Signal{Trigger: ordering.TriggerDeadlinePassed}, t0.Add(time.Hour), deadlines)
	require.NoError(t, err)
	r, _ = o.EndReason()
	require.Equal(t, ordering.EndReason{Code: ordering.EndDeadlineExceeded, Message: "the step reserving_stock did not finish before its deadline"}, r)

	// A clock that went backwards does not move updated_at back.
	o = orderIn(t, reserving)
	_, err = o.Apply(ordering.Signal{Trigger: ordering.TriggerCustomerCancel}, t0.Add(-time.Hour), deadlines)
	require.NoError(t, err)
	require.Equal(t, t0, o.UpdatedAt())
	r, _ = o.EndReason()
	require.Equal(t, "cancelled by the customer", r.Message)
}
