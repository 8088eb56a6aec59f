// Package shippingtest is the contract suite of the shipping Repository
// port: every adapter (SQLite, PostgreSQL, later DynamoDB) runs
// TestRepository to prove it keeps one shipment per order, applies each
// change once under concurrency, and writes the events of each change and
// only of changes that happened.
package shippingtest

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/sr"

	protos "github.com/agoracommerce/agora/api/proto"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/outbox"
	"github.com/agoracommerce/agora/internal/platform/schemaregistry"
	regsqlstore "github.com/agoracommerce/agora/internal/platform/schemaregistry/sqlstore"
	"github.com/agoracommerce/agora/internal/shipping/app"
)

// Subject is one fresh adapter under test.
type Subject struct {
	// Repo is the adapter, over an empty store.
	Repo app.Repository
	// Outbox returns every event the adapter has written to its outbox so
	// far, oldest first.
	Outbox func(t *testing.T) []events.Event
}

// Codec returns an event codec over Agora's embedded schema registry (a
// SQLite file in tb's temp dir), as in local mode.
func Codec(tb testing.TB) *events.Codec {
	tb.Helper()
	store, err := regsqlstore.OpenSQLite(context.Background(), filepath.Join(tb.TempDir(), "registry.db"))
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = store.Close() })
	reg, err := schemaregistry.NewServer(store)
	require.NoError(tb, err)
	hs := httptest.NewServer(reg)
	tb.Cleanup(hs.Close)
	cl, err := sr.NewClient(sr.URLs(hs.URL))
	require.NoError(tb, err)
	codec, err := events.NewCodec(events.CodecConfig{Registry: cl, Sources: protos.FS, AutoRegister: true})
	require.NoError(tb, err)
	return codec
}

// OutboxEvents lists the unpublished events of an SQL outbox in order;
// adapters on the platform outbox use it for Subject.Outbox.
func OutboxEvents(t *testing.T, ob *outbox.Store) []events.Event {
	t.Helper()
	rows, err := ob.Claim(context.Background(), "shippingtest", 100_000, 3600e9)
	require.NoError(t, err)
	slices.SortFunc(rows, func(a, b outbox.Row) int {
		switch {
		case a.Seq < b.Seq:
			return -1
		case a.Seq > b.Seq:
			return 1
		}
		return 0
	})
	out := make([]events.Event, len(rows))
	for i, r := range rows {
		out[i] = r.Event
	}
	return out
}
