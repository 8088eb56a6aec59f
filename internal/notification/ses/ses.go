// Package ses is the notification service's email adapter for Amazon SES
// (the v2 API). It sends each email as a raw MIME message — text and HTML
// alternatives — carrying the message's ID in an X-Agora-Message-Id header
// and in the Message-ID header, so that a repeat send of one message (the
// dispatcher's at-least-once delivery) is recognisable to mail clients and
// to anyone reading the sent mail. It implements the app's EmailSender
// port and maps SES errors to retryable (throttling, service faults,
// network failures) and permanent ones (a rejected message, an unverified
// sending domain, bad input).
package ses

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/agoracommerce/agora/internal/notification"
	"github.com/agoracommerce/agora/internal/notification/app"
	"github.com/agoracommerce/agora/internal/platform/fault"
)

// HeaderMessageID is the header carrying the notification's message ID.
const HeaderMessageID = "X-Agora-Message-Id"

// MaxBodyBytes bounds each body of an email, like the local mailbox.
const MaxBodyBytes = 1 << 20

// ErrRejected: the email is refused for good, by this adapter (bad input)
// or by SES. Errors wrapping it are marked fault.Permanent.
var ErrRejected = errors.New("ses: email rejected")

// API is the part of the SES v2 client the Sender calls; *sesv2.Client
// implements it.
type API interface {
	SendEmail(ctx context.Context, in *sesv2.SendEmailInput, opts ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error)
}

var _ API = (*sesv2.Client)(nil)

// Config configures a Sender.
type Config struct {
	// From is the sender address, an identity verified in SES (for
	// example "Agora <orders@shop.example>"). Required.
	From string
	// ConfigurationSet, when set, is the SES configuration set of every
	// email (event publishing, dedicated IPs).
	ConfigurationSet string
	// Domain is the right-hand side of the Message-ID header; the From
	// address's domain when empty.
	Domain string
	// Now stamps the Date header; time.Now when nil.
	Now func() time.Time
}

// Sender sends emails through SES. Safe for concurrent use.
type Sender struct {
	api    API
	cfg    Config
	from   *mail.Address
	domain string
}

var _ app.EmailSender = (*Sender)(nil)

// New returns a Sender over api.
func New(api API, cfg Config) (*Sender, error) {
	if api == nil {
		return nil, errors.New("ses: an SES client is required")
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("ses: sender address %q: %w", cfg.From, err)
	}
	domain := cfg.Domain
	if domain == "" {
		_, domain, _ = strings.Cut(from.Address, "@")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Sender{api: api, cfg: cfg, from: from, domain: domain}, nil
}

// NewFromConfig returns a Sender using an SES client built from awsCfg.
func NewFromConfig(awsCfg aws.Config, cfg Config, opts ...func(*sesv2.Options)) (*Sender, error) {
	return New(sesv2.NewFromConfig(awsCfg, opts...), cfg)
}

func rejected(format string, args ...any) error {
	return fault.Permanent(fmt.Errorf("%w: %s", ErrRejected, fmt.Sprintf(format, args...)))
}

// Send implements app.EmailSender.
func (s *Sender) Send(ctx context.Context, e app.Email) error {
	if err := notification.ValidateMessageID(e.ID); err != nil {
		return rejected("%v", err)
	}
	if err := notification.ValidateEmail(e.To); err != nil {
		return rejected("%v", err)
	}
	if e.Subject == "" || notification.Clean(e.Subject, notification.MaxSubjectLength) != e.Subject {
		return rejected("the subject must be one line of 1-%d characters", notification.MaxSubjectLength)
	}
	if strings.TrimSpace(e.Text) == "" && strings.TrimSpace(e.HTML) == "" {
		return rejected("the email has no body")
	}
	if len(e.Text) > MaxBodyBytes || len(e.HTML) > MaxBodyBytes {
		return rejected("a body is larger than %d bytes", MaxBodyBytes)
	}
	raw, err := s.mime(e)
	if err != nil {
		return rejected("build the message: %v", err)
	}
	in := &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(s.from.String()),
		Destination:      &types.Destination{ToAddresses: []string{e.To}},
		Content:          &types.EmailContent{Raw: &types.RawMessage{Data: raw}},
		EmailTags:        []types.MessageTag{{Name: aws.String("agora-message-id"), Value: aws.String(e.ID)}},
	}
	if s.cfg.ConfigurationSet != "" {
		in.ConfigurationSetName = aws.String(s.cfg.ConfigurationSet)
	}
	if _, err := s.api.SendEmail(ctx, in); err != nil {
		return classify(fmt.Errorf("ses: send message %s: %w", e.ID, err))
	}
	return nil
}

