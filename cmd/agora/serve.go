package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	catalogapp "github.com/agoracommerce/agora/internal/catalog/app"
	cataloghttp "github.com/agoracommerce/agora/internal/catalog/httpapi"
	catalogsql "github.com/agoracommerce/agora/internal/catalog/sqlstore"
	inventoryapp "github.com/agoracommerce/agora/internal/inventory/app"
	inventoryhttp "github.com/agoracommerce/agora/internal/inventory/httpapi"
	inventorysql "github.com/agoracommerce/agora/internal/inventory/sqlstore"
	"github.com/agoracommerce/agora/internal/platform/config"
	"github.com/agoracommerce/agora/internal/platform/host"
	"github.com/agoracommerce/agora/internal/platform/httpserver"
	"github.com/agoracommerce/agora/internal/platform/lifecycle"
)

// A serviceBuilder opens one service's infrastructure from its
// configuration (variables AGORA_<SERVICE>_...) and returns its components,
// dependencies first and intake (the HTTP server) last.
type serviceBuilder func(ctx context.Context, env config.Options) (*host.Infra, []lifecycle.Component, error)

// services lists the services `agora serve` can run.
func services() map[string]serviceBuilder {
	return map[string]serviceBuilder{
		"catalog":   buildCatalog,
		"inventory": buildInventory,
	}
}

func serviceNames() []string {
	var names []string
	for name := range services() {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

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

Services: ` + strings.Join(serviceNames(), ", ") + `.`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: serviceNames(),
		RunE: func(cmd *cobra.Command, args []string) error {
			build, ok := services()[args[0]]
			if !ok {
				return fmt.Errorf("unknown service %q (services: %s)", args[0], strings.Join(serviceNames(), ", "))
			}
			return serve(cmd.Context(), args[0], build, config.Options{
				Prefix: "AGORA_" + strings.ToUpper(args[0]), File: configFile, LookupEnv: os.LookupEnv,
			})
		},
	}
	cmd.Flags().StringVar(&configFile, "config", "", "configuration file (YAML, JSON, TOML or .env); the environment overrides it")
	return cmd
}

// serve runs one service until ctx ends, then stops it in order.
func serve(ctx context.Context, name string, build serviceBuilder, env config.Options) (err error) {
	infra, components, err := build(ctx, env)
	if err != nil {
		return fmt.Errorf("serve %s: %w", name, err)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		err = errors.Join(err, infra.Close(closeCtx))
	}()
	runner, err := lifecycle.New(lifecycle.Config{ShutdownTimeout: infra.Config.ShutdownTimeout, Logger: infra.Logger})
	if err != nil {
		return err
	}
	if err := runner.Add(components...); err != nil {
		return err
	}
	infra.Logger.Info("service starting", zap.String("service", name), zap.String("http_addr", infra.Config.HTTPAddr),
		zap.Object("config", config.Loggable(infra.Config)))
	return runner.Run(ctx)
}

type catalogConfig struct {
	host.Config
}

func buildCatalog(ctx context.Context, env config.Options) (*host.Infra, []lifecycle.Component, error) {
	var cfg catalogConfig
	if err := config.Load(ctx, &cfg, env); err != nil {
		return nil, nil, err
	}
	infra, err := host.Open(ctx, "catalog", cfg.Config)
	if err != nil {
		return nil, nil, err
	}
	components, err := func() ([]lifecycle.Component, error) {
		store, err := catalogsql.New(ctx, infra.DB, infra.Outbox, infra.Codec)
		if err != nil {
			return nil, err
		}
		svc, err := catalogapp.New(catalogapp.Config{Products: store, Categories: store})
		if err != nil {
			return nil, err
		}
		api, err := cataloghttp.New(svc)
		if err != nil {
			return nil, err
		}
		doc, err := cataloghttp.Document()
		if err != nil {
			return nil, err
		}
		problems, err := cataloghttp.Problems()
		if err != nil {
			return nil, err
		}
		web, _, err := infra.HTTPServer(host.HTTP{Document: doc, Problems: problems,
			BearerSchemes: []string{cataloghttp.BearerScheme}, Mount: api.Mount}, nil)
		if err != nil {
			return nil, err
		}
		return []lifecycle.Component{infra.Relay(), web}, nil
	}()
	if err != nil {
		_ = infra.Close(context.WithoutCancel(ctx))
		return nil, nil, fmt.Errorf("catalog: %w", err)
	}
	return infra, components, nil
}

type inventoryConfig struct {
	host.Config
	ExpiryInterval time.Duration `env:"RESERVATION_EXPIRY_INTERVAL" default:"15s" validate:"min=100ms,max=1h"`
}

func buildInventory(ctx context.Context, env config.Options) (*host.Infra, []lifecycle.Component, error) {
	var cfg inventoryConfig
	if err := config.Load(ctx, &cfg, env); err != nil {
		return nil, nil, err
	}
	infra, err := host.Open(ctx, "inventory", cfg.Config)
	if err != nil {
		return nil, nil, err
	}
	components, err := func() ([]lifecycle.Component, error) {
		store, err := inventorysql.New(ctx, infra.DB, infra.Outbox, infra.Codec)
		if err != nil {
			return nil, err
		}
		svc, err := inventoryapp.New(store, inventoryapp.Config{})
		if err != nil {
			return nil, err
		}
		api, err := inventoryhttp.New(svc)
		if err != nil {
			return nil, err
		}
		doc, err := inventoryhttp.Document()
		if err != nil {
			return nil, err
		}
		problems, err := inventoryhttp.Problems()
		if err != nil {
			return nil, err
		}
		web, _, err := infra.HTTPServer(host.HTTP{Document: doc, Problems: problems,
			Mount: func(s *httpserver.Server) { inventoryhttp.Mount(s, api) }}, nil)
		if err != nil {
			return nil, err
		}
		expiry := lifecycle.Func("inventory-reservation-expiry", func(ctx context.Context) error {
			return svc.RunExpiry(ctx, cfg.ExpiryInterval, func(err error) {
				infra.Logger.Warn("reservation expiry failed", zap.Error(err))
			})
		}, nil)
		return []lifecycle.Component{infra.Relay(), infra.InboxJanitor(time.Hour), expiry, web}, nil
	}()
	if err != nil {
		_ = infra.Close(context.WithoutCancel(ctx))
		return nil, nil, fmt.Errorf("inventory: %w", err)
	}
	return infra, components, nil
}
