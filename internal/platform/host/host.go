// Package host opens the shared infrastructure of one Agora service process
// — logger, telemetry, store (a SQL database or a DynamoDB table) with its
// outbox and inbox, schema-registry
// codec, Kafka producer, token verifier and idempotency store — from one
// typed configuration, and turns a service's parts into lifecycle
// components: its HTTP server, its outbox relay and its consumers. The same
// code serves `agora serve <service>` (one process per service, the
// Fargate form) and the all-in-one local runner.
package host

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/redis/go-redis/v9"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"go.uber.org/zap"

	"github.com/agoracommerce/agora/api"
	protos "github.com/agoracommerce/agora/api/proto"
	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/buildinfo"
	"github.com/agoracommerce/agora/internal/platform/chassis"
	"github.com/agoracommerce/agora/internal/platform/config"
	"github.com/agoracommerce/agora/internal/platform/consumer"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/fault"
	"github.com/agoracommerce/agora/internal/platform/httpserver"
	"github.com/agoracommerce/agora/internal/platform/idempotency"
	"github.com/agoracommerce/agora/internal/platform/inbox"
	"github.com/agoracommerce/agora/internal/platform/lifecycle"
	"github.com/agoracommerce/agora/internal/platform/logging"
	"github.com/agoracommerce/agora/internal/platform/outbox"
	"github.com/agoracommerce/agora/internal/platform/problem"
	glueregistry "github.com/agoracommerce/agora/internal/platform/schemaregistry/glue"
	"github.com/agoracommerce/agora/internal/platform/sqldb"
	"github.com/agoracommerce/agora/internal/platform/telemetry"
	"github.com/agoracommerce/agora/internal/platform/topics"
)