// mime renders e as a multipart/alternative MIME message.
func (s *Sender) mime(e app.Email) ([]byte, error) {
	var b bytes.Buffer
	boundary, err := newBoundary()
	if err != nil {
		return nil, err
	}
	header := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	header("From", s.from.String())
	header("To", (&mail.Address{Address: e.To}).String())
	header("Subject", mime.QEncoding.Encode("utf-8", e.Subject))
	header("Date", s.cfg.Now().UTC().Format(time.RFC1123Z))
	header("Message-ID", "<"+e.ID+"@"+s.domain+">")
	header(HeaderMessageID, e.ID)
	header("MIME-Version", "1.0")
	header("Content-Type", `multipart/alternative; boundary="`+boundary+`"`)
	b.WriteString("\r\n")
	part := func(contentType, body string) error {
		fmt.Fprintf(&b, "--%s\r\nContent-Type: %s; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n", boundary, contentType)
		w := quotedprintable.NewWriter(&b)
		if _, err := w.Write([]byte(body)); err != nil {
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
		b.WriteString("\r\n")
		return nil
	}
	if strings.TrimSpace(e.Text) != "" {
		if err := part("text/plain", e.Text); err != nil {
			return nil, err
		}
	}
	if strings.TrimSpace(e.HTML) != "" {
		if err := part("text/html", e.HTML); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(&b, "--%s--\r\n", boundary)
	return b.Bytes(), nil
}

func newBoundary() (string, error) {
	var r [12]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", fmt.Errorf("boundary: %w", err)
	}
	return "agora-" + hex.EncodeToString(r[:]), nil
}

// classify marks an SES error. MessageRejected, an unverified MAIL FROM
// domain and other client errors (bad request, an unknown identity) are
// permanent: sending the same email again fails the same way. Throttling
// (TooManyRequests, LimitExceeded, SendingPaused, AccountSuspended clear
// up with time or an operator), service faults (5xx), timeouts and network
// failures are retryable.
func classify(err error) error {
	var (
		rejectedErr *types.MessageRejected
		mailFrom    *types.MailFromDomainNotVerifiedException
	)
	if errors.As(err, &rejectedErr) || errors.As(err, &mailFrom) {
		return fault.Permanent(fmt.Errorf("%w: %w", ErrRejected, err))
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "MessageRejected", "MailFromDomainNotVerifiedException", "MailFromDomainNotVerified":
			return fault.Permanent(fmt.Errorf("%w: %w", ErrRejected, err))
		case "TooManyRequestsException", "LimitExceededException", "Throttling", "ThrottlingException",
			"SendingPausedException", "AccountSuspendedException":
			return fault.Retryable(err)
		}
		var resp *smithyhttp.ResponseError
		if errors.As(err, &resp) && (resp.HTTPStatusCode() >= 500 || resp.HTTPStatusCode() == 429) {
			return fault.Retryable(err)
		}
		if api.ErrorFault() == smithy.FaultClient {
			return fault.Permanent(fmt.Errorf("%w: %w", ErrRejected, err))
		}
	}
	return fault.Retryable(err)
}
