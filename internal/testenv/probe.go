package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ProbeTopic is the topic the Kafka probe writes to and reads back from.
const ProbeTopic = "agora-testenv-probe"

// Config returns an aws.Config that signs with the emulator's static
// credentials and sends every request to its endpoint.
func (a AWS) Config(ctx context.Context) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRegion(a.Region),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(a.AccessKey, a.SecretKey, "")),
	)
	if err != nil {
		return aws.Config{}, fmt.Errorf("testenv: aws config: %w", err)
	}
	cfg.BaseEndpoint = aws.String(a.Endpoint)
	return cfg, nil
}

// ProbeKafka proves that the brokers really serve: it creates the probe topic
// when missing, produces one record with acks=all, consumes that same record
// back, and returns the broker version the client negotiated with.
func ProbeKafka(ctx context.Context, brokers []string) (string, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.RequiredAcks(kgo.AllISRAcks()))
	if err != nil {
		return "", fmt.Errorf("kafka: client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)

	versions, err := adm.ApiVersions(ctx)
	if err != nil {
		return "", fmt.Errorf("kafka: api versions: %w", err)
	}
	version := "unknown"
	for _, bv := range versions.Sorted() {
		if bv.Err != nil {
			return "", fmt.Errorf("kafka: api versions of broker %d: %w", bv.NodeID, bv.Err)
		}
		version = bv.VersionGuess()
	}

	if _, err := adm.CreateTopic(ctx, 1, 1, nil, ProbeTopic); err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return "", fmt.Errorf("kafka: create topic %s: %w", ProbeTopic, err)
	}

	want := randomHex()
	res := cl.ProduceSync(ctx, &kgo.Record{Topic: ProbeTopic, Value: []byte(want)})
	rec, err := res.First()
	if err != nil {
		return "", fmt.Errorf("kafka: produce: %w", err)
	}

	cons, err := kgo.NewClient(kgo.SeedBrokers(brokers...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{
			ProbeTopic: {rec.Partition: kgo.NewOffset().At(rec.Offset)},
		}))
	if err != nil {
		return "", fmt.Errorf("kafka: consumer: %w", err)
	}
	defer cons.Close()
	for {
		fetches := cons.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return "", fmt.Errorf("kafka: consume: %w", err)
		}
		if errs := fetches.Errors(); len(errs) > 0 {
			return "", fmt.Errorf("kafka: fetch %s/%d: %w", errs[0].Topic, errs[0].Partition, errs[0].Err)
		}
		for it := fetches.RecordIter(); !it.Done(); {
			if string(it.Next().Value) == want {
				return version, nil
			}
		}
	}
}

// ProbePostgres runs SELECT 1 and returns the server version.
func ProbePostgres(ctx context.Context, url string) (string, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return "", fmt.Errorf("postgres: connect: %w", err)
	}
	defer func() { _ = conn.Close(context.Background()) }()
	var one int
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		return "", fmt.Errorf("postgres: select 1: %w", err)
	}
	var version string
	if err := conn.QueryRow(ctx, "SHOW server_version").Scan(&version); err != nil {
		return "", fmt.Errorf("postgres: server_version: %w", err)
	}
	return version, nil
}

// ProbeRedis sends PING and returns the server version.
func ProbeRedis(ctx context.Context, addr string) (string, error) {
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer func() { _ = rdb.Close() }()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return "", fmt.Errorf("redis: ping: %w", err)
	}
	info, err := rdb.InfoMap(ctx, "server").Result()
	if err != nil {
		return "", fmt.Errorf("redis: info: %w", err)
	}
	return info["Server"]["redis_version"], nil
}

// ProbeAWS makes one real AWS API call (DynamoDB ListTables) to the emulator.
func ProbeAWS(ctx context.Context, a AWS) error {
	cfg, err := a.Config(ctx)
	if err != nil {
		return err
	}
	if _, err := dynamodb.NewFromConfig(cfg).ListTables(ctx, &dynamodb.ListTablesInput{}); err != nil {
		return fmt.Errorf("aws: dynamodb list tables: %w", err)
	}
	return nil
}

// Retry calls probe until it succeeds or ctx ends, pausing between attempts,
// and returns the last error.
func Retry(ctx context.Context, every time.Duration, probe func(context.Context) error) error {
	for {
		attemptCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := probe(attemptCtx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (gave up: %w)", err, ctx.Err())
		case <-time.After(every):
		}
	}
}

func randomHex() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
