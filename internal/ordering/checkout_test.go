package ordering_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/ordering"
)

func TestPlaceValidates(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		change func(c *ordering.Checkout)
		want   error
		field  string
	}{
		{"no order ID", func(c *ordering.Checkout) { c.OrderID = uuid.Nil }, ordering.ErrInvalid, "/id"},
		{"no customer", func(c *ordering.Checkout) { c.CustomerID = "" }, ordering.ErrInvalid, "/customer_id"},
		{"long customer", func(c *ordering.Checkout) { c.CustomerID = strings.Repeat("a", 129) }, ordering.ErrInvalid, "/customer_id"},
		{"no token", func(c *ordering.Checkout) { c.PaymentToken = "" }, ordering.ErrInvalid, "/payment_token"},
		{"long token", func(c *ordering.Checkout) { c.PaymentToken = strings.Repeat("t", 65) }, ordering.ErrInvalid, "/payment_token"},
		{"token with a space", func(c *ordering.Checkout) { c.PaymentToken = "tok visa" }, ordering.ErrInvalid, "/payment_token"},
		{"no name", func(c *ordering.Checkout) { c.Address.Name = " " }, ordering.ErrInvalid, "/shipping_address/name"},
		{"no line1", func(c *ordering.Checkout) { c.Address.Line1 = "" }, ordering.ErrInvalid, "/shipping_address/line1"},
		{"long line2", func(c *ordering.Checkout) { c.Address.Line2 = strings.Repeat("x", 201) }, ordering.ErrInvalid, "/shipping_address/line2"},
		{"no city", func(c *ordering.Checkout) { c.Address.City = "" }, ordering.ErrInvalid, "/shipping_address/city"},
		{"control in region", func(c *ordering.Checkout) { c.Address.Region = "a\tb" }, ordering.ErrInvalid, "/shipping_address/region"},
		{"no postal code", func(c *ordering.Checkout) { c.Address.PostalCode = "" }, ordering.ErrInvalid, "/shipping_address/postal_code"},
		{"bad country", func(c *ordering.Checkout) { c.Address.Country = "gb" }, ordering.ErrInvalid, "/shipping_address/country"},
		{"invalid UTF-8", func(c *ordering.Checkout) { c.Address.City = "\xff" }, ordering.ErrInvalid, "/shipping_address/city"},
		{"no email", func(c *ordering.Checkout) { c.Email = "" }, ordering.ErrEmailRequired, ""},
		{"bad email", func(c *ordering.Checkout) { c.Email = "Ada <ada@example.com>" }, ordering.ErrInvalid, "/email"},
		{"email without domain dot", func(c *ordering.Checkout) { c.Email = "ada@localhost" }, ordering.ErrInvalid, "/email"},
		{"someone else's cart", func(c *ordering.Checkout) { c.Cart.CustomerID = "bob" }, ordering.ErrCartForbidden, ""},
		{"checked-out cart", func(c *ordering.Checkout) { c.Cart.Status = "checked_out" }, ordering.ErrCartNotOpen, ""},
		{"empty cart", func(c *ordering.Checkout) { c.Cart.Lines = nil }, ordering.ErrCartEmpty, ""},
		{"unavailable line", func(c *ordering.Checkout) { c.Cart.Lines[1].Available = false }, ordering.ErrLinesUnavailable, ""},
		{"no cart ID", func(c *ordering.Checkout) { c.Cart.ID = uuid.Nil }, ordering.ErrInvalid, "/cart_id"},
		{"line in another currency", func(c *ordering.Checkout) {
			c.Cart.Lines[0].UnitPrice, _ = ordering.NewMoney(1, "USD")
		}, ordering.ErrCurrencyMismatch, ""},
		{"zero quantity", func(c *ordering.Checkout) { c.Cart.Lines[0].Quantity = 0 }, ordering.ErrInvalid, "/lines/0/quantity"},
		{"no SKU", func(c *ordering.Checkout) { c.Cart.Lines[1].SKU = "" }, ordering.ErrInvalid, "/lines/1/sku"},
		{"no product", func(c *ordering.Checkout) { c.Cart.Lines[1].ProductID = uuid.Nil }, ordering.ErrInvalid, "/lines/1/product_id"},
		{"product twice", func(c *ordering.Checkout) { c.Cart.Lines[1].ProductID = c.Cart.Lines[0].ProductID }, ordering.ErrInvalid, "/lines/1/product_id"},
		{"free order", func(c *ordering.Checkout) {
			for i := range c.Cart.Lines {
				c.Cart.Lines[i].UnitPrice = eur(t, 0)
			}
		}, ordering.ErrInvalid, "/total"},
		{"overflowing line", func(c *ordering.Checkout) { c.Cart.Lines[0].UnitPrice = eur(t, math.MaxInt64/2+1) }, ordering.ErrOverflow, ""},
		{"overflowing total", func(c *ordering.Checkout) {
			c.Cart.Lines[0].Quantity, c.Cart.Lines[0].UnitPrice = 1, eur(t, math.MaxInt64)
		}, ordering.ErrOverflow, ""},
		{"too many lines", func(c *ordering.Checkout) {
			for range ordering.MaxLines {
				c.Cart.Lines = append(c.Cart.Lines, ordering.CartLine{ProductID: uuid.Must(uuid.NewV7()), SKU: "X", Quantity: 1,
					UnitPrice: eur(t, 1), Available: true})
			}
		}, ordering.ErrInvalid, "/lines"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			co := checkout(t)
			c.change(&co)
			o, evs, err := ordering.Place(co, t0, policy)
			require.ErrorIs(t, err, c.want)
			require.Nil(t, o)
			require.Nil(t, evs)
			if c.field != "" {
				var ve *ordering.ValidationError
				require.ErrorAs(t, err, &ve)
				require.Equal(t, c.field, ve.Field)
			}
		})
	}
}

