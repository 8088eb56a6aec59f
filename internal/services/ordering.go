package services

import (
	"context"
	"fmt"
	"time"

	"github.com/agoracommerce/agora/internal/ordering"
	orderingapp "github.com/agoracommerce/agora/internal/ordering/app"
	"github.com/agoracommerce/agora/internal/ordering/carthttp"
	orderinghttp "github.com/agoracommerce/agora/internal/ordering/httpapi"
	orderingkafka "github.com/agoracommerce/agora/internal/ordering/kafka"
	orderingsql "github.com/agoracommerce/agora/internal/ordering/sqlstore"
	"github.com/agoracommerce/agora/internal/platform/consumer"
	"github.com/agoracommerce/agora/internal/platform/host"
	"github.com/agoracommerce/agora/internal/platform/resilience"
)

type orderingConfig struct {
	host.Config
	// CartURL is the cart service's base URL; checkouts read carts there.
	CartURL     string        `env:"CART_URL" validate:"required,url"`
	CartTimeout time.Duration `env:"CART_TIMEOUT" default:"2s" validate:"min=10ms,max=1m"`
	// The deadline of each saga step; a saga that passes one is
	// compensated (the capture is asked again).
	DeadlineReserve  time.Duration `env:"DEADLINE_RESERVE" default:"30s" validate:"min=100ms,max=24h"`
	DeadlinePayment  time.Duration `env:"DEADLINE_PAYMENT" default:"60s" validate:"min=100ms,max=24h"`
	DeadlineShipping time.Duration `env:"DEADLINE_SHIPPING" default:"15m" validate:"min=100ms,max=720h"`
	DeadlineCapture  time.Duration `env:"DEADLINE_CAPTURE" default:"2m" validate:"min=100ms,max=24h"`
	// ReservationTTL is how long inventory holds an order's stock; it must
	// exceed DEADLINE_RESERVE + DEADLINE_PAYMENT + DEADLINE_SHIPPING.
	ReservationTTL time.Duration `env:"RESERVATION_TTL" default:"1h" validate:"min=1s,max=2160h"`
	// DeadlineInterval is how often overdue saga steps are looked for.
	DeadlineInterval time.Duration `env:"DEADLINE_INTERVAL" default:"1s" validate:"min=10ms,max=1h"`
}

// policy returns the saga's timing, checked across the variables.
func (cfg *orderingConfig) policy(prefix string) (ordering.Policy, error) {
	p := ordering.Policy{
		Deadlines: ordering.Deadlines{ReservingStock: cfg.DeadlineReserve, AuthorizingPayment: cfg.DeadlinePayment,
			Shipping: cfg.DeadlineShipping, CapturingPayment: cfg.DeadlineCapture},
		ReservationTTL: cfg.ReservationTTL,
	}
	if err := p.Validate(); err != nil {
		return ordering.Policy{}, fmt.Errorf("%[1]s_RESERVATION_TTL (%[2]s) must exceed %[1]s_DEADLINE_RESERVE + %[1]s_DEADLINE_PAYMENT + "+
			"%[1]s_DEADLINE_SHIPPING: %[3]w", prefix, cfg.ReservationTTL, err)
	}
	return p, nil
}

func (cfg *orderingConfig) check(prefix string) error {
	if err := sqlOnly("ordering", cfg.DatabaseURL, prefix); err != nil {
		return err
	}
	_, err := cfg.policy(prefix)
	return err
}

// parts assembles the ordering service: orders and their sagas in SQL with
// the outbox and inbox, the cart read over HTTP, the saga's consumer and
// the job that acts on overdue saga steps.
func (cfg *orderingConfig) parts(ctx context.Context, in *host.Infra, prefix string) (Parts, error) {
	policy, err := cfg.policy(prefix)
	if err != nil {
		return Parts{}, err
	}
	store, err := orderingsql.New(ctx, in.DB, in.Outbox, in.Inbox, in.Codec)
	if err != nil {
		return Parts{}, err
	}
	metrics, err := resilience.NewMetrics(in.Telemetry.MeterProvider())
	if err != nil {
		return Parts{}, err
	}
	carts, err := carthttp.New(carthttp.Config{
		BaseURL: cfg.CartURL, AttemptTimeout: cfg.CartTimeout, Metrics: metrics,
		Transport: in.Telemetry.HTTPTransport(carthttp.DefaultTransport(cfg.CartTimeout)),
	})
	if err != nil {
		return Parts{}, err
	}
	svc, err := orderingapp.New(store, carts, orderingapp.Config{Policy: policy})
	if err != nil {
		return Parts{}, err
	}
	api, err := orderinghttp.New(svc)
	if err != nil {
		return Parts{}, err
	}
	web, err := edge(orderinghttp.Document, orderinghttp.Problems, api.Mount)
	if err != nil {
		return Parts{}, err
	}
	// The saga: the participants' answers move the orders.
	handler, err := orderingkafka.Handler(svc)
	if err != nil {
		return Parts{}, err
	}
	return Parts{
		HTTP: web, Relay: true, InboxJanitor: inboxJanitorInterval,
		Jobs: []Job{{Name: "saga-deadlines", Interval: cfg.DeadlineInterval, Round: func(ctx context.Context) error {
			_, err := svc.ExpireDeadlines(ctx, time.Now())
			return err
		}}},
		Consumers: []consumer.Config{{Group: orderingkafka.Group, Topics: orderingkafka.Topics(), Handler: handler}},
	}, nil
}
