package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/agoracommerce/agora/internal/platform/topics"
	"github.com/agoracommerce/agora/internal/testenv"
)

// agora topics apply creates a service's topics on a real broker, then
// finds nothing to do.
func TestTopicsApply(t *testing.T) {
	t.Parallel()
	brokers := strings.Join(testenv.KafkaBrokers(t), ",")
	prefix := "cli-" + uuid.NewString()[:8] + "."
	cl, err := kgo.NewClient(kgo.SeedBrokers(testenv.KafkaBrokers(t)...))
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	t.Cleanup(func() { _, _ = kadm.NewClient(cl).DeleteTopics(context.Background(), prefix+"cart.carts.v1") })

	apply := func() []topics.Result {
		var out, errOut bytes.Buffer
		err := run(context.Background(), []string{"topics", "apply", "--brokers", brokers, "--prefix", prefix, "--owner", "cart", "--partitions", "1", "--json"}, &out, &errOut)
		require.NoError(t, err, errOut.String())
		var res []topics.Result
		require.NoError(t, json.Unmarshal(out.Bytes(), &res))
		return res
	}
	require.Equal(t, []topics.Result{{Topic: prefix + "cart.carts.v1", Action: topics.Created, Retention: 7 * 24 * 3600 * 1000}}, apply())
	require.Equal(t, topics.Unchanged, apply()[0].Action)
}

func TestTopicsApplyRefusesBadFlags(t *testing.T) {
	t.Parallel()
	for args, want := range map[string]string{
		"topics apply --brokers":                                     "no Kafka brokers",
		"topics apply --brokers b:9092 --owner warehouse":            `--owner "warehouse" owns no topic`,
		"topics apply --brokers b:9092 --sasl-mechanism GSSAPI":      "is not one of AWS_MSK_IAM, SCRAM-SHA-512, PLAIN",
		"topics apply --brokers b:9092 --sasl-mechanism PLAIN":       "needs --sasl-username and AGORA_KAFKA_SASL_PASSWORD",
		"dlq list --topic x.dlq --brokers b:9092 --sasl-mechanism X": "is not one of AWS_MSK_IAM, SCRAM-SHA-512, PLAIN",
	} {
		var out bytes.Buffer
		argv := strings.Fields(args)
		if strings.HasSuffix(args, "--brokers") {
			argv = append(argv, "")
		}
		err := run(context.Background(), argv, &out, &out)
		require.ErrorContains(t, err, want, args)
	}
}
