package notification

import (
	"fmt"
	"slices"
	"time"
)

// Status is where a message is in its life.
type Status string

// The statuses of a message. A message is pending from the moment it is
// rendered until the email provider accepted it (sent) or it was given up
// on (failed); sent and failed are final.
const (
	StatusPending Status = "pending"
	StatusSent    Status = "sent"
	StatusFailed  Status = "failed"
)

// Statuses lists every status.
func Statuses() []Status { return []Status{StatusPending, StatusSent, StatusFailed} }

// Valid reports whether s is one of the statuses.
func (s Status) Valid() bool { return slices.Contains(Statuses(), s) }

// Final reports whether a message in s can no longer change.
func (s Status) Final() bool { return s == StatusSent || s == StatusFailed }

// TransitionError is a refused status change. It wraps
// ErrInvalidTransition.
type TransitionError struct {
	From, To Status
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("notification: a %s message cannot become %s", e.From, e.To)
}

// Unwrap makes errors.Is(err, ErrInvalidTransition) hold.
func (e *TransitionError) Unwrap() error { return ErrInvalidTransition }

// Snapshot is the whole state of a message, as adapters store it.
type Snapshot struct {
	ID         string
	OrderID    string
	CustomerID string
	Kind       Kind
	Ref        string
	To         string
	Content    Content
	Status     Status
	// Attempts counts the sends started (claims), this one included.
	Attempts int
	// NextAttemptAt is when a pending message is due to be sent (again);
	// zero once the message is final.
	NextAttemptAt time.Time
	// LastError is why the last attempt failed; empty after a success.
	LastError string
	CreatedAt time.Time
	UpdatedAt time.Time
	SentAt    time.Time
	FailedAt  time.Time
	// Version counts the stored changes; 0 before the message is first
	// stored.
	Version int64
}

// Message is one message to one customer about one order. Its ID derives
// from the order, the kind and the reference (MessageID), so a notice is
// never turned into two messages.
type Message struct {
	s       Snapshot
	dirty   bool
	pending []Event
}

// NewMessage renders notice n for recipient r (the order's recipient) into
// a pending message, due at now.
func NewMessage(n Notice, r Recipient, now time.Time) (Message, error) {
	if r.OrderID != n.OrderID {
		return Message{}, invalid("recipient of order %q for a notice of order %q", r.OrderID, n.OrderID)
	}
	content, err := Render(n, r)
	if err != nil {
		return Message{}, err
	}
	return Message{s: Snapshot{
		ID: MessageID(n.OrderID, n.Kind, n.Ref), OrderID: n.OrderID, CustomerID: r.CustomerID, Kind: n.Kind, Ref: n.Ref,
		To: r.Email, Content: content, Status: StatusPending, NextAttemptAt: now, CreatedAt: now, UpdatedAt: now,
	}, dirty: true}, nil
}

// RestoreMessage rebuilds a message from storage, checking that the
// snapshot is one the domain could have produced.
func RestoreMessage(s Snapshot) (Message, error) {
	if err := ValidateMessageID(s.ID); err != nil {
		return Message{}, err
	}
	if s.ID != MessageID(s.OrderID, s.Kind, s.Ref) {
		return Message{}, invalid("message %s is not the message of order %q, kind %q", s.ID, s.OrderID, s.Kind)
	}
	if err := ValidateCustomerID(s.CustomerID); err != nil {
		return Message{}, err
	}
	if err := ValidateEmail(s.To); err != nil {
		return Message{}, err
	}
	if err := s.Content.Validate(); err != nil {
		return Message{}, err
	}
	switch {
	case !s.Status.Valid():
		return Message{}, invalid("message status %q", s.Status)
	case s.Version < 1:
		return Message{}, invalid("message version %d", s.Version)
	case s.Attempts < 0:
		return Message{}, invalid("message attempts %d", s.Attempts)
	case s.Status == StatusPending && s.NextAttemptAt.IsZero():
		return Message{}, invalid("a pending message without its next attempt")
	case s.Status.Final() && !s.NextAttemptAt.IsZero():
		return Message{}, invalid("a %s message with a next attempt", s.Status)
	case s.Status == StatusSent && s.SentAt.IsZero(), s.Status == StatusFailed && s.FailedAt.IsZero():
		return Message{}, invalid("a %s message without its time", s.Status)
	}
	return Message{s: s}, nil
}

// Snapshot returns the message's state.
func (m *Message) Snapshot() Snapshot { return m.s }

// ID is the message's ID.
func (m *Message) ID() string { return m.s.ID }

// OrderID is the order the message is about.
func (m *Message) OrderID() string { return m.s.OrderID }

// CustomerID is the customer the message is for; its owner.
func (m *Message) CustomerID() string { return m.s.CustomerID }

// Kind is what the message tells.
func (m *Message) Kind() Kind { return m.s.Kind }

