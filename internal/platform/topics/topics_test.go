package topics_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/agoracommerce/agora/api"
	"github.com/agoracommerce/agora/internal/platform/topics"
	"github.com/agoracommerce/agora/internal/testenv"
)

// admin returns an admin client of the test environment's Kafka.
func admin(t *testing.T) *kadm.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(testenv.KafkaBrokers(t)...))
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

// listed waits until the brokers' metadata has every topic of names.
func listed(t *testing.T, adm *kadm.Client, names []string) kadm.TopicDetails {
	t.Helper()
	var details kadm.TopicDetails
	require.Eventually(t, func() bool {
		var err error
		details, err = adm.ListTopics(context.Background(), names...)
		if err != nil {
			return false
		}
		for _, n := range names {
			if d, ok := details[n]; !ok || d.Err != nil || len(d.Partitions) == 0 {
				return false
			}
		}
		return true
	}, 20*time.Second, 50*time.Millisecond)
	return details
}

func retentionOf(t *testing.T, adm *kadm.Client, topic string) int64 {
	t.Helper()
	rcs, err := adm.DescribeTopicConfigs(context.Background(), topic)
	require.NoError(t, err)
	rc, err := rcs.On(topic, nil)
	require.NoError(t, err)
	for _, c := range rc.Configs {
		if c.Key == topics.RetentionKey {
			ms, err := strconv.ParseInt(c.MaybeValue(), 10, 64)
			require.NoError(t, err)
			return ms
		}
	}
	t.Fatalf("%s has no %s", topic, topics.RetentionKey)
	return 0
}

// Applying creates what is missing with its partitions and retention,
// brings a changed retention back, leaves the rest alone, and is
// idempotent — on a real Kafka broker.
func TestApply(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	adm := admin(t)
	prefix := "topics-" + uuid.NewString()[:8] + "."
	decl := []api.Topic{
		{Name: "shop.things.v1", Owner: "shop", Partitions: 3, Retention: api.RetainForever},
		{Name: "shop.carts.v1", Owner: "shop", Partitions: 2, Retention: 7 * 24 * time.Hour},
	}
	names := []string{prefix + decl[0].Name, prefix + decl[1].Name}
	t.Cleanup(func() { _, _ = adm.DeleteTopics(context.Background(), names...) })

	res, err := topics.Apply(ctx, adm, decl, topics.Options{Prefix: prefix})
	require.NoError(t, err)
	require.Equal(t, []topics.Result{
		{Topic: names[0], Action: topics.Created, Retention: -1},
		{Topic: names[1], Action: topics.Created, Retention: 604800000},
	}, res)
	details := listed(t, adm, names)
	require.Len(t, details[names[0]].Partitions, 3)
	require.Len(t, details[names[1]].Partitions, 2)
	require.EqualValues(t, -1, retentionOf(t, adm, names[0]))
	require.EqualValues(t, 604800000, retentionOf(t, adm, names[1]))

	// Someone shortened a topic's retention by hand: applying restores it.
	hour := "3600000"
	_, err = adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: topics.RetentionKey, Value: &hour}}, names[0])
	require.NoError(t, err)
	require.Eventually(t, func() bool { return retentionOf(t, adm, names[0]) == 3600000 }, 20*time.Second, 50*time.Millisecond)
	res, err = topics.Apply(ctx, adm, decl, topics.Options{Prefix: prefix})
	require.NoError(t, err)
	require.Equal(t, []topics.Result{
		{Topic: names[0], Action: topics.Updated, Retention: -1, Previous: 3600000},
		{Topic: names[1], Action: topics.Unchanged, Retention: 604800000},
	}, res)
	// Brokers apply a configuration change from the metadata log, a moment
	// after the request returned.
	require.Eventually(t, func() bool { return retentionOf(t, adm, names[0]) == -1 }, 20*time.Second, 50*time.Millisecond)

	res, err = topics.Apply(ctx, adm, decl, topics.Options{Prefix: prefix})
	require.NoError(t, err)
	for _, r := range res {
		require.Equal(t, topics.Unchanged, r.Action, r.Topic)
	}
}

// Every topic of api/topics.yaml applies, with the partition count
// production chose instead of the declared one.
func TestApplyTheDeclaredTopics(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	adm := admin(t)
	decl, err := api.Topics()
	require.NoError(t, err)
	prefix := "topics-" + uuid.NewString()[:8] + "."
	var names []string
	for _, d := range decl {
		names = append(names, prefix+d.Name)
	}
	t.Cleanup(func() { _, _ = adm.DeleteTopics(context.Background(), names...) })

	res, err := topics.Apply(ctx, adm, decl, topics.Options{Prefix: prefix, Partitions: 1})
	require.NoError(t, err)
	require.Len(t, res, len(decl))
	details := listed(t, adm, names)
	for i, d := range decl {
		require.Equal(t, topics.Created, res[i].Action)
		require.Len(t, details[names[i]].Partitions, 1, d.Name)
		require.Equal(t, d.RetentionMillis(), retentionOf(t, adm, names[i]), d.Name)
	}
}

func TestOwned(t *testing.T) {
	t.Parallel()
	decl, err := api.Topics()
	require.NoError(t, err)
	owned := topics.Owned(decl, "cart")
	require.NotEmpty(t, owned)
	for _, o := range owned {
		require.Equal(t, "cart", o.Owner)
	}
	require.Empty(t, topics.Owned(decl, "warehouse"))
}

func TestApplyRefusesBadOptions(t *testing.T) {
	t.Parallel()
	_, err := topics.Apply(context.Background(), nil, nil, topics.Options{Partitions: -1})
	require.ErrorContains(t, err, "partitions")
	_, err = topics.Apply(context.Background(), nil, nil, topics.Options{ReplicationFactor: 99})
	require.ErrorContains(t, err, "replication factor")
}

// The embedded broker of local mode (kfake) takes the same requests.
func TestApplyOnTheEmbeddedBroker(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
	require.NoError(t, err)
	t.Cleanup(cluster.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...))
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	adm := kadm.NewClient(cl)
	decl, err := api.Topics()
	require.NoError(t, err)

	res, err := topics.Apply(ctx, adm, decl, topics.Options{})
	require.NoError(t, err)
	for i, r := range res {
		require.Equal(t, topics.Created, r.Action, r.Topic)
		require.Equal(t, decl[i].RetentionMillis(), retentionOf(t, adm, r.Topic), r.Topic)
	}
	res, err = topics.Apply(ctx, adm, decl, topics.Options{})
	require.NoError(t, err)
	for _, r := range res {
		require.Equal(t, topics.Unchanged, r.Action, "%+v", r)
	}
}
