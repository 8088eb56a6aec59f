package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/sr"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/agoracommerce/agora/api"
	protos "github.com/agoracommerce/agora/api/proto"
	_ "github.com/agoracommerce/agora/gen/proto/agora/cart/v1"
	_ "github.com/agoracommerce/agora/gen/proto/agora/catalog/v1"
	_ "github.com/agoracommerce/agora/gen/proto/agora/inventory/v1"
	_ "github.com/agoracommerce/agora/gen/proto/agora/notification/v1"
	_ "github.com/agoracommerce/agora/gen/proto/agora/ordering/v1"
	_ "github.com/agoracommerce/agora/gen/proto/agora/payment/v1"
	_ "github.com/agoracommerce/agora/gen/proto/agora/shipping/v1"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/schemaregistry/glue"
)

// topicSchemas maps every topic of api/topics.yaml to the envelope its
// record values carry, resolved among the generated Protobuf types.
func topicSchemas() (map[string]proto.Message, error) {
	topics, err := api.Topics()
	if err != nil {
		return nil, err
	}
	out := make(map[string]proto.Message, len(topics))
	for _, t := range topics {
		mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(t.Envelope))
		if err != nil {
			return nil, fmt.Errorf("topic %s: envelope %s: %w", t.Name, t.Envelope, err)
		}
		out[t.Name] = mt.New().Interface()
	}
	return out, nil
}

// schemaCodec returns the codec of the registry named by target: a
// Confluent-compatible registry URL, or glue://<registry name> for the AWS
// Glue Schema Registry (credentials and region from the AWS SDK's usual
// sources, AWS_ENDPOINT_URL included).
func schemaCodec(ctx context.Context, target string, register bool) (*events.Codec, error) {
	if name, ok := strings.CutPrefix(target, "glue://"); ok {
		if name == "" {
			return nil, errors.New("glue:// needs a registry name, e.g. glue://agora-prod")
		}
		awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("aws configuration: %w", err)
		}
		reg, err := glue.NewFromConfig(awsCfg, glue.Config{RegistryName: name})
		if err != nil {
			return nil, err
		}
		if register {
			if err := reg.EnsureRegistry(ctx); err != nil {
				return nil, err
			}
		}
		return events.NewGlueCodec(events.GlueConfig{Registry: reg, Sources: protos.FS, AutoRegister: register})
	}
	client, err := sr.NewClient(sr.URLs(target))
	if err != nil {
		return nil, fmt.Errorf("schema registry client: %w", err)
	}
	return events.NewCodec(events.CodecConfig{Registry: client, Sources: protos.FS, AutoRegister: register})
}

func newSchemasCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "schemas",
		Short: "Register or check the event schemas of every topic in a schema registry",
		Long: `Services look schemas up but do not register them outside local mode:
the deployment pipeline registers them first with 'agora schemas register'.
'agora schemas check' fails when a topic's schema is not registered (or
the registry refuses it as incompatible).`,
	}
	var registry string
	flags := func(c *cobra.Command) {
		c.Flags().StringVar(&registry, "registry", os.Getenv("AGORA_SCHEMA_REGISTRY_URL"),
			"schema registry URL (default from AGORA_SCHEMA_REGISTRY_URL)")
	}
	run := func(register bool) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, _ []string) error {
			if registry == "" {
				return fmt.Errorf("no schema registry: pass --registry or set AGORA_SCHEMA_REGISTRY_URL")
			}
			codec, err := schemaCodec(cmd.Context(), registry, register)
			if err != nil {
				return err
			}
			schemas, err := topicSchemas()
			if err != nil {
				return err
			}
			topics := make([]string, 0, len(schemas))
			for topic := range schemas {
				topics = append(topics, topic)
			}
			sort.Strings(topics)
			for _, topic := range topics {
				id, err := codec.Register(cmd.Context(), topic, schemas[topic])
				if err != nil {
					return fmt.Errorf("%s: %w", topic, err)
				}
				if _, err := fmt.Fprintf(cmd.OutOrStdout(), "%-24s %-40s schema id %d\n", topic, events.Subject(topic), id); err != nil {
					return err
				}
			}
			return nil
		}
	}
	register := &cobra.Command{Use: "register", Short: "Register every topic's schema (and the files it imports)", Args: cobra.NoArgs, RunE: run(true)}
	check := &cobra.Command{Use: "check", Short: "Fail unless every topic's schema is registered", Args: cobra.NoArgs, RunE: run(false)}
	flags(register)
	flags(check)
	cmd.AddCommand(register, check)
	return cmd
}