// Ref tells apart several messages of one kind for one order.
func (m *Message) Ref() string { return m.s.Ref }

// To is the email address the message goes to.
func (m *Message) To() string { return m.s.To }

// Content is the rendered subject and bodies.
func (m *Message) Content() Content { return m.s.Content }

// Status is where the message is.
func (m *Message) Status() Status { return m.s.Status }

// Attempts counts the sends started.
func (m *Message) Attempts() int { return m.s.Attempts }

// NextAttemptAt is when a pending message is due; zero once final.
func (m *Message) NextAttemptAt() time.Time { return m.s.NextAttemptAt }

// LastError is why the last attempt failed.
func (m *Message) LastError() string { return m.s.LastError }

// CreatedAt is when the message was rendered.
func (m *Message) CreatedAt() time.Time { return m.s.CreatedAt }

// UpdatedAt is when the message last changed.
func (m *Message) UpdatedAt() time.Time { return m.s.UpdatedAt }

// SentAt is when the provider accepted the message; zero before.
func (m *Message) SentAt() time.Time { return m.s.SentAt }

// FailedAt is when the message was given up on; zero unless failed.
func (m *Message) FailedAt() time.Time { return m.s.FailedAt }

// Version identifies this state of the message.
func (m *Message) Version() int64 { return m.s.Version }

// Due reports whether the message is pending and due at now.
func (m *Message) Due(now time.Time) bool {
	return m.s.Status == StatusPending && !now.Before(m.s.NextAttemptAt)
}

// Claim starts an attempt to send a due message: it counts the attempt and
// holds the message until until, so that no other sender takes it
// meanwhile. If the attempt is never finished (the process died), the
// message is due again at until. Errors: ErrNotDue, *TransitionError for a
// final message.
func (m *Message) Claim(now, until time.Time) error {
	if m.s.Status.Final() {
		return &TransitionError{From: m.s.Status, To: StatusPending}
	}
	if !m.Due(now) {
		return fmt.Errorf("%w: message %s is due at %s", ErrNotDue, m.s.ID, m.s.NextAttemptAt.Format(time.RFC3339Nano))
	}
	if !until.After(now) {
		return invalid("a claim must hold the message for some time")
	}
	m.s.Attempts++
	m.s.NextAttemptAt, m.s.UpdatedAt, m.dirty = until, now, true
	return nil
}

// MarkSent records that the provider accepted the message, with its
// MessageSent event. Marking a sent message again changes nothing; a
// failed message is a *TransitionError.
func (m *Message) MarkSent(now time.Time) error {
	switch m.s.Status {
	case StatusSent:
		return nil
	case StatusFailed:
		return &TransitionError{From: m.s.Status, To: StatusSent}
	}
	s := &m.s
	s.Status, s.SentAt, s.UpdatedAt, s.NextAttemptAt, s.LastError = StatusSent, now, now, time.Time{}, ""
	m.pending = append(m.pending, MessageSent{MessageID: s.ID, OrderID: s.OrderID, CustomerID: s.CustomerID, Kind: s.Kind,
		Attempts: s.Attempts, OccurredAt: now})
	m.dirty = true
	return nil
}

// Retry keeps a pending message for another attempt at at, remembering
// why this one failed. A final message is a *TransitionError.
func (m *Message) Retry(now, at time.Time, reason string) error {
	if m.s.Status.Final() {
		return &TransitionError{From: m.s.Status, To: StatusPending}
	}
	m.s.NextAttemptAt, m.s.UpdatedAt, m.s.LastError, m.dirty = at, now, Clean(reason, MaxReasonLength), true
	return nil
}

// Fail gives the message up, with its MessageFailed event. Failing a
// failed message changes nothing; a sent message is a *TransitionError.
func (m *Message) Fail(now time.Time, reason string) error {
	switch m.s.Status {
	case StatusFailed:
		return nil
	case StatusSent:
		return &TransitionError{From: m.s.Status, To: StatusFailed}
	}
	s := &m.s
	s.Status, s.FailedAt, s.UpdatedAt, s.NextAttemptAt, s.LastError = StatusFailed, now, now, time.Time{}, Clean(reason, MaxReasonLength)
	m.pending = append(m.pending, MessageFailed{MessageID: s.ID, OrderID: s.OrderID, CustomerID: s.CustomerID, Kind: s.Kind,
		Attempts: s.Attempts, Reason: s.LastError, OccurredAt: now})
	m.dirty = true
	return nil
}

// Changed reports whether the message has changes not yet stored.
func (m *Message) Changed() bool { return m.dirty }

// Events returns the events of the changes not yet stored.
func (m *Message) Events() []Event { return slices.Clone(m.pending) }

// Stored clears the pending changes and moves to the next version;
// adapters call it after they stored the changes.
func (m *Message) Stored() {
	if m.dirty {
		m.s.Version++
	}
	m.dirty, m.pending = false, nil
}
