package ordering

import (
	"fmt"
	"math"
)

// Money is a non-negative amount in the minor unit of an ISO 4217
// currency. Arithmetic refuses to overflow (ErrOverflow) and to mix
// currencies (ErrCurrencyMismatch).
type Money struct {
	amount   int64
	currency string
}

// NewMoney returns amount minor units of currency. The amount must not be
// negative and the currency must be three upper-case letters.
func NewMoney(amount int64, currency string) (Money, error) {
	if amount < 0 {
		return Money{}, invalid("/amount_minor", "must not be negative")
	}
	if err := CheckCurrency(currency); err != nil {
		return Money{}, err
	}
	return Money{amount: amount, currency: currency}, nil
}

// CheckCurrency checks an ISO 4217 alphabetic code's shape.
func CheckCurrency(c string) error {
	if len(c) != 3 {
		return invalid("/currency", "must be an ISO 4217 code of three upper-case letters")
	}
	for i := range 3 {
		if c[i] < 'A' || c[i] > 'Z' {
			return invalid("/currency", "must be an ISO 4217 code of three upper-case letters")
		}
	}
	return nil
}

// Amount returns the amount in minor units.
func (m Money) Amount() int64 { return m.amount }

// Currency returns the ISO 4217 code.
func (m Money) Currency() string { return m.currency }

// IsZero reports whether m is the zero Money (no currency).
func (m Money) IsZero() bool { return m == Money{} }

// String formats m as "1999 EUR".
func (m Money) String() string { return fmt.Sprintf("%d %s", m.amount, m.currency) }

// Add returns m + o.
func (m Money) Add(o Money) (Money, error) {
	if m.currency != o.currency {
		return Money{}, fmt.Errorf("%w: %s and %s", ErrCurrencyMismatch, m.currency, o.currency)
	}
	if o.amount > math.MaxInt64-m.amount {
		return Money{}, fmt.Errorf("%w: %s + %s", ErrOverflow, m, o)
	}
	return Money{amount: m.amount + o.amount, currency: m.currency}, nil
}

// Times returns m multiplied by a non-negative quantity.
func (m Money) Times(q int64) (Money, error) {
	if q < 0 {
		return Money{}, invalid("/quantity", "must not be negative")
	}
	if q != 0 && m.amount > math.MaxInt64/q {
		return Money{}, fmt.Errorf("%w: %s x %d", ErrOverflow, m, q)
	}
	return Money{amount: m.amount * q, currency: m.currency}, nil
}
