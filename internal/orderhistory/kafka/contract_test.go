package kafka_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/reflect/protoreflect"

	inventoryv1 "github.com/agoracommerce/agora/gen/proto/agora/inventory/v1"
	orderingv1 "github.com/agoracommerce/agora/gen/proto/agora/ordering/v1"
	paymentv1 "github.com/agoracommerce/agora/gen/proto/agora/payment/v1"
	shippingv1 "github.com/agoracommerce/agora/gen/proto/agora/shipping/v1"
	"github.com/agoracommerce/agora/internal/orderhistory/kafka"
	"github.com/agoracommerce/agora/internal/platform/contract"
)

// The projector's declared reads hold against the envelope each producer
// publishes on its topic, and cover every topic it consumes.
func TestContracts(t *testing.T) {
	t.Parallel()
	envelopes := map[string]protoreflect.MessageDescriptor{
		kafka.OrderingTopic:  (&orderingv1.OrderEvent{}).ProtoReflect().Descriptor(),
		kafka.InventoryTopic: (&inventoryv1.StockEvent{}).ProtoReflect().Descriptor(),
		kafka.PaymentTopic:   (&paymentv1.PaymentEvent{}).ProtoReflect().Descriptor(),
		kafka.ShippingTopic:  (&shippingv1.ShipmentEvent{}).ProtoReflect().Descriptor(),
	}
	var topics []string
	events := 0
	for _, r := range kafka.Contracts() {
		require.Equal(t, kafka.Group, r.Consumer)
		env, ok := envelopes[r.Topic]
		require.True(t, ok, "unexpected topic %s", r.Topic)
		require.NoError(t, contract.Check(r, env))
		topics = append(topics, r.Topic)
		events += len(r.Events)
	}
	require.ElementsMatch(t, kafka.Topics(), topics)
	require.Equal(t, 7+4+6+4, events, "every event the projector records")

	// A declaration the producer does not honour fails.
	broken := kafka.Contracts()[0]
	broken.Events = map[string][]string{"agora.ordering.v1.OrderPlaced": {"order_id int64"}}
	require.Error(t, contract.Check(broken, envelopes[kafka.OrderingTopic]))
}
