// Package app holds the notification service's use cases — learn an
// order's recipient and render its messages from the events of other
// services, send pending messages through the email provider exactly once
// from Agora's side, and read messages and the local mailbox — and the
// ports they need: a Repository, an EmailSender and, in local mode, a
// MailboxReader.
package app

import (
	"context"
	"time"

	"github.com/agoracommerce/agora/internal/notification"
)

// EventRef names one consumed event for deduplication: the consumer group
// that handles it and the event's ID (ce_id).
type EventRef struct {
	Group string
	ID    string
}

// Outcome is what accepting an event did.
type Outcome int

// The outcomes of accepting an event.
const (
	// Created: the event's message was stored, pending.
	Created Outcome = iota + 1
	// Existing: the event was new but its message had been stored already
	// (the same notice again, e.g. a step the saga published twice); the
	// message is left as it is.
	Existing
	// Duplicate: the event had been processed before; nothing was written.
	Duplicate
)

func (o Outcome) String() string {
	switch o {
	case Created:
		return "created"
	case Existing:
		return "existing"
	case Duplicate:
		return "duplicate"
	}
	return "unknown"
}

// PageQuery asks for one page of a listing, newest first.
type PageQuery struct {
	// Cursor is the NextCursor of the previous page; "" starts at the
	// newest.
	Cursor string
	// Limit is the page size, 1-MaxPageSize.
	Limit int
}

// Page is one page of a listing. NextCursor is "" on the last page.
type Page[T any] struct {
	Items      []T
	NextCursor string
}

// Page sizes.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// Repository keeps recipients and messages. Every method that changes a
// message writes its events (notification.Event) to the outbox in the same
// transaction, or changes nothing. Storage failures are marked
// fault.Retryable. Implementations are safe for concurrent use.
type Repository interface {
	// Recipient returns the recipient of an order, or
	// notification.ErrUnknownRecipient.
	Recipient(ctx context.Context, orderID string) (notification.Recipient, error)
	// Accept stores what one consumed event produced, in one transaction
	// with the event's inbox entry: the order's recipient when r is not
	// nil (the first recipient stored for an order is kept) and the
	// message when m is not nil, as pending (a message whose ID is stored
	// already is kept as it is: Existing). When the inbox already has the
	// event it writes nothing: Duplicate.
	Accept(ctx context.Context, ev EventRef, r *notification.Recipient, m *notification.Message) (Outcome, error)
	// Message returns the message with id, or notification.ErrNotFound.
	Message(ctx context.Context, id string) (notification.Message, error)
	// Messages lists a customer's messages, newest first. A cursor it did
	// not issue for the same customer is notification.ErrInvalidCursor.
	Messages(ctx context.Context, customerID string, q PageQuery) (Page[notification.Message], error)
	// Claim takes up to limit pending messages due at now, the longest due
	// first, and claims each for an attempt until until
	// (notification.Message.Claim), storing the claim. A message another
	// sender claimed first is skipped. It returns the claimed messages.
	Claim(ctx context.Context, now, until time.Time, limit int) ([]notification.Message, error)
	// Update loads the message, applies fn and, when fn changed it, stores
	// the new state with its events, in one transaction that fails when a
	// concurrent change stored first (fn then runs again on the new
	// state). Errors: notification.ErrNotFound, fn's errors,
	// notification.ErrConflict when retries ran out.
	Update(ctx context.Context, id string, fn func(*notification.Message) error) (notification.Message, error)
}

// Email is one message as the email provider gets it. ID is the message's
// ID, the same for every attempt to send it.
type Email struct {
	ID      string
	To      string
	Subject string
	Text    string
	HTML    string
}

// EmailSender is the email provider: the local mailbox now, Amazon SES
// later. Implementations are safe for concurrent use.
//
// Send hands one email to the provider. It returns nil once the provider
// accepted it; an error marked fault.Retryable when another attempt may
// succeed (a timeout, throttling, the provider unavailable); any other
// error when it never will (a refused address or content): the message
// is then given up on.
//
// Sending is at least once: when the process stops between a successful
// Send and the mark that the message was sent, the message is sent again
// after its claim lapses, with the same ID. Implementations should use the
// ID to make that repeat harmless: the local mailbox keeps one email per
// ID; a provider adapter passes it on as the email's Message-ID header (or
// the provider's idempotency token) so that mail clients show one message.
type EmailSender interface {
	Send(ctx context.Context, e Email) error
}

// MailboxMessage is one email the local mailbox received. OrderID and
// Kind are filled in by the Service from the message of the same ID (the
// mailbox itself knows only the email); they stay empty for an email that
// is not one of the service's messages.
type MailboxMessage struct {
	ID         string
	OrderID    string
	Kind       notification.Kind
	To         string
	Subject    string
	Text       string
	HTML       string
	ReceivedAt time.Time
}

// MailboxReader reads the local mailbox, the EmailSender of local mode.
// Implementations are safe for concurrent use.
type MailboxReader interface {
	// MailboxMessages lists the emails received, newest first; to, when not
	// empty, keeps those sent to that address (without regard to case).
	// A cursor it did not issue for the same filter is
	// notification.ErrInvalidCursor.
	MailboxMessages(ctx context.Context, to string, q PageQuery) (Page[MailboxMessage], error)
	// MailboxMessage returns the email with id, or notification.ErrNotFound.
	MailboxMessage(ctx context.Context, id string) (MailboxMessage, error)
}
