package ordering_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/ordering"
)

func TestMoney(t *testing.T) {
	t.Parallel()
	_, err := ordering.NewMoney(-1, "EUR")
	require.ErrorIs(t, err, ordering.ErrInvalid)
	for _, c := range []string{"", "eur", "EURO", "E1R"} {
		_, err := ordering.NewMoney(1, c)
		require.ErrorIs(t, err, ordering.ErrInvalid, c)
	}
	m, err := ordering.NewMoney(1999, "EUR")
	require.NoError(t, err)
	require.Equal(t, int64(1999), m.Amount())
	require.Equal(t, "EUR", m.Currency())
	require.Equal(t, "1999 EUR", m.String())
	require.False(t, m.IsZero())
	require.True(t, ordering.Money{}.IsZero())

	sum, err := m.Add(eur(t, 1))
	require.NoError(t, err)
	require.Equal(t, eur(t, 2000), sum)
	_, err = m.Add(ordering.Money{})
	require.ErrorIs(t, err, ordering.ErrCurrencyMismatch)
	usd, err := ordering.NewMoney(1, "USD")
	require.NoError(t, err)
	_, err = m.Add(usd)
	require.ErrorIs(t, err, ordering.ErrCurrencyMismatch)
	_, err = eur(t, math.MaxInt64).Add(eur(t, 1))
	require.ErrorIs(t, err, ordering.ErrOverflow)
	top, err := eur(t, math.MaxInt64-1).Add(eur(t, 1))
	require.NoError(t, err)
	require.Equal(t, int64(math.MaxInt64), top.Amount())

	x, err := m.Times(3)
	require.NoError(t, err)
	require.Equal(t, eur(t, 5997), x)
	zero, err := m.Times(0)
	require.NoError(t, err)
	require.Equal(t, eur(t, 0), zero)
	_, err = m.Times(-1)
	require.ErrorIs(t, err, ordering.ErrInvalid)
	_, err = eur(t, math.MaxInt64/2+1).Times(2)
	require.ErrorIs(t, err, ordering.ErrOverflow)
	max, err := eur(t, math.MaxInt64/2).Times(2)
	require.NoError(t, err)
	require.Equal(t, int64(math.MaxInt64-1), max.Amount())
}
