package loadgen_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/loadgen"
)

// nearestRank is the reference percentile: the smallest value with at
// least q of the sorted values at or below it.
func nearestRank(sorted []time.Duration, q float64) time.Duration {
	rank := int(math.Ceil(q * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

func TestHistogramEmpty(t *testing.T) {
	t.Parallel()
	h := loadgen.NewHistogram()
	require.Zero(t, h.Count())
	require.Zero(t, h.Quantile(0.5))
	require.Zero(t, h.Max())
	require.Zero(t, h.Min())
	require.Zero(t, h.Mean())
}

func TestHistogramSmallValuesAreExact(t *testing.T) {
	t.Parallel()
	h := loadgen.NewHistogram()
	// 1..100 µs: below 2048µs every microsecond has its own bucket.
	for us := 100; us >= 1; us-- {
		h.Record(time.Duration(us) * time.Microsecond)
	}
	require.Equal(t, uint64(100), h.Count())
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{
		{0.01, 1 * time.Microsecond},
		{0.5, 50 * time.Microsecond},
		{0.505, 51 * time.Microsecond},
		{0.95, 95 * time.Microsecond},
		{0.99, 99 * time.Microsecond},
		{1, 100 * time.Microsecond},
	} {
		require.Equal(t, tc.want, h.Quantile(tc.q), "q=%v", tc.q)
	}
	require.Equal(t, time.Microsecond, h.Min())
	require.Equal(t, 100*time.Microsecond, h.Max())
	require.Equal(t, 50500*time.Nanosecond, h.Mean())
}

func TestHistogramMatchesSortedSampleWithinItsPrecision(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, dist := range []struct {
		name string
		draw func() time.Duration
	}{
		{"uniform 1µs-10ms", func() time.Duration { return time.Duration(1+rng.IntN(10_000)) * time.Microsecond }},
		{"log-normal around 20ms", func() time.Duration {
			return time.Duration(math.Exp(rng.NormFloat64()*1.2+math.Log(20e3))) * time.Microsecond
		}},
		{"bimodal fast and slow", func() time.Duration {
			if rng.IntN(100) < 97 {
				return time.Duration(500+rng.IntN(1500)) * time.Microsecond
			}
			return time.Duration(2+rng.IntN(8)) * time.Second
		}},
	} {
		t.Run(dist.name, func(t *testing.T) {
			h := loadgen.NewHistogram()
			values := make([]time.Duration, 50_000)
			for i := range values {
				values[i] = dist.draw().Truncate(time.Microsecond)
				h.Record(values[i])
			}
			slices.Sort(values)
			for _, q := range []float64{0.001, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1} {
				want := nearestRank(values, q)
				got := h.Quantile(q)
				require.GreaterOrEqual(t, got, want, "q=%v", q)
				require.LessOrEqual(t, float64(got-want), float64(want)/1024+float64(time.Microsecond), "q=%v: got %v, want %v", q, got, want)
			}
			require.Equal(t, values[len(values)-1], h.Max())
			require.Equal(t, values[0], h.Min())
		})
	}
}

func TestHistogramBeyondItsRange(t *testing.T) {
	t.Parallel()
	h := loadgen.NewHistogram()
	h.Record(-time.Second)
	h.Record(3 * time.Hour)
	require.Equal(t, uint64(2), h.Count())
	require.Zero(t, h.Min())
	require.Equal(t, 3*time.Hour, h.Max(), "the maximum is kept exactly")
	require.Zero(t, h.Quantile(0.5))
	require.InEpsilon(t, float64(loadgen.HistogramMax), float64(h.Quantile(0.99)), 1.0/1024)
}

func TestHistogramMerge(t *testing.T) {
	t.Parallel()
	a, b, all := loadgen.NewHistogram(), loadgen.NewHistogram(), loadgen.NewHistogram()
	for i := 1; i <= 3000; i++ {
		d := time.Duration(i*i) * time.Microsecond
		all.Record(d)
		if i%3 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	a.Merge(b)
	a.Merge(loadgen.NewHistogram())
	require.Equal(t, all.Count(), a.Count())
	require.Equal(t, all.Max(), a.Max())
	require.Equal(t, all.Min(), a.Min())
	require.Equal(t, all.Mean(), a.Mean())
	for _, q := range []float64{0.1, 0.5, 0.99} {
		require.Equal(t, all.Quantile(q), a.Quantile(q))
	}
}
