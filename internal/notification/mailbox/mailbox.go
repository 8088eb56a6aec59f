// Package mailbox is the email adapter of local mode: instead of handing
// emails to a provider, it keeps them in a table of the service's own
// database (SQLite or PostgreSQL), where operators read them through the
// notification API or `agora mailbox`. It implements the app's EmailSender
// and MailboxReader ports.
//
// The mailbox keeps one email per message ID: sending an email again —
// what the dispatcher does when it stopped between a send and marking the
// message sent — leaves the first copy as it is, so even that case shows
// one email.
package mailbox

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/agoracommerce/agora/internal/notification"
	"github.com/agoracommerce/agora/internal/notification/app"
	"github.com/agoracommerce/agora/internal/platform/fault"
	"github.com/agoracommerce/agora/internal/platform/sqldb"
)

//go:embed migrations
var migrations embed.FS

// MaxBodyBytes bounds each body of an email the mailbox accepts.
const MaxBodyBytes = 1 << 20

// ErrRejected: the mailbox refuses the email for good (a bad address or
// content). Errors wrapping it are marked fault.Permanent.
var ErrRejected = errors.New("mailbox: email rejected")

// Mailbox is the local mailbox. Safe for concurrent use.
type Mailbox struct {
	db  *sqldb.DB
	now func() time.Time
}

var (
	_ app.EmailSender   = (*Mailbox)(nil)
	_ app.MailboxReader = (*Mailbox)(nil)
)

// Config tunes the Mailbox. The zero value is valid.
type Config struct {
	// Now stamps received emails; time.Now when nil.
	Now func() time.Time
}

// New migrates the mailbox table in db and returns the Mailbox.
func New(ctx context.Context, db *sqldb.DB, cfg Config) (*Mailbox, error) {
	if db == nil {
		return nil, errors.New("mailbox: a database is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := db.Migrate(ctx, migrations, "notification_mailbox"); err != nil {
		return nil, fmt.Errorf("mailbox: %w", err)
	}
	return &Mailbox{db: db, now: cfg.Now}, nil
}

func rejected(format string, args ...any) error {
	return fault.Permanent(fmt.Errorf("%w: %s", ErrRejected, fmt.Sprintf(format, args...)))
}

func dbErr(op string, err error) error {
	return fault.Retryable(fmt.Errorf("mailbox: %s: %w", op, err))
}

// Send implements app.EmailSender: it stores e unless the mailbox already
// has an email with its ID. A bad email is ErrRejected (permanent); a
// storage failure is retryable.
func (m *Mailbox) Send(ctx context.Context, e app.Email) error {
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
	_, err := m.db.ExecContext(ctx, m.db.Rebind(`INSERT INTO mailbox_messages
		(id, recipient, recipient_key, subject, body_text, body_html, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`),
		e.ID, e.To, strings.ToLower(e.To), e.Subject, e.Text, e.HTML, m.now().UnixMicro())
	if err != nil {
		return dbErr("store email "+e.ID, err)
	}
	return nil
}

const columns = `id, recipient, subject, body_text, body_html, received_at`

type rowScanner interface{ Scan(dest ...any) error }

func scan(row rowScanner) (app.MailboxMessage, error) {
	var (
		msg app.MailboxMessage
		at  int64
	)
	if err := row.Scan(&msg.ID, &msg.To, &msg.Subject, &msg.Text, &msg.HTML, &at); err != nil {
		return app.MailboxMessage{}, err
	}
	msg.ReceivedAt = time.UnixMicro(at).UTC()
	return msg, nil
}

// MailboxMessage implements app.MailboxReader.
func (m *Mailbox) MailboxMessage(ctx context.Context, id string) (app.MailboxMessage, error) {
	msg, err := scan(m.db.QueryRowContext(ctx, m.db.Rebind(`SELECT `+columns+` FROM mailbox_messages WHERE id = ?`), id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return app.MailboxMessage{}, fmt.Errorf("mailbox message %s: %w", id, notification.ErrNotFound)
	case err != nil:
		return app.MailboxMessage{}, dbErr("read email", err)
	}
	return msg, nil
}

// MailboxMessages implements app.MailboxReader. The cursor names the last
// email of the previous page (when it was received and its ID) and the
// address filter it was issued for.
func (m *Mailbox) MailboxMessages(ctx context.Context, to string, q app.PageQuery) (app.Page[app.MailboxMessage], error) {
	limit := max(q.Limit, 1)
	key := strings.ToLower(to)
	var (
		where []string
		args  []any
	)
	if key != "" {
		where, args = append(where, `recipient_key = ?`), append(args, key)
	}
	if q.Cursor != "" {
		at, id, err := decodeCursor(q.Cursor, key)
		if err != nil {
			return app.Page[app.MailboxMessage]{}, err
		}
		where, args = append(where, `(received_at < ? OR (received_at = ? AND id < ?))`), append(args, at, at, id)
	}
	query := `SELECT ` + columns + ` FROM mailbox_messages`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	rows, err := m.db.QueryContext(ctx, m.db.Rebind(query+` ORDER BY received_at DESC, id DESC LIMIT ?`), append(args, limit+1)...)
	if err != nil {
		return app.Page[app.MailboxMessage]{}, dbErr("list emails", err)
	}
	defer func() { _ = rows.Close() }()
	var page app.Page[app.MailboxMessage]
	for rows.Next() {
		msg, err := scan(rows)
		if err != nil {
			return app.Page[app.MailboxMessage]{}, dbErr("list emails", err)
		}
		page.Items = append(page.Items, msg)
	}
	if err := rows.Err(); err != nil {
		return app.Page[app.MailboxMessage]{}, dbErr("list emails", err)
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		last := page.Items[limit-1]
		page.NextCursor = encodeCursor(key, last.ReceivedAt.UnixMicro(), last.ID)
	}
	return page, nil
}

// encodeCursor makes an opaque keyset cursor: a fingerprint of the address
// filter, and when the last email of the page was received and its ID.
func encodeCursor(filter string, at int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("b1:" + fingerprint(filter) + ":" + strconv.FormatInt(at, 10) + ":" + id))
}

// decodeCursor reads a cursor encodeCursor made for the same filter; any
// other is notification.ErrInvalidCursor.
func decodeCursor(cursor, filter string) (int64, string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return 0, "", notification.ErrInvalidCursor
	}
	rest, ok := strings.CutPrefix(string(raw), "b1:"+fingerprint(filter)+":")
	if !ok {
		return 0, "", notification.ErrInvalidCursor
	}
	atText, id, ok := strings.Cut(rest, ":")
	at, err := strconv.ParseInt(atText, 10, 64)
	if !ok || err != nil || notification.ValidateMessageID(id) != nil {
		return 0, "", notification.ErrInvalidCursor
	}
	return at, id, nil
}

func fingerprint(filter string) string {
	sum := sha256.Sum256([]byte(filter))
	return hex.EncodeToString(sum[:8])
}
