package ordering

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// CartStatus is a cart's status as the cart service reports it; only open
// carts can be checked out.
type CartStatus string

// CartOpen is the status of a cart that takes changes.
const CartOpen CartStatus = "open"

// Cart is the ordering's view of a customer's cart at checkout, as the
// cart service answers for it.
type Cart struct {
	ID         uuid.UUID
	CustomerID string
	Status     CartStatus
	Currency   string
	Lines      []CartLine
}

// CartLine is one line of a cart: the unit price is the price the product
// was put in the cart at; Available reports whether it is still on sale.
type CartLine struct {
	ProductID uuid.UUID
	SKU       string
	Name      string
	Quantity  int64
	UnitPrice Money
	Available bool
}

// Deadlines are how long each saga step may take before the order is
// compensated (or, for the capture, asked again).
type Deadlines struct {
	ReservingStock     time.Duration
	AuthorizingPayment time.Duration
	Shipping           time.Duration
	CapturingPayment   time.Duration
}

// Validate reports a deadline that is not positive.
func (d Deadlines) Validate() error {
	for _, s := range []Step{StepReservingStock, StepAuthorizingPayment, StepShipping, StepCapturingPayment} {
		if d.For(s) <= 0 {
			return fmt.Errorf("ordering: the deadline of %s must be positive, not %s", s, d.For(s))
		}
	}
	return nil
}

// For returns the deadline of step (0 for StepDone).
func (d Deadlines) For(step Step) time.Duration {
	switch step {
	case StepReservingStock:
		return d.ReservingStock
	case StepAuthorizingPayment:
		return d.AuthorizingPayment
	case StepShipping:
		return d.Shipping
	case StepCapturingPayment:
		return d.CapturingPayment
	}
	return 0
}

// Policy is how the saga is timed.
type Policy struct {
	Deadlines Deadlines
	// ReservationTTL is how long inventory holds an order's stock. It must
	// exceed the reserving, authorizing and shipping deadlines together,
	// so that the reservation outlives every step before the stock is
	// committed at shipping.
	ReservationTTL time.Duration
}

// Validate reports a policy the saga cannot run on.
func (p Policy) Validate() error {
	if err := p.Deadlines.Validate(); err != nil {
		return err
	}
	d := p.Deadlines
	if sum := d.ReservingStock + d.AuthorizingPayment + d.Shipping; p.ReservationTTL <= sum {
		return fmt.Errorf("ordering: the reservation TTL %s must exceed the reserving, authorizing and shipping deadlines together (%s)",
			p.ReservationTTL, sum)
	}
	return nil
}

// Checkout is a customer's request to turn their cart into an order.
type Checkout struct {
	OrderID    uuid.UUID
	CustomerID string
	Cart       Cart
	// PaymentToken is the payment method as tokenized by the gateway.
	PaymentToken string
	Address      Address
	// Email is where the order's notifications go; required.
	Email string
}

// CheckPaymentToken checks a payment token: 1-64 printable ASCII
// characters.
func CheckPaymentToken(token string) error {
	return checkID("/payment_token", token, true, MaxPaymentTokenLength)
}

// Place turns a checkout into a new order at version 1: PENDING, reserving
// stock until the reserving deadline, with the OrderPlaced event that
// starts the saga. The cart must be the customer's (ErrCartForbidden), open
// (ErrCartNotOpen), not empty (ErrCartEmpty) and on sale throughout
// (ErrLinesUnavailable); the lines keep the cart's unit prices. Other
// errors: ErrEmailRequired, ErrInvalid, ErrOverflow, ErrCurrencyMismatch.
func Place(c Checkout, now time.Time, p Policy) (*Order, []Event, error) {
	if err := p.Validate(); err != nil {
		return nil, nil, err
	}
	if c.OrderID == uuid.Nil {
		return nil, nil, invalid("/id", "is required")
	}
	if err := checkID("/customer_id", c.CustomerID, true, MaxCustomerIDLength); err != nil {
		return nil, nil, err
	}
	if err := CheckPaymentToken(c.PaymentToken); err != nil {
		return nil, nil, err
	}
	if err := c.Address.Validate(); err != nil {
		return nil, nil, err
	}
	if c.Email == "" {
		return nil, nil, ErrEmailRequired
	}
	if err := CheckEmail(c.Email); err != nil {
		return nil, nil, err
	}
	lines, err := c.Cart.lines(c.CustomerID)
	if err != nil {
		return nil, nil, err
	}
	total, err := sumLines(lines)
	if err != nil {
		return nil, nil, err
	}
	now = now.UTC().Truncate(time.Microsecond)
	o := &Order{
		id: c.OrderID, customerID: c.CustomerID, cartID: c.Cart.ID, state: State{StatusPending, StepReservingStock},
		lines: lines, total: total, address: c.Address, email: c.Email, paymentToken: c.PaymentToken,
		version: 1, createdAt: now, updatedAt: now, deadline: now.Add(p.Deadlines.ReservingStock),
		reservationExpiresAt: now.Add(p.ReservationTTL),
	}
	return o, []Event{OrderPlaced{
		OrderID: o.id, CustomerID: o.customerID, CartID: o.cartID, Lines: o.Lines(), Total: total, Email: o.email,
		Address: o.address, ReservationExpiresAt: o.reservationExpiresAt, At: now,
	}}, nil
}

// lines checks that the cart can be checked out by customer and returns
// its lines as order lines.
func (c Cart) lines(customer string) ([]Line, error) {
	if c.ID == uuid.Nil {
		return nil, invalid("/cart_id", "is required")
	}
	if c.CustomerID != customer {
		return nil, fmt.Errorf("%w: cart %s", ErrCartForbidden, c.ID)
	}
	if c.Status != CartOpen {
		return nil, fmt.Errorf("%w: cart %s is %s", ErrCartNotOpen, c.ID, c.Status)
	}
	if len(c.Lines) == 0 {
		return nil, fmt.Errorf("%w: cart %s", ErrCartEmpty, c.ID)
	}
	var gone []string
	lines := make([]Line, 0, len(c.Lines))
	for i, l := range c.Lines {
		if !l.Available {
			gone = append(gone, l.SKU)
			continue
		}
		if l.UnitPrice.Currency() != c.Currency {
			return nil, fmt.Errorf("%w: line %d of cart %s is in %s, the cart in %s", ErrCurrencyMismatch, i, c.ID, l.UnitPrice.Currency(), c.Currency)
		}
		lines = append(lines, Line{ProductID: l.ProductID, SKU: l.SKU, Name: l.Name, Quantity: l.Quantity, UnitPrice: l.UnitPrice})
	}
	if len(gone) > 0 {
		return nil, &UnavailableError{SKUs: gone}
	}
	return lines, nil
}

// UnavailableError names the SKUs of a cart that are no longer on sale.
// errors.Is(err, ErrLinesUnavailable) holds for it.
type UnavailableError struct {
	SKUs []string
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("%v: %s", ErrLinesUnavailable, strings.Join(e.SKUs, ", "))
}

// Is makes errors.Is(err, ErrLinesUnavailable) true.
func (e *UnavailableError) Is(target error) bool { return errors.Is(ErrLinesUnavailable, target) }
