package eventsout_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/shipping/eventsout"
)

// The mapping of each event is covered by sqlstore's event contract test,
// through the outbox and the registry; here only the refusals.
func TestRefusals(t *testing.T) {
	t.Parallel()
	_, err := eventsout.NewEncoder(nil)
	require.Error(t, err)
	_, _, err = eventsout.Envelope(nil)
	require.Error(t, err)
}
