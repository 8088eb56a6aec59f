package main

import (
	"context"

	catalogapp "github.com/agoracommerce/agora/internal/catalog/app"
	cataloghttp "github.com/agoracommerce/agora/internal/catalog/httpapi"
	catalogsql "github.com/agoracommerce/agora/internal/catalog/sqlstore"
	"github.com/agoracommerce/agora/internal/platform/config"
	"github.com/agoracommerce/agora/internal/platform/host"
	"github.com/agoracommerce/agora/internal/platform/lifecycle"
)

type catalogConfig struct {
	host.Config
}

func buildCatalog(ctx context.Context, env config.Options) (*host.Infra, []lifecycle.Component, error) {
	return build(ctx, env, "catalog", &catalogConfig{}, func(in *host.Infra) ([]lifecycle.Component, error) {
		store, err := catalogsql.New(ctx, in.DB, in.Outbox, in.Codec)
		if err != nil {
			return nil, err
		}
		svc, err := catalogapp.New(catalogapp.Config{Products: store, Categories: store})
		if err != nil {
			return nil, err
		}
		api, err := cataloghttp.New(svc)
		if err != nil {
			return nil, err
		}
		web, err := edge(in, cataloghttp.Document, cataloghttp.Problems, api.Mount)
		if err != nil {
			return nil, err
		}
		return []lifecycle.Component{in.Relay(), web}, nil
	})
}
