package loadgen_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/loadgen"
)

func TestParseMix(t *testing.T) {
	t.Parallel()
	m, err := loadgen.ParseMix(loadgen.DefaultMix)
	require.NoError(t, err)
	require.Equal(t, map[string]int{"browse": 60, "search": 20, "cart": 12, "checkout": 8}, m.Weights())
	require.Equal(t, loadgen.DefaultMix, m.String())

	m, err = loadgen.ParseMix(" checkout = 3 , browse=1,")
	require.NoError(t, err)
	require.Equal(t, "browse=1,search=0,cart=0,checkout=3", m.String())
	require.Equal(t, 3, m.Weight(loadgen.KindCheckout))
}

func TestParseMixRefusals(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":                     "gives no session kind a weight",
		"browse=0,search=0":    "gives no session kind a weight",
		"browse":               "is not kind=weight",
		"shopping=3":           `unknown session kind "shopping"`,
		"browse=-1":            "must be an integer from 0 to 1000000",
		"browse=1.5":           "must be an integer from 0 to 1000000",
		"browse=1,browse=2":    "browse is given twice",
		"checkout=99999999999": "must be an integer",
	} {
		_, err := loadgen.ParseMix(in)
		require.ErrorContains(t, err, want, "mix %q", in)
	}
}
