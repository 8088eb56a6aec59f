package app

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Defaults of Config.
const (
	DefaultBatchSize    = 50
	DefaultMaxAttempts  = 8
	DefaultRetryInitial = 5 * time.Second
	DefaultRetryMax     = 30 * time.Minute
	DefaultSendTimeout  = 30 * time.Second
)

// ErrMailboxDisabled: the service sends through a real provider and has
// no local mailbox to read.
var ErrMailboxDisabled = errors.New("notification: the local mailbox is not enabled")

// Config tunes the Service. The zero value is valid.
type Config struct {
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// BatchSize bounds the messages one dispatch claims at a time;
	// DefaultBatchSize when 0.
	BatchSize int
	// MaxAttempts bounds the sends of one message; after the last failed
	// one the message fails. DefaultMaxAttempts when 0.
	MaxAttempts int
	// RetryInitial and RetryMax bound the wait before another attempt: it
	// doubles from RetryInitial with every attempt up to RetryMax, with
	// jitter. Defaults DefaultRetryInitial and DefaultRetryMax.
	RetryInitial, RetryMax time.Duration
	// Backoff, when set, replaces that schedule: the wait after the
	// attempt-th failed attempt.
	Backoff func(attempt int) time.Duration
	// SendTimeout bounds one Send; DefaultSendTimeout when 0. A claim
	// holds a message for twice as long, so a send in flight is never
	// taken by another sender.
	SendTimeout time.Duration
	// Mailbox reads the local mailbox when the EmailSender is one; nil
	// with a real provider (the mailbox reads then fail with
	// ErrMailboxDisabled).
	Mailbox MailboxReader
}

// Validate reports a bad setting.
func (c Config) Validate() error {
	switch {
	case c.BatchSize < 0, c.MaxAttempts < 0, c.RetryInitial < 0, c.RetryMax < 0, c.SendTimeout < 0:
		return errors.New("notification app: settings must not be negative")
	case c.RetryInitial > 0 && c.RetryMax > 0 && c.RetryMax < c.RetryInitial:
		return fmt.Errorf("notification app: RetryMax %s is below RetryInitial %s", c.RetryMax, c.RetryInitial)
	}
	return nil
}

// Service runs the notification use cases. Safe for concurrent use.
type Service struct {
	repo        Repository
	sender      EmailSender
	mailbox     MailboxReader
	now         func() time.Time
	batch       int
	maxAttempts int
	backoff     func(attempt int) time.Duration
	sendTimeout time.Duration
}

// New returns the Service over repo, sending through sender.
func New(repo Repository, sender EmailSender, cfg Config) (*Service, error) {
	if repo == nil || sender == nil {
		return nil, errors.New("notification app: a Repository and an EmailSender are required")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.BatchSize = or(cfg.BatchSize, DefaultBatchSize)
	cfg.MaxAttempts = or(cfg.MaxAttempts, DefaultMaxAttempts)
	cfg.RetryInitial = or(cfg.RetryInitial, DefaultRetryInitial)
	cfg.RetryMax = or(cfg.RetryMax, max(DefaultRetryMax, cfg.RetryInitial))
	cfg.SendTimeout = or(cfg.SendTimeout, DefaultSendTimeout)
	if cfg.Backoff == nil {
		cfg.Backoff = exponential(cfg.RetryInitial, cfg.RetryMax)
	}
	return &Service{repo: repo, sender: sender, mailbox: cfg.Mailbox, now: cfg.Now, batch: cfg.BatchSize,
		maxAttempts: cfg.MaxAttempts, backoff: cfg.Backoff, sendTimeout: cfg.SendTimeout}, nil
}

func or[T comparable](v, fallback T) T {
	var zero T
	if v == zero {
		return fallback
	}
	return v
}

// exponential waits initial after the first failed attempt, doubling up to
// maxWait, each wait drawn from its upper half so that messages failed
// together spread out.
func exponential(initial, maxWait time.Duration) func(int) time.Duration {
	return func(attempt int) time.Duration {
		d := initial
		for i := 1; i < attempt && d < maxWait; i++ {
			d *= 2
		}
		d = min(d, maxWait)
		half := d / 2
		return half + rand.N(half+1) // #nosec G404 -- jitter, not a secret
	}
}
