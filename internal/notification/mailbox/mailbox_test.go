package mailbox_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/notification/mailbox"
	"github.com/agoracommerce/agora/internal/notification/notificationtest"
	"github.com/agoracommerce/agora/internal/platform/sqldb"
	"github.com/agoracommerce/agora/internal/platform/sqldb/sqldbtest"
)

func TestMailbox(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, open func(testing.TB) *sqldb.DB) {
		notificationtest.TestMailbox(t, func(t *testing.T, now func() time.Time) notificationtest.Mailbox {
			box, err := mailbox.New(context.Background(), open(t), mailbox.Config{Now: now})
			require.NoError(t, err)
			return box
		})
	})
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	_, err := mailbox.New(context.Background(), nil, mailbox.Config{})
	require.Error(t, err)
	// Migrating twice (a restart) is fine.
	db := sqldbtest.SQLite(t)
	_, err = mailbox.New(context.Background(), db, mailbox.Config{})
	require.NoError(t, err)
	_, err = mailbox.New(context.Background(), db, mailbox.Config{})
	require.NoError(t, err)
}
