package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/spf13/cobra"
	"go.uber.org/zap"

	cartapp "github.com/agoracommerce/agora/internal/cart/app"
	carthttp "github.com/agoracommerce/agora/internal/cart/httpapi"
	cartkafka "github.com/agoracommerce/agora/internal/cart/kafka"
	cartsql "github.com/agoracommerce/agora/internal/cart/sqlstore"
	catalogapp "github.com/agoracommerce/agora/internal/catalog/app"
	cataloghttp "github.com/agoracommerce/agora/internal/catalog/httpapi"
	catalogsql "github.com/agoracommerce/agora/internal/catalog/sqlstore"
	inventoryapp "github.com/agoracommerce/agora/internal/inventory/app"
	inventoryhttp "github.com/agoracommerce/agora/internal/inventory/httpapi"
	inventorysql "github.com/agoracommerce/agora/internal/inventory/sqlstore"
	paymentapp "github.com/agoracommerce/agora/internal/payment/app"
	paymenthttp "github.com/agoracommerce/agora/internal/payment/httpapi"
	"github.com/agoracommerce/agora/internal/payment/simgateway"
	paymentsql "github.com/agoracommerce/agora/internal/payment/sqlstore"
	"github.com/agoracommerce/agora/internal/platform/config"
	"github.com/agoracommerce/agora/internal/platform/consumer"
	"github.com/agoracommerce/agora/internal/platform/host"
	"github.com/agoracommerce/agora/internal/platform/httpserver"
	"github.com/agoracommerce/agora/internal/platform/lifecycle"
	"github.com/agoracommerce/agora/internal/platform/problem"
	"github.com/agoracommerce/agora/internal/platform/resilience"
	shippingapp "github.com/agoracommerce/agora/internal/shipping/app"
	shippinghttp "github.com/agoracommerce/agora/internal/shipping/httpapi"
	"github.com/agoracommerce/agora/internal/shipping/simcarrier"
	shippingsql "github.com/agoracommerce/agora/internal/shipping/sqlstore"
)

// A serviceBuilder opens one service's infrastructure from its
// configuration (variables AGORA_<SERVICE>_...) and returns its components,
// dependencies first and intake (the HTTP server) last.
type serviceBuilder func(ctx context.Context, env config.Options) (*host.Infra, []lifecycle.Component, error)