// Config is what every service process needs; a service embeds it in its
// own configuration struct (variables AGORA_<SERVICE>_...).
type Config struct {
	Env      string `env:"ENV" default:"local" validate:"oneof=local|development|staging|production"`
	LogLevel string `env:"LOG_LEVEL" default:"info" validate:"oneof=debug|info|warn|error"`
	HTTPAddr string `env:"HTTP_ADDR" default:":8080" validate:"required,hostport"`

	// DatabaseURL is where the service keeps its state: a SQLite file or
	// PostgreSQL URL (sqlite:..., postgres://...), or dynamodb://<table>
	// for a DynamoDB table with the platform's shared layout (region and
	// endpoint from AWS_REGION and AWS_ENDPOINT).
	DatabaseURL string `env:"DATABASE_URL" secret:"true" validate:"required"`
	// OutboxShards spreads a DynamoDB outbox over this many partitions;
	// OutboxExpireAfter gives its items a TTL, for tables whose stream
	// relays the outbox (the polling relay deletes what it published and
	// must run with 0).
	OutboxShards      int           `env:"OUTBOX_SHARDS" default:"1" validate:"min=1,max=64"`
	OutboxExpireAfter time.Duration `env:"OUTBOX_EXPIRE_AFTER" validate:"min=1h,max=8760h"`

	KafkaBrokers []string `env:"KAFKA_BROKERS" validate:"required"`
	// KafkaTopicPrefix namespaces every topic and consumer group of the
	// service (e.g. "staging."), so environments can share a cluster.
	KafkaTopicPrefix string `env:"KAFKA_TOPIC_PREFIX" validate:"max=100"`
	// KafkaEnsureTopics applies the topics the service publishes to at
	// start (api/topics.yaml: created when missing, retention restored;
	// package topics), with KafkaTopicPartitions partitions when set.
	KafkaEnsureTopics    bool `env:"KAFKA_ENSURE_TOPICS" default:"false"`
	KafkaTopicPartitions int  `env:"KAFKA_TOPIC_PARTITIONS" validate:"min=1,max=10000"`
	// KafkaTLS dials the brokers with TLS (implied by AWS_MSK_IAM);
	// KafkaSASLMechanism is AWS_MSK_IAM (the AWS credentials of the
	// process), SCRAM-SHA-512 or PLAIN (with the username and password).
	KafkaTLS           bool          `env:"KAFKA_TLS" default:"false"`
	KafkaSASLMechanism string        `env:"KAFKA_SASL_MECHANISM" validate:"oneof=AWS_MSK_IAM|SCRAM-SHA-512|PLAIN"`
	KafkaSASLUsername  string        `env:"KAFKA_SASL_USERNAME"`
	KafkaSASLPassword  config.Secret `env:"KAFKA_SASL_PASSWORD"`
	// SchemaRegistry picks the registry and wire format of events:
	// confluent (a Confluent-compatible registry at SchemaRegistryURL,
	// Confluent wire format) or glue (the AWS Glue Schema Registry named
	// GlueRegistryName, Glue wire format). Empty means confluent.
	SchemaRegistry     string `env:"SCHEMA_REGISTRY" default:"confluent" validate:"oneof=confluent|glue"`
	SchemaRegistryURL  string `env:"SCHEMA_REGISTRY_URL" validate:"url"`
	SchemaAutoRegister bool   `env:"SCHEMA_AUTO_REGISTER" default:"false"`
	GlueRegistryName   string `env:"GLUE_REGISTRY_NAME" default:"agora" validate:"max=255"`
	// GlueCompress zlib-compresses record values in the Glue wire format.
	GlueCompress bool `env:"GLUE_COMPRESS" default:"false"`

	// AWSRegion and AWSEndpoint configure the AWS clients of the process
	// (Glue, SES); empty means the SDK's default chain (AWS_REGION, the
	// task role). AWSEndpoint points every client at one endpoint, such as
	// an emulator.
	AWSRegion   string `env:"AWS_REGION" validate:"max=64"`
	AWSEndpoint string `env:"AWS_ENDPOINT" validate:"url"`

	// IdempotencyStore keeps Idempotency-Key records in the service's SQL
	// database (sql), its DynamoDB table (dynamodb) or Redis (redis, at
	// RedisAddr). Empty means the service's own store.
	IdempotencyStore string `env:"IDEMPOTENCY_STORE" validate:"oneof=sql|dynamodb|redis"`
	// Redis (ElastiCache): address, TLS (in-transit encryption) and the
	// AUTH password or token. Opened when RedisAddr is set.
	RedisAddr     string        `env:"REDIS_ADDR" validate:"hostport"`
	RedisTLS      bool          `env:"REDIS_TLS" default:"false"`
	RedisUsername string        `env:"REDIS_USERNAME"`
	RedisPassword config.Secret `env:"REDIS_PASSWORD"`

	AuthIssuer   string `env:"AUTH_ISSUER" validate:"required,url"`
	AuthAudience string `env:"AUTH_AUDIENCE" default:"agora" validate:"required"`
	AuthJWKSURL  string `env:"AUTH_JWKS_URL" validate:"required,url"`
	// AuthClientIDs accepts access tokens without aud whose client_id is
	// one of these (Amazon Cognito); AuthScopePrefix is the resource
	// server's scope prefix ("agora/"), so "agora/orders:read" grants
	// orders:read.
	AuthClientIDs   []string `env:"AUTH_CLIENT_IDS" validate:"max=50"`
	AuthScopePrefix string   `env:"AUTH_SCOPE_PREFIX" validate:"max=100"`

	TracesExporter  string `env:"TRACES_EXPORTER" default:"none" validate:"oneof=none|stdout|otlp"`
	MetricsExporter string `env:"METRICS_EXPORTER" default:"prometheus" validate:"oneof=prometheus|otlp|emf|none"`
	// MetricsNamespace is the CloudWatch namespace of METRICS_EXPORTER=emf
	// (embedded metric format lines on stdout; dimension service).
	MetricsNamespace string  `env:"METRICS_NAMESPACE" default:"agora" validate:"max=255"`
	OTLPEndpoint     string  `env:"OTLP_ENDPOINT" validate:"url"`
	SampleRatio      float64 `env:"TRACE_SAMPLE_RATIO" default:"1" validate:"min=0,max=1"`

	RelayBatchSize  int           `env:"RELAY_BATCH_SIZE" default:"500" validate:"min=1,max=5000"`
	InboxRetention  time.Duration `env:"INBOX_RETENTION" default:"168h" validate:"min=1m"`
	RelayMaxPoll    time.Duration `env:"RELAY_MAX_POLL" default:"1s" validate:"min=1ms,max=1m"`
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" default:"20s" validate:"min=1s,max=5m"`
}

