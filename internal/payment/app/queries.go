package app

import (
	"context"
	"fmt"

	"github.com/agoracommerce/agora/internal/payment"
)

// Payment returns the payment with id.
func (s *Service) Payment(ctx context.Context, id string) (payment.Payment, error) {
	p, err := s.repo.Get(ctx, id)
	if err != nil {
		return payment.Payment{}, fmt.Errorf("get payment: %w", err)
	}
	return p, nil
}

// PaymentByOrder returns the order's payment.
func (s *Service) PaymentByOrder(ctx context.Context, orderID string) (payment.Payment, error) {
	if err := payment.ValidateOrderID(orderID); err != nil {
		return payment.Payment{}, err
	}
	p, err := s.repo.ByOrder(ctx, orderID)
	if err != nil {
		return payment.Payment{}, fmt.Errorf("get payment of order %s: %w", orderID, err)
	}
	return p, nil
}

// MaxPage bounds ListPayments' limit.
const MaxPage = 100

// ListPayments returns a page of payments, newest first, of customerID
// ("" for all), with IDs below before, and the ID to continue before (""
// on the last page).
func (s *Service) ListPayments(ctx context.Context, customerID, before string, limit int) (page []payment.Payment, next string, err error) {
	if limit < 1 || limit > MaxPage {
		return nil, "", &payment.ValidationError{Field: "/limit", Reason: fmt.Sprintf("must be 1-%d", MaxPage)}
	}
	page, err = s.repo.List(ctx, customerID, before, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("list payments: %w", err)
	}
	if len(page) > limit {
		page = page[:limit]
		next = page[limit-1].ID()
	}
	return page, next, nil
}
