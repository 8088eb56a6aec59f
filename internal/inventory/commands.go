package inventory

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Receipt adds stock on hand to a warehouse.
type Receipt struct {
	SKU       string
	Warehouse string
	Quantity  int64
	Note      string
	At        time.Time
}

// Validate checks the receipt's own rules.
func (r Receipt) Validate() error {
	if err := ValidateSKU(r.SKU); err != nil {
		return err
	}
	if err := ValidateWarehouse(r.Warehouse); err != nil {
		return err
	}
	if r.Quantity < 1 || r.Quantity > MaxQuantity {
		return invalid("receipt quantity %d must be 1-%d", r.Quantity, MaxQuantity)
	}
	return validateNote(r.Note)
}

// AdjustmentReason says why stock on hand was corrected.
type AdjustmentReason string

// The reasons of an adjustment.
const (
	ReasonCycleCount AdjustmentReason = "cycle_count"
	ReasonDamaged    AdjustmentReason = "damaged"
	ReasonLost       AdjustmentReason = "lost"
	ReasonFound      AdjustmentReason = "found"
	ReasonReturned   AdjustmentReason = "returned"
	ReasonCorrection AdjustmentReason = "correction"
)

// Valid reports whether r is one of the defined reasons.
func (r AdjustmentReason) Valid() bool {
	switch r {
	case ReasonCycleCount, ReasonDamaged, ReasonLost, ReasonFound, ReasonReturned, ReasonCorrection:
		return true
	}
	return false
}

// Adjustment sets a warehouse's stock on hand to a counted value. The
// value may not be lower than what the warehouse has reserved
// (ErrBelowReserved). IfVersion, when not 0, makes it conditional on the
// SKU's current version (ErrVersionMismatch).
type Adjustment struct {
	SKU       string
	Warehouse string
	OnHand    int64
	Reason    AdjustmentReason
	Note      string
	IfVersion int64
	At        time.Time
}

// Validate checks the adjustment's own rules.
func (a Adjustment) Validate() error {
	if err := ValidateSKU(a.SKU); err != nil {
		return err
	}
	if err := ValidateWarehouse(a.Warehouse); err != nil {
		return err
	}
	if a.OnHand < 0 || a.OnHand > MaxQuantity {
		return invalid("on hand %d must be 0-%d", a.OnHand, MaxQuantity)
	}
	if !a.Reason.Valid() {
		return invalid("adjustment reason %q is unknown", a.Reason)
	}
	if a.IfVersion < 0 {
		return invalid("version %d is negative", a.IfVersion)
	}
	return validateNote(a.Note)
}

// ThresholdChange sets a SKU's low-stock threshold, conditional on its
// version when IfVersion is not 0.
type ThresholdChange struct {
	SKU       string
	Threshold int64
	IfVersion int64
	At        time.Time
}

// Validate checks the change's own rules.
func (c ThresholdChange) Validate() error {
	if err := ValidateSKU(c.SKU); err != nil {
		return err
	}
	if c.Threshold < 0 || c.Threshold > MaxQuantity {
		return invalid("threshold %d must be 0-%d", c.Threshold, MaxQuantity)
	}
	if c.IfVersion < 0 {
		return invalid("version %d is negative", c.IfVersion)
	}
	return nil
}

// Line is one SKU and quantity of an order to reserve.
type Line struct {
	SKU      string
	Quantity int64
}

// ReservationRequest asks to hold every line of an order until ExpiresAt.
type ReservationRequest struct {
	OrderID   string
	Lines     []Line
	ExpiresAt time.Time
	At        time.Time
}

// NewReservationRequest validates a request: a valid order ID, 1 to
// MaxLines lines of valid SKUs with positive quantities, each SKU once, and
// an expiry after at (ErrExpiryPassed otherwise, which also matches
// ErrInvalid). Lines come back sorted by SKU, the order in which
// adapters lock them.
func NewReservationRequest(orderID string, lines []Line, expiresAt, at time.Time) (ReservationRequest, error) {
	if err := ValidateOrderID(orderID); err != nil {
		return ReservationRequest{}, err
	}
	if len(lines) == 0 || len(lines) > MaxLines {
		return ReservationRequest{}, invalid("an order must have 1-%d lines, not %d", MaxLines, len(lines))
	}
	sorted := slices.Clone(lines)
	slices.SortFunc(sorted, func(a, b Line) int { return strings.Compare(a.SKU, b.SKU) })
	for i, l := range sorted {
		if err := ValidateSKU(l.SKU); err != nil {
			return ReservationRequest{}, err
		}
		if l.Quantity < 1 || l.Quantity > MaxQuantity {
			return ReservationRequest{}, invalid("quantity %d of %s must be 1-%d", l.Quantity, l.SKU, MaxQuantity)
		}
		if i > 0 && sorted[i-1].SKU == l.SKU {
			return ReservationRequest{}, invalid("sku %s appears on two lines", l.SKU)
		}
	}
	if !expiresAt.After(at) {
		return ReservationRequest{}, fmt.Errorf("%w: %w: expiry %s is not after %s", ErrInvalid, ErrExpiryPassed,
			expiresAt.Format(time.RFC3339), at.Format(time.RFC3339))
	}
	return ReservationRequest{OrderID: orderID, Lines: sorted, ExpiresAt: expiresAt, At: at}, nil
}

// Allocation is the part of an order line held in one warehouse.
type Allocation struct {
	SKU       string
	Warehouse string
	Quantity  int64
}

// Allocate plans where to take a line's quantity from, given the SKU's
// current levels: the warehouses with the most available stock first, so
// that a line is split over as few warehouses as possible. It returns the
// plan when the levels cover the line, or short > 0 (what is missing). The
// plan is a proposal: adapters apply each allocation with a conditional
// update that fails rather than oversell.
func Allocate(line Line, levels []Level) (plan []Allocation, short int64) {
	ordered := slices.Clone(levels)
	slices.SortStableFunc(ordered, func(a, b Level) int {
		switch {
		case a.Available() > b.Available():
			return -1
		case a.Available() < b.Available():
			return 1
		}
		return strings.Compare(a.warehouse, b.warehouse)
	})
	need := line.Quantity
	for _, l := range ordered {
		if need == 0 {
			break
		}
		take := min(need, l.Available())
		if take <= 0 {
			continue
		}
		plan = append(plan, Allocation{SKU: line.SKU, Warehouse: l.warehouse, Quantity: take})
		need -= take
	}
	if need > 0 {
		return nil, need
	}
	return plan, 0
}

// Shortage is an order line that could not be reserved in full.
type Shortage struct {
	SKU       string
	Requested int64
	// Available is what the SKU had available over all warehouses.
	Available int64
}

// ShortageError is the typed form of ErrOutOfStock.
type ShortageError struct {
	OrderID string
	Lines   []Shortage
}

func (e *ShortageError) Error() string {
	parts := make([]string, len(e.Lines))
	for i, s := range e.Lines {
		parts[i] = s.SKU
	}
	return "inventory: order " + e.OrderID + " is out of stock for " + strings.Join(parts, ", ")
}

// Unwrap makes errors.Is(err, ErrOutOfStock) true.
func (e *ShortageError) Unwrap() error { return ErrOutOfStock }
