package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/agoracommerce/agora/internal/ordering"
)

// ExpireDeadlines applies DeadlinePassed to every order whose saga step
// passed its deadline at now, each in its own transaction, and returns how
// many it moved. An order whose step or deadline changed since it was
// found due is left alone, so several processes may run it at once: each
// overdue step is compensated (or its capture asked again) exactly once.
// It stops at the first error (the next round picks up the rest) and when
// ctx ends.
func (s *Service) ExpireDeadlines(ctx context.Context, now time.Time) (int, error) {
	moved := 0
	for {
		due, err := s.orders.DueDeadlines(ctx, now, s.batch)
		if err != nil {
			return moved, fmt.Errorf("expire deadlines: %w", err)
		}
		progress := 0
		for _, d := range due {
			if err := ctx.Err(); err != nil {
				return moved, err
			}
			applied := false
			_, err := s.orders.Update(ctx, d.ID, DedupeKey{}, func(o *ordering.Order) ([]ordering.Event, error) {
				if o.Step() != d.Step || !o.DeadlineAt().Equal(d.DeadlineAt) || !o.Overdue(now) {
					return nil, nil // moved on meanwhile
				}
				evs, err := o.Apply(ordering.Signal{Trigger: ordering.TriggerDeadlinePassed}, now, s.policy.Deadlines)
				applied = err == nil
				return evs, err
			})
			switch {
			case errors.Is(err, ordering.ErrNotFound):
				continue
			case err != nil:
				return moved, fmt.Errorf("expire deadline of order %s: %w", d.ID, err)
			}
			if applied {
				moved++
				progress++
			}
		}
		if len(due) < s.batch || progress == 0 {
			return moved, nil
		}
	}
}
