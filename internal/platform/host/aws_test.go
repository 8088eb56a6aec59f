package host_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsglue "github.com/aws/aws-sdk-go-v2/service/glue"
	gluetypes "github.com/aws/aws-sdk-go-v2/service/glue/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"

	catalogv1 "github.com/agoracommerce/agora/gen/proto/agora/catalog/v1"
	"github.com/agoracommerce/agora/internal/platform/config"
	"github.com/agoracommerce/agora/internal/platform/host"
	"github.com/agoracommerce/agora/internal/platform/idempotency/redisstore"
	"github.com/agoracommerce/agora/internal/platform/sqldb"
	"github.com/agoracommerce/agora/internal/testenv"
)

// serviceConfig is a service's configuration as cmd/agora declares one.
type serviceConfig struct {
	host.Config
}

// A service configured the AWS way: its database URL is a key of a Secrets
// Manager secret, its token issuer an SSM SecureString, its schemas in the
// Glue Schema Registry and its idempotency keys in Redis. Loading resolves
// the references and Open connects to all of it.
func TestServiceConfiguredFromSecretsManagerAndSSM(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	emu := testenv.AWSEmulator(t)
	// host.AWSConfig takes credentials from the SDK's default chain, as a
	// task role's would be on Fargate.
	t.Setenv("AWS_ACCESS_KEY_ID", emu.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", emu.SecretKey)
	awsCfg, err := emu.Config(ctx)
	require.NoError(t, err)
	pgURL := testenv.PostgresURL(t)
	redisAddr := testenv.RedisAddr(t)

	suffix := uuid.NewString()
	secretID := "agora/test/catalog-" + suffix
	param := "/agora/test/" + suffix + "/auth-issuer"
	sm, ps := secretsmanager.NewFromConfig(awsCfg), ssm.NewFromConfig(awsCfg)
	_, err = sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(secretID),
		SecretString: aws.String(`{"database_url":"` + pgURL + `","username":"agora"}`)})
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = sm.DeleteSecret(context.Background(), &secretsmanager.DeleteSecretInput{SecretId: aws.String(secretID), ForceDeleteWithoutRecovery: aws.Bool(true)})
	})
	_, err = ps.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(param), Type: ssmtypes.ParameterTypeSecureString,
		Value: aws.String("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_agora")})
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = ps.DeleteParameter(context.Background(), &ssm.DeleteParameterInput{Name: aws.String(param)})
	})

	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation())
	require.NoError(t, err)
	t.Cleanup(cluster.Close)

	vars := map[string]string{
		"AGORA_CATALOG_DATABASE_URL":         "secretsmanager:" + secretID + "#database_url",
		"AGORA_CATALOG_AUTH_ISSUER":          "ssm:" + param,
		"AGORA_CATALOG_AUTH_JWKS_URL":        "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_agora/.well-known/jwks.json",
		"AGORA_CATALOG_KAFKA_BROKERS":        strings.Join(cluster.ListenAddrs(), ","),
		"AGORA_CATALOG_SCHEMA_REGISTRY":      "glue",
		"AGORA_CATALOG_GLUE_REGISTRY_NAME":   "agora-test",
		"AGORA_CATALOG_SCHEMA_AUTO_REGISTER": "true",
		"AGORA_CATALOG_AWS_REGION":           emu.Region,
		"AGORA_CATALOG_AWS_ENDPOINT":         emu.Endpoint,
		"AGORA_CATALOG_IDEMPOTENCY_STORE":    "redis",
		"AGORA_CATALOG_REDIS_ADDR":           redisAddr,
		"AGORA_CATALOG_LOG_LEVEL":            "error",
		"AGORA_CATALOG_METRICS_EXPORTER":     "none",
	}
	var cfg serviceConfig
	err = config.Load(ctx, &cfg, config.Options{
		Prefix: "AGORA_CATALOG",
		LookupEnv: func(name string) (string, bool) {
			v, ok := vars[name]
			return v, ok
		},
		Resolver: config.NewLazyAWSResolver(emu.Config),
	})
	require.NoError(t, err)
	require.Equal(t, pgURL, cfg.DatabaseURL)
	require.Equal(t, "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_agora", cfg.AuthIssuer)
	require.Equal(t, config.Mask, config.Redacted(cfg)["DATABASE_URL"], "the resolved secret is masked when printed")

	infra, err := host.Open(ctx, "catalog", cfg.Host())
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, infra.Close(context.Background())) })
	require.Equal(t, sqldb.Postgres, infra.DB.Dialect)
	require.NoError(t, infra.DB.PingContext(ctx))
	require.IsType(t, &redisstore.Store{}, infra.Idempotency)
	require.NoError(t, infra.Redis.Ping(ctx).Err())

	// The codec writes the Glue wire format, registering the schema.
	topic := "t" + strings.ReplaceAll(suffix, "-", "")[:12] + ".catalog.products.v1"
	t.Cleanup(func() {
		_, _ = awsglue.NewFromConfig(awsCfg).DeleteSchema(context.Background(), &awsglue.DeleteSchemaInput{SchemaId: &gluetypes.SchemaId{
			RegistryName: aws.String("agora-test"), SchemaName: aws.String(topic)}})
	})
	value, err := infra.Codec.Encode(ctx, topic, &catalogv1.ProductEvent{Event: &catalogv1.ProductEvent_ProductArchived{
		ProductArchived: &catalogv1.ProductArchived{ProductId: "p-1"}}})
	require.NoError(t, err)
	require.Equal(t, byte(3), value[0])
	got, err := infra.Codec.Decode(ctx, value)
	require.NoError(t, err)
	require.Equal(t, "p-1", got.(*catalogv1.ProductEvent).GetProductArchived().GetProductId())
}

// The confluent registry needs its URL; the redis idempotency store its
// address.
func TestOpenNamesMissingSettings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	base := host.Config{
		LogLevel: "error", MetricsExporter: "none", TracesExporter: "none", SampleRatio: 1,
		DatabaseURL: "sqlite:" + t.TempDir() + "/x.db", KafkaBrokers: []string{"127.0.0.1:1"},
		AuthIssuer: "https://issuer.example", AuthAudience: "agora", AuthJWKSURL: "https://issuer.example/jwks",
	}
	_, err := host.Open(ctx, "x", base)
	require.ErrorContains(t, err, "SCHEMA_REGISTRY_URL")
	withRedis := base
	withRedis.SchemaRegistryURL = "http://127.0.0.1:1"
	withRedis.IdempotencyStore = "redis"
	_, err = host.Open(ctx, "x", withRedis)
	require.ErrorContains(t, err, "REDIS_ADDR")
	require.False(t, errors.Is(err, context.Canceled))
}