func TestUnavailableLinesNamed(t *testing.T) {
	t.Parallel()
	co := checkout(t)
	co.Cart.Lines[0].Available, co.Cart.Lines[1].Available = false, false
	_, _, err := ordering.Place(co, t0, policy)
	var ue *ordering.UnavailableError
	require.ErrorAs(t, err, &ue)
	require.Equal(t, []string{"SHIRT-1", "MUG-1"}, ue.SKUs)
	require.Contains(t, err.Error(), "SHIRT-1, MUG-1")
}

func TestPlace(t *testing.T) {
	t.Parallel()
	co := checkout(t)
	o, evs, err := ordering.Place(co, t0.Add(123*time.Nanosecond), policy)
	require.NoError(t, err)
	require.Len(t, evs, 1)
	require.Equal(t, co.OrderID, o.ID())
	require.Equal(t, "alice", o.CustomerID())
	require.Equal(t, co.Cart.ID, o.CartID())
	require.Equal(t, reserving, o.State())
	require.Equal(t, ordering.StatusPending, o.Status())
	require.Equal(t, ordering.StepReservingStock, o.Step())
	require.Equal(t, eur(t, 4498), o.Total())
	require.Equal(t, int64(1), o.Version())
	require.Equal(t, t0, o.CreatedAt(), "times are kept to the microsecond")
	require.Equal(t, t0, o.UpdatedAt())
	require.Equal(t, t0.Add(time.Hour), o.ReservationExpiresAt())
	require.Equal(t, address(), o.Address())
	require.Equal(t, "ada@example.com", o.Email())
	_, ended := o.EndReason()
	require.False(t, ended)
	require.False(t, o.Refunded())
	lines := o.Lines()
	require.Len(t, lines, 2)
	require.Equal(t, ordering.Line{ProductID: co.Cart.Lines[0].ProductID, SKU: "SHIRT-1", Name: "Shirt", Quantity: 2, UnitPrice: eur(t, 1999)}, lines[0])
	lt, err := lines[0].Total()
	require.NoError(t, err)
	require.Equal(t, eur(t, 3998), lt)
	lines[0].Quantity = 99
	require.Equal(t, int64(2), o.Lines()[0].Quantity, "Lines returns a copy")

	restored, err := ordering.Restore(o.Snapshot())
	require.NoError(t, err)
	require.Equal(t, o.Snapshot(), restored.Snapshot())
}

