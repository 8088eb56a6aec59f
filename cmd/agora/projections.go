package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/spf13/cobra"

	"github.com/agoracommerce/agora/internal/orderhistory/app"
	orderhistorydynamo "github.com/agoracommerce/agora/internal/orderhistory/dynamostore"
	orderhistorykafka "github.com/agoracommerce/agora/internal/orderhistory/kafka"
	orderhistorysql "github.com/agoracommerce/agora/internal/orderhistory/sqlstore"
	"github.com/agoracommerce/agora/internal/platform/config"
	"github.com/agoracommerce/agora/internal/platform/host"
	"github.com/agoracommerce/agora/internal/platform/sqldb"
)

// projectionRebuilders lists the read models `agora projections rebuild`
// can rebuild.
func projectionRebuilders() map[string]func(ctx context.Context, out io.Writer, env config.Options) error {
	return map[string]func(ctx context.Context, out io.Writer, env config.Options) error{
		"orderhistory": rebuildOrderhistory,
	}
}

func projectionNames() []string {
	var names []string
	for name := range projectionRebuilders() {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

func newProjectionsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "projections",
		Short: "Manage the read models projected from events",
	}
	cmd.AddCommand(newProjectionsRebuildCmd())
	return cmd
}

// rebuildFlags override the service's variables of the same meaning.
type rebuildFlags struct {
	configFile, databaseURL, brokers, registry string
}

func newProjectionsRebuildCmd() *cobra.Command {
	f := &rebuildFlags{}
	cmd := &cobra.Command{
		Use:   "rebuild <projection>",
		Short: "Rebuild a read model from the beginning of its topics, then switch to it",
		Long: `Rebuild a read model from the beginning of the topics it is projected from,
into a new generation of its tables, while the running service keeps serving
and projecting into the current one; then switch to the new generation in one
transaction and catch up with what arrived meanwhile:

  1. read the topics' high watermarks and replay everything up to them;
  2. make the new generation active (readers and the live projector use it
     from their next transaction on);
  3. read the high watermarks again and replay what lies between the two.

Nothing is lost in the switch and replaying an event twice is harmless (every
write is keyed by event ID). The generation replaced stays until the next
rebuild, which drops it (and any unfinished build) before it starts. The
command reads the topics with a plain client that assigns itself every
partition: no consumer group, no committed offsets.

The settings are the service's: for orderhistory the variables
AGORA_ORDERHISTORY_DATABASE_URL, AGORA_ORDERHISTORY_KAFKA_BROKERS and
AGORA_ORDERHISTORY_SCHEMA_REGISTRY_URL (or --config), which the flags override.

Projections: ` + strings.Join(projectionNames(), ", ") + `.`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: projectionNames(),
		RunE: func(cmd *cobra.Command, args []string) error {
			rebuild, ok := projectionRebuilders()[args[0]]
			if !ok {
				return fmt.Errorf("unknown projection %q (projections: %s)", args[0], strings.Join(projectionNames(), ", "))
			}
			prefix := "AGORA_" + strings.ToUpper(args[0])
			overrides := map[string]string{
				prefix + "_DATABASE_URL":        f.databaseURL,
				prefix + "_KAFKA_BROKERS":       f.brokers,
				prefix + "_SCHEMA_REGISTRY_URL": f.registry,
			}
			lookup := func(name string) (string, bool) {
				if v := overrides[name]; v != "" {
					return v, true
				}
				return os.LookupEnv(name)
			}
			return rebuild(cmd.Context(), cmd.OutOrStdout(), config.Options{Prefix: prefix, File: f.configFile, LookupEnv: lookup})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.configFile, "config", "", "configuration file (YAML, JSON, TOML or .env); the environment and flags override it")
	fl.StringVar(&f.databaseURL, "database-url", "", "the service's database, sqlite:<path>, postgres://... or dynamodb://<table> (<PREFIX>_DATABASE_URL)")
	fl.StringVar(&f.brokers, "brokers", "", "comma-separated Kafka seed brokers (<PREFIX>_KAFKA_BROKERS)")
	fl.StringVar(&f.registry, "schema-registry", "", "Confluent-compatible schema registry URL (<PREFIX>_SCHEMA_REGISTRY_URL; <PREFIX>_SCHEMA_REGISTRY=glue and <PREFIX>_GLUE_REGISTRY_NAME for the Glue Schema Registry)")
	return cmd
}

// orderhistoryRebuildConfig is the part of the order history's
// configuration a rebuild needs (the same variables).
type orderhistoryRebuildConfig struct {
	DatabaseURL       string   `env:"DATABASE_URL" secret:"true" validate:"required"`
	KafkaBrokers      []string `env:"KAFKA_BROKERS" validate:"required"`
	SchemaRegistry    string   `env:"SCHEMA_REGISTRY" default:"confluent" validate:"oneof=confluent|glue"`
	SchemaRegistryURL string   `env:"SCHEMA_REGISTRY_URL" validate:"url"`
	GlueRegistryName  string   `env:"GLUE_REGISTRY_NAME" default:"agora" validate:"max=255"`
	// The service's Kafka security settings, as in host.Config.
	KafkaTLS           bool          `env:"KAFKA_TLS" default:"false"`
	KafkaSASLMechanism string        `env:"KAFKA_SASL_MECHANISM" validate:"oneof=AWS_MSK_IAM|SCRAM-SHA-512|PLAIN"`
	KafkaSASLUsername  string        `env:"KAFKA_SASL_USERNAME"`
	KafkaSASLPassword  config.Secret `env:"KAFKA_SASL_PASSWORD"`
	AWSRegion          string        `env:"AWS_REGION"`
	AWSEndpoint        string        `env:"AWS_ENDPOINT"`
}

func rebuildOrderhistory(ctx context.Context, out io.Writer, env config.Options) error {
	cfg := &orderhistoryRebuildConfig{}
	if err := config.Load(ctx, cfg, env); err != nil {
		return err
	}
	if cfg.SchemaRegistry == "confluent" && cfg.SchemaRegistryURL == "" {
		return fmt.Errorf("%s_SCHEMA_REGISTRY_URL: required with %s_SCHEMA_REGISTRY=confluent", env.Prefix, env.Prefix)
	}
	hc := host.Config{
		DatabaseURL: cfg.DatabaseURL, KafkaBrokers: cfg.KafkaBrokers, KafkaTLS: cfg.KafkaTLS, KafkaSASLMechanism: cfg.KafkaSASLMechanism,
		KafkaSASLUsername: cfg.KafkaSASLUsername, KafkaSASLPassword: cfg.KafkaSASLPassword,
		SchemaRegistry: cfg.SchemaRegistry, SchemaRegistryURL: cfg.SchemaRegistryURL, GlueRegistryName: cfg.GlueRegistryName,
		AWSRegion: cfg.AWSRegion, AWSEndpoint: cfg.AWSEndpoint,
	}
	store, closeStore, err := openHistoryStore(ctx, hc)
	if err != nil {
		return fmt.Errorf("rebuild orderhistory: %w", err)
	}
	defer closeStore()
	svc, err := app.New(store, store, app.Config{})
	if err != nil {
		return err
	}
	codec, err := host.NewCodec(ctx, hc)
	if err != nil {
		return fmt.Errorf("rebuild orderhistory: %w", err)
	}
	kafkaOpts, err := hc.KafkaOpts(ctx)
	if err != nil {
		return fmt.Errorf("rebuild orderhistory: %w", err)
	}
	log, err := orderhistorykafka.NewLog(orderhistorykafka.LogConfig{ClientOpts: kafkaOpts, Decoder: codec})
	if err != nil {
		return fmt.Errorf("rebuild orderhistory: %w", err)
	}
	defer log.Close()

	fmt.Fprintf(out, "rebuilding orderhistory from %s\n", strings.Join(log.Topics(), ", "))
	report, err := svc.Rebuild(ctx, log, progressPrinter(out, time.Second))
	if err != nil {
		if report.Generation != 0 {
			return fmt.Errorf("%w (generation %d is left for the next rebuild to drop)", err, report.Generation)
		}
		return err
	}
	return printRebuild(out, log.Topics(), report)
}

// historyStore is the order history's read model and its generations.
type historyStore interface {
	app.Repository
	app.Generations
}

// openHistoryStore opens the order history's store that
// cfg.DatabaseURL names: its SQL database or its DynamoDB table.
func openHistoryStore(ctx context.Context, cfg host.Config) (historyStore, func(), error) {
	table, isDynamo, err := host.DynamoTable(cfg.DatabaseURL)
	if err != nil {
		return nil, nil, err
	}
	if isDynamo {
		awsCfg, err := host.AWSConfig(ctx, cfg)
		if err != nil {
			return nil, nil, err
		}
		store, err := orderhistorydynamo.New(dynamodb.NewFromConfig(awsCfg), table)
		return store, func() {}, err
	}
	db, err := sqldb.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, nil, err
	}
	store, err := orderhistorysql.New(ctx, db)
	if err != nil {
		_ = db.Close()
		return nil, nil, err
	}
	return store, func() { _ = db.Close() }, nil
}

