package services

import (
	"context"
	"fmt"
	"time"

	catalogapp "github.com/agoracommerce/agora/internal/catalog/app"
	catalogdynamo "github.com/agoracommerce/agora/internal/catalog/dynamostore"
	cataloghttp "github.com/agoracommerce/agora/internal/catalog/httpapi"
	"github.com/agoracommerce/agora/internal/catalog/rediscache"
	catalogsql "github.com/agoracommerce/agora/internal/catalog/sqlstore"
	"github.com/agoracommerce/agora/internal/platform/host"
)

type catalogConfig struct {
	host.Config
	// ProductCache caches product reads in Redis (REDIS_ADDR) for
	// CacheTTL; none reads the database every time.
	ProductCache string        `env:"PRODUCT_CACHE" default:"none" validate:"oneof=none|redis"`
	CacheTTL     time.Duration `env:"CACHE_TTL" default:"5m" validate:"min=1s,max=24h"`
}

func (cfg *catalogConfig) check(prefix string) error {
	if cfg.ProductCache == "redis" && cfg.RedisAddr == "" {
		return fmt.Errorf("%s_PRODUCT_CACHE=redis needs %s_REDIS_ADDR", prefix, prefix)
	}
	return nil
}

// parts assembles the catalog: products and categories in SQL or DynamoDB
// with their outbox, product reads through the Redis cache when
// configured.
func (cfg *catalogConfig) parts(ctx context.Context, in *host.Infra, _ string) (Parts, error) {
	store, err := openCatalogStore(ctx, in)
	if err != nil {
		return Parts{}, err
	}
	var products catalogapp.Repository = store
	if cfg.ProductCache == "redis" {
		if products, err = rediscache.New(store, in.Redis, rediscache.Config{TTL: cfg.CacheTTL, Logger: in.Logger.Named("cache")}); err != nil {
			return Parts{}, err
		}
	}
	svc, err := catalogapp.New(catalogapp.Config{Products: products, Categories: store})
	if err != nil {
		return Parts{}, err
	}
	api, err := cataloghttp.New(svc)
	if err != nil {
		return Parts{}, err
	}
	web, err := edge(cataloghttp.Document, cataloghttp.Problems, api.Mount)
	if err != nil {
		return Parts{}, err
	}
	return Parts{HTTP: web, Relay: true}, nil
}

// catalogStore is both of the catalog's repositories.
type catalogStore interface {
	catalogapp.Repository
	catalogapp.CategoryRepository
}

func openCatalogStore(ctx context.Context, in *host.Infra) (catalogStore, error) {
	if d := in.Dynamo; d != nil {
		return catalogdynamo.New(d.Client, d.Table, d.Outbox, in.Codec)
	}
	return catalogsql.New(ctx, in.DB, in.Outbox, in.Codec)
}
