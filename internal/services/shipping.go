package services

import (
	"context"
	"time"

	"github.com/agoracommerce/agora/internal/platform/consumer"
	"github.com/agoracommerce/agora/internal/platform/host"
	"github.com/agoracommerce/agora/internal/platform/httpserver"
	shippingapp "github.com/agoracommerce/agora/internal/shipping/app"
	shippingdynamo "github.com/agoracommerce/agora/internal/shipping/dynamostore"
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

// parts assembles the shipping service: shipments in SQL or DynamoDB with
// their outbox, the simulated carrier and the job that advances it, and
// its steps of the checkout saga.
func (cfg *shippingConfig) parts(ctx context.Context, in *host.Infra, _ string) (Parts, error) {
	store, err := shippingStore(ctx, in)
	if err != nil {
		return Parts{}, err
	}
	carrier, err := simcarrier.New(simcarrier.Config{PickupAfter: cfg.PickupAfter, DeliverAfter: cfg.DeliverAfter})
	if err != nil {
		return Parts{}, err
	}
	svc, err := shippingapp.New(store, carrier, shippingapp.Config{})
	if err != nil {
		return Parts{}, err
	}
	api, err := shippinghttp.New(svc)
	if err != nil {
		return Parts{}, err
	}
	web, err := edge(shippinghttp.Document, shippinghttp.Problems, func(s *httpserver.Server) { shippinghttp.Mount(s, api) })
	if err != nil {
		return Parts{}, err
	}
	// The shipping's steps of the checkout saga: ship, or cancel before it leaves.
	orders, err := shippingkafka.Orders(svc, in.Logger.Named("orders"))
	if err != nil {
		return Parts{}, err
	}
	return Parts{
		HTTP: web, Relay: true, InboxJanitor: inboxJanitorInterval,
		Jobs: []Job{{Name: "carrier-advancer", Interval: cfg.AdvanceInterval, Round: func(ctx context.Context) error {
			_, err := svc.AdvanceDue(ctx, time.Now())
			return err
		}}},
		Consumers: []consumer.Config{{Group: shippingkafka.OrdersGroup, Topics: []string{shippingkafka.OrdersTopic}, Handler: orders}},
	}, nil
}

func shippingStore(ctx context.Context, in *host.Infra) (shippingapp.Repository, error) {
	if d := in.Dynamo; d != nil {
		return shippingdynamo.New(d.Client, d.Table, d.Outbox, in.Codec)
	}
	return shippingsql.New(ctx, in.DB, in.Outbox, in.Codec)
}
