package main

import (
	"context"

	"github.com/agoracommerce/agora/internal/orderhistory/app"
	orderhistoryhttp "github.com/agoracommerce/agora/internal/orderhistory/httpapi"
	orderhistorykafka "github.com/agoracommerce/agora/internal/orderhistory/kafka"
	orderhistorysql "github.com/agoracommerce/agora/internal/orderhistory/sqlstore"
	"github.com/agoracommerce/agora/internal/platform/config"
	"github.com/agoracommerce/agora/internal/platform/host"
	"github.com/agoracommerce/agora/internal/platform/lifecycle"
)

type orderhistoryConfig struct {
	host.Config
}

// buildOrderhistory assembles the order history: the read model in its
// store, the live projector (consumer group orderhistory.projector over
// the topics of ordering, inventory, payment and shipping) and the
// read-only API. It publishes nothing, so it runs no outbox relay, and
// dedupes without the inbox (every write is keyed by event ID).
func buildOrderhistory(ctx context.Context, env config.Options) (*host.Infra, []lifecycle.Component, error) {
	return build(ctx, env, "orderhistory", &orderhistoryConfig{}, func(in *host.Infra) ([]lifecycle.Component, error) {
		store, err := orderhistorysql.New(ctx, in.DB)
		if err != nil {
			return nil, err
		}
		svc, err := app.New(store, store, app.Config{})
		if err != nil {
			return nil, err
		}
		api, err := orderhistoryhttp.New(svc)
		if err != nil {
			return nil, err
		}
		web, err := edge(in, orderhistoryhttp.Document, orderhistoryhttp.Problems, api.Mount)
		if err != nil {
			return nil, err
		}
		projection, err := orderhistorykafka.Config(svc)
		if err != nil {
			return nil, err
		}
		projector, err := in.Consumer(projection)
		if err != nil {
			return nil, err
		}
		return []lifecycle.Component{projector, web}, nil
	})
}
