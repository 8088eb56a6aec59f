package app

import (
	"context"
	"fmt"

	"github.com/agoracommerce/agora/internal/cart"
)

// ApplyProduct brings the read model up to the catalog's product p (from a
// catalog event): it stores p unless the read model already has the same
// or a newer version, so a replayed or late event changes nothing. applied
// reports whether p was stored. An invalid p is cart.ErrInvalid, which is
// permanent: the same event will never apply.
func (s *Service) ApplyProduct(ctx context.Context, p cart.Product) (applied bool, err error) {
	if err := p.Validate(); err != nil {
		return false, fmt.Errorf("apply product %s: %w", p.ID, err)
	}
	applied, err = s.products.SaveProduct(ctx, p)
	if err != nil {
		return false, fmt.Errorf("apply product %s: %w", p.ID, err)
	}
	return applied, nil
}
