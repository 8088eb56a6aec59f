package config_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/google/uuid"

	"github.com/agoracommerce/agora/internal/platform/config"
	"github.com/agoracommerce/agora/internal/platform/fault"
	"github.com/agoracommerce/agora/internal/testenv"
)

func TestAWSResolverAgainstEmulator(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	awsCfg, err := testenv.AWSEmulator(t).Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sm := secretsmanager.NewFromConfig(awsCfg)
	ps := ssm.NewFromConfig(awsCfg)
	suffix := uuid.Must(uuid.NewV7()).String()
	secretID := "agora/test/ordering-db-" + suffix
	plainID := "agora/test/api-key-" + suffix
	param := "/agora/test/" + suffix + "/http-addr"

	mustSecret := func(id, value string) {
		t.Helper()
		if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(id), SecretString: aws.String(value)}); err != nil {
			t.Fatalf("create secret %s: %v", id, err)
		}
		t.Cleanup(func() {
			_, err := sm.DeleteSecret(context.Background(), &secretsmanager.DeleteSecretInput{SecretId: aws.String(id), ForceDeleteWithoutRecovery: aws.Bool(true)})
			if err != nil {
				t.Errorf("delete secret %s: %v", id, err)
			}
		})
	}
	mustSecret(secretID, `{"url":"postgres://agora:s3cret@db:5432/ordering","pool":8}`)
	mustSecret(plainID, "k-plain")
	if _, err := ps.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(param), Value: aws.String(":7070"), Type: ssmtypes.ParameterTypeSecureString}); err != nil {
		t.Fatalf("put parameter: %v", err)
	}
	t.Cleanup(func() {
		if _, err := ps.DeleteParameter(context.Background(), &ssm.DeleteParameterInput{Name: aws.String(param)}); err != nil {
			t.Errorf("delete parameter: %v", err)
		}
	})

	type cfgT struct {
		HTTPAddr    string `env:"HTTP_ADDR" validate:"required,hostport"`
		DatabaseURL string `env:"DATABASE_URL" secret:"true" validate:"required,url"`
		Pool        int    `env:"POOL" validate:"min=1"`
		APIKey      string `env:"API_KEY" secret:"true"`
	}
	vars := map[string]string{
		"AGORA_ORDERING_HTTP_ADDR":    "ssm:" + param,
		"AGORA_ORDERING_DATABASE_URL": "secretsmanager:" + secretID + "#url",
		"AGORA_ORDERING_POOL":         "secretsmanager:" + secretID + "#pool",
		"AGORA_ORDERING_API_KEY":      "secretsmanager:" + plainID,
	}
	var cfg cfgT
	err = config.Load(ctx, &cfg, config.Options{Prefix: "AGORA_ORDERING", LookupEnv: env(vars), Resolver: config.NewAWSResolver(awsCfg)})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	want := cfgT{HTTPAddr: ":7070", DatabaseURL: "postgres://agora:s3cret@db:5432/ordering", Pool: 8, APIKey: "k-plain"}
	if cfg != want {
		t.Fatalf("config = %+v, want %+v", cfg, want)
	}

	r := config.NewAWSResolver(awsCfg)
	for _, ref := range []string{
		"secretsmanager:agora/test/missing-" + suffix,
		"secretsmanager:" + secretID + "#nokey",
		"ssm:/agora/test/" + suffix + "/missing",
		"secretsmanager:",
	} {
		t.Run(fmt.Sprintf("missing %s", ref), func(t *testing.T) {
			_, err := r.Resolve(ctx, ref)
			if err == nil || !fault.IsPermanent(err) {
				t.Fatalf("err = %v, want a permanent error", err)
			}
		})
	}
}
