package cart

import (
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// ProductStatus is where a product stands in the catalog. Only active
// products can be put in a cart.
type ProductStatus string

// The statuses of a product, as the catalog publishes them.
const (
	ProductDraft    ProductStatus = "draft"
	ProductActive   ProductStatus = "active"
	ProductArchived ProductStatus = "archived"
)

// Product is the cart's copy of one catalog product: what the catalog's
// latest applied event said about it. Version is the catalog's version of
// the product; the read model keeps the highest version it has seen and
// ignores older events.
type Product struct {
	ID        uuid.UUID
	SKU       string
	Name      string
	Price     Money
	Status    ProductStatus
	Version   int64
	UpdatedAt time.Time
}

// Limits of product values the read model takes from events (those of the
// catalog: a SKU of ASCII bytes, a name of characters).
const (
	MaxSKULength  = 64
	MaxNameLength = 200
)

// Validate checks a product taken from an event or from storage.
func (p Product) Validate() error {
	switch {
	case p.ID == uuid.Nil:
		return invalid("/product_id", "is required")
	case p.SKU == "" || len(p.SKU) > MaxSKULength:
		return invalid("/sku", "must be 1-64 bytes")
	case utf8.RuneCountInString(p.Name) > MaxNameLength:
		return invalid("/name", "must be at most 200 characters")
	case p.Version < 1:
		return invalid("/version", "must be positive")
	case p.Price.IsZero() || p.Price.Amount() <= 0:
		return invalid("/price", "must be a positive amount")
	}
	switch p.Status {
	case ProductDraft, ProductActive, ProductArchived:
	default:
		return invalid("/status", "must be draft, active or archived")
	}
	return nil
}

// OnSale reports whether p may be put in a cart.
func (p Product) OnSale() bool { return p.Status == ProductActive }

// Newer reports whether p should replace stored in the read model: only a
// higher version does, so replays and reordered events change nothing.
func (p Product) Newer(stored Product) bool { return p.Version > stored.Version }
