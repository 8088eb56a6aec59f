package main

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
	"github.com/agoracommerce/agora/internal/platform/config"
	"github.com/agoracommerce/agora/internal/platform/consumer"
	"github.com/agoracommerce/agora/internal/platform/host"
	"github.com/agoracommerce/agora/internal/platform/lifecycle"
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
func (c *orderingConfig) policy(prefix string) (ordering.Policy, error) {
	p := ordering.Policy{
		Deadlines: ordering.Deadlines{ReservingStock: c.DeadlineReserve, AuthorizingPayment: c.DeadlinePayment,
			Shipping: c.DeadlineShipping, CapturingPayment: c.DeadlineCapture},
		ReservationTTL: c.ReservationTTL,
	}
	if err := p.Validate(); err != nil {
		return ordering.Policy{}, fmt.Errorf("%[1]s_RESERVATION_TTL (%[2]s) must exceed %[1]s_DEADLINE_RESERVE + %[1]s_DEADLINE_PAYMENT + "+
			"%[1]s_DEADLINE_SHIPPING: %[3]w", prefix, c.ReservationTTL, err)
	}
	return p, nil
}

func buildOrdering(ctx context.Context, env config.Options) (*host.Infra, []lifecycle.Component, error) {
	cfg := &orderingConfig{}
	return build(ctx, env, "ordering", cfg, func(in *host.Infra) ([]lifecycle.Component, error) {
		policy, err := cfg.policy(env.Prefix)
		if err != nil {
			return nil, err
		}
		store, err := orderingsql.New(ctx, in.DB, in.Outbox, in.Inbox, in.Codec)
		if err != nil {
			return nil, err
		}
		metrics, err := resilience.NewMetrics(in.Telemetry.MeterProvider())
		if err != nil {
			return nil, err
		}
		carts, err := carthttp.New(carthttp.Config{
			BaseURL: cfg.CartURL, AttemptTimeout: cfg.CartTimeout, Metrics: metrics,
			Transport: in.Telemetry.HTTPTransport(carthttp.DefaultTransport(cfg.CartTimeout)),
		})
		if err != nil {
			return nil, err
		}
		svc, err := orderingapp.New(store, carts, orderingapp.Config{Policy: policy})
		if err != nil {
			return nil, err
		}
		api, err := orderinghttp.New(svc)
		if err != nil {
			return nil, err
		}
		web, err := edge(in, orderinghttp.Document, orderinghttp.Problems, api.Mount)
		if err != nil {
			return nil, err
		}
		// The saga: the participants' answers move the orders.
		handler, err := orderingkafka.Handler(svc)
		if err != nil {
			return nil, err
		}
		saga, err := in.Consumer(consumer.Config{Group: orderingkafka.Group, Topics: orderingkafka.Topics(), Handler: handler})
		if err != nil {
			return nil, err
		}
		deadlines := every(in, "saga-deadlines", cfg.DeadlineInterval, func(ctx context.Context) error {
			_, err := svc.ExpireDeadlines(ctx, time.Now())
			return err
		})
		return []lifecycle.Component{in.Relay(), in.InboxJanitor(time.Hour), deadlines, saga, web}, nil
	})
}
