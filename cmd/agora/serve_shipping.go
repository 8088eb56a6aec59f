package main

import (
	"context"
	"time"

	"github.com/agoracommerce/agora/internal/platform/config"
	"github.com/agoracommerce/agora/internal/platform/consumer"
	"github.com/agoracommerce/agora/internal/platform/host"
	"github.com/agoracommerce/agora/internal/platform/httpserver"
	"github.com/agoracommerce/agora/internal/platform/lifecycle"
	shippingapp "github.com/agoracommerce/agora/internal/shipping/app"
	shippinghttp "github.com/agoracommerce/agora/internal/shipping/httpapi"
	shippingkafka "github.com/agoracommerce/agora/internal/shipping/kafka"
	"github.com/agoracommerce/agora/internal/shipping/simcarrier"
	shippingsql "github.com/agoracommerce/agora/internal/shipping/sqlstore"
)

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
		// The shipping's steps of the checkout saga: ship, or cancel before it leaves.
		handler, err := shippingkafka.Orders(svc, in.Logger.Named("orders"))
		if err != nil {
			return nil, err
		}
		orders, err := in.Consumer(consumer.Config{Group: shippingkafka.OrdersGroup, Topics: []string{shippingkafka.OrdersTopic}, Handler: handler})
		if err != nil {
			return nil, err
		}
		return []lifecycle.Component{in.Relay(), in.InboxJanitor(time.Hour), advancer, orders, web}, nil
	})
}