// Host returns c; services embed Config and hand it to Open through this.
func (c Config) Host() Config { return c }

// Infra is the opened infrastructure of one service process. Close releases
// it after the components stopped.
type Infra struct {
	Service   string
	Config    Config
	Logger    *zap.Logger
	Telemetry *telemetry.Telemetry
	// DB, Outbox and Inbox are the SQL store; nil when the service keeps
	// its state in DynamoDB.
	DB     *sqldb.DB
	Outbox *outbox.Store
	Inbox  *inbox.Store
	// Dynamo is the DynamoDB store (DATABASE_URL dynamodb://<table>); nil
	// on SQL.
	Dynamo      *Dynamo
	Codec       *events.Codec
	Producer    *kgo.Client
	Verifier    auth.TokenVerifier
	Idempotency idempotency.Store
	// Redis is the Redis client when Config.RedisAddr is set, else nil.
	Redis *redis.Client
	// AWS is the AWS configuration from Config.AWSRegion and AWSEndpoint,
	// loaded when the process uses an AWS service (see AWSConfig).
	AWS *aws.Config
	// Listener, when set before the HTTP server is built, is where it
	// serves instead of listening on Config.HTTPAddr (agora run puts every
	// service on a loopback port it chose).
	Listener net.Listener

	closers   []func(context.Context) error
	kafkaOpts []kgo.Opt
}

// An Option changes how Open opens the infrastructure.
type Option func(*Infra)

// WithAWSConfig makes every AWS client of the process (DynamoDB, Glue,
// SES) use awsCfg instead of one loaded from Config.AWSRegion,
// Config.AWSEndpoint and the SDK's default chain: for callers that built
// their own, with a custom HTTP client for example.
func WithAWSConfig(awsCfg aws.Config) Option {
	return func(in *Infra) { in.AWS = &awsCfg }
}

// Open connects to everything cfg names. On error it closes what it opened.
func Open(ctx context.Context, service string, cfg Config, opts ...Option) (in *Infra, err error) {
	in = &Infra{Service: service, Config: cfg}
	for _, opt := range opts {
		opt(in)
	}
	defer func() {
		if err != nil {
			_ = in.Close(context.WithoutCancel(ctx))
			in = nil
		}
	}()
	if in.Logger, err = logging.New(logging.Config{Service: service, Level: cfg.LogLevel}); err != nil {
		return in, fmt.Errorf("host: logger: %w", err)
	}
	in.closers = append(in.closers, func(context.Context) error { _ = in.Logger.Sync(); return nil })

	in.Telemetry, err = telemetry.Setup(ctx, telemetry.Config{
		Service: "agora-" + service, Version: buildinfo.Get().Version,
		TracesExporter: cfg.TracesExporter, MetricsExporter: cfg.MetricsExporter,
		MetricsNamespace: cfg.MetricsNamespace, MetricsService: service, MetricsWriter: logging.Stdout(),
		OTLPEndpoint: cfg.OTLPEndpoint, SampleRatio: cfg.SampleRatio,
	})
	if err != nil {
		return in, fmt.Errorf("host: telemetry: %w", err)
	}
	in.Telemetry.InstallGlobals()
	in.closers = append(in.closers, in.Telemetry.Shutdown)

	if err := in.openStore(ctx); err != nil {
		return in, err
	}
	if err := in.openRedis(ctx); err != nil {
		return in, err
	}
	if err := in.openIdempotency(ctx); err != nil {
		return in, err
	}

	if in.Codec, err = in.openCodec(ctx); err != nil {
		return in, err
	}
	// The relay's producer: idempotent with acks=all (franz-go's defaults,
	// kept), no linger since the relay produces whole batches synchronously.
	kafkaOpts, err := cfg.KafkaOpts(ctx)
	if err != nil {
		return in, err
	}
	in.kafkaOpts = kafkaOpts
	if in.Producer, err = kgo.NewClient(append(slices.Clone(kafkaOpts), kgo.ProducerLinger(0), kgo.AllowAutoTopicCreation())...); err != nil {
		return in, fmt.Errorf("host: kafka producer: %w", err)
	}
	in.closers = append(in.closers, func(context.Context) error { in.Producer.Close(); return nil })
	if cfg.KafkaEnsureTopics {
		if err := in.ensureTopics(ctx); err != nil {
			return in, err
		}
	}

	if in.Verifier, err = auth.NewVerifier(auth.Config{
		Issuer: cfg.AuthIssuer, Audiences: []string{cfg.AuthAudience}, JWKSURL: cfg.AuthJWKSURL,
		ClientIDs: cfg.AuthClientIDs, ScopePrefix: cfg.AuthScopePrefix,
	}); err != nil {
		return in, fmt.Errorf("host: token verifier: %w", err)
	}
	return in, nil
}

