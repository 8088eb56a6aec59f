package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/agoracommerce/agora/internal/notification"
	"github.com/agoracommerce/agora/internal/platform/fault"
)

// Report counts what one Dispatch did.
type Report struct {
	// Sent: accepted by the provider and marked sent (MessageSent).
	Sent int
	// Retried: failed retryably and kept pending for a later attempt.
	Retried int
	// Failed: refused for good, or out of attempts (MessageFailed).
	Failed int
}

// Dispatch sends every pending message that is due, in batches, until none
// is left due. Each message is claimed first (so that concurrent
// dispatchers, in this process or another, never send it at the same
// time), then sent through the EmailSender and marked:
//
//   - accepted: sent, publishing MessageSent in the same transaction;
//   - a retryable error: kept pending, tried again after a backoff, until
//     MaxAttempts attempts were made;
//   - a permanent error, or the attempts used up: failed, publishing
//     MessageFailed.
//
// The boundary of exactly-once is the provider call: if the process stops
// after Send succeeded and before the mark is stored, the claim lapses and
// the message is sent again with the same ID (see EmailSender).
//
// Dispatch stops at the first storage error and when ctx ends; a message
// whose send was cut short by ctx stays claimed and is tried again when
// its claim lapses.
func (s *Service) Dispatch(ctx context.Context) (Report, error) {
	var rep Report
	for {
		now := s.now()
		claimed, err := s.repo.Claim(ctx, now, now.Add(2*s.sendTimeout), s.batch)
		if err != nil {
			return rep, fmt.Errorf("dispatch: claim: %w", err)
		}
		for _, m := range claimed {
			if err := s.deliver(ctx, m, &rep); err != nil {
				return rep, err
			}
		}
		if len(claimed) < s.batch {
			return rep, nil
		}
	}
}

// deliver sends one claimed message and stores the outcome.
func (s *Service) deliver(ctx context.Context, m notification.Message, rep *Report) error {
	if m.Attempts() > s.maxAttempts {
		// Claimed again after attempts that never finished (the process
		// stopped mid-send each time).
		reason := fmt.Sprintf("gave up after %d unfinished attempts", s.maxAttempts)
		return s.finish(ctx, m.ID(), &rep.Failed, func(msg *notification.Message) error { return msg.Fail(s.now(), reason) })
	}
	c := m.Content()
	sendCtx, cancel := context.WithTimeout(ctx, s.sendTimeout)
	err := s.sender.Send(sendCtx, Email{ID: m.ID(), To: m.To(), Subject: c.Subject, Text: c.Text, HTML: c.HTML})
	cancel()
	if err != nil && ctx.Err() != nil {
		return ctx.Err() // stopping: the claim lapses and a later round sends it
	}
	now := s.now()
	switch {
	case err == nil:
		return s.finish(ctx, m.ID(), &rep.Sent, func(msg *notification.Message) error { return msg.MarkSent(now) })
	case fault.IsRetryable(err) && m.Attempts() < s.maxAttempts:
		at := now.Add(s.backoff(m.Attempts()))
		return s.finish(ctx, m.ID(), &rep.Retried, func(msg *notification.Message) error { return msg.Retry(now, at, err.Error()) })
	default:
		reason := err.Error()
		if fault.IsRetryable(err) {
			reason = fmt.Sprintf("gave up after %d attempts: %s", m.Attempts(), reason)
		}
		return s.finish(ctx, m.ID(), &rep.Failed, func(msg *notification.Message) error { return msg.Fail(now, reason) })
	}
}

// finish stores the outcome of an attempt and counts it. A message another
// dispatcher finished meanwhile (its claim had lapsed) is left as that one
// stored it.
func (s *Service) finish(ctx context.Context, id string, count *int, fn func(*notification.Message) error) error {
	_, err := s.repo.Update(ctx, id, fn)
	switch {
	case errors.Is(err, notification.ErrInvalidTransition):
		return nil
	case err != nil:
		return fmt.Errorf("dispatch: store the outcome of message %s: %w", id, err)
	}
	*count++
	return nil
}
