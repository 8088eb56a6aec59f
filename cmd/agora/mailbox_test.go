package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/platform/auth"
)

// fakeMailboxAPI serves the mailbox operations of the notification API
// from a fixed list, recording the queries and tokens it gets.
type fakeMailboxAPI struct {
	mu      sync.Mutex
	queries []string
	tokens  []string
}

func (f *fakeMailboxAPI) serve(t *testing.T) string {
	t.Helper()
	emails := []map[string]any{
		{"id": "11111111-1111-5111-8111-111111111111", "order_id": "o-1", "kind": "order_shipped", "to": "ada@example.com", "subject": "Your order o-1 is on its way",
			"text": "Hello,\n\nTracking number: AG1\n", "html": "<p>Tracking number: AG1</p>", "received_at": "2030-01-02T03:04:05Z"},
		{"id": "22222222-2222-5222-8222-222222222222", "to": "ada@example.com", "subject": "We received your order o-1",
			"text": "Hello,\n\nThank you.", "html": "<p>Thank you.</p>", "received_at": "2030-01-02T03:00:00Z"},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.queries = append(f.queries, r.URL.RawQuery)
		f.tokens = append(f.tokens, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/v1/mailbox/messages":
			// One email per page, to exercise the paging.
			page := map[string]any{"items": emails[:1], "next_cursor": "c2"}
			if r.URL.Query().Get("cursor") == "c2" {
				page = map[string]any{"items": emails[1:]}
			}
			_ = json.NewEncoder(w).Encode(page)
		case r.URL.Path == "/v1/mailbox/messages/"+emails[0]["id"].(string):
			_ = json.NewEncoder(w).Encode(emails[0])
		default:
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"type":"https://agora.dev/problems/notification/message-not-found","title":"Message not found","status":404,"detail":"no message has this ID"}`))
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestMailboxList(t *testing.T) {
	t.Parallel()
	api := &fakeMailboxAPI{}
	url := api.serve(t)
	dir := t.TempDir()
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"mailbox", "list", "--url", url, "--to", "ada@example.com",
		"--data-dir", dir, "--env", "local"}, &out, &out))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 3)
	require.Regexp(t, `^ID\s+RECEIVED\s+TO\s+ORDER\s+SUBJECT$`, lines[0])
	require.Regexp(t, `^11111111-1111-5111-8111-111111111111\s+2030-01-02T03:04:05Z\s+ada@example.com\s+o-1\s+Your order o-1 is on its way$`, lines[1])
	require.Regexp(t, `\s-\s+We received your order o-1$`, lines[2], "an email without its order")
	require.Equal(t, []string{"limit=20&to=ada%40example.com", "cursor=c2&limit=19&to=ada%40example.com"}, api.queries)

	// The token was minted from the data directory with notifications:read.
	p, err := verifierFor(t, dir).Verify(context.Background(), api.tokens[0])
	require.NoError(t, err)
	require.Equal(t, []string{auth.ScopeNotifications}, p.Scopes)

	out.Reset()
	require.NoError(t, run(context.Background(), []string{"mailbox", "list", "--url", url, "--token", "given", "--limit", "1", "--json"}, &out, &out))
	var listed []map[string]any
	require.NoError(t, json.Unmarshal(out.Bytes(), &listed))
	require.Len(t, listed, 1)
	require.Equal(t, "given", api.tokens[len(api.tokens)-1])
}

func TestMailboxShow(t *testing.T) {
	t.Parallel()
	url := (&fakeMailboxAPI{}).serve(t)
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"mailbox", "show", "11111111-1111-5111-8111-111111111111", "--url", url,
		"--token", "t"}, &out, &out))
	require.Equal(t, "ID:       11111111-1111-5111-8111-111111111111\nOrder:    o-1 (order_shipped)\nTo:       ada@example.com\n"+
		"Subject:  Your order o-1 is on its way\n"+
		"Received: 2030-01-02T03:04:05Z\n\nHello,\n\nTracking number: AG1\n", out.String())
	out.Reset()
	require.NoError(t, run(context.Background(), []string{"mailbox", "show", "11111111-1111-5111-8111-111111111111", "--html", "--url", url,
		"--token", "t"}, &out, &out))
	require.True(t, strings.HasSuffix(out.String(), "\n\n<p>Tracking number: AG1</p>\n"))

	out.Reset()
	err := run(context.Background(), []string{"mailbox", "show", "33333333-3333-5333-8333-333333333333", "--url", url, "--token", "t"}, &out, &out)
	require.ErrorContains(t, err, "404 Message not found: no message has this ID")
}

func TestMailboxRefusals(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"limit", []string{"list", "--limit", "0", "--token", "t"}, "--limit must be 1-1000"},
		{"url", []string{"list", "--url", "ftp://x", "--token", "t"}, "is not an http(s) URL"},
		{"timeout", []string{"list", "--timeout", "0s", "--token", "t"}, "--timeout must be positive"},
		{"production", []string{"list", "--env", "production", "--data-dir", t.TempDir()}, "or pass --token"},
		{"no id", []string{"show"}, "accepts 1 arg"},
		{"no server", []string{"list", "--url", "http://127.0.0.1:1", "--token", "t"}, "mailbox list:"},
	} {
		var out bytes.Buffer
		err := run(context.Background(), append([]string{"mailbox"}, c.args...), &out, &out)
		require.ErrorContains(t, err, c.want, c.name)
	}
}
