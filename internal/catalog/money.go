package catalog

import "fmt"

// Money is a positive amount in the minor unit of an ISO 4217 currency
// (cents for EUR, yen for JPY). The zero Money is not a valid price.
type Money struct {
	amount   int64
	currency string
}

// NewMoney returns amount minor units of currency. The amount must be
// positive and the currency three upper-case letters.
func NewMoney(amount int64, currency string) (Money, error) {
	if amount <= 0 {
		return Money{}, invalid("/amount_minor", "must be a positive number of minor units")
	}
	if !isCurrency(currency) {
		return Money{}, invalid("/currency", "must be an ISO 4217 code of three upper-case letters")
	}
	return Money{amount: amount, currency: currency}, nil
}

// Amount returns the amount in minor units.
func (m Money) Amount() int64 { return m.amount }

// Currency returns the ISO 4217 code.
func (m Money) Currency() string { return m.currency }

// IsZero reports whether m is the zero Money.
func (m Money) IsZero() bool { return m == Money{} }

// String formats m as "1999 EUR".
func (m Money) String() string { return fmt.Sprintf("%d %s", m.amount, m.currency) }

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

// Equal reports whether m and o are the same amount of the same currency.
func (m Money) Equal(o Money) bool { return m == o }
