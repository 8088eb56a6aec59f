package services

import (
	"context"
	"time"

	paymentapp "github.com/agoracommerce/agora/internal/payment/app"
	paymenthttp "github.com/agoracommerce/agora/internal/payment/httpapi"
	paymentkafka "github.com/agoracommerce/agora/internal/payment/kafka"
	"github.com/agoracommerce/agora/internal/payment/simgateway"
	paymentsql "github.com/agoracommerce/agora/internal/payment/sqlstore"
	"github.com/agoracommerce/agora/internal/platform/consumer"
	"github.com/agoracommerce/agora/internal/platform/host"
	"github.com/agoracommerce/agora/internal/platform/httpserver"
	"github.com/agoracommerce/agora/internal/platform/resilience"
)

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

// parts assembles the payment service: payments in SQL with their outbox,
// the gateway behind a circuit breaker and retries, and its steps of the
// checkout saga.
func (cfg *paymentConfig) check(prefix string) error {
	return sqlOnly("payment", cfg.DatabaseURL, prefix)
}

func (cfg *paymentConfig) parts(ctx context.Context, in *host.Infra, _ string) (Parts, error) {
	store, err := paymentsql.New(ctx, in.DB, in.Outbox, in.Codec)
	if err != nil {
		return Parts{}, err
	}
	errorsBeforeSuccess := cfg.SimProcessorErrors
	if errorsBeforeSuccess == 0 {
		errorsBeforeSuccess = -1 // the adapter's way to say none
	}
	gateway, err := simgateway.New(simgateway.Config{ProcessorErrors: errorsBeforeSuccess})
	if err != nil {
		return Parts{}, err
	}
	metrics, err := resilience.NewMetrics(in.Telemetry.MeterProvider())
	if err != nil {
		return Parts{}, err
	}
	breaker, err := resilience.NewBreaker(resilience.BreakerConfig{Name: "payment-gateway", Metrics: metrics})
	if err != nil {
		return Parts{}, err
	}
	svc, err := paymentapp.New(store, gateway, paymentapp.Config{Gateway: resilience.Policy{
		Target: "payment-gateway", Breaker: breaker, Metrics: metrics,
		AttemptTimeout: cfg.GatewayTimeout, MaxAttempts: cfg.GatewayAttempts,
	}})
	if err != nil {
		return Parts{}, err
	}
	api, err := paymenthttp.New(svc)
	if err != nil {
		return Parts{}, err
	}
	web, err := edge(paymenthttp.Document, paymenthttp.Problems, func(s *httpserver.Server) { paymenthttp.Mount(s, api) })
	if err != nil {
		return Parts{}, err
	}
	// The payment's steps of the checkout saga: authorize, capture, void or refund.
	handler, err := paymentkafka.Orders(svc)
	if err != nil {
		return Parts{}, err
	}
	return Parts{
		HTTP: web, Relay: true, InboxJanitor: inboxJanitorInterval,
		Consumers: []consumer.Config{{Group: paymentkafka.OrdersGroup, Topics: []string{paymentkafka.OrdersTopic}, Handler: handler}},
	}, nil
}
