// Package inventorytest is the contract suite of the inventory's
// Repository port: every adapter (SQLite, PostgreSQL, later DynamoDB) runs
// TestRepository to prove it keeps stock and reservations the same way,
// writes the events of each change and only of changes that happened, and
// never oversells under concurrency.
package inventorytest

import (
	"testing"

	"github.com/agoracommerce/agora/internal/inventory/app"
	"github.com/agoracommerce/agora/internal/platform/events"
)

// Subject is one fresh adapter under test.
type Subject struct {
	// Repo is the adapter, over an empty store.
	Repo app.Repository
	// Outbox returns every event the adapter has written to its outbox so
	// far, oldest first.
	Outbox func(t *testing.T) []events.Event
}
