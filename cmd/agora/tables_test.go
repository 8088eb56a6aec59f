package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/platform/dynamo/dynamotest"
	"github.com/agoracommerce/agora/internal/testenv"
)

// agora tables create makes a table with the shared layout per service on
// the emulator, and finds them there the second time.
func TestTablesCreate(t *testing.T) {
	emu := testenv.AWSEmulator(t)
	t.Setenv("AWS_ACCESS_KEY_ID", emu.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", emu.SecretKey)
	prefix := "cli-" + uuid.NewString()[:8] + "-"
	client := dynamotest.Client(t)
	t.Cleanup(func() {
		for _, n := range []string{"cart", "orderhistory"} {
			_, _ = client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(prefix + n)})
		}
	})
	args := []string{"tables", "create", "--endpoint", emu.Endpoint, "--region", emu.Region, "--prefix", prefix, "cart", "orderhistory"}
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), args, &out, &out), out.String())
	require.Equal(t, "cart: created (DATABASE_URL dynamodb://"+prefix+"cart)\norderhistory: created (DATABASE_URL dynamodb://"+prefix+"orderhistory)\n", out.String())
	desc, err := client.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(prefix + "cart")})
	require.NoError(t, err)
	require.Len(t, desc.Table.GlobalSecondaryIndexes, 2)

	out.Reset()
	require.NoError(t, run(context.Background(), args, &out, &out), out.String())
	require.Contains(t, out.String(), "cart: exists")

	err = run(context.Background(), []string{"tables", "create", "--endpoint", emu.Endpoint, "ordering"}, &out, &out)
	require.ErrorContains(t, err, `"ordering" keeps no DynamoDB table`)
	err = run(context.Background(), []string{"tables", "create", "--endpoint", emu.Endpoint, "--prefix", "a b", "cart"}, &out, &out)
	require.True(t, err != nil && strings.Contains(err.Error(), "--prefix"), "%v", err)
}
