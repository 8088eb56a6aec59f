package docgen_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	protos "github.com/agoracommerce/agora/api/proto"
	_ "github.com/agoracommerce/agora/gen/proto/agora/cart/v1"
	_ "github.com/agoracommerce/agora/gen/proto/agora/catalog/v1"
	_ "github.com/agoracommerce/agora/gen/proto/agora/inventory/v1"
	_ "github.com/agoracommerce/agora/gen/proto/agora/notification/v1"
	_ "github.com/agoracommerce/agora/gen/proto/agora/ordering/v1"
	_ "github.com/agoracommerce/agora/gen/proto/agora/payment/v1"
	_ "github.com/agoracommerce/agora/gen/proto/agora/shipping/v1"
	cartevents "github.com/agoracommerce/agora/internal/cart/eventsout"
	cartkafka "github.com/agoracommerce/agora/internal/cart/kafka"
	catalogevents "github.com/agoracommerce/agora/internal/catalog/eventsout"
	inventoryevents "github.com/agoracommerce/agora/internal/inventory/eventsout"
	inventorykafka "github.com/agoracommerce/agora/internal/inventory/kafka"
	notificationevents "github.com/agoracommerce/agora/internal/notification/eventsout"
	notificationkafka "github.com/agoracommerce/agora/internal/notification/kafka"
	orderhistorykafka "github.com/agoracommerce/agora/internal/orderhistory/kafka"
	orderingevents "github.com/agoracommerce/agora/internal/ordering/eventsout"
	orderingkafka "github.com/agoracommerce/agora/internal/ordering/kafka"
	paymentevents "github.com/agoracommerce/agora/internal/payment/eventsout"
	paymentkafka "github.com/agoracommerce/agora/internal/payment/kafka"
	"github.com/agoracommerce/agora/internal/platform/contract"
	shippingevents "github.com/agoracommerce/agora/internal/shipping/eventsout"
	shippingkafka "github.com/agoracommerce/agora/internal/shipping/kafka"
)

// The envelope of every configured topic is a message of the generated Go
// code, with the same events as the schemas the documents are made from.
func TestEnvelopesResolveInTheGeneratedCode(t *testing.T) {
	t.Parallel()
	schemas := mustSchemas(t, protos.FS)
	for _, topic := range mustTopics(t) {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(topic.Envelope))
		require.NoError(t, err, "topic %s: envelope %s is not registered by the gen/proto packages", topic.Name, topic.Envelope)
		md, ok := d.(protoreflect.MessageDescriptor)
		require.True(t, ok, "topic %s: %s is not a message", topic.Name, topic.Envelope)
		src, err := schemas.Message(topic.Envelope)
		require.NoError(t, err)
		require.Equal(t, eventsOf(src), eventsOf(md), "topic %s: generated code and schemas differ; run make generate", topic.Name)
		for _, c := range topic.Consumers {
			for _, ev := range c.Events {
				require.Contains(t, eventsOf(md), ev, "topic %s: group %s", topic.Name, c.Group)
			}
		}
	}
}

func eventsOf(md protoreflect.MessageDescriptor) []string {
	var out []string
	for i := 0; i < md.Fields().Len(); i++ {
		if m := md.Fields().Get(i).Message(); m != nil {
			out = append(out, string(m.Name()))
		}
	}
	return out
}

// The topic configuration lists every topic a service publishes in code,
// with that service as its owner.
func TestTopicsMatchTheServices(t *testing.T) {
	t.Parallel()
	byName := map[string]int{}
	topics := mustTopics(t)
	for i, topic := range topics {
		byName[topic.Name] = i
	}
	for _, svc := range []struct{ topic, source string }{
		{catalogevents.Topic, catalogevents.Source},
		{inventoryevents.Topic, inventoryevents.Source},
		{cartevents.Topic, cartevents.Source},
		{paymentevents.Topic, paymentevents.Source},
		{shippingevents.Topic, shippingevents.Source},
		{orderingevents.Topic, orderingevents.Source},
		{notificationevents.Topic, notificationevents.Source},
	} {
		i, ok := byName[svc.topic]
		require.True(t, ok, "topic %s is not in api/topics.yaml", svc.topic)
		require.Equal(t, svc.source, "agora/"+topics[i].Owner, "topic %s", svc.topic)
	}
	require.Len(t, topics, 7, "a topic in api/topics.yaml has no publisher in code")
}

// Every consumer group the configuration lists reads exactly the events
// its service declares it handles (the contracts its consumer tests check
// against the schemas), and no service consumes a topic the configuration
// does not list it on.
func TestConsumersMatchTheServicesContracts(t *testing.T) {
	t.Parallel()
	var declared []contract.Reads
	for _, reads := range [][]contract.Reads{
		cartkafka.Contracts(), inventorykafka.Contracts(), orderingkafka.Contracts(), paymentkafka.Contracts(),
		shippingkafka.Contracts(), notificationkafka.Contracts(), orderhistorykafka.Contracts(),
	} {
		declared = append(declared, reads...)
	}
	envelopes := map[string]string{}
	configured := map[string][]string{} // topic/group -> event names
	for _, topic := range mustTopics(t) {
		envelopes[topic.Name] = topic.Envelope
		for _, c := range topic.Consumers {
			events := slices.Clone(c.Events)
			slices.Sort(events)
			configured[topic.Name+" "+c.Group] = events
		}
	}
	got := map[string][]string{}
	for _, r := range declared {
		env, ok := envelopes[r.Topic]
		require.True(t, ok, "%s consumes %s, which api/topics.yaml does not list", r.Consumer, r.Topic)
		pkg := env[:strings.LastIndex(env, ".")+1]
		var events []string
		for full := range r.Events {
			require.True(t, strings.HasPrefix(full, pkg), "%s on %s: %s is not of the envelope's package", r.Consumer, r.Topic, full)
			events = append(events, strings.TrimPrefix(full, pkg))
		}
		slices.Sort(events)
		got[r.Topic+" "+r.Consumer] = events
	}
	if diff := cmp.Diff(configured, got); diff != "" {
		t.Fatalf("api/topics.yaml (-) and the services' contracts (+) disagree:\n%s", diff)
	}
}
