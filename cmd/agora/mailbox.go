package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/auth/devissuer"
)

// Defaults of `agora mailbox`.
const (
	defaultMailboxURL  = "http://127.0.0.1:8080"
	maxMailboxResponse = 8 << 20
)

// mailboxFlags are the flags every mailbox subcommand shares.
type mailboxFlags struct {
	url, token, dataDir, env, issuer string
	timeout                          time.Duration
	asJSON                           bool
}

// mailboxMessage is one email as the notification API returns it.
type mailboxMessage struct {
	ID         string    `json:"id"`
	OrderID    string    `json:"order_id,omitempty"`
	Kind       string    `json:"kind,omitempty"`
	To         string    `json:"to"`
	Subject    string    `json:"subject"`
	Text       string    `json:"text"`
	HTML       string    `json:"html"`
	ReceivedAt time.Time `json:"received_at"`
}

type mailboxPage struct {
	Items      []mailboxMessage `json:"items"`
	NextCursor string           `json:"next_cursor"`
}

// newMailboxCmd reads the local mailbox of the notification service: the
// emails it sends in local mode, kept in its database instead of handed to
// a provider.
func newMailboxCmd() *cobra.Command {
	f := &mailboxFlags{}
	cmd := &cobra.Command{
		Use:   "mailbox",
		Short: "Read the local mailbox of the notification service",
		Long: `In local mode the notification service keeps the emails it sends in a
mailbox in its own database instead of handing them to a provider. These
commands read it through the notification API (GET /v1/mailbox/messages),
with a token of the development issuer that has notifications:read (minted
from the data directory, the way 'agora token' does) or the one --token
gives.`,
		Example: `  agora mailbox list --to ada@example.com
  agora mailbox show 5b1f4a4e-0c2d-5e8f-9a6b-3c4d5e6f7a8b --url http://127.0.0.1:18080`,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.url, "url", envOr("AGORA_URL", defaultMailboxURL), "base URL of the notification API (AGORA_URL)")
	pf.StringVar(&f.token, "token", "", "bearer token to send (default: mint one with the development issuer)")
	pf.StringVar(&f.dataDir, "data-dir", envOr("AGORA_DATA_DIR", defaultDataDir), "data directory of the development issuer (AGORA_DATA_DIR)")
	pf.StringVar(&f.env, "env", envOr("AGORA_ENV", defaultEnv), "environment mode; minting is allowed in local and development only (AGORA_ENV)")
	pf.StringVar(&f.issuer, "issuer", envOr("AGORA_AUTH_ISSUER", defaultIssuer), "issuer URL written into a minted token (AGORA_AUTH_ISSUER)")
	pf.DurationVar(&f.timeout, "timeout", 10*time.Second, "give up after this long")
	pf.BoolVar(&f.asJSON, "json", false, "print JSON instead of text")
	cmd.AddCommand(newMailboxListCmd(f), newMailboxShowCmd(f))
	return cmd
}

