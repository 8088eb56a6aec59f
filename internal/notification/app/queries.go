package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/agoracommerce/agora/internal/notification"
)

func normalize(q PageQuery) (PageQuery, error) {
	switch {
	case q.Limit == 0:
		q.Limit = DefaultPageSize
	case q.Limit < 0 || q.Limit > MaxPageSize:
		return q, fmt.Errorf("%w: page size %d is not 1-%d", notification.ErrInvalid, q.Limit, MaxPageSize)
	}
	return q, nil
}

// Notification returns the message with id.
func (s *Service) Notification(ctx context.Context, id string) (notification.Message, error) {
	if err := notification.ValidateMessageID(id); err != nil {
		return notification.Message{}, err
	}
	m, err := s.repo.Message(ctx, id)
	if err != nil {
		return notification.Message{}, fmt.Errorf("get message %s: %w", id, err)
	}
	return m, nil
}

// Notifications lists a customer's messages, newest first.
func (s *Service) Notifications(ctx context.Context, customerID string, q PageQuery) (Page[notification.Message], error) {
	if err := notification.ValidateCustomerID(customerID); err != nil {
		return Page[notification.Message]{}, err
	}
	q, err := normalize(q)
	if err != nil {
		return Page[notification.Message]{}, err
	}
	page, err := s.repo.Messages(ctx, customerID, q)
	if err != nil {
		return Page[notification.Message]{}, fmt.Errorf("list messages: %w", err)
	}
	return page, nil
}

// MailboxMessages lists the local mailbox, newest first; to, when not
// empty, keeps the emails sent to that address. ErrMailboxDisabled when
// the service has no local mailbox.
func (s *Service) MailboxMessages(ctx context.Context, to string, q PageQuery) (Page[MailboxMessage], error) {
	if s.mailbox == nil {
		return Page[MailboxMessage]{}, ErrMailboxDisabled
	}
	if to != "" {
		if err := notification.ValidateEmail(strings.TrimSpace(to)); err != nil {
			return Page[MailboxMessage]{}, err
		}
	}
	q, err := normalize(q)
	if err != nil {
		return Page[MailboxMessage]{}, err
	}
	page, err := s.mailbox.MailboxMessages(ctx, strings.TrimSpace(to), q)
	if err != nil {
		return Page[MailboxMessage]{}, fmt.Errorf("list mailbox: %w", err)
	}
	for i := range page.Items {
		if page.Items[i], err = s.aboutOrder(ctx, page.Items[i]); err != nil {
			return Page[MailboxMessage]{}, fmt.Errorf("list mailbox: %w", err)
		}
	}
	return page, nil
}

// MailboxMessage returns the email of the local mailbox with id.
func (s *Service) MailboxMessage(ctx context.Context, id string) (MailboxMessage, error) {
	if s.mailbox == nil {
		return MailboxMessage{}, ErrMailboxDisabled
	}
	if err := notification.ValidateMessageID(id); err != nil {
		return MailboxMessage{}, err
	}
	m, err := s.mailbox.MailboxMessage(ctx, id)
	if err != nil {
		return MailboxMessage{}, fmt.Errorf("get mailbox message %s: %w", id, err)
	}
	if m, err = s.aboutOrder(ctx, m); err != nil {
		return MailboxMessage{}, fmt.Errorf("get mailbox message %s: %w", id, err)
	}
	return m, nil
}

// aboutOrder fills in the order and kind of an email from the message it
// was sent for.
func (s *Service) aboutOrder(ctx context.Context, e MailboxMessage) (MailboxMessage, error) {
	m, err := s.repo.Message(ctx, e.ID)
	switch {
	case errors.Is(err, notification.ErrNotFound):
		return e, nil
	case err != nil:
		return MailboxMessage{}, err
	}
	e.OrderID, e.Kind = m.OrderID(), m.Kind()
	return e, nil
}
