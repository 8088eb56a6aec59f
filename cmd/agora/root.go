package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/agoracommerce/agora/internal/platform/buildinfo"
)

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "agora",
		Short: "Agora, an event-driven commerce platform on Apache Kafka",
		Long: `Agora is an event-driven commerce platform: catalog, inventory, carts,
ordering, payment, shipping, notification and order history as independent
services that talk through schema-registered Protobuf events on Kafka.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newVersionCmd())
	root.AddCommand(newTokenCmd())
	root.AddCommand(newIssuerCmd())
	root.AddCommand(newDLQCmd())
	root.AddCommand(newServeCmd())
	root.AddCommand(newRunCmd())
	root.AddCommand(newSchemasCmd())
	root.AddCommand(newRegistryCmd())
	root.AddCommand(newProjectionsCmd())
	root.AddCommand(newLoadgenCmd())
	root.AddCommand(newMailboxCmd())
	root.AddCommand(newHealthcheckCmd())
	root.AddCommand(newTopicsCmd())
	root.AddCommand(newTablesCmd())
	return root
}

func newVersionCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version of this build",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			info := buildinfo.Get()
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(info)
			}
			_, err := fmt.Fprintln(cmd.OutOrStdout(), info)
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the build information as JSON")
	return cmd
}
