package main

import (
	"fmt"
	"os"
	"sort"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/sr"
	"google.golang.org/protobuf/proto"

	protos "github.com/agoracommerce/agora/api/proto"
	cartv1 "github.com/agoracommerce/agora/gen/proto/agora/cart/v1"
	catalogv1 "github.com/agoracommerce/agora/gen/proto/agora/catalog/v1"
	inventoryv1 "github.com/agoracommerce/agora/gen/proto/agora/inventory/v1"
	orderingv1 "github.com/agoracommerce/agora/gen/proto/agora/ordering/v1"
	paymentv1 "github.com/agoracommerce/agora/gen/proto/agora/payment/v1"
	shippingv1 "github.com/agoracommerce/agora/gen/proto/agora/shipping/v1"
	cartevents "github.com/agoracommerce/agora/internal/cart/eventsout"
	catalogevents "github.com/agoracommerce/agora/internal/catalog/eventsout"
	inventoryevents "github.com/agoracommerce/agora/internal/inventory/eventsout"
	paymentevents "github.com/agoracommerce/agora/internal/payment/eventsout"
	"github.com/agoracommerce/agora/internal/platform/events"
	shippingevents "github.com/agoracommerce/agora/internal/shipping/eventsout"
)

// topicSchemas maps every topic to the envelope its record values carry.
func topicSchemas() map[string]proto.Message {
	return map[string]proto.Message{
		catalogevents.Topic:   &catalogv1.ProductEvent{},
		inventoryevents.Topic: &inventoryv1.StockEvent{},
		cartevents.Topic:      &cartv1.CartEvent{},
		paymentevents.Topic:   &paymentv1.PaymentEvent{},
		shippingevents.Topic:  &shippingv1.ShipmentEvent{},
		"ordering.orders.v1":  &orderingv1.OrderEvent{},
	}
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
			client, err := sr.NewClient(sr.URLs(registry))
			if err != nil {
				return fmt.Errorf("schema registry client: %w", err)
			}
			codec, err := events.NewCodec(events.CodecConfig{Registry: client, Sources: protos.FS, AutoRegister: register})
			if err != nil {
				return err
			}
			schemas := topicSchemas()
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