func newMailboxListCmd(f *mailboxFlags) *cobra.Command {
	var (
		to    string
		limit int
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the emails of the mailbox, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 1 || limit > 1000 {
				return fmt.Errorf("mailbox list: --limit must be 1-1000, got %d", limit)
			}
			ctx, client, err := f.open(cmd.Context())
			if err != nil {
				return err
			}
			defer client.done()
			var items []mailboxMessage
			cursor := ""
			for len(items) < limit {
				q := url.Values{"limit": {strconv.Itoa(min(limit-len(items), 100))}}
				if to != "" {
					q.Set("to", to)
				}
				if cursor != "" {
					q.Set("cursor", cursor)
				}
				var page mailboxPage
				if err := client.get(ctx, "/v1/mailbox/messages?"+q.Encode(), &page); err != nil {
					return fmt.Errorf("mailbox list: %w", err)
				}
				items = append(items, page.Items...)
				if cursor = page.NextCursor; cursor == "" {
					break
				}
			}
			out := cmd.OutOrStdout()
			if f.asJSON {
				if items == nil {
					items = []mailboxMessage{}
				}
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(items)
			}
			if len(items) == 0 {
				_, err := fmt.Fprintln(out, "The mailbox is empty.")
				return err
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			_, _ = fmt.Fprintln(tw, "ID\tRECEIVED\tTO\tORDER\tSUBJECT")
			for _, m := range items {
				order := m.OrderID
				if order == "" {
					order = "-"
				}
				_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.ID, m.ReceivedAt.UTC().Format(time.RFC3339), m.To, order, m.Subject)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "only the emails sent to this address")
	cmd.Flags().IntVar(&limit, "limit", 20, "list at most this many emails (1-1000)")
	return cmd
}

func newMailboxShowCmd(f *mailboxFlags) *cobra.Command {
	var html bool
	cmd := &cobra.Command{
		Use:   "show <message_id>",
		Short: "Print one email of the mailbox",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, client, err := f.open(cmd.Context())
			if err != nil {
				return err
			}
			defer client.done()
			var m mailboxMessage
			if err := client.get(ctx, "/v1/mailbox/messages/"+url.PathEscape(args[0]), &m); err != nil {
				return fmt.Errorf("mailbox show: %w", err)
			}
			out := cmd.OutOrStdout()
			if f.asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(m)
			}
			body := m.Text
			if html {
				body = m.HTML
			}
			header := "ID:       " + m.ID + "\n"
			if m.OrderID != "" {
				header += "Order:    " + m.OrderID + " (" + m.Kind + ")\n"
			}
			_, err = fmt.Fprintf(out, "%sTo:       %s\nSubject:  %s\nReceived: %s\n\n%s", header, m.To, m.Subject,
				m.ReceivedAt.UTC().Format(time.RFC3339), body)
			if err == nil && !strings.HasSuffix(body, "\n") {
				_, err = fmt.Fprintln(out)
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&html, "html", false, "print the HTML body instead of the text body")
	return cmd
}

// mailboxClient calls the notification API with one bearer token.
type mailboxClient struct {
	base   *url.URL
	token  string
	http   *http.Client
	cancel context.CancelFunc
}

func (c *mailboxClient) done() { c.cancel() }

// open checks the shared flags, gets a token and returns a client.
func (f *mailboxFlags) open(ctx context.Context) (context.Context, *mailboxClient, error) {
	base, err := url.Parse(strings.TrimRight(f.url, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, nil, fmt.Errorf("mailbox: --url %q is not an http(s) URL", f.url)
	}
	if f.timeout <= 0 {
		return nil, nil, fmt.Errorf("mailbox: --timeout must be positive, got %s", f.timeout)
	}
	token := f.token
	if token == "" {
		iss, err := devissuer.New(devissuer.Config{Mode: f.env, DataDir: f.dataDir, Issuer: f.issuer})
		if err != nil {
			return nil, nil, fmt.Errorf("mailbox: mint a token (or pass --token): %w", err)
		}
		if token, err = iss.Mint(adminSubject, []string{auth.ScopeNotifications}, 5*time.Minute); err != nil {
			return nil, nil, fmt.Errorf("mailbox: mint a token: %w", err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	return ctx, &mailboxClient{base: base, token: token, http: &http.Client{Timeout: f.timeout}, cancel: cancel}, nil
}

// problemDoc is the part of an RFC 9457 problem the CLI prints.
type problemDoc struct {
	Title  string `json:"title"`
	Detail string `json:"detail"`
}

// get fetches path (with its query) and decodes the JSON answer into v; an
// error answer becomes an error naming the status and the problem.
func (c *mailboxClient) get(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base.String()+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxMailboxResponse))
	if err != nil {
		return fmt.Errorf("read the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var p problemDoc
		if json.Unmarshal(body, &p) == nil && p.Title != "" {
			if p.Detail != "" {
				return fmt.Errorf("%d %s: %s", resp.StatusCode, p.Title, p.Detail)
			}
			return fmt.Errorf("%d %s", resp.StatusCode, p.Title)
		}
		return fmt.Errorf("the API answered %s", resp.Status)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("decode the answer: %w", err)
	}
	return nil
}
