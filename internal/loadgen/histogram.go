package loadgen

import (
	"math"
	"math/bits"
	"time"
)

// The histogram keeps microsecond values in log-linear buckets, the layout
// HdrHistogram uses: values below 2^subBucketBits are counted exactly, and
// every power-of-two range above is split into 2^(subBucketBits-1) equal
// buckets, so any recorded value is known to within 1/1024 of itself.
const (
	subBucketBits  = 11
	subBucketCount = 1 << subBucketBits  // 2048 exact values
	subBucketHalf  = subBucketCount >> 1 // 1024 buckets per power of two
	// HistogramMax is the largest value a Histogram tells apart; longer
	// durations are counted as HistogramMax (the exact maximum is kept).
	HistogramMax = time.Hour
)

var histogramBuckets = bucketIndex(uint64(HistogramMax/time.Microsecond)) + 1

// Histogram records durations with a relative error of at most 1/1024
// (about three significant digits) from 1µs to HistogramMax, in constant
// memory. The zero value is not usable; call NewHistogram. A Histogram is
// not safe for concurrent use: its owner serialises access.
type Histogram struct {
	counts []uint64
	total  uint64
	sumUS  float64
	minUS  uint64
	maxUS  uint64
}

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram {
	return &Histogram{counts: make([]uint64, histogramBuckets), minUS: math.MaxUint64}
}

// Record counts one duration; negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	us := uint64(max(d, 0) / time.Microsecond) // #nosec G115 -- clamped non-negative
	h.total++
	h.sumUS += float64(us)
	h.minUS = min(h.minUS, us)
	h.maxUS = max(h.maxUS, us)
	h.counts[bucketIndex(min(us, uint64(HistogramMax/time.Microsecond)))]++
}

// Merge adds every value recorded in other to h.
func (h *Histogram) Merge(other *Histogram) {
	if other.total == 0 {
		return
	}
	for i, c := range other.counts {
		h.counts[i] += c
	}
	h.total += other.total
	h.sumUS += other.sumUS
	h.minUS = min(h.minUS, other.minUS)
	h.maxUS = max(h.maxUS, other.maxUS)
}

// Count returns how many values were recorded.
func (h *Histogram) Count() uint64 { return h.total }

// Max returns the largest recorded value, exactly; zero when empty.
func (h *Histogram) Max() time.Duration {
	return durationUS(h.maxUS)
}

// Min returns the smallest recorded value, exactly; zero when empty.
func (h *Histogram) Min() time.Duration {
	if h.total == 0 {
		return 0
	}
	return durationUS(h.minUS)
}

// Mean returns the exact mean of the recorded values; zero when empty.
func (h *Histogram) Mean() time.Duration {
	if h.total == 0 {
		return 0
	}
	return time.Duration(h.sumUS / float64(h.total) * float64(time.Microsecond))
}

// Quantile returns the nearest-rank q-quantile (0 < q <= 1): the smallest
// recorded value such that at least q of all values are at or below it,
// rounded up to the top of its bucket and never above Max. Zero when empty.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	q = min(max(q, 0), 1)
	rank := uint64(math.Ceil(q * float64(h.total)))
	rank = min(max(rank, 1), h.total)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return durationUS(min(bucketHigh(i), h.maxUS))
		}
	}
	return durationUS(h.maxUS)
}

// bucketIndex returns the bucket of a microsecond value.
func bucketIndex(v uint64) int {
	if v < subBucketCount {
		return int(v)
	}
	// v >= subBucketCount, so shift >= 1.
	shift := bits.Len64(v) - subBucketBits
	return subBucketCount + (shift-1)*subBucketHalf + int(v>>shift) - subBucketHalf // #nosec G115 -- v>>shift < subBucketCount
}

// bucketHigh returns the largest value that falls into bucket i.
func bucketHigh(i int) uint64 {
	if i < subBucketCount {
		return uint64(i) // #nosec G115 -- i is a non-negative index
	}
	shift := (i-subBucketCount)/subBucketHalf + 1
	sub := uint64((i-subBucketCount)%subBucketHalf + subBucketHalf) // #nosec G115 -- non-negative
	return (sub+1)<<shift - 1
}

func durationUS(us uint64) time.Duration {
	return time.Duration(min(us, uint64(math.MaxInt64/int64(time.Microsecond)))) * time.Microsecond // #nosec G115 -- clamped
}