// ensureTopics applies the topics the service owns.
func (in *Infra) ensureTopics(ctx context.Context) error {
	decl, err := api.Topics()
	if err != nil {
		return fmt.Errorf("host: topics: %w", err)
	}
	owned := topics.Owned(decl, in.Service)
	if len(owned) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	results, err := topics.Apply(ctx, kadm.NewClient(in.Producer), owned, topics.Options{Prefix: in.Config.KafkaTopicPrefix, Partitions: in.Config.KafkaTopicPartitions})
	for _, r := range results {
		if r.Action != topics.Unchanged {
			in.Logger.Info("topic applied", zap.String("topic", r.Topic), zap.String("action", string(r.Action)), zap.Int64("retention_ms", r.Retention))
		}
	}
	if err != nil {
		return fmt.Errorf("host: KAFKA_ENSURE_TOPICS: %w", err)
	}
	return nil
}

// openRedis connects to Config.RedisAddr, when set, and checks that it answers.
func (in *Infra) openRedis(ctx context.Context) error {
	cfg := in.Config
	if cfg.RedisAddr == "" {
		return nil
	}
	opts := &redis.Options{
		Addr: cfg.RedisAddr, Username: cfg.RedisUsername, Password: cfg.RedisPassword.Value(),
		DialTimeout: 2 * time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second,
	}
	if cfg.RedisTLS {
		host, _, _ := net.SplitHostPort(cfg.RedisAddr)
		opts.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: host}
	}
	in.Redis = redis.NewClient(opts)
	in.closers = append(in.closers, func(context.Context) error { return in.Redis.Close() })
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := in.Redis.Ping(pingCtx).Err(); err != nil {
		return fault.Retryable(fmt.Errorf("host: redis at %s: %w", cfg.RedisAddr, err))
	}
	return nil
}

// openCodec builds the event codec over the registry Config.SchemaRegistry
// names.
func (in *Infra) openCodec(ctx context.Context) (*events.Codec, error) {
	return newCodec(ctx, in.Config, in.AWSConfig)
}

// NewCodec builds the event codec over the registry cfg.SchemaRegistry
// names: a Confluent-compatible registry at SchemaRegistryURL, or the
// Glue Schema Registry GlueRegistryName (AWS configuration from cfg).
func NewCodec(ctx context.Context, cfg Config) (*events.Codec, error) {
	return newCodec(ctx, cfg, func(ctx context.Context) (aws.Config, error) { return AWSConfig(ctx, cfg) })
}

