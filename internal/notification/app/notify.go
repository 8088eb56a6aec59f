package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/agoracommerce/agora/internal/notification"
)

// OrderPlaced learns the recipient of a new order and renders its "order
// received" message, stored pending with the event's inbox entry.
// Handling the same event again does nothing (Duplicate).
func (s *Service) OrderPlaced(ctx context.Context, ev EventRef, r notification.Recipient, n notification.Notice) (Outcome, error) {
	if err := validateRef(ev); err != nil {
		return 0, err
	}
	if n.Kind != notification.KindOrderReceived {
		return 0, fmt.Errorf("%w: an order placed notice is of kind %s, not %s", notification.ErrInvalid, notification.KindOrderReceived, n.Kind)
	}
	m, err := notification.NewMessage(n, r, s.now())
	if err != nil {
		return 0, fmt.Errorf("order %s placed: %w", n.OrderID, err)
	}
	out, err := s.repo.Accept(ctx, ev, &r, &m)
	if err != nil {
		return 0, fmt.Errorf("order %s placed: %w", n.OrderID, err)
	}
	return out, nil
}

// Notify renders the message of notice n for the order's recipient,
// stored pending with the event's inbox entry. An order whose recipient is
// not known yet is notification.ErrUnknownRecipient (retry later: its
// OrderPlaced is on its way). The same notice twice is one message
// (Existing); the same event twice does nothing (Duplicate).
func (s *Service) Notify(ctx context.Context, ev EventRef, n notification.Notice) (Outcome, error) {
	if err := validateRef(ev); err != nil {
		return 0, err
	}
	if n.Kind == notification.KindOrderReceived {
		return 0, fmt.Errorf("%w: the order received message comes with the order's recipient (OrderPlaced)", notification.ErrInvalid)
	}
	if err := n.Validate(); err != nil {
		return 0, err
	}
	r, err := s.repo.Recipient(ctx, n.OrderID)
	if err != nil {
		return 0, fmt.Errorf("notify %s of order %s: %w", n.Kind, n.OrderID, err)
	}
	m, err := notification.NewMessage(n, r, s.now())
	if err != nil {
		return 0, fmt.Errorf("notify %s of order %s: %w", n.Kind, n.OrderID, err)
	}
	out, err := s.repo.Accept(ctx, ev, nil, &m)
	if err != nil {
		return 0, fmt.Errorf("notify %s of order %s: %w", n.Kind, n.OrderID, err)
	}
	return out, nil
}

func validateRef(ev EventRef) error {
	if ev.Group == "" || ev.ID == "" {
		return errors.New("notification app: an event needs its consumer group and ID")
	}
	return nil
}
