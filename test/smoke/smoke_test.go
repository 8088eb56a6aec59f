// Package smoke_test proves that the test environment's dependencies really
// serve the clients Agora uses: franz-go against Apache Kafka and against the
// in-process kfake broker, pgx against PostgreSQL, go-redis against Redis and
// aws-sdk-go-v2 against the AWS API emulator.
package smoke_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/agoracommerce/agora/internal/testenv"
)

func TestKafkaRoundTrip(t *testing.T) {
	t.Parallel()
	t.Run("kfake", func(t *testing.T) {
		t.Parallel()
		cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
		require.NoError(t, err)
		t.Cleanup(cluster.Close)
		kafkaRoundTrip(t, cluster.ListenAddrs())
	})
	t.Run("kafka", func(t *testing.T) {
		t.Parallel()
		kafkaRoundTrip(t, testenv.KafkaBrokers(t))
	})
}

// kafkaRoundTrip produces keyed records with the idempotent producer
// (acks=all) to a fresh three-partition topic and reads them back through a
// consumer group, checking that nothing is lost and that each key's records
// arrive in the order they were produced.
func kafkaRoundTrip(t *testing.T, brokers []string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	topic := "smoke-" + randomID(t)
	const keys, perKey = 10, 20

	adm := mustAdmin(t, brokers)
	versions, err := adm.ApiVersions(ctx)
	require.NoError(t, err)
	for _, v := range versions.Sorted() {
		require.NoError(t, v.Err)
		t.Logf("broker %d at %s: Kafka %s", v.NodeID, brokers[0], v.VersionGuess())
	}
	_, err = adm.CreateTopic(ctx, 3, 1, nil, topic)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, err := adm.DeleteTopic(context.Background(), topic)
		require.NoError(t, err)
	})

	producer, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.RequiredAcks(kgo.AllISRAcks()), kgo.DefaultProduceTopic(topic))
	require.NoError(t, err)
	t.Cleanup(producer.Close)
	var records []*kgo.Record
	for i := range perKey {
		for k := range keys {
			records = append(records, &kgo.Record{Key: fmt.Appendf(nil, "key-%d", k), Value: fmt.Appendf(nil, "%d", i)})
		}
	}
	require.NoError(t, producer.ProduceSync(ctx, records...).FirstErr())

	consumer, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumerGroup("smoke-"+topic),
		kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	require.NoError(t, err)
	t.Cleanup(consumer.Close)

	got := map[string][]string{}
	for n := 0; n < keys*perKey; {
		fetches := consumer.PollFetches(ctx)
		require.NoError(t, ctx.Err(), "consumed %d of %d records", n, keys*perKey)
		require.Empty(t, fetches.Errors())
		fetches.EachRecord(func(r *kgo.Record) {
			got[string(r.Key)] = append(got[string(r.Key)], string(r.Value))
			n++
		})
	}
	require.NoError(t, consumer.CommitUncommittedOffsets(ctx))

	want := map[string][]string{}
	for _, r := range records {
		want[string(r.Key)] = append(want[string(r.Key)], string(r.Value))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("records per key differ (-produced +consumed):\n%s", diff)
	}
}

func TestPostgresRoundTrip(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, testenv.PostgresURL(t))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, conn.Close(context.Background())) })

	var version string
	require.NoError(t, conn.QueryRow(ctx, "SHOW server_version").Scan(&version))
	t.Logf("PostgreSQL %s", version)

	table := pgx.Identifier{"smoke_" + randomID(t)}.Sanitize()
	_, err = conn.Exec(ctx, "CREATE TABLE "+table+" (id bigint PRIMARY KEY, sku text NOT NULL, amount_minor bigint NOT NULL)")
	require.NoError(t, err)
	t.Cleanup(func() {
		_, err := conn.Exec(context.Background(), "DROP TABLE "+table)
		require.NoError(t, err)
	})
	_, err = conn.Exec(ctx, "INSERT INTO "+table+" (id, sku, amount_minor) VALUES ($1, $2, $3)", 1, "SKU-1", int64(1999))
	require.NoError(t, err)
	var sku string
	var amount int64
	require.NoError(t, conn.QueryRow(ctx, "SELECT sku, amount_minor FROM "+table+" WHERE id = $1", 1).Scan(&sku, &amount))
	require.Equal(t, "SKU-1", sku)
	require.Equal(t, int64(1999), amount)
}

func TestRedisRoundTrip(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rdb := redis.NewClient(&redis.Options{Addr: testenv.RedisAddr(t)})
	t.Cleanup(func() { require.NoError(t, rdb.Close()) })

	key := "smoke:" + randomID(t)
	t.Cleanup(func() { require.NoError(t, rdb.Del(context.Background(), key).Err()) })
	require.NoError(t, rdb.Set(ctx, key, "value", time.Minute).Err())
	got, err := rdb.Get(ctx, key).Result()
	require.NoError(t, err)
	require.Equal(t, "value", got)
	ttl, err := rdb.TTL(ctx, key).Result()
	require.NoError(t, err)
	require.Greater(t, ttl, time.Duration(0))
}

func TestDynamoDBRoundTrip(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg, err := testenv.AWSEmulator(t).Config(ctx)
	require.NoError(t, err)
	db := dynamodb.NewFromConfig(cfg)

	table := "smoke-" + randomID(t)
	_, err = db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		_, err := db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(table)})
		require.NoError(t, err)
	})
	require.NoError(t, dynamodb.NewTableExistsWaiter(db).Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)}, 30*time.Second))

	_, err = db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(table),
		Item: map[string]types.AttributeValue{
			"pk":    &types.AttributeValueMemberS{Value: "SKU-1"},
			"stock": &types.AttributeValueMemberN{Value: "42"},
		},
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	require.NoError(t, err)
	out, err := db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(table),
		Key:            map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "SKU-1"}},
		ConsistentRead: aws.Bool(true),
	})
	require.NoError(t, err)
	stock, ok := out.Item["stock"].(*types.AttributeValueMemberN)
	require.True(t, ok, "stock attribute missing or not a number: %#v", out.Item)
	require.Equal(t, "42", stock.Value)
}

func mustAdmin(tb testing.TB, brokers []string) *kadm.Client {
	tb.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	require.NoError(tb, err)
	tb.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

func randomID(tb testing.TB) string {
	tb.Helper()
	b := make([]byte, 6)
	_, err := rand.Read(b)
	require.NoError(tb, err)
	return hex.EncodeToString(b)
}
