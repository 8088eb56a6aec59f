package host

import (
	"context"
	"crypto/tls"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	saslaws "github.com/twmb/franz-go/pkg/sasl/aws"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// SASL mechanisms of Config.KafkaSASLMechanism.
const (
	// SASLMSKIAM authenticates to Amazon MSK with the process's AWS
	// credentials (the IAM access control of MSK).
	SASLMSKIAM   = "AWS_MSK_IAM"
	SASLScram512 = "SCRAM-SHA-512"
	SASLPlain    = "PLAIN"
)

// KafkaOpts returns the options every Kafka client of the service starts
// with: the seed brokers, TLS and SASL as configured. MSK IAM signs with
// the credentials of the AWS SDK's default chain (the task or function
// role on AWS), refreshed as they rotate.
func (c Config) KafkaOpts(ctx context.Context) ([]kgo.Opt, error) {
	opts := []kgo.Opt{kgo.SeedBrokers(c.KafkaBrokers...)}
	if c.KafkaTLS || c.KafkaSASLMechanism == SASLMSKIAM {
		opts = append(opts, kgo.DialTLSConfig(&tls.Config{MinVersion: tls.VersionTLS12}))
	}
	var mech sasl.Mechanism
	switch c.KafkaSASLMechanism {
	case "":
		return opts, nil
	case SASLMSKIAM:
		awsCfg, err := AWSConfig(ctx, c)
		if err != nil {
			return nil, err
		}
		mech = saslaws.ManagedStreamingIAM(func(ctx context.Context) (saslaws.Auth, error) {
			creds, err := awsCfg.Credentials.Retrieve(ctx)
			if err != nil {
				return saslaws.Auth{}, fmt.Errorf("host: kafka: aws credentials: %w", err)
			}
			return saslaws.Auth{AccessKey: creds.AccessKeyID, SecretKey: creds.SecretAccessKey, SessionToken: creds.SessionToken}, nil
		})
	case SASLScram512:
		mech = scram.Auth{User: c.KafkaSASLUsername, Pass: c.KafkaSASLPassword.Value()}.AsSha512Mechanism()
	case SASLPlain:
		mech = plain.Auth{User: c.KafkaSASLUsername, Pass: c.KafkaSASLPassword.Value()}.AsMechanism()
	default:
		return nil, fmt.Errorf("host: KAFKA_SASL_MECHANISM %q is not one of %s, %s, %s", c.KafkaSASLMechanism, SASLMSKIAM, SASLScram512, SASLPlain)
	}
	return append(opts, kgo.SASL(mech)), nil
}
