package services

import (
	"context"

	orderhistoryapp "github.com/agoracommerce/agora/internal/orderhistory/app"
	orderhistorydynamo "github.com/agoracommerce/agora/internal/orderhistory/dynamostore"
	orderhistoryhttp "github.com/agoracommerce/agora/internal/orderhistory/httpapi"
	orderhistorykafka "github.com/agoracommerce/agora/internal/orderhistory/kafka"
	orderhistorysql "github.com/agoracommerce/agora/internal/orderhistory/sqlstore"
	"github.com/agoracommerce/agora/internal/platform/consumer"
	"github.com/agoracommerce/agora/internal/platform/host"
)

type orderhistoryConfig struct {
	host.Config
}

// parts assembles the order history: the read model in its store, the
// live projector (consumer group orderhistory.projector over the topics of
// ordering, inventory, payment and shipping) and the read-only API. It
// publishes nothing, so it runs no outbox relay, and dedupes without the
// inbox (every write is keyed by event ID).
func (cfg *orderhistoryConfig) parts(ctx context.Context, in *host.Infra, _ string) (Parts, error) {
	store, err := openOrderhistoryStore(ctx, in)
	if err != nil {
		return Parts{}, err
	}
	svc, err := orderhistoryapp.New(store, store, orderhistoryapp.Config{})
	if err != nil {
		return Parts{}, err
	}
	api, err := orderhistoryhttp.New(svc)
	if err != nil {
		return Parts{}, err
	}
	web, err := edge(orderhistoryhttp.Document, orderhistoryhttp.Problems, api.Mount)
	if err != nil {
		return Parts{}, err
	}
	projection, err := orderhistorykafka.Config(svc)
	if err != nil {
		return Parts{}, err
	}
	return Parts{HTTP: web, Consumers: []consumer.Config{projection}}, nil
}

// orderhistoryStore is the read model and its generations.
type orderhistoryStore interface {
	orderhistoryapp.Repository
	orderhistoryapp.Generations
}

func openOrderhistoryStore(ctx context.Context, in *host.Infra) (orderhistoryStore, error) {
	if d := in.Dynamo; d != nil {
		return orderhistorydynamo.New(d.Client, d.Table)
	}
	return orderhistorysql.New(ctx, in.DB)
}