func TestPolicy(t *testing.T) {
	t.Parallel()
	require.NoError(t, policy.Validate())
	bad := policy
	bad.Deadlines.Shipping = 0
	require.Error(t, bad.Validate())
	bad = policy
	bad.ReservationTTL = deadlines.ReservingStock + deadlines.AuthorizingPayment + deadlines.Shipping
	require.ErrorContains(t, bad.Validate(), "reservation TTL")
	_, _, err := ordering.Place(checkout(t), t0, bad)
	require.Error(t, err)
	require.Equal(t, time.Duration(0), deadlines.For(ordering.StepDone))
	require.Equal(t, 2*time.Minute, deadlines.For(ordering.StepCapturingPayment))
	o := orderIn(t, reserving)
	_, err = o.Apply(ordering.Signal{Trigger: ordering.TriggerStockReserved}, t0, ordering.Deadlines{})
	require.Error(t, err, "a transition needs valid deadlines")
}

func TestRestoreValidates(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		state  ordering.State
		change func(s *ordering.Snapshot)
	}{
		{"no ID", reserving, func(s *ordering.Snapshot) { s.ID = uuid.Nil }},
		{"no version", reserving, func(s *ordering.Snapshot) { s.Version = 0 }},
		{"no customer", reserving, func(s *ordering.Snapshot) { s.CustomerID = "" }},
		{"unknown state", reserving, func(s *ordering.Snapshot) { s.Status = ordering.StatusShipped }},
		{"no lines", reserving, func(s *ordering.Snapshot) { s.Lines = nil }},
		{"bad address", reserving, func(s *ordering.Snapshot) { s.Address.Country = "" }},
		{"bad email", reserving, func(s *ordering.Snapshot) { s.Email = "nope" }},
		{"reserving without a token", reserving, func(s *ordering.Snapshot) { s.PaymentToken = "" }},
		{"a token after reserving", authorizing, func(s *ordering.Snapshot) { s.PaymentToken = "tok" }},
		{"a step without deadline", shipping, func(s *ordering.Snapshot) { s.DeadlineAt = time.Time{} }},
		{"done with a deadline", completed, func(s *ordering.Snapshot) { s.DeadlineAt = t0 }},
		{"cancelled without reason", cancelled, func(s *ordering.Snapshot) { s.EndReason = ordering.EndReason{} }},
		{"completed with a reason", completed, func(s *ordering.Snapshot) { s.EndReason = ordering.EndReason{Code: ordering.EndOutOfStock} }},
		{"refunded but not cancelled", completed, func(s *ordering.Snapshot) { s.Refunded = true }},
		{"bad payment ID", shipping, func(s *ordering.Snapshot) { s.PaymentID = "a b" }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := orderIn(t, c.state).Snapshot()
			c.change(&s)
			_, err := ordering.Restore(s)
			require.ErrorIs(t, err, ordering.ErrInvalid)
		})
	}
	for _, state := range ordering.States() {
		o := orderIn(t, state)
		r, err := ordering.Restore(o.Snapshot())
		require.NoError(t, err, state.String())
		require.Equal(t, o.Snapshot(), r.Snapshot())
	}
}

func TestStatusesAndTriggers(t *testing.T) {
	t.Parallel()
	require.Len(t, ordering.Statuses(), 6)
	require.Len(t, ordering.States(), 7)
	require.Len(t, ordering.Triggers(), 11)
	require.Equal(t, "PENDING/reserving_stock", reserving.String())
	require.NoError(t, ordering.CheckEmail("a.b+c@example.co.uk"))
	require.NoError(t, ordering.CheckPaymentToken("tok_visa"))
}
