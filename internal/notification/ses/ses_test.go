package ses_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/notification/app"
	"github.com/agoracommerce/agora/internal/notification/ses"
	"github.com/agoracommerce/agora/internal/platform/fault"
	"github.com/agoracommerce/agora/internal/testenv"
)

func email(to, subject string) app.Email {
	return app.Email{ID: uuid.NewString(), To: to, Subject: subject, Text: "Hello,\n\n" + subject + ".\n", HTML: "<p>" + subject + "</p>"}
}

// sentCount reads how many recipients the emulator's SES has sent to (the
// SES v1 GetSendQuota action, which moto also serves for mail sent through
// the v2 API). The emulator's /moto-api/data.json dump would show the mails
// themselves, but it serialises every resource of the shared emulator and
// is far too slow once other suites have used it.
func sentCount(t *testing.T, emu testenv.AWS) float64 {
	t.Helper()
	form := url.Values{"Action": {"GetSendQuota"}, "Version": {"2010-12-01"}}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, emu.Endpoint, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+emu.AccessKey+"/20250101/"+emu.Region+"/ses/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	var out struct {
		Sent float64 `xml:"GetSendQuotaResult>SentLast24Hours"`
	}
	require.NoError(t, xml.Unmarshal(body, &out))
	return out.Sent
}

func TestSendThroughSES(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	emu := testenv.AWSEmulator(t)
	awsCfg, err := emu.Config(ctx)
	require.NoError(t, err)
	client := sesv2.NewFromConfig(awsCfg)
	domain := "t" + strings.ReplaceAll(uuid.NewString(), "-", "")[:12] + ".example.com"
	from := "orders@" + domain
	_, err = client.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(from)})
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = client.DeleteEmailIdentity(context.Background(), &sesv2.DeleteEmailIdentityInput{EmailIdentity: aws.String(from)})
	})

	sender, err := ses.New(client, ses.Config{From: "Agora <" + from + ">"})
	require.NoError(t, err)
	e := email("ada@example.com", "Your order is confirmed – 2 items")
	before := sentCount(t, emu)
	require.NoError(t, sender.Send(ctx, e))
	require.NoError(t, sender.Send(ctx, e), "a repeat is accepted")

	require.GreaterOrEqual(t, sentCount(t, emu)-before, float64(2), "both sends reached SES")

	// A sender address SES has not verified is a permanent rejection.
	unverified, err := ses.New(client, ses.Config{From: "nobody@" + domain + ".invalid"})
	require.NoError(t, err)
	err = unverified.Send(ctx, email("ada@example.com", "Hello"))
	require.ErrorIs(t, err, ses.ErrRejected)
	require.True(t, fault.IsPermanent(err), "%v", err)
}

// The raw message carries the message ID in its headers, the subject
// encoded, and both bodies as alternatives.
func TestRawMessage(t *testing.T) {
	t.Parallel()
	api := &fakeAPI{}
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	sender, err := ses.New(api, ses.Config{From: "Agora <orders@shop.example>", Now: func() time.Time { return at }})
	require.NoError(t, err)
	e := email("ada@example.com", "Your order is confirmed – 2 items")
	e.HTML = "<p>Total: 29,00 €</p>"
	require.NoError(t, sender.Send(context.Background(), e))
	require.NoError(t, sender.Send(context.Background(), e))
	require.Len(t, api.sent, 2)
	require.Equal(t, `"Agora" <orders@shop.example>`, aws.ToString(api.sent[0].FromEmailAddress))

	msg, err := mail.ReadMessage(bytes.NewReader(api.sent[0].Content.Raw.Data))
	require.NoError(t, err)
	require.Equal(t, e.ID, msg.Header.Get(ses.HeaderMessageID))
	require.Equal(t, "<"+e.ID+"@shop.example>", msg.Header.Get("Message-Id"))
	again, err := mail.ReadMessage(bytes.NewReader(api.sent[1].Content.Raw.Data))
	require.NoError(t, err)
	require.Equal(t, msg.Header.Get("Message-Id"), again.Header.Get("Message-Id"), "a resend is the same message")
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	require.NoError(t, err)
	require.Equal(t, e.Subject, subject)
	date, err := msg.Header.Date()
	require.NoError(t, err)
	require.True(t, date.Equal(at))

	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	require.NoError(t, err)
	require.Equal(t, "multipart/alternative", mediaType)
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var parts []string
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		body, err := io.ReadAll(p) // quoted-printable is decoded by the reader
		require.NoError(t, err)
		parts = append(parts, p.Header.Get("Content-Type")+"|"+strings.ReplaceAll(string(body), "\r\n", "\n")) // lines end in CRLF on the wire
	}
	require.Equal(t, []string{"text/plain; charset=utf-8|" + e.Text, "text/html; charset=utf-8|" + e.HTML}, parts)
}

