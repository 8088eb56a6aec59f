package app

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/agoracommerce/agora/internal/catalog"
)

// Precondition checks the version of the product an update is about to
// change (an HTTP If-Match, for example); its error aborts the update and
// comes back as it is. Nil means no precondition.
type Precondition func(version int64) error

// CreateProduct is the input of Service.CreateProduct.
type CreateProduct struct {
	SKU     string
	Details catalog.Details
	// Status is catalog.StatusDraft (the default when empty) or
	// catalog.StatusActive.
	Status catalog.Status
}

// CreateProduct adds a product to the catalog. Errors: a
// *catalog.ValidationError, catalog.ErrDuplicateSKU,
// catalog.ErrCategoryNotFound.
func (s *Service) CreateProduct(ctx context.Context, in CreateProduct) (*catalog.Product, error) {
	if in.Status == "" {
		in.Status = catalog.StatusDraft
	}
	id, err := s.id()
	if err != nil {
		return nil, fmt.Errorf("create product: %w", err)
	}
	p, err := catalog.NewProduct(id, in.SKU, in.Details, in.Status, s.now())
	if err != nil {
		return nil, fmt.Errorf("create product: %w", err)
	}
	if err := s.products.Create(ctx, p); err != nil {
		return nil, fmt.Errorf("create product: %w", err)
	}
	return p, nil
}

// ReplaceProduct is the input of Service.ReplaceProduct.
type ReplaceProduct struct {
	ID           uuid.UUID
	Details      catalog.Details
	Status       catalog.Status
	Precondition Precondition
}

// ReplaceProduct sets a product's details and status (see
// catalog.Product.Replace) and returns the product as stored. Errors: the
// precondition's, catalog.ErrProductNotFound, catalog.ErrArchived,
// catalog.ErrInvalidTransition, a *catalog.ValidationError,
// catalog.ErrCategoryNotFound.
func (s *Service) ReplaceProduct(ctx context.Context, in ReplaceProduct) (*catalog.Product, error) {
	var out *catalog.Product
	err := s.products.Update(ctx, in.ID, func(p *catalog.Product) error {
		if in.Precondition != nil {
			if err := in.Precondition(p.Version()); err != nil {
				return err
			}
		}
		if err := p.Replace(in.Details, in.Status, s.now()); err != nil {
			return err
		}
		out = p
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("replace product %s: %w", in.ID, err)
	}
	return out, nil
}

// ArchiveProduct takes a product off sale for good and returns it as
// stored; archiving an archived product changes nothing. Errors: the
// precondition's, catalog.ErrProductNotFound.
func (s *Service) ArchiveProduct(ctx context.Context, id uuid.UUID, pre Precondition) (*catalog.Product, error) {
	var out *catalog.Product
	err := s.products.Update(ctx, id, func(p *catalog.Product) error {
		if pre != nil {
			if err := pre(p.Version()); err != nil {
				return err
			}
		}
		p.Archive(s.now())
		out = p
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("archive product %s: %w", id, err)
	}
	return out, nil
}

// Product returns one product as v may see it: drafts are
// catalog.ErrProductNotFound to everyone but staff.
func (s *Service) Product(ctx context.Context, v Viewer, id uuid.UUID) (*catalog.Product, error) {
	p, err := s.products.Get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("get product %s: %w", id, err)
	}
	if p.Status() == catalog.StatusDraft && !v.Staff {
		return nil, fmt.Errorf("get product %s: %w", id, catalog.ErrProductNotFound)
	}
	return p, nil
}

// Products lists one page of products for v. Without a status filter only
// active products are listed; other statuses are for staff (ErrRestricted
// otherwise). Errors also: catalog.ErrInvalidCursor.
func (s *Service) Products(ctx context.Context, v Viewer, q ProductQuery) (Page[*catalog.Product], error) {
	if q.Status == "" {
		q.Status = catalog.StatusActive
	}
	if q.Status != catalog.StatusActive && !v.Staff {
		return Page[*catalog.Product]{}, fmt.Errorf("list products: %w", ErrRestricted)
	}
	q.Limit = pageSize(q.Limit)
	page, err := s.products.List(ctx, q)
	if err != nil {
		return Page[*catalog.Product]{}, fmt.Errorf("list products: %w", err)
	}
	return page, nil
}
