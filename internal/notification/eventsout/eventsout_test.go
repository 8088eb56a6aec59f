package eventsout_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/notification"
	"github.com/agoracommerce/agora/internal/notification/eventsout"
)

// The mapping of each event is covered by sqlstore's event contract test,
// through the outbox and the registry; here the kinds and the refusals.
func TestKindsAndRefusals(t *testing.T) {
	t.Parallel()
	seen := map[int32]bool{}
	for _, k := range notification.Kinds() {
		v, err := eventsout.Kind(k)
		require.NoError(t, err, k)
		require.NotZero(t, v, k)
		require.False(t, seen[int32(v)], "%s maps to a kind of its own", k)
		seen[int32(v)] = true
	}
	_, err := eventsout.Kind("order_lost")
	require.Error(t, err)
	_, err = eventsout.NewEncoder(nil)
	require.Error(t, err)
	_, _, err = eventsout.Envelope(nil)
	require.Error(t, err)
	_, _, err = eventsout.Envelope(notification.MessageSent{Kind: "order_lost"})
	require.Error(t, err)
	_, _, err = eventsout.Envelope(notification.MessageFailed{Kind: "order_lost"})
	require.Error(t, err)
}