// fakeAPI answers SendEmail with err.
type fakeAPI struct {
	err  error
	sent []*sesv2.SendEmailInput
}

func (f *fakeAPI) SendEmail(_ context.Context, in *sesv2.SendEmailInput, _ ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error) {
	f.sent = append(f.sent, in)
	if f.err != nil {
		return nil, f.err
	}
	return &sesv2.SendEmailOutput{MessageId: aws.String("m-1")}, nil
}

func TestErrorMapping(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		err       error
		retryable bool
	}{
		"message rejected":              {&types.MessageRejected{Message: aws.String("Email address is not verified.")}, false},
		"mail from domain not verified": {&types.MailFromDomainNotVerifiedException{}, false},
		"bad request":                   {&types.BadRequestException{}, false},
		"too many requests":             {&types.TooManyRequestsException{}, true},
		"limit exceeded":                {&types.LimitExceededException{}, true},
		"sending paused":                {&types.SendingPausedException{}, true},
		"server fault":                  {&smithy.GenericAPIError{Code: "InternalFailure", Fault: smithy.FaultServer}, true},
		"timeout":                       {context.DeadlineExceeded, true},
		"network":                       {errors.New("dial tcp: connection refused"), true},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sender, err := ses.New(&fakeAPI{err: fmt.Errorf("operation error SESv2: SendEmail: %w", tc.err)}, ses.Config{From: "orders@shop.example"})
			require.NoError(t, err)
			err = sender.Send(context.Background(), email("ada@example.com", "Hi"))
			require.Error(t, err)
			require.Equal(t, tc.retryable, fault.IsRetryable(err), "%v", err)
			require.Equal(t, !tc.retryable, fault.IsPermanent(err), "%v", err)
		})
	}
}

func TestBadEmailsAreRefusedBeforeSES(t *testing.T) {
	t.Parallel()
	api := &fakeAPI{}
	sender, err := ses.New(api, ses.Config{From: "orders@shop.example", ConfigurationSet: "agora"})
	require.NoError(t, err)
	good := email("ada@example.com", "Subject")
	for name, mut := range map[string]func(e *app.Email){
		"no ID":              func(e *app.Email) { e.ID = "" },
		"an ID not a UUID":   func(e *app.Email) { e.ID = "message-1" },
		"no address":         func(e *app.Email) { e.To = "" },
		"a bad address":      func(e *app.Email) { e.To = "not an address" },
		"a display name":     func(e *app.Email) { e.To = "Ada <ada@example.com>" },
		"no subject":         func(e *app.Email) { e.Subject = "" },
		"a two-line subject": func(e *app.Email) { e.Subject = "one\r\nBcc: eve@example.com" },
		"no body":            func(e *app.Email) { e.Text, e.HTML = " ", "" },
		"a huge body":        func(e *app.Email) { e.HTML = strings.Repeat("x", 2<<20) },
	} {
		e := good
		mut(&e)
		err := sender.Send(context.Background(), e)
		require.ErrorIs(t, err, ses.ErrRejected, name)
		require.True(t, fault.IsPermanent(err), name)
	}
	require.Empty(t, api.sent)
	require.NoError(t, sender.Send(context.Background(), good))
	require.Len(t, api.sent, 1)
	require.Equal(t, "agora", aws.ToString(api.sent[0].ConfigurationSetName))
	require.Equal(t, []string{"ada@example.com"}, api.sent[0].Destination.ToAddresses)

	_, err = ses.New(api, ses.Config{From: "not an address"})
	require.Error(t, err)
	_, err = ses.New(nil, ses.Config{From: "orders@shop.example"})
	require.Error(t, err)
}
