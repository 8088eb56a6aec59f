package consumer_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	orderingv1 "github.com/agoracommerce/agora/gen/proto/agora/ordering/v1"
	"github.com/agoracommerce/agora/internal/platform/consumer"
	"github.com/agoracommerce/agora/internal/platform/fault"
	"github.com/agoracommerce/agora/internal/platform/kafkatest"
)

// A Processor applies the handler chain to records fetched elsewhere (an
// MSK event source batch): in order, poison records dead-lettered, and a
// retryable failure that outlasts the retries left for redelivery.
func TestProcessorHandlesFetchedRecords(t *testing.T) {
	t.Parallel()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation())
	require.NoError(t, err)
	t.Cleanup(cluster.Close)
	bus := kafkatest.New(t, cluster.ListenAddrs())
	producer, err := kgo.NewClient(kgo.SeedBrokers(bus.Brokers...), kgo.AllowAutoTopicCreation())
	require.NoError(t, err)
	t.Cleanup(producer.Close)

	topic := "orders-" + kafkatest.RandomID(t)
	rec := func(offset int64, n int) *kgo.Record {
		r := bus.OrderPlaced(t, topic, "order-1", n).Record()
		r.Partition, r.Offset = 0, offset
		return r
	}
	var seen []string
	transient := 0
	handler := func(_ context.Context, m *consumer.Message) error {
		c := m.Event.(*orderingv1.OrderEvent).GetOrderPlaced().GetCustomerId()
		switch c {
		case "13":
			return errors.New("permanently bad")
		case "7":
			transient++
			return fault.Retryable(errors.New("database busy"))
		}
		seen = append(seen, c)
		return nil
	}
	p, err := consumer.NewProcessor(consumer.Config{
		Group: topic + "-group", Topics: []string{topic}, Decoder: bus.Codec, Handler: handler,
		Retry: consumer.RetryPolicy{MaxAttempts: 3, InitialInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond},
	}, producer)
	require.NoError(t, err)
	require.Equal(t, topic+"-group", p.Group())
	require.Equal(t, []string{topic}, p.Topics())
	require.Equal(t, topic+"-group.dlq", p.DeadLetterTopic())

	ctx := context.Background()
	poison := &kgo.Record{Topic: topic, Partition: 0, Offset: 2, Value: []byte("not an event")}
	require.NoError(t, p.Process(ctx, []*kgo.Record{rec(0, 1), rec(1, 2), poison, rec(3, 13), rec(4, 3)}))
	require.Equal(t, []string{"1", "2", "3"}, seen)
	// The dead-letter topic's partitions give no order between the two.
	byReason := map[string]map[string]string{}
	for _, d := range bus.Read(t, p.DeadLetterTopic(), 2) {
		h := kafkatest.Headers(d)
		byReason[h[consumer.HeaderDLQReason]] = h
	}
	require.Contains(t, byReason, consumer.ReasonInvalidMetadata)
	require.Equal(t, "2", byReason[consumer.ReasonInvalidMetadata][consumer.HeaderDLQOffset])
	require.Contains(t, byReason, consumer.ReasonHandlerFailed)
	require.Equal(t, "3", byReason[consumer.ReasonHandlerFailed][consumer.HeaderDLQOffset])

	// A retryable failure is not dead-lettered: the records from there on
	// are left for the fetcher to deliver again.
	seen = nil
	err = p.Process(ctx, []*kgo.Record{rec(5, 4), rec(6, 7), rec(7, 5)})
	require.ErrorContains(t, err, "@6 left for redelivery")
	require.True(t, fault.IsRetryable(err))
	require.Equal(t, []string{"4"}, seen)
	require.Equal(t, 3, transient)
	require.EqualValues(t, 2, bus.Records(t, p.DeadLetterTopic()))

	// No attempt outlives the context's deadline.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	blocked, err := consumer.NewProcessor(consumer.Config{
		Group: topic + "-slow", Topics: []string{topic}, Decoder: bus.Codec,
		Handler: func(ctx context.Context, _ *consumer.Message) error { <-ctx.Done(); return fault.Retryable(ctx.Err()) },
	}, producer)
	require.NoError(t, err)
	start := time.Now()
	require.Error(t, blocked.Process(short, []*kgo.Record{rec(8, 9)}))
	require.Less(t, time.Since(start), 5*time.Second)

	_, err = consumer.NewProcessor(consumer.Config{Group: "g", Topics: []string{topic}, Decoder: bus.Codec, Handler: handler}, nil)
	require.Error(t, err)
	_, err = consumer.NewProcessor(consumer.Config{Topics: []string{topic}}, producer)
	require.Error(t, err)
}
