package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/spf13/cobra"

	"github.com/agoracommerce/agora/internal/platform/dynamo"
	"github.com/agoracommerce/agora/internal/platform/host"
)

// dynamoServices are the services that can keep their state in DynamoDB.
var dynamoServices = []string{"cart", "catalog", "inventory", "notification", "orderhistory", "shipping"}

func newTablesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tables",
		Short: "Create the DynamoDB tables of the services that can run on DynamoDB",
	}
	cmd.AddCommand(newTablesCreateCmd())
	return cmd
}

func newTablesCreateCmd() *cobra.Command {
	var (
		prefix, region, endpoint string
		timeout                  time.Duration
	)
	cmd := &cobra.Command{
		Use:   "create [service...]",
		Short: "Create a table with Agora's layout per service (default: all six DynamoDB services)",
		Long: `Create the DynamoDB table of each service named (default: ` + strings.Join(dynamoServices, ", ") + `)
with the layout every Agora table shares (pk/sk, two sparse indexes, TTL, a
stream of new images; package internal/platform/dynamo), named <prefix><service>.
A table that exists already is left as it is. On AWS, Terraform creates the
tables (deploy/terraform/modules/dynamodb-table); this is for an emulator or
DynamoDB Local, e.g.

  agora tables create --endpoint http://127.0.0.1:8000
  AGORA_CART_DATABASE_URL=dynamodb://agora-cart AGORA_CART_AWS_ENDPOINT=http://127.0.0.1:8000 agora run

Credentials come from the AWS SDK's default chain (AWS_ACCESS_KEY_ID, ...).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			names := args
			if len(names) == 0 {
				names = dynamoServices
			}
			for _, n := range names {
				if !slices.Contains(dynamoServices, n) {
					return fmt.Errorf("tables create: %q keeps no DynamoDB table (services: %s)", n, strings.Join(dynamoServices, ", "))
				}
				if _, ok, err := host.DynamoTable("dynamodb://" + prefix + n); !ok || err != nil {
					return fmt.Errorf("tables create: --prefix %q: %v", prefix, err)
				}
			}
			if timeout <= 0 {
				return fmt.Errorf("tables create: --timeout must be positive, got %s", timeout)
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			awsCfg, err := host.AWSConfig(ctx, host.Config{AWSRegion: region, AWSEndpoint: endpoint})
			if err != nil {
				return err
			}
			client := dynamodb.NewFromConfig(awsCfg)
			for _, n := range names {
				table := prefix + n
				err := dynamo.CreateTable(ctx, client, table)
				var inUse *types.ResourceInUseException
				switch {
				case err == nil:
					fmt.Fprintf(cmd.OutOrStdout(), "%s: created (DATABASE_URL dynamodb://%s)\n", n, table)
				case errors.As(err, &inUse):
					fmt.Fprintf(cmd.OutOrStdout(), "%s: exists (DATABASE_URL dynamodb://%s)\n", n, table)
				default:
					return fmt.Errorf("tables create: %s: %w", n, err)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&prefix, "prefix", "agora-", "table names are <prefix><service>")
	cmd.Flags().StringVar(&region, "region", os.Getenv("AWS_REGION"), "AWS region (AWS_REGION)")
	cmd.Flags().StringVar(&endpoint, "endpoint", "", "DynamoDB endpoint, such as an emulator's URL (default: AWS)")
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Minute, "give up after this long")
	return cmd
}
