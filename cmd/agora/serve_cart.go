package main

import (
	"context"
	"time"

	cartapp "github.com/agoracommerce/agora/internal/cart/app"
	carthttp "github.com/agoracommerce/agora/internal/cart/httpapi"
	cartkafka "github.com/agoracommerce/agora/internal/cart/kafka"
	cartsql "github.com/agoracommerce/agora/internal/cart/sqlstore"
	"github.com/agoracommerce/agora/internal/platform/config"
	"github.com/agoracommerce/agora/internal/platform/consumer"
	"github.com/agoracommerce/agora/internal/platform/host"
	"github.com/agoracommerce/agora/internal/platform/lifecycle"
)

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
		// The cart's step of the checkout saga: close the cart an order was placed from.
		checkouts, err := cartkafka.Orders(svc, in.Logger.Named("orders"))
		if err != nil {
			return nil, err
		}
		orders, err := in.Consumer(consumer.Config{Group: cartkafka.OrdersGroup, Topics: []string{cartkafka.OrdersTopic}, Handler: checkouts})
		if err != nil {
			return nil, err
		}
		expiry := every(in, "cart-expiry", cfg.ExpiryInterval, func(ctx context.Context) error {
			_, err := svc.ExpireCarts(ctx, time.Now())
			return err
		})
		return []lifecycle.Component{in.Relay(), in.InboxJanitor(time.Hour), expiry, products, orders, web}, nil
	})
}
