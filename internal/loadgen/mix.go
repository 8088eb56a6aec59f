package loadgen

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// Kind is the kind of a shopper's session.
type Kind string

// The session kinds, in the order the mix lists them.
const (
	// KindBrowse lists products (sometimes of one category) and opens one
	// to three of them.
	KindBrowse Kind = "browse"
	// KindSearch searches for a word from a product name the shopper knows.
	KindSearch Kind = "search"
	// KindCart creates a cart and puts one to three known products in it.
	KindCart Kind = "cart"
	// KindCheckout fills a cart as KindCart does and checks it out.
	KindCheckout Kind = "checkout"
)

// Kinds lists every session kind.
var Kinds = []Kind{KindBrowse, KindSearch, KindCart, KindCheckout}

// DefaultMix is the share of each session kind when none is given.
const DefaultMix = "browse=60,search=20,cart=12,checkout=8"

// Mix holds the relative weight of each session kind. The zero value has
// no weights; build one with ParseMix.
type Mix struct {
	weights map[Kind]int
	total   int
}

// ParseMix reads "kind=weight,..." with kinds from Kinds and non-negative
// integer weights; kinds left out weigh zero, and the weights must not all
// be zero.
func ParseMix(s string) (Mix, error) {
	m := Mix{weights: map[Kind]int{}}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, value, ok := strings.Cut(part, "=")
		if !ok {
			return Mix{}, fmt.Errorf("mix: %q is not kind=weight", part)
		}
		kind := Kind(strings.TrimSpace(name))
		if !kind.valid() {
			return Mix{}, fmt.Errorf("mix: unknown session kind %q (want one of %s)", kind, kindList())
		}
		if _, dup := m.weights[kind]; dup {
			return Mix{}, fmt.Errorf("mix: %s is given twice", kind)
		}
		w, err := strconv.Atoi(strings.TrimSpace(value))
		if err != nil || w < 0 || w > 1_000_000 {
			return Mix{}, fmt.Errorf("mix: weight of %s must be an integer from 0 to 1000000, got %q", kind, value)
		}
		m.weights[kind] = w
		m.total += w
	}
	if m.total == 0 {
		return Mix{}, fmt.Errorf("mix: %q gives no session kind a weight", s)
	}
	return m, nil
}

// Weight returns the weight of kind.
func (m Mix) Weight(kind Kind) int { return m.weights[kind] }

// Weights returns every kind's weight, zero weights included.
func (m Mix) Weights() map[string]int {
	out := make(map[string]int, len(Kinds))
	for _, k := range Kinds {
		out[string(k)] = m.weights[k]
	}
	return out
}

// String returns the mix in the form ParseMix reads.
func (m Mix) String() string {
	parts := make([]string, 0, len(Kinds))
	for _, k := range Kinds {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m.weights[k]))
	}
	return strings.Join(parts, ",")
}

// pick draws a kind with probability proportional to its weight.
func (m Mix) pick(rng *rand.Rand) Kind {
	n := rng.IntN(m.total)
	for _, k := range Kinds {
		if n < m.weights[k] {
			return k
		}
		n -= m.weights[k]
	}
	return KindBrowse // unreachable while total is the sum of the weights
}

func (k Kind) valid() bool { return slices.Contains(Kinds, k) }

func kindList() string {
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}