func newCodec(ctx context.Context, cfg Config, loadAWS func(context.Context) (aws.Config, error)) (*events.Codec, error) {
	switch cfg.SchemaRegistry {
	case "", "confluent":
		if cfg.SchemaRegistryURL == "" {
			return nil, errors.New("host: SCHEMA_REGISTRY_URL is required with the confluent schema registry")
		}
		registry, err := sr.NewClient(sr.URLs(cfg.SchemaRegistryURL))
		if err != nil {
			return nil, fmt.Errorf("host: schema registry client: %w", err)
		}
		codec, err := events.NewCodec(events.CodecConfig{Registry: registry, Sources: protos.FS, AutoRegister: cfg.SchemaAutoRegister})
		if err != nil {
			return nil, fmt.Errorf("host: codec: %w", err)
		}
		return codec, nil
	case "glue":
		if cfg.GlueRegistryName == "" {
			return nil, errors.New("host: GLUE_REGISTRY_NAME is required with the glue schema registry")
		}
		awsCfg, err := loadAWS(ctx)
		if err != nil {
			return nil, err
		}
		registry, err := glueregistry.NewFromConfig(awsCfg, glueregistry.Config{RegistryName: cfg.GlueRegistryName})
		if err != nil {
			return nil, fmt.Errorf("host: glue schema registry: %w", err)
		}
		codec, err := events.NewGlueCodec(events.GlueConfig{Registry: registry, Sources: protos.FS, AutoRegister: cfg.SchemaAutoRegister, Compress: cfg.GlueCompress})
		if err != nil {
			return nil, fmt.Errorf("host: codec: %w", err)
		}
		return codec, nil
	}
	return nil, fmt.Errorf("host: unknown schema registry %q", cfg.SchemaRegistry)
}

// AWSConfig returns the process's AWS configuration (Config.AWSRegion,
// Config.AWSEndpoint, credentials from the SDK's default chain), loading it
// on first use.
func (in *Infra) AWSConfig(ctx context.Context) (aws.Config, error) {
	if in.AWS != nil {
		return *in.AWS, nil
	}
	cfg, err := AWSConfig(ctx, in.Config)
	if err != nil {
		return aws.Config{}, err
	}
	in.AWS = &cfg
	return cfg, nil
}

// AWSConfig loads the AWS configuration cfg names: its region and endpoint
// over the SDK's default chain.
func AWSConfig(ctx context.Context, cfg Config) (aws.Config, error) {
	var opts []func(*awsconfig.LoadOptions) error
	if cfg.AWSRegion != "" {
		opts = append(opts, awsconfig.WithRegion(cfg.AWSRegion))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("host: aws configuration: %w", err)
	}
	if cfg.AWSEndpoint != "" {
		awsCfg.BaseEndpoint = aws.String(cfg.AWSEndpoint)
	}
	return awsCfg, nil
}

// KafkaOpts returns a copy of the options every Kafka client of the
// service starts with (seed brokers, TLS, SASL).
func (in *Infra) KafkaOpts() []kgo.Opt { return slices.Clone(in.kafkaOpts) }

// Close releases the infrastructure in reverse order of opening.
func (in *Infra) Close(ctx context.Context) error {
	var errs []error
	for i := len(in.closers) - 1; i >= 0; i-- {
		errs = append(errs, in.closers[i](ctx))
	}
	in.closers = nil
	return errors.Join(errs...)
}

// HTTP is a service's HTTP edge: its OpenAPI document (Spec bytes or a
// loaded Document), the security schemes a bearer token satisfies, its error
// mapping, and Mount, which registers the generated routes on the server.
type HTTP struct {
	Spec          []byte
	Document      *openapi3.T
	BearerSchemes []string
	Problems      *problem.Mapper
	Mount         func(srv *httpserver.Server)
}

