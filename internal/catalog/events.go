package catalog

import (
	"time"

	"github.com/google/uuid"
)

// Event is a domain event of a product. Every event carries the product's
// state after the change, so consumers need nothing else.
type Event interface {
	// ProductID is the ID of the product that changed.
	ProductID() uuid.UUID
	// OccurredAt is when the change happened.
	OccurredAt() time.Time
	isEvent()
}

// ProductCreated: a product was added to the catalog.
type ProductCreated struct {
	Product ProductState
	At      time.Time
}

// ProductUpdated: details other than the price (or the status, from draft
// to active) changed.
type ProductUpdated struct {
	Product ProductState
	At      time.Time
}

// ProductPriceChanged: the price changed from OldPrice to Product's price.
type ProductPriceChanged struct {
	Product  ProductState
	OldPrice Money
	At       time.Time
}

// ProductArchived: the product is off sale for good.
type ProductArchived struct {
	Product ProductState
	At      time.Time
}

func (e ProductCreated) ProductID() uuid.UUID      { return e.Product.ID }
func (e ProductUpdated) ProductID() uuid.UUID      { return e.Product.ID }
func (e ProductPriceChanged) ProductID() uuid.UUID { return e.Product.ID }
func (e ProductArchived) ProductID() uuid.UUID     { return e.Product.ID }

func (e ProductCreated) OccurredAt() time.Time      { return e.At }
func (e ProductUpdated) OccurredAt() time.Time      { return e.At }
func (e ProductPriceChanged) OccurredAt() time.Time { return e.At }
func (e ProductArchived) OccurredAt() time.Time     { return e.At }

func (ProductCreated) isEvent()      {}
func (ProductUpdated) isEvent()      {}
func (ProductPriceChanged) isEvent() {}
func (ProductArchived) isEvent()     {}
