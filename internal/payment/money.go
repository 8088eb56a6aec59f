package payment

import "fmt"

// MaxAmount bounds every amount, far below int64 overflow when amounts of
// one payment are summed.
const MaxAmount = 100_000_000_000

// Money is a non-negative amount in the minor unit of an ISO 4217 currency
// (cents for EUR, yen for JPY). Never a float.
type Money struct {
	amount   int64
	currency string
}

// NewMoney returns amount minor units of currency. The amount must be
// between 0 and MaxAmount and the currency three upper-case letters.
func NewMoney(amount int64, currency string) (Money, error) {
	if !isCurrency(currency) {
		return Money{}, invalid("/currency", "must be an ISO 4217 code of three upper-case letters")
	}
	if amount < 0 || amount > MaxAmount {
		return Money{}, invalid("/amount_minor", fmt.Sprintf("must be 0-%d minor units", int64(MaxAmount)))
	}
	return Money{amount: amount, currency: currency}, nil
}

// Zero returns no money in currency.
func Zero(currency string) Money { return Money{currency: currency} }

// Amount returns the amount in minor units.
func (m Money) Amount() int64 { return m.amount }

// Currency returns the ISO 4217 code.
func (m Money) Currency() string { return m.currency }

// IsZero reports whether the amount is zero.
func (m Money) IsZero() bool { return m.amount == 0 }

// String formats m as "1999 EUR".
func (m Money) String() string { return fmt.Sprintf("%d %s", m.amount, m.currency) }

// Add returns m + o; both must be of the same currency.
func (m Money) Add(o Money) (Money, error) {
	if m.currency != o.currency {
		return Money{}, fmt.Errorf("%w: %s and %s", ErrCurrencyMismatch, m.currency, o.currency)
	}
	return NewMoney(m.amount+o.amount, m.currency)
}

// Sub returns m - o; both must be of the same currency and o not larger.
func (m Money) Sub(o Money) (Money, error) {
	if m.currency != o.currency {
		return Money{}, fmt.Errorf("%w: %s and %s", ErrCurrencyMismatch, m.currency, o.currency)
	}
	return NewMoney(m.amount-o.amount, m.currency)
}

func isCurrency(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}
