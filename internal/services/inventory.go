package services

import (
	"context"
	"time"

	inventoryapp "github.com/agoracommerce/agora/internal/inventory/app"
	inventorydynamo "github.com/agoracommerce/agora/internal/inventory/dynamostore"
	inventoryhttp "github.com/agoracommerce/agora/internal/inventory/httpapi"
	inventorykafka "github.com/agoracommerce/agora/internal/inventory/kafka"
	inventorysql "github.com/agoracommerce/agora/internal/inventory/sqlstore"
	"github.com/agoracommerce/agora/internal/platform/consumer"
	"github.com/agoracommerce/agora/internal/platform/host"
	"github.com/agoracommerce/agora/internal/platform/httpserver"
)

type inventoryConfig struct {
	host.Config
	ExpiryInterval time.Duration `env:"RESERVATION_EXPIRY_INTERVAL" default:"15s" validate:"min=100ms,max=1h"`
}

// parts assembles the inventory: stock and reservations in SQL or
// DynamoDB with their outbox, its steps of the checkout saga and the
// expiry of reservations.
func (cfg *inventoryConfig) parts(ctx context.Context, in *host.Infra, _ string) (Parts, error) {
	store, err := inventoryStore(ctx, in)
	if err != nil {
		return Parts{}, err
	}
	svc, err := inventoryapp.New(store, inventoryapp.Config{})
	if err != nil {
		return Parts{}, err
	}
	api, err := inventoryhttp.New(svc)
	if err != nil {
		return Parts{}, err
	}
	web, err := edge(inventoryhttp.Document, inventoryhttp.Problems, func(s *httpserver.Server) { inventoryhttp.Mount(s, api) })
	if err != nil {
		return Parts{}, err
	}
	// The inventory's steps of the checkout saga: reserve, commit, release.
	orders, err := inventorykafka.Orders(svc, in.Logger.Named("orders"))
	if err != nil {
		return Parts{}, err
	}
	return Parts{
		HTTP: web, Relay: true, InboxJanitor: inboxJanitorInterval,
		Jobs: []Job{{Name: "reservation-expiry", Interval: cfg.ExpiryInterval, Round: func(ctx context.Context) error {
			_, err := svc.ExpireReservations(ctx, time.Now())
			return err
		}}},
		Consumers: []consumer.Config{{Group: inventorykafka.OrdersGroup, Topics: []string{inventorykafka.OrdersTopic}, Handler: orders}},
	}, nil
}

func inventoryStore(ctx context.Context, in *host.Infra) (inventoryapp.Repository, error) {
	if d := in.Dynamo; d != nil {
		return inventorydynamo.New(d.Client, d.Table, d.Outbox, in.Codec)
	}
	return inventorysql.New(ctx, in.DB, in.Outbox, in.Codec)
}
