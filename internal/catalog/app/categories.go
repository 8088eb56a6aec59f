package app

import (
	"context"
	"fmt"

	"github.com/agoracommerce/agora/internal/catalog"
)

// CreateCategory is the input of Service.CreateCategory.
type CreateCategory struct {
	Slug        string
	Name        string
	Description string
}

// CreateCategory adds a category. Errors: a *catalog.ValidationError,
// catalog.ErrDuplicateCategory.
func (s *Service) CreateCategory(ctx context.Context, in CreateCategory) (catalog.Category, error) {
	id, err := s.id()
	if err != nil {
		return catalog.Category{}, fmt.Errorf("create category: %w", err)
	}
	c, err := catalog.NewCategory(id, in.Slug, in.Name, in.Description, s.now())
	if err != nil {
		return catalog.Category{}, fmt.Errorf("create category: %w", err)
	}
	if err := s.categories.CreateCategory(ctx, c); err != nil {
		return catalog.Category{}, fmt.Errorf("create category: %w", err)
	}
	return c, nil
}

// Categories lists one page of categories by slug. Errors:
// catalog.ErrInvalidCursor.
func (s *Service) Categories(ctx context.Context, q CategoryQuery) (Page[catalog.Category], error) {
	q.Limit = pageSize(q.Limit)
	page, err := s.categories.ListCategories(ctx, q)
	if err != nil {
		return Page[catalog.Category]{}, fmt.Errorf("list categories: %w", err)
	}
	return page, nil
}
