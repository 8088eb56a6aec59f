package host_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/agoracommerce/agora/internal/platform/host"
)

// The SASL settings authenticate a client to a broker that requires them;
// a wrong password is refused; an unknown mechanism is a config error.
func TestKafkaOptsAuthenticate(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(),
		kfake.Superuser("PLAIN", "agora", "plain-secret"),
		kfake.Superuser("SCRAM-SHA-512", "agora", "scram-secret"),
		kfake.AllowAutoTopicCreation())
	require.NoError(t, err)
	t.Cleanup(cluster.Close)

	ping := func(cfg host.Config) error {
		opts, err := cfg.KafkaOpts(context.Background())
		require.NoError(t, err)
		cl, err := kgo.NewClient(opts...)
		require.NoError(t, err)
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return cl.Ping(ctx)
	}
	brokers := cluster.ListenAddrs()
	require.NoError(t, ping(host.Config{KafkaBrokers: brokers, KafkaSASLMechanism: host.SASLPlain, KafkaSASLUsername: "agora", KafkaSASLPassword: "plain-secret"}))
	require.NoError(t, ping(host.Config{KafkaBrokers: brokers, KafkaSASLMechanism: host.SASLScram512, KafkaSASLUsername: "agora", KafkaSASLPassword: "scram-secret"}))
	require.Error(t, ping(host.Config{KafkaBrokers: brokers, KafkaSASLMechanism: host.SASLScram512, KafkaSASLUsername: "agora", KafkaSASLPassword: "wrong"}))

	_, err = host.Config{KafkaBrokers: brokers, KafkaSASLMechanism: "GSSAPI"}.KafkaOpts(context.Background())
	require.ErrorContains(t, err, "KAFKA_SASL_MECHANISM")

	// MSK IAM signs with the AWS credentials of the process and implies TLS.
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	opts, err := host.Config{KafkaBrokers: brokers, KafkaSASLMechanism: host.SASLMSKIAM, AWSRegion: "eu-west-1"}.KafkaOpts(context.Background())
	require.NoError(t, err)
	require.Len(t, opts, 3, "seed brokers, TLS and SASL")
}