// progressPrinter prints a rebuild's progress: each phase as it starts,
// and the running count at most once per interval.
func progressPrinter(out io.Writer, interval time.Duration) func(app.Progress) {
	var (
		phase string
		last  time.Time
	)
	return func(p app.Progress) {
		switch {
		case p.Phase != phase:
			phase, last = p.Phase, time.Now()
			switch p.Phase {
			case app.PhaseBuild:
				fmt.Fprintf(out, "generation %d: building from the start of the topics up to %d records\n", p.Generation, p.Target)
			case app.PhaseSwitch:
				fmt.Fprintf(out, "generation %d: built; switching to it\n", p.Generation)
			case app.PhaseCatchUp:
				fmt.Fprintf(out, "generation %d: active; catching up with up to %d records that arrived meanwhile\n", p.Generation, p.Target)
			}
		case time.Since(last) >= interval:
			last = time.Now()
			fmt.Fprintf(out, "generation %d: %s: %d records read\n", p.Generation, p.Phase, p.Read.Read())
		}
	}
}

func printRebuild(out io.Writer, topics []string, r app.RebuildReport) error {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "\ngeneration %d is active; generation %d is retired (dropped by the next rebuild)\n\n", r.Generation, r.Previous)
	fmt.Fprintln(w, "TOPIC\tREAD\tENTRIES\tSKIPPED\tMALFORMED")
	for _, topic := range topics {
		t := r.Read[topic]
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\n", topic, t.Read, t.Entries, t.Skipped, t.Malformed)
	}
	fmt.Fprintf(w, "\norders\t%d\ntimeline entries\t%d\nduration\t%s\n", r.Stats.Orders, r.Stats.Entries, r.Duration.Round(time.Millisecond))
	if err := w.Flush(); err != nil {
		return fmt.Errorf("rebuild orderhistory: print the summary: %w", err)
	}
	return nil
}
