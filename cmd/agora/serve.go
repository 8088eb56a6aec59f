package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/agoracommerce/agora/internal/platform/config"
	"github.com/agoracommerce/agora/internal/services"
)

func newServeCmd() *cobra.Command {
	var configFile string
	cmd := &cobra.Command{
		Use:   "serve <service>",
		Short: "Run one service as its own process (the form used on Fargate)",
		Long: `Run one service as its own process against the infrastructure its
configuration names. Every setting comes from AGORA_<SERVICE>_<NAME>
variables (or --config), for example for the catalog:

  AGORA_CATALOG_DATABASE_URL          sqlite:<path> or postgres://...
  AGORA_CATALOG_KAFKA_BROKERS         host:port,...
  AGORA_CATALOG_SCHEMA_REGISTRY_URL   Confluent-compatible registry
  AGORA_CATALOG_AUTH_ISSUER, AGORA_CATALOG_AUTH_JWKS_URL
  AGORA_CATALOG_HTTP_ADDR             default :8080

A value may be a secretsmanager:<id>[#key] or ssm:<name> reference,
resolved at start.

Services, with the settings of their own:

` + serviceSettings(),
		Args:      cobra.ExactArgs(1),
		ValidArgs: services.Names(),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if !services.Known(name) {
				return fmt.Errorf("unknown service %q (services: %s)", name, strings.Join(services.Names(), ", "))
			}
			if err := services.Run(cmd.Context(), name, config.Options{File: configFile, LookupEnv: os.LookupEnv}); err != nil {
				return fmt.Errorf("serve %s: %w", name, err)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&configFile, "config", "", "configuration file (YAML, JSON, TOML or .env); the environment overrides it")
	return cmd
}

// serviceSettings lists each service with the variables it reads besides
// the common ones, wrapped to fit a terminal.
func serviceSettings() string {
	const indent, width = 17, 78
	var b strings.Builder
	for _, name := range services.Names() {
		vars := services.Variables(name)
		if len(vars) == 0 {
			vars = []string{"(none)"}
		}
		line := fmt.Sprintf("  %-14s ", name)
		for i, v := range vars {
			if i < len(vars)-1 {
				v += ","
			}
			if i > 0 && len(line)+1+len(v) > width {
				b.WriteString(line + "\n")
				line = strings.Repeat(" ", indent-1)
			}
			if i > 0 {
				line += " "
			}
			line += v
		}
		b.WriteString(line + "\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}
