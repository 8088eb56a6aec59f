package notification

import "time"

// Event is a domain event of a message. Key is the message ID, so that one
// message's events stay in order.
type Event interface {
	Key() string
	isEvent()
}

// MessageSent: the email provider accepted the message.
type MessageSent struct {
	MessageID  string
	OrderID    string
	CustomerID string
	Kind       Kind
	Attempts   int
	OccurredAt time.Time
}

// MessageFailed: the message was given up on.
type MessageFailed struct {
	MessageID  string
	OrderID    string
	CustomerID string
	Kind       Kind
	Attempts   int
	Reason     string
	OccurredAt time.Time
}

// Key implements Event.
func (e MessageSent) Key() string { return e.MessageID }

// Key implements Event.
func (e MessageFailed) Key() string { return e.MessageID }

func (MessageSent) isEvent()   {}
func (MessageFailed) isEvent() {}
