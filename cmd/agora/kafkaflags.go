package main

import (
	"context"
	"errors"
	"os"
	"strings"

	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/agoracommerce/agora/internal/platform/config"
	"github.com/agoracommerce/agora/internal/platform/host"
)

// Variables holding the defaults of the Kafka connection flags.
const (
	envKafkaBrokers      = "AGORA_KAFKA_BROKERS"
	envKafkaTLS          = "AGORA_KAFKA_TLS"
	envKafkaSASL         = "AGORA_KAFKA_SASL_MECHANISM"
	envKafkaSASLUsername = "AGORA_KAFKA_SASL_USERNAME"
	envKafkaSASLPassword = "AGORA_KAFKA_SASL_PASSWORD" // #nosec G101 -- the name of a variable, not a credential
)

// kafkaFlags are the connection flags of the commands that talk to Kafka
// directly (dlq, topics): the same TLS and SASL choices as a service's
// KAFKA_* settings, so they reach Amazon MSK (IAM with the AWS
// credentials of the shell) as well as a local broker.
type kafkaFlags struct {
	brokers  string
	tls      bool
	sasl     string
	username string
}

func (k *kafkaFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&k.brokers, "brokers", os.Getenv(envKafkaBrokers), "comma-separated Kafka seed brokers ("+envKafkaBrokers+")")
	fs.BoolVar(&k.tls, "tls", os.Getenv(envKafkaTLS) == "true", "dial the brokers with TLS ("+envKafkaTLS+"; implied by AWS_MSK_IAM)")
	fs.StringVar(&k.sasl, "sasl-mechanism", os.Getenv(envKafkaSASL), "AWS_MSK_IAM, SCRAM-SHA-512 or PLAIN ("+envKafkaSASL+"); the password comes from "+envKafkaSASLPassword)
	fs.StringVar(&k.username, "sasl-username", os.Getenv(envKafkaSASLUsername), "SASL username for SCRAM-SHA-512 or PLAIN ("+envKafkaSASLUsername+")")
}

// opts returns the client options of the flags; what names the command in
// errors.
func (k *kafkaFlags) opts(ctx context.Context, what string) ([]kgo.Opt, error) {
	var brokers []string
	for _, b := range strings.Split(k.brokers, ",") {
		if b = strings.TrimSpace(b); b != "" {
			brokers = append(brokers, b)
		}
	}
	if len(brokers) == 0 {
		return nil, errors.New(what + ": no Kafka brokers: pass --brokers or set " + envKafkaBrokers)
	}
	switch k.sasl {
	case "", host.SASLMSKIAM:
	case host.SASLScram512, host.SASLPlain:
		if k.username == "" || os.Getenv(envKafkaSASLPassword) == "" {
			return nil, errors.New(what + ": --sasl-mechanism " + k.sasl + " needs --sasl-username and " + envKafkaSASLPassword)
		}
	default:
		return nil, errors.New(what + ": --sasl-mechanism " + k.sasl + " is not one of AWS_MSK_IAM, SCRAM-SHA-512, PLAIN")
	}
	cfg := host.Config{
		KafkaBrokers: brokers, KafkaTLS: k.tls, KafkaSASLMechanism: k.sasl,
		KafkaSASLUsername: k.username, KafkaSASLPassword: config.Secret(os.Getenv(envKafkaSASLPassword)),
	}
	return cfg.KafkaOpts(ctx)
}
