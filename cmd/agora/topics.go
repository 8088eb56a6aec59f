package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/agoracommerce/agora/api"
	"github.com/agoracommerce/agora/internal/platform/topics"
)

func newTopicsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "topics",
		Short: "Create Agora's Kafka topics and keep their retention as declared",
	}
	cmd.AddCommand(newTopicsApplyCmd())
	return cmd
}

func newTopicsApplyCmd() *cobra.Command {
	var (
		kafka      kafkaFlags
		prefix     string
		owner      string
		partitions int
		replicas   int
		asJSON     bool
		timeout    time.Duration
	)
	cmd := &cobra.Command{
		Use:   "apply",
		Short: "Create missing topics of api/topics.yaml and restore their retention",
		Long: `Apply the topics declared in api/topics.yaml (built into this binary) to a
Kafka cluster: create the topics that are missing with their partitions and
retention.ms, and set retention.ms back on existing topics where it differs.
Nothing is deleted, partition counts are never lowered and other settings
are left to the cluster. Running it twice changes nothing the second time.

Services do the same for the topics they own when started with
KAFKA_ENSURE_TOPICS=true.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if timeout <= 0 {
				return fmt.Errorf("topics apply: --timeout must be positive, got %s", timeout)
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			decl, err := api.Topics()
			if err != nil {
				return err
			}
			if owner != "" {
				if decl = topics.Owned(decl, owner); len(decl) == 0 {
					return fmt.Errorf("topics apply: --owner %q owns no topic", owner)
				}
			}
			opts, err := kafka.opts(ctx, "topics apply")
			if err != nil {
				return err
			}
			cl, err := kgo.NewClient(opts...)
			if err != nil {
				return fmt.Errorf("topics apply: kafka: %w", err)
			}
			defer cl.Close()
			results, err := topics.Apply(ctx, kadm.NewClient(cl), decl, topics.Options{Prefix: prefix, Partitions: partitions, ReplicationFactor: replicas})
			if printErr := printTopicResults(cmd, results, asJSON); printErr != nil {
				err = errors.Join(err, printErr)
			}
			return err
		},
	}
	kafka.register(cmd.Flags())
	cmd.Flags().StringVar(&prefix, "prefix", "", "put this in front of every topic name (a service's KAFKA_TOPIC_PREFIX)")
	cmd.Flags().StringVar(&owner, "owner", "", "apply only the topics this service publishes to")
	cmd.Flags().IntVar(&partitions, "partitions", 0, "partitions of topics created (0: the count topics.yaml declares)")
	cmd.Flags().IntVar(&replicas, "replication-factor", -1, "replication factor of topics created (-1: the cluster's default)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the results as JSON")
	cmd.Flags().DurationVar(&timeout, "timeout", time.Minute, "give up after this long")
	return cmd
}

func printTopicResults(cmd *cobra.Command, results []topics.Result, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetIndent("", "  ")
		return enc.Encode(results)
	}
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, "TOPIC\tACTION\tRETENTION")
	for _, r := range results {
		retention := "forever"
		if r.Retention >= 0 {
			retention = (time.Duration(r.Retention) * time.Millisecond).String()
		}
		_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Topic, r.Action, retention)
	}
	return tw.Flush()
}