// services lists the services `agora serve` can run.
func services() map[string]serviceBuilder {
	return map[string]serviceBuilder{
		"cart":      buildCart,
		"catalog":   buildCatalog,
		"inventory": buildInventory,
		"payment":   buildPayment,
		"shipping":  buildShipping,
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

type catalogConfig struct {
	host.Config
}

func buildCatalog(ctx context.Context, env config.Options) (*host.Infra, []lifecycle.Component, error) {
	return build(ctx, env, "catalog", &catalogConfig{}, func(in *host.Infra) ([]lifecycle.Component, error) {
		store, err := catalogsql.New(ctx, in.DB, in.Outbox, in.Codec)
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
		web, err := edge(in, cataloghttp.Document, cataloghttp.Problems, api.Mount)
		if err != nil {
			return nil, err
		}
		return []lifecycle.Component{in.Relay(), web}, nil
	})
}

type inventoryConfig struct {
	host.Config
	ExpiryInterval time.Duration `env:"RESERVATION_EXPIRY_INTERVAL" default:"15s" validate:"min=100ms,max=1h"`
}

func buildInventory(ctx context.Context, env config.Options) (*host.Infra, []lifecycle.Component, error) {
	cfg := &inventoryConfig{}
	return build(ctx, env, "inventory", cfg, func(in *host.Infra) ([]lifecycle.Component, error) {
		store, err := inventorysql.New(ctx, in.DB, in.Outbox, in.Codec)
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
		web, err := edge(in, inventoryhttp.Document, inventoryhttp.Problems, func(s *httpserver.Server) { inventoryhttp.Mount(s, api) })
		if err != nil {
			return nil, err
		}
		expiry := every(in, "reservation-expiry", cfg.ExpiryInterval, func(ctx context.Context) error {
			_, err := svc.ExpireReservations(ctx, time.Now())
			return err
		})
		return []lifecycle.Component{in.Relay(), in.InboxJanitor(time.Hour), expiry, web}, nil
	})
}

type shippingConfig struct {
	host.Config
	// The simulated carrier: how long until pick-up and delivery (0: only
	// through the API), and how often due shipments are advanced.
	PickupAfter     time.Duration `env:"CARRIER_PICKUP_AFTER" default:"30s" validate:"max=24h"`
	DeliverAfter    time.Duration `env:"CARRIER_DELIVER_AFTER" default:"60s" validate:"max=24h"`
	AdvanceInterval time.Duration `env:"CARRIER_ADVANCE_INTERVAL" default:"1s" validate:"min=100ms,max=1h"`
}

func buildShipping(ctx context.Context, env config.Options) (*host.Infra, []lifecycle.Component, error) {
	cfg := &shippingConfig{}
	return build(ctx, env, "shipping", cfg, func(in *host.Infra) ([]lifecycle.Component, error) {
		store, err := shippingsql.New(ctx, in.DB, in.Outbox, in.Codec)
		if err != nil {
			return nil, err
		}
		carrier, err := simcarrier.New(simcarrier.Config{PickupAfter: cfg.PickupAfter, DeliverAfter: cfg.DeliverAfter})
		if err != nil {
			return nil, err
		}
		svc, err := shippingapp.New(store, carrier, shippingapp.Config{})
		if err != nil {
			return nil, err
		}
		api, err := shippinghttp.New(svc)
		if err != nil {
			return nil, err
		}
		web, err := edge(in, shippinghttp.Document, shippinghttp.Problems, func(s *httpserver.Server) { shippinghttp.Mount(s, api) })
		if err != nil {
			return nil, err
		}
		advancer := every(in, "carrier-advancer", cfg.AdvanceInterval, func(ctx context.Context) error {
			_, err := svc.AdvanceDue(ctx, time.Now())
			return err
		})
		return []lifecycle.Component{in.Relay(), in.InboxJanitor(time.Hour), advancer, web}, nil
	})
}

type paymentConfig struct {
	host.Config
	// Gateway names the payment gateway adapter; only the simulated one
	// exists so far.
	Gateway string `env:"GATEWAY" default:"sim" validate:"oneof=sim"`
	// SimProcessorErrors is how many calls with the tok_processor_error
	// card fail (retryably) before one succeeds.
	SimProcessorErrors int           `env:"SIM_PROCESSOR_ERRORS" default:"2" validate:"min=0,max=10"`
	GatewayTimeout     time.Duration `env:"GATEWAY_TIMEOUT" default:"5s" validate:"min=10ms,max=1m"`
	GatewayAttempts    int           `env:"GATEWAY_ATTEMPTS" default:"4" validate:"min=1,max=10"`
}

func buildPayment(ctx context.Context, env config.Options) (*host.Infra, []lifecycle.Component, error) {
	cfg := &paymentConfig{}
	return build(ctx, env, "payment", cfg, func(in *host.Infra) ([]lifecycle.Component, error) {
		store, err := paymentsql.New(ctx, in.DB, in.Outbox, in.Codec)
		if err != nil {
			return nil, err
		}
		errorsBeforeSuccess := cfg.SimProcessorErrors
		if errorsBeforeSuccess == 0 {
			errorsBeforeSuccess = -1 // the adapter's way to say none
		}
		gateway, err := simgateway.New(simgateway.Config{ProcessorErrors: errorsBeforeSuccess})
		if err != nil {
			return nil, err
		}
		metrics, err := resilience.NewMetrics(in.Telemetry.MeterProvider())
		if err != nil {
			return nil, err
		}
		breaker, err := resilience.NewBreaker(resilience.BreakerConfig{Name: "payment-gateway", Metrics: metrics})
		if err != nil {
			return nil, err
		}
		svc, err := paymentapp.New(store, gateway, paymentapp.Config{Gateway: resilience.Policy{
			Target: "payment-gateway", Breaker: breaker, Metrics: metrics,
			AttemptTimeout: cfg.GatewayTimeout, MaxAttempts: cfg.GatewayAttempts,
		}})
		if err != nil {
			return nil, err
		}
		api, err := paymenthttp.New(svc)
		if err != nil {
			return nil, err
		}
		web, err := edge(in, paymenthttp.Document, paymenthttp.Problems, func(s *httpserver.Server) { paymenthttp.Mount(s, api) })
		if err != nil {
			return nil, err
		}
		return []lifecycle.Component{in.Relay(), in.InboxJanitor(time.Hour), web}, nil
	})
}

type cartConfig struct {
	host.Config
	IdleTTL        time.Duration `env:"IDLE_TTL" default:"168h" validate:"min=1m"`
	ExpiryInterval time.Duration `env:"EXPIRY_INTERVAL" default:"1m" validate:"min=100ms,max=1h"`
}

func buildCart(ctx context.Context, env config.Options) (*host.Infra, []lifecycle.Component, error) {
	cfg := &cartConfig{}
	return build(ctx, env, "cart", cfg, func(in *host.Infra) ([]lifecycle.Component, error) {
		store, err := cartsql.New(ctx, in.DB, in.Outbox, in.Codec)
		if err != nil {
			return nil, err
		}
		svc, err := cartapp.New(store, store, cartapp.Config{IdleTTL: cfg.IdleTTL})
		if err != nil {
			return nil, err
		}
		api, err := carthttp.New(svc)
		if err != nil {
			return nil, err
		}
		web, err := edge(in, carthttp.Document, carthttp.Problems, api.Mount)
		if err != nil {
			return nil, err
		}
		// The price read model, fed by the catalog's product events.
		handler, err := cartkafka.Products(svc)
		if err != nil {
			return nil, err
		}
		products, err := in.Consumer(consumer.Config{Group: cartkafka.Group, Topics: []string{cartkafka.Topic}, Handler: handler})
		if err != nil {
			return nil, err
		}
		expiry := every(in, "cart-expiry", cfg.ExpiryInterval, func(ctx context.Context) error {
			_, err := svc.ExpireCarts(ctx, time.Now())
			return err
		})
		return []lifecycle.Component{in.Relay(), in.InboxJanitor(time.Hour), expiry, products, web}, nil
	})
}
