package services

import (
	"context"
	"time"

	cartapp "github.com/agoracommerce/agora/internal/cart/app"
	cartdynamo "github.com/agoracommerce/agora/internal/cart/dynamostore"
	carthttp "github.com/agoracommerce/agora/internal/cart/httpapi"
	cartkafka "github.com/agoracommerce/agora/internal/cart/kafka"
	cartsql "github.com/agoracommerce/agora/internal/cart/sqlstore"
	"github.com/agoracommerce/agora/internal/platform/consumer"
	"github.com/agoracommerce/agora/internal/platform/host"
)

type cartConfig struct {
	host.Config
	IdleTTL        time.Duration `env:"IDLE_TTL" default:"168h" validate:"min=1m"`
	ExpiryInterval time.Duration `env:"EXPIRY_INTERVAL" default:"1m" validate:"min=100ms,max=1h"`
}

// parts assembles the cart: carts in SQL or DynamoDB with their outbox,
// the price read model fed by the catalog's product events, the cart's
// step of the checkout saga and the expiry of idle carts.
func (cfg *cartConfig) parts(ctx context.Context, in *host.Infra, _ string) (Parts, error) {
	store, err := cfg.store(ctx, in)
	if err != nil {
		return Parts{}, err
	}
	svc, err := cartapp.New(store, store, cartapp.Config{IdleTTL: cfg.IdleTTL})
	if err != nil {
		return Parts{}, err
	}
	api, err := carthttp.New(svc)
	if err != nil {
		return Parts{}, err
	}
	web, err := edge(carthttp.Document, carthttp.Problems, api.Mount)
	if err != nil {
		return Parts{}, err
	}
	// The price read model, fed by the catalog's product events.
	products, err := cartkafka.Products(svc)
	if err != nil {
		return Parts{}, err
	}
	// The cart's step of the checkout saga: close the cart an order was placed from.
	checkouts, err := cartkafka.Orders(svc, in.Logger.Named("orders"))
	if err != nil {
		return Parts{}, err
	}
	return Parts{
		HTTP: web, Relay: true, InboxJanitor: inboxJanitorInterval,
		Jobs: []Job{{Name: "cart-expiry", Interval: cfg.ExpiryInterval, Round: func(ctx context.Context) error {
			_, err := svc.ExpireCarts(ctx, time.Now())
			return err
		}}},
		Consumers: []consumer.Config{
			{Group: cartkafka.Group, Topics: []string{cartkafka.Topic}, Handler: products},
			{Group: cartkafka.OrdersGroup, Topics: []string{cartkafka.OrdersTopic}, Handler: checkouts},
		},
	}, nil
}

// cartStore is both of the cart's ports on its store.
type cartStore interface {
	cartapp.Repository
	cartapp.Products
}

// store opens the cart's store. On DynamoDB a cart item outlives its last
// change by at least twice the idle time before the table's TTL deletes
// it, so expiry (which publishes CartExpired) always comes first.
func (cfg *cartConfig) store(ctx context.Context, in *host.Infra) (cartStore, error) {
	if d := in.Dynamo; d != nil {
		return cartdynamo.New(d.Client, d.Table, d.Outbox, in.Codec, max(cartdynamo.DefaultRetention, 2*cfg.IdleTTL))
	}
	return cartsql.New(ctx, in.DB, in.Outbox, in.Codec)
}
