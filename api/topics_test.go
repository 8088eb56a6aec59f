package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/api"
)

func TestTopicsListsEveryTopic(t *testing.T) {
	t.Parallel()
	topics, err := api.Topics()
	require.NoError(t, err)
	owners := map[string]string{}
	for _, topic := range topics {
		owners[topic.Name] = topic.Owner
	}
	want := map[string]string{
		"catalog.products.v1":      "catalog",
		"inventory.stock.v1":       "inventory",
		"cart.carts.v1":            "cart",
		"ordering.orders.v1":       "ordering",
		"payment.payments.v1":      "payment",
		"shipping.shipments.v1":    "shipping",
		"notification.messages.v1": "notification",
	}
	if diff := cmp.Diff(want, owners); diff != "" {
		t.Fatalf("topics and owners (-want +got):\n%s", diff)
	}
}

func TestTopicsConsumers(t *testing.T) {
	t.Parallel()
	topics, err := api.Topics()
	require.NoError(t, err)
	groups := map[string][]string{}
	for _, topic := range topics {
		for _, c := range topic.Consumers {
			groups[topic.Name] = append(groups[topic.Name], c.Group)
		}
	}
	want := map[string][]string{
		"catalog.products.v1": {"cart.catalog-products"},
		"inventory.stock.v1":  {"ordering.saga", "orderhistory.projector"},
		"ordering.orders.v1": {"inventory.orders", "payment.orders", "shipping.orders", "cart.orders",
			"notification.events", "orderhistory.projector"},
		"payment.payments.v1":   {"ordering.saga", "notification.events", "orderhistory.projector"},
		"shipping.shipments.v1": {"ordering.saga", "notification.events", "orderhistory.projector"},
	}
	if diff := cmp.Diff(want, groups); diff != "" {
		t.Fatalf("consumer groups (-want +got):\n%s", diff)
	}
}

func TestTopicsReturnsACopy(t *testing.T) {
	t.Parallel()
	first, err := api.Topics()
	require.NoError(t, err)
	first[0].Name = "changed"
	first[0].Consumers[0].Events[0] = "Changed"
	second, err := api.Topics()
	require.NoError(t, err)
	require.NotEqual(t, "changed", second[0].Name)
	require.NotEqual(t, "Changed", second[0].Consumers[0].Events[0])
}

const validTopic = `
topics:
  - name: orders.orders.v1
    owner: orders
    envelope: agora.orders.v1.OrderEvent
    key: order ID
    partitions: 6
    retention: %RETENTION%
    description: Orders.
    consumers:
      - group: billing.orders
        service: billing
        events: [OrderPlaced]
        description: Bills orders.
`

func TestParseTopicsReadsEveryField(t *testing.T) {
	t.Parallel()
	topics, err := api.ParseTopics([]byte(strings.ReplaceAll(validTopic, "%RETENTION%", "7d")))
	require.NoError(t, err)
	want := []api.Topic{{
		Name: "orders.orders.v1", Owner: "orders", Envelope: "agora.orders.v1.OrderEvent", Key: "order ID",
		Partitions: 6, Retention: 7 * 24 * time.Hour, Description: "Orders.",
		Consumers: []api.Consumer{{Group: "billing.orders", Service: "billing", Events: []string{"OrderPlaced"}, Description: "Bills orders."}},
	}}
	if diff := cmp.Diff(want, topics); diff != "" {
		t.Fatalf("topics (-want +got):\n%s", diff)
	}
	require.Equal(t, int64(7*24*3600*1000), topics[0].RetentionMillis())
}

func TestParseTopicsRetention(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in     string
		want   time.Duration
		millis int64
	}{
		{"forever", api.RetainForever, -1},
		{"30d", 30 * 24 * time.Hour, 30 * 24 * 3600 * 1000},
		{"36h", 36 * time.Hour, 36 * 3600 * 1000},
		{"90m", 90 * time.Minute, 90 * 60 * 1000},
	} {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			topics, err := api.ParseTopics([]byte(strings.ReplaceAll(validTopic, "%RETENTION%", tc.in)))
			require.NoError(t, err)
			require.Equal(t, tc.want, topics[0].Retention)
			require.Equal(t, tc.millis, topics[0].RetentionMillis())
		})
	}
}

func TestParseTopicsRejects(t *testing.T) {
	t.Parallel()
	valid := strings.ReplaceAll(validTopic, "%RETENTION%", "7d")
	for _, tc := range []struct {
		name, from, to, wantErr string
	}{
		{"unknown field", "    key: order ID", "    key: order ID\n    colour: blue", "field colour not found"},
		{"bad topic name", "name: orders.orders.v1", "name: Orders", `name "Orders"`},
		{"missing owner", "owner: orders", "owner: ''", `owner ""`},
		{"bad envelope", "envelope: agora.orders.v1.OrderEvent", "envelope: OrderEvent", `envelope "OrderEvent"`},
		{"missing key", "key: order ID", "key: ' '", "key is missing"},
		{"no partitions", "partitions: 6", "partitions: 0", "partitions 0"},
		{"bad retention", "retention: 7d", "retention: a week", `retention "a week"`},
		{"negative retention", "retention: 7d", "retention: -5h", `retention "-5h"`},
		{"missing description", "description: Orders.", "description: ''", "description is missing"},
		{"group without service prefix", "group: billing.orders", "group: invoices.orders", "does not start with its service"},
		{"bad group", "group: billing.orders", "group: billing", `consumer group "billing"`},
		{"owner consumes itself", "group: billing.orders\n        service: billing", "group: orders.self\n        service: orders", "does not consume its own topic"},
		{"no events", "events: [OrderPlaced]", "events: []", "lists no events"},
		{"bad event", "events: [OrderPlaced]", "events: [order_placed]", `event "order_placed"`},
		{"duplicate event", "events: [OrderPlaced]", "events: [OrderPlaced, OrderPlaced]", "listed twice"},
		{"consumer without description", "description: Bills orders.", "description: ''", "description is missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Contains(t, valid, tc.from)
			_, err := api.ParseTopics([]byte(strings.Replace(valid, tc.from, tc.to, 1)))
			require.ErrorContains(t, err, tc.wantErr)
		})
	}
}

func TestParseTopicsRejectsDuplicates(t *testing.T) {
	t.Parallel()
	valid := strings.ReplaceAll(validTopic, "%RETENTION%", "7d")
	entry := valid[strings.Index(valid, "  - name"):]
	_, err := api.ParseTopics([]byte(valid + entry))
	require.ErrorContains(t, err, "topic orders.orders.v1 is listed twice")

	consumer := valid[strings.Index(valid, "      - group"):]
	_, err = api.ParseTopics([]byte(valid + consumer))
	require.ErrorContains(t, err, "consumer group billing.orders is listed twice")
}

func TestParseTopicsRejectsEmpty(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"", "topics: []", "# nothing\n"} {
		_, err := api.ParseTopics([]byte(in))
		require.Error(t, err, "input %q", in)
	}
}
