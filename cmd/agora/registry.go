package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/agoracommerce/agora/internal/platform/logging"
	"github.com/agoracommerce/agora/internal/platform/schemaregistry"
	"github.com/agoracommerce/agora/internal/platform/schemaregistry/sqlstore"
)

// newRegistryCmd serves Agora's embedded, Confluent-compatible schema
// registry, for running services locally without Confluent or Glue.
func newRegistryCmd() *cobra.Command {
	var addr, database string
	cmd := &cobra.Command{
		Use:   "registry",
		Short: "Serve the embedded Confluent-compatible schema registry",
		Long: `Serve Agora's embedded schema registry (the part of the Confluent Schema
Registry REST API that clients use, with Protobuf compatibility checks) on
--addr, storing schemas in SQLite (sqlite:<path>) or PostgreSQL
(postgres://...). Point services at it with AGORA_<SERVICE>_SCHEMA_REGISTRY_URL.`,
		Example: `  agora registry --addr 127.0.0.1:8081 --database sqlite:./var/registry.db`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			store, err := openRegistryStore(cmd.Context(), database)
			if err != nil {
				return err
			}
			defer func() { _ = store.Close() }()
			log, err := logging.New(logging.Config{Service: "schema-registry", Output: cmd.ErrOrStderr()})
			if err != nil {
				return err
			}
			srv, err := schemaregistry.NewServer(store, schemaregistry.WithLogger(log))
			if err != nil {
				return fmt.Errorf("registry: %w", err)
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("registry: listen on %s: %w", addr, err)
			}
			if _, err := fmt.Fprintf(cmd.OutOrStdout(), "schema registry on http://%s\n", ln.Addr()); err != nil {
				return err
			}
			return srv.Serve(cmd.Context(), ln)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", envOr("AGORA_REGISTRY_ADDR", "127.0.0.1:8081"), "listen address (AGORA_REGISTRY_ADDR)")
	cmd.Flags().StringVar(&database, "database", envOr("AGORA_REGISTRY_DATABASE_URL", "sqlite:"+filepath.Join(defaultDataDir, "registry.db")),
		"where schemas are stored: sqlite:<path> or postgres://... (AGORA_REGISTRY_DATABASE_URL)")
	return cmd
}

func openRegistryStore(ctx context.Context, database string) (*sqlstore.Store, error) {
	switch {
	case strings.HasPrefix(database, "postgres://"), strings.HasPrefix(database, "postgresql://"):
		return sqlstore.OpenPostgres(ctx, database)
	case strings.HasPrefix(database, "sqlite:"):
		path := strings.TrimPrefix(database, "sqlite:")
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, fmt.Errorf("registry: %w", err)
		}
		return sqlstore.OpenSQLite(ctx, path)
	}
	return nil, errors.New("registry: --database must be sqlite:<path> or a postgres:// URL")
}
