package notification

import (
	"regexp"
	"strconv"
	"strings"
)

// MaxAmount bounds every amount a message shows (in minor units), so that
// a line's unit price times its quantity cannot overflow.
const MaxAmount = 1_000_000_000_000

var currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)

// exponents lists the ISO 4217 currencies whose minor unit is not a
// hundredth: how many decimals an amount of them has. Every other code
// has two.
var exponents = map[string]int{
	// No minor unit.
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
	"RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	// Thousandths.
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
	// Ten-thousandths.
	"CLF": 4, "UYW": 4,
}

// Exponent returns how many decimals the minor unit of an ISO 4217
// currency has: 0 for JPY, 3 for KWD, 2 for EUR and most others.
func Exponent(currency string) int {
	if e, ok := exponents[currency]; ok {
		return e
	}
	return 2
}

// Money is an amount in the minor unit of an ISO 4217 currency. Never a
// float.
type Money struct {
	amount   int64
	currency string
}

// NewMoney returns amount minor units of currency, which must be three
// upper-case letters; the amount is bounded by ±MaxAmount.
func NewMoney(amount int64, currency string) (Money, error) {
	if !currencyPattern.MatchString(currency) {
		return Money{}, invalid("currency %q is not an ISO 4217 code", currency)
	}
	if amount < -MaxAmount || amount > MaxAmount {
		return Money{}, invalid("amount %d is out of range", amount)
	}
	return Money{amount: amount, currency: currency}, nil
}

// Amount returns the amount in minor units.
func (m Money) Amount() int64 { return m.amount }

// Currency returns the ISO 4217 code.
func (m Money) Currency() string { return m.currency }

// IsZero reports whether m is the zero Money (no currency).
func (m Money) IsZero() bool { return m.currency == "" }

// Times returns m multiplied by a quantity of 0-MaxQuantity.
func (m Money) Times(quantity int64) (Money, error) {
	if quantity < 0 || quantity > MaxQuantity {
		return Money{}, invalid("quantity %d is out of range", quantity)
	}
	return Money{amount: m.amount * quantity, currency: m.currency}, nil
}

// String formats m for people: the currency code, then the amount in major
// units with the currency's decimals and thousands separated by commas,
// e.g. "EUR 1,234.50", "JPY 1,500", "KWD 12.345", "EUR -0.05".
func (m Money) String() string {
	if m.currency == "" {
		return ""
	}
	exp := Exponent(m.currency)
	neg := m.amount < 0
	digits := strconv.FormatInt(m.amount, 10)
	if neg {
		digits = digits[1:]
	}
	if len(digits) <= exp {
		digits = strings.Repeat("0", exp-len(digits)+1) + digits
	}
	whole, frac := digits[:len(digits)-exp], digits[len(digits)-exp:]
	var b strings.Builder
	b.WriteString(m.currency)
	b.WriteByte(' ')
	if neg {
		b.WriteByte('-')
	}
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if exp > 0 {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return b.String()
}
