package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/platform/kafkatest"
	"github.com/agoracommerce/agora/internal/testenv"
)

// check fails on an empty registry and passes once register has run, which
// is how a deployment pipeline uses the two.
func TestSchemasRegisterThenCheck(t *testing.T) {
	t.Parallel()
	bus := kafkatest.New(t, []string{"127.0.0.1:1"}) // only its registry is used
	ctx := context.Background()

	var out bytes.Buffer
	err := run(ctx, []string{"schemas", "check", "--registry", bus.RegistryURL}, &out, &out)
	require.ErrorContains(t, err, "schema not registered")

	out.Reset()
	require.NoError(t, run(ctx, []string{"schemas", "register", "--registry", bus.RegistryURL}, &out, &out))
	registered := out.String()
	schemas, err := topicSchemas()
	require.NoError(t, err)
	for topic := range schemas {
		require.Contains(t, registered, topic+"-value")
	}

	out.Reset()
	require.NoError(t, run(ctx, []string{"schemas", "check", "--registry", bus.RegistryURL}, &out, &out))
	require.Equal(t, registered, out.String(), "check finds the IDs register gave")
	require.Len(t, strings.Split(strings.TrimSpace(out.String()), "\n"), len(schemas))

	subjects, err := bus.Registry.Subjects(ctx)
	require.NoError(t, err)
	require.Contains(t, subjects, "agora/common/v1/money.proto", "imports are registered under their paths")
}

func TestSchemasNeedARegistry(t *testing.T) {
	t.Setenv("AGORA_SCHEMA_REGISTRY_URL", "")
	var out bytes.Buffer
	err := run(context.Background(), []string{"schemas", "check"}, &out, &out)
	require.ErrorContains(t, err, "AGORA_SCHEMA_REGISTRY_URL")
}

// glue://<registry> registers every topic's schema in the AWS Glue Schema
// Registry (here moto), as the deploy pipeline does, and check then finds
// them.
func TestSchemasRegisterInGlue(t *testing.T) {
	aws := testenv.AWSEmulator(t)
	t.Setenv("AWS_ENDPOINT_URL", aws.Endpoint)
	t.Setenv("AWS_REGION", aws.Region)
	t.Setenv("AWS_ACCESS_KEY_ID", aws.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", aws.SecretKey)
	ctx := context.Background()
	// moto allows few registries per account: the tests share one.
	target := "glue://agora-test"

	var out bytes.Buffer
	require.NoError(t, run(ctx, []string{"schemas", "register", "--registry", target}, &out, &out), "%s", out.String())
	registered := out.String()
	schemas, err := topicSchemas()
	require.NoError(t, err)
	for topic := range schemas {
		require.Contains(t, registered, topic)
	}
	out.Reset()
	require.NoError(t, run(ctx, []string{"schemas", "check", "--registry", target}, &out, &out), "%s", out.String())
	require.Len(t, strings.Split(strings.TrimSpace(out.String()), "\n"), len(schemas))

	require.ErrorContains(t, run(ctx, []string{"schemas", "check", "--registry", "glue://"}, &out, &out), "needs a registry name")
}
