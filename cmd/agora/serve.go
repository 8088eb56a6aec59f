package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/agoracommerce/agora/internal/platform/config"
	"github.com/agoracommerce/agora/internal/platform/host"
	"github.com/agoracommerce/agora/internal/platform/httpserver"
	"github.com/agoracommerce/agora/internal/platform/lifecycle"
	"github.com/agoracommerce/agora/internal/platform/problem"
)

// A serviceBuilder opens one service's infrastructure from its
// configuration (variables AGORA_<SERVICE>_...) and returns its components,
// dependencies first and intake (the HTTP server) last.
type serviceBuilder func(ctx context.Context, env config.Options) (*host.Infra, []lifecycle.Component, error)

// services lists the services `agora serve` can run.
func services() map[string]serviceBuilder {
	return map[string]serviceBuilder{
		"cart":         buildCart,
		"catalog":      buildCatalog,
		"inventory":    buildInventory,
		"notification": buildNotification,
		"orderhistory": buildOrderhistory,
		"ordering":     buildOrdering,
		"payment":      buildPayment,
		"shipping":     buildShipping,
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

// listenerKey carries, in the context given to a serviceBuilder, the
// listener the service's HTTP server is to use (set by agora run).
type listenerKey struct{}

// build loads cfg (variables AGORA_<SERVICE>_...), opens the service's
// infrastructure and asks parts for its components; on error it closes what
// it opened.
func build(ctx context.Context, env config.Options, name string, cfg interface{ Host() host.Config },
	parts func(in *host.Infra) ([]lifecycle.Component, error)) (*host.Infra, []lifecycle.Component, error) {
	if err := config.Load(ctx, cfg, env); err != nil {
		return nil, nil, err
	}
	infra, err := host.Open(ctx, name, cfg.Host())
	if err != nil {
		return nil, nil, err
	}
	if ln, ok := ctx.Value(listenerKey{}).(net.Listener); ok {
		infra.Listener = ln
	}
	components, err := parts(infra)
	if err != nil {
		_ = infra.Close(context.WithoutCancel(ctx))
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	return infra, components, nil
}

// edge builds a service's HTTP server from its generated document, its
// problem mapping and its route mounting.
func edge(in *host.Infra, document func() (*openapi3.T, error), problems func() (*problem.Mapper, error),
	mount func(*httpserver.Server)) (lifecycle.Component, error) {
	doc, err := document()
	if err != nil {
		return nil, err
	}
	mapper, err := problems()
	if err != nil {
		return nil, err
	}
	web, _, err := in.HTTPServer(host.HTTP{Document: doc, Problems: mapper, Mount: mount}, nil)
	return web, err
}

// every runs one of a service's periodic jobs as a component, logging the
// rounds that fail.
func every(in *host.Infra, name string, interval time.Duration, round func(ctx context.Context) error) lifecycle.Component {
	return lifecycle.Every(in.Service+"-"+name, interval, round, func(err error) {
		in.Logger.Warn(name+" failed", zap.Error(err))
	})
}
