// Package shippingtest is the contract suite of the shipping Repository
// port: every adapter (SQLite, PostgreSQL, later DynamoDB) runs
// TestRepository to prove it keeps one shipment per order, applies each
// change once under concurrency, and writes the events of each change and
// only of changes that happened.
package shippingtest

import (
	"testing"

	"github.com/agoracommerce/agora/internal/platform/events"
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