// HTTPServer assembles the service's HTTP edge (chassis.NewHTTP) on the
// infrastructure and returns it as a component listening on ln (or on
// Config.HTTPAddr when ln is nil).
func (in *Infra) HTTPServer(edge HTTP, ln net.Listener) (lifecycle.Component, *httpserver.Server, error) {
	srv, err := chassis.NewHTTP(chassis.Config{
		HTTP:          httpserver.Config{Addr: in.Config.HTTPAddr, Spec: edge.Spec, Document: edge.Document, Problems: edge.Problems},
		BearerSchemes: edge.BearerSchemes,
	}, chassis.Deps{
		Logger: in.Logger, Telemetry: in.Telemetry, Verifier: in.Verifier, Idempotency: in.Idempotency,
		Readiness: []chassis.Check{{Name: "database", Check: in.PingStore}},
	})
	if err != nil {
		return nil, nil, fmt.Errorf("host: http server: %w", err)
	}
	edge.Mount(srv)
	if ln == nil {
		ln = in.Listener
	}
	if ln == nil {
		if ln, err = net.Listen("tcp", in.Config.HTTPAddr); err != nil {
			return nil, nil, fmt.Errorf("host: listen on %s: %w", in.Config.HTTPAddr, err)
		}
	}
	return lifecycle.Func(in.Service+"-http", func(ctx context.Context) error { return srv.Serve(ctx, ln) }, nil), srv, nil
}

// Relay returns the outbox relay as a component; on PostgreSQL it wakes on
// the outbox's notifications.
func (in *Infra) Relay() lifecycle.Component {
	return lifecycle.Func(in.Service+"-outbox-relay", func(ctx context.Context) error {
		cfg := outbox.RelayConfig{
			Source: in.OutboxSource(), Producer: in.Producer, BatchSize: in.Config.RelayBatchSize,
			MaxPoll: in.Config.RelayMaxPoll, Logger: in.Logger.Named("relay"), TopicPrefix: in.Config.KafkaTopicPrefix,
		}
		if in.DB != nil && in.DB.Dialect == sqldb.Postgres {
			cfg.Wake = outbox.ListenPostgres(ctx, in.DB.URL, in.Logger)
		}
		relay, err := outbox.NewRelay(cfg)
		if err != nil {
			return err
		}
		return relay.Run(ctx)
	}, nil)
}

// InboxJanitor returns a component that purges inbox entries older than
// Config.InboxRetention every interval, or nil on DynamoDB, whose TTL
// purges the inbox. Keep the retention longer than any redelivery (topic
// retention, DLQ redrive).
func (in *Infra) InboxJanitor(interval time.Duration) lifecycle.Component {
	if in.Inbox == nil {
		return nil
	}
	return lifecycle.Every(in.Service+"-inbox-janitor", interval, func(ctx context.Context) error {
		n, err := in.Inbox.Cleanup(ctx, time.Now().Add(-in.Config.InboxRetention))
		if n > 0 {
			in.Logger.Info("inbox cleaned up", zap.Int64("entries", n))
		}
		return err
	}, func(err error) { in.Logger.Warn("inbox cleanup failed", zap.Error(err)) })
}

// Consumer returns a consumer group member of this service as a component.
// cfg needs Group, Topics and a handler; the connection, codec, logger and
// tracer come from the infrastructure. Config.KafkaTopicPrefix is put in
// front of the group and the topics (so also of the dead-letter topic).
func (in *Infra) Consumer(cfg consumer.Config) (lifecycle.Component, error) {
	if p := in.Config.KafkaTopicPrefix; p != "" {
		cfg.Group = p + cfg.Group
		topics := make([]string, len(cfg.Topics))
		for i, t := range cfg.Topics {
			topics[i] = p + t
		}
		cfg.Topics = topics
	}
	cfg.ClientOpts = append(in.KafkaOpts(), cfg.ClientOpts...)
	if cfg.Decoder == nil {
		cfg.Decoder = in.Codec
	}
	if cfg.Logger == nil {
		cfg.Logger = in.Logger.Named("consumer")
	}
	c, err := consumer.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("host: consumer %s: %w", cfg.Group, err)
	}
	return c, nil
}
