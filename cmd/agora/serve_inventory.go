package main

import (
	"context"
	"time"

	inventoryapp "github.com/agoracommerce/agora/internal/inventory/app"
	inventoryhttp "github.com/agoracommerce/agora/internal/inventory/httpapi"
	inventorykafka "github.com/agoracommerce/agora/internal/inventory/kafka"
	inventorysql "github.com/agoracommerce/agora/internal/inventory/sqlstore"
	"github.com/agoracommerce/agora/internal/platform/config"
	"github.com/agoracommerce/agora/internal/platform/consumer"
	"github.com/agoracommerce/agora/internal/platform/host"
	"github.com/agoracommerce/agora/internal/platform/httpserver"
	"github.com/agoracommerce/agora/internal/platform/lifecycle"
)

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
		// The inventory's steps of the checkout saga: reserve, commit, release.
		handler, err := inventorykafka.Orders(svc, in.Logger.Named("orders"))
		if err != nil {
			return nil, err
		}
		orders, err := in.Consumer(consumer.Config{Group: inventorykafka.OrdersGroup, Topics: []string{inventorykafka.OrdersTopic}, Handler: handler})
		if err != nil {
			return nil, err
		}
		return []lifecycle.Component{in.Relay(), in.InboxJanitor(time.Hour), expiry, orders, web}, nil
	})
}
