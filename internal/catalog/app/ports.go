// Package app holds the catalog's use cases — create, replace and archive
// products, browse and search them, manage categories — and the ports they
// need from the outside world (Repository, CategoryRepository). It decides
// who sees what (shoppers see active and archived products, staff see
// drafts too) and leaves storage, events on the wire and HTTP to adapters.
package app

import (
	"context"

	"github.com/google/uuid"

	"github.com/agoracommerce/agora/internal/catalog"
)

// Repository keeps products and, in the same transaction as each change,
// the events the change recorded (so that they are published exactly when
// the change is stored). Implementations are safe for concurrent use.
type Repository interface {
	// Create stores a new product and its recorded events. It returns
	// catalog.ErrDuplicateSKU when the SKU is taken and
	// catalog.ErrCategoryNotFound when the category does not exist.
	Create(ctx context.Context, p *catalog.Product) error
	// Update loads the product, lets fn change it and stores the result
	// with the events fn recorded, atomically and without losing a
	// concurrent update: when another update got in first, fn runs again
	// on the fresh product. An error of fn aborts the update and comes back
	// as it is. It returns catalog.ErrProductNotFound for an unknown ID and
	// catalog.ErrCategoryNotFound when fn moved the product to a category
	// that does not exist; an error that is retryable (fault.IsRetryable)
	// when the update kept colliding.
	Update(ctx context.Context, id uuid.UUID, fn func(*catalog.Product) error) error
	// Get returns the product or catalog.ErrProductNotFound.
	Get(ctx context.Context, id uuid.UUID) (*catalog.Product, error)
	// List returns one page of the products matching q in creation order
	// (by ID, which is time-ordered). It returns catalog.ErrInvalidCursor
	// for a cursor it did not issue for the same filters.
	List(ctx context.Context, q ProductQuery) (Page[*catalog.Product], error)
}

// CategoryRepository keeps categories. Implementations are safe for
// concurrent use.
type CategoryRepository interface {
	// CreateCategory stores a new category, or returns
	// catalog.ErrDuplicateCategory when the slug is taken.
	CreateCategory(ctx context.Context, c catalog.Category) error
	// ListCategories returns one page of categories ordered by slug, or
	// catalog.ErrInvalidCursor.
	ListCategories(ctx context.Context, q CategoryQuery) (Page[catalog.Category], error)
}

// ProductQuery filters and pages products. Zero fields do not filter.
type ProductQuery struct {
	CategoryID uuid.UUID
	Status     catalog.Status
	// MinPrice and MaxPrice bound the price in minor units, inclusive.
	MinPrice *int64
	MaxPrice *int64
	Currency string
	// Text matches the name or the description, ignoring case.
	Text string
	// Cursor is the NextCursor of the previous page; "" starts at the
	// beginning.
	Cursor string
	// Limit is the page size, 1 to MaxPageSize.
	Limit int
}

// CategoryQuery pages categories.
type CategoryQuery struct {
	Cursor string
	Limit  int
}

// Page is one page of a listing. NextCursor is "" on the last page.
type Page[T any] struct {
	Items      []T
	NextCursor string
}
