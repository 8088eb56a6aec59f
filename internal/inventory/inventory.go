// Package inventory is the domain of Agora's inventory service: stock of a
// SKU per warehouse (on hand, reserved and available = on hand - reserved,
// never negative), stock reservations that hold an order's lines until they
// are released, expire or are committed on shipment, and the events these
// changes publish. It has no storage, messaging or HTTP code.
package inventory

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Errors of the inventory domain. Adapters wrap them; the HTTP edge maps
// them to problems in one place.
var (
	// ErrNotFound: no stock is kept for the SKU, or the order has no
	// reservation.
	ErrNotFound = errors.New("inventory: not found")
	// ErrInvalid: a command breaks a rule of its own (bad SKU, zero
	// quantity, ...). Errors wrapping it say which rule.
	ErrInvalid = errors.New("inventory: invalid")
	// ErrOutOfStock: a reservation could not be made because some lines
	// lack available stock; a *ShortageError names them.
	ErrOutOfStock = errors.New("inventory: out of stock")
	// ErrBelowReserved: an adjustment would leave less on hand than is
	// reserved in the warehouse.
	ErrBelowReserved = errors.New("inventory: on hand would drop below reserved")
	// ErrVersionMismatch: a conditional change expected another version of
	// the SKU's stock.
	ErrVersionMismatch = errors.New("inventory: stock version mismatch")
	// ErrReservationClosed: the reservation was already released or
	// committed and cannot take the requested transition.
	ErrReservationClosed = errors.New("inventory: reservation already closed")
	// ErrConflict: a concurrent change won; the operation may be retried.
	ErrConflict = errors.New("inventory: concurrent change")
	// ErrExpiryPassed: a reservation was asked for with an expiry that is
	// not after the time of asking, so there is nothing left to hold.
	// Errors wrapping it also match ErrInvalid.
	ErrExpiryPassed = errors.New("inventory: reservation expiry has passed")
)

// Limits of the inputs the domain accepts.
const (
	MaxSKULength       = 64
	MaxWarehouseLength = 32
	MaxOrderIDLength   = 64
	MaxNoteLength      = 200
	MaxLines           = 100
	// MaxQuantity bounds every quantity and stock level, far below int64
	// overflow when levels are summed.
	MaxQuantity = 1_000_000_000
)

var (
	skuPattern       = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	warehousePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	orderIDPattern   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]*$`)
)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// ValidateSKU checks a stock keeping unit code.
func ValidateSKU(sku string) error {
	if len(sku) == 0 || len(sku) > MaxSKULength || !skuPattern.MatchString(sku) {
		return invalid("sku %q must be 1-%d letters, digits, '.', '_' or '-'", sku, MaxSKULength)
	}
	return nil
}

// ValidateWarehouse checks a warehouse ID.
func ValidateWarehouse(id string) error {
	if len(id) == 0 || len(id) > MaxWarehouseLength || !warehousePattern.MatchString(id) {
		return invalid("warehouse %q must be 1-%d lowercase letters, digits or '-'", id, MaxWarehouseLength)
	}
	return nil
}

// ValidateOrderID checks an order ID.
func ValidateOrderID(id string) error {
	if len(id) == 0 || len(id) > MaxOrderIDLength || !orderIDPattern.MatchString(id) {
		return invalid("order ID %q must be 1-%d letters, digits, '.', '_', ':' or '-'", id, MaxOrderIDLength)
	}
	return nil
}

func validateNote(note string) error {
	if len(note) > MaxNoteLength {
		return invalid("note is longer than %d bytes", MaxNoteLength)
	}
	return nil
}

// Level is the stock of one SKU in one warehouse.
type Level struct {
	warehouse string
	onHand    int64
	reserved  int64
}

// NewLevel returns a level, refusing negative values and more reserved
// than on hand.
func NewLevel(warehouse string, onHand, reserved int64) (Level, error) {
	if err := ValidateWarehouse(warehouse); err != nil {
		return Level{}, err
	}
	if onHand < 0 || reserved < 0 || reserved > onHand || onHand > MaxQuantity {
		return Level{}, invalid("level of %s: on hand %d, reserved %d", warehouse, onHand, reserved)
	}
	return Level{warehouse: warehouse, onHand: onHand, reserved: reserved}, nil
}

// Warehouse is the warehouse's ID.
func (l Level) Warehouse() string { return l.warehouse }

// OnHand is the stock physically in the warehouse.
func (l Level) OnHand() int64 { return l.onHand }

// Reserved is the part of OnHand held for orders.
func (l Level) Reserved() int64 { return l.reserved }

// Available is OnHand - Reserved; never negative.
func (l Level) Available() int64 { return l.onHand - l.reserved }

// Stock is the stock of one SKU over its warehouses. Version grows with
// every change of any of its levels or settings; it is the SKU's ETag.
type Stock struct {
	sku       string
	levels    []Level
	threshold int64
	version   int64
	updatedAt time.Time
}

// RestoreStock rebuilds a Stock from storage. Levels are kept sorted by
// warehouse.
func RestoreStock(sku string, levels []Level, threshold, version int64, updatedAt time.Time) (Stock, error) {
	if err := ValidateSKU(sku); err != nil {
		return Stock{}, err
	}
	if threshold < 0 || threshold > MaxQuantity || version < 1 {
		return Stock{}, invalid("stock of %s: threshold %d, version %d", sku, threshold, version)
	}
	levels = slices.Clone(levels)
	slices.SortFunc(levels, func(a, b Level) int { return strings.Compare(a.warehouse, b.warehouse) })
	return Stock{sku: sku, levels: levels, threshold: threshold, version: version, updatedAt: updatedAt}, nil
}

// SKU is the stock keeping unit.
func (s Stock) SKU() string { return s.sku }

// Levels are the per-warehouse levels, sorted by warehouse.
func (s Stock) Levels() []Level { return slices.Clone(s.levels) }

// LowStockThreshold is the available quantity below which a LowStock event
// is published; 0 turns the alert off.
func (s Stock) LowStockThreshold() int64 { return s.threshold }

// Version identifies this state of the SKU's stock.
func (s Stock) Version() int64 { return s.version }

// UpdatedAt is when the stock last changed.
func (s Stock) UpdatedAt() time.Time { return s.updatedAt }

// OnHand sums the warehouses' stock on hand.
func (s Stock) OnHand() int64 {
	var n int64
	for _, l := range s.levels {
		n += l.onHand
	}
	return n
}

// Reserved sums the warehouses' reserved stock.
func (s Stock) Reserved() int64 {
	var n int64
	for _, l := range s.levels {
		n += l.reserved
	}
	return n
}

// Available sums the warehouses' available stock.
func (s Stock) Available() int64 { return s.OnHand() - s.Reserved() }

// Level returns the level of warehouse.
func (s Stock) Level(warehouse string) (Level, bool) {
	for _, l := range s.levels {
		if l.warehouse == warehouse {
			return l, true
		}
	}
	return Level{}, false
}

// LowStockCrossed returns the LowStock event of a change that took the
// SKU's available stock from before to after, when it dropped below a
// non-zero threshold with this change (an alert per crossing, not per
// change while low).
func LowStockCrossed(sku string, threshold, before, after int64, at time.Time) (LowStock, bool) {
	if threshold <= 0 || before < threshold || after >= threshold {
		return LowStock{}, false
	}
	return LowStock{SKU: sku, Available: after, Threshold: threshold, OccurredAt: at}, true
}
