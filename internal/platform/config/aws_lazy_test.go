package config_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/platform/config"
	"github.com/agoracommerce/agora/internal/platform/fault"
	"github.com/agoracommerce/agora/internal/testenv"
)

func TestLazyAWSResolverLoadsOnFirstReference(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	loads := 0
	r := config.NewLazyAWSResolver(func(context.Context) (aws.Config, error) {
		loads++
		return aws.Config{}, errors.New("no credentials")
	})
	type cfgT struct {
		HTTPAddr string `env:"HTTP_ADDR" default:":8080"`
	}
	var cfg cfgT
	require.NoError(t, config.Load(ctx, &cfg, config.Options{Prefix: "AGORA_X", Resolver: r, LookupEnv: env(nil)}))
	require.Zero(t, loads, "no reference, no AWS")

	_, err := r.Resolve(ctx, "ssm:/agora/x")
	require.Error(t, err)
	require.True(t, fault.IsRetryable(err))
	require.Equal(t, 1, loads)
}

func TestLazyAWSResolverAgainstEmulator(t *testing.T) {
	t.Parallel()
	emu := testenv.AWSEmulator(t)
	r := config.NewLazyAWSResolver(emu.Config)
	_, err := r.Resolve(context.Background(), "ssm:/agora/test/missing-lazy")
	require.Error(t, err)
	require.True(t, fault.IsPermanent(err), "a missing parameter is permanent: %v", err)
}

// A service on AWS keeps its secrets out of its environment: the task
// definition sets references, resolved once at start. Here the catalog's
// database URL is the "url" key of the JSON secret agora/prod/catalog-db
// and its token issuer an SSM SecureString parameter; the resolver takes
// its region, credentials (the task role) and, for an emulator,
// AWS_ENDPOINT_URL from the SDK's default chain.
//
//	AGORA_CATALOG_DATABASE_URL=secretsmanager:agora/prod/catalog-db#url
//	AGORA_CATALOG_AUTH_ISSUER=ssm:/agora/prod/auth-issuer
//	AGORA_CATALOG_REDIS_PASSWORD=secretsmanager:agora/prod/redis#auth_token
func ExampleNewLazyAWSResolver() {
	type catalogConfig struct {
		DatabaseURL string `env:"DATABASE_URL" secret:"true" validate:"required"`
		AuthIssuer  string `env:"AUTH_ISSUER" validate:"required,url"`
	}
	var cfg catalogConfig
	err := config.Load(context.Background(), &cfg, config.Options{
		Prefix:   "AGORA_CATALOG",
		Resolver: config.NewLazyAWSResolver(nil),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err) // each problem names its variable
		return
	}
	fmt.Println(config.Redacted(cfg)["DATABASE_URL"]) // masked
}
