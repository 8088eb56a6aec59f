package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/agoracommerce/agora/internal/cart"
)

// ExpireCarts expires every open cart that has not changed for the idle
// time before now, and returns how many it expired. A cart that changed
// meanwhile is left alone. It stops at the first storage error (the next
// round picks up the rest) and when ctx ends.
func (s *Service) ExpireCarts(ctx context.Context, now time.Time) (int, error) {
	idleSince := now.Add(-s.idleTTL)
	expired := 0
	for {
		ids, err := s.carts.IdleCarts(ctx, idleSince, s.expiryBatch)
		if err != nil {
			return expired, fmt.Errorf("expire carts: %w", err)
		}
		progress := 0
		for _, id := range ids {
			if err := ctx.Err(); err != nil {
				return expired, err
			}
			changed := false
			_, err := s.carts.Update(ctx, id, func(c *cart.Cart) error {
				changed = c.Expire(idleSince, now)
				return nil
			})
			switch {
			case errors.Is(err, cart.ErrNotFound):
				continue
			case err != nil:
				return expired, fmt.Errorf("expire cart %s: %w", id, err)
			}
			if changed {
				expired++
				progress++
			}
		}
		if len(ids) < s.expiryBatch || progress == 0 {
			return expired, nil
		}
	}
}
