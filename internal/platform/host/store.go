package host

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/agoracommerce/agora/internal/platform/dynamo"
	"github.com/agoracommerce/agora/internal/platform/fault"
	idempotencydynamo "github.com/agoracommerce/agora/internal/platform/idempotency/dynamostore"
	"github.com/agoracommerce/agora/internal/platform/idempotency/redisstore"
	"github.com/agoracommerce/agora/internal/platform/idempotency/sqlstore"
	"github.com/agoracommerce/agora/internal/platform/inbox"
	"github.com/agoracommerce/agora/internal/platform/outbox"
	"github.com/agoracommerce/agora/internal/platform/sqldb"
)

// DynamoScheme is the DATABASE_URL scheme of a DynamoDB table.
const DynamoScheme = "dynamodb"

// Dynamo is a service's DynamoDB store: the client, the service's table
// (the platform's shared layout, see package dynamo) and the outbox and
// inbox kept in it.
type Dynamo struct {
	Client *dynamodb.Client
	Table  string
	Outbox *dynamo.Outbox
	Inbox  *dynamo.Inbox
}

// tableName is what DynamoDB accepts as a table name.
var tableName = regexp.MustCompile(`^[A-Za-z0-9_.-]{3,255}$`)

// DynamoTable returns the table of a dynamodb://<table> database URL; ok is
// false for any other URL (SQL).
func DynamoTable(databaseURL string) (table string, ok bool, err error) {
	scheme, rest, found := strings.Cut(databaseURL, "://")
	if !found || !strings.EqualFold(scheme, DynamoScheme) {
		return "", false, nil
	}
	u, err := url.Parse(DynamoScheme + "://" + rest)
	if err != nil {
		return "", true, fmt.Errorf("DATABASE_URL: not a dynamodb://<table> URL: %w", err)
	}
	if u.User != nil || u.Port() != "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", true, errors.New("DATABASE_URL: a DynamoDB URL is dynamodb://<table> and nothing else (region and endpoint come from AWS_REGION and AWS_ENDPOINT)")
	}
	if !tableName.MatchString(u.Host) {
		return "", true, fmt.Errorf("DATABASE_URL: %q is not a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -)", u.Host)
	}
	return u.Host, true, nil
}

// openStore opens the store Config.DatabaseURL names: the SQL database with
// its outbox and inbox, or the DynamoDB table with its.
func (in *Infra) openStore(ctx context.Context) error {
	cfg := in.Config
	table, isDynamo, err := DynamoTable(cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("host: %w", err)
	}
	if isDynamo {
		return in.openDynamo(ctx, table)
	}
	if cfg.OutboxExpireAfter > 0 {
		return errors.New("host: OUTBOX_EXPIRE_AFTER applies to a DynamoDB outbox relayed by its table's stream; the SQL outbox's relay cleans up itself")
	}
	if in.DB, err = sqldb.Open(ctx, cfg.DatabaseURL); err != nil {
		return fmt.Errorf("host: database: %w", err)
	}
	in.closers = append(in.closers, func(context.Context) error { return in.DB.Close() })
	if in.Outbox, err = outbox.NewStore(ctx, in.DB); err != nil {
		return fmt.Errorf("host: outbox: %w", err)
	}
	if in.Inbox, err = inbox.NewStore(ctx, in.DB); err != nil {
		return fmt.Errorf("host: inbox: %w", err)
	}
	return nil
}

// openDynamo opens the service's DynamoDB table and checks that it answers.
func (in *Infra) openDynamo(ctx context.Context, table string) error {
	awsCfg, err := in.AWSConfig(ctx)
	if err != nil {
		return err
	}
	d := &Dynamo{Client: dynamodb.NewFromConfig(awsCfg), Table: table}
	if d.Outbox, err = dynamo.NewOutbox(dynamo.OutboxConfig{Client: d.Client, Table: table, Shards: in.Config.OutboxShards, ExpireAfter: in.Config.OutboxExpireAfter}); err != nil {
		return fmt.Errorf("host: outbox: %w", err)
	}
	if d.Inbox, err = dynamo.NewInbox(dynamo.InboxConfig{Client: d.Client, Table: table, Retention: in.Config.InboxRetention}); err != nil {
		return fmt.Errorf("host: inbox: %w", err)
	}
	in.Dynamo = d
	if err := in.PingStore(ctx); err != nil {
		return fmt.Errorf("host: DATABASE_URL: %w", err)
	}
	return nil
}

// PingStore checks that the service's store answers: a ping of the SQL
// database, or a strongly consistent read of one key of the DynamoDB table
// (which needs only the dynamodb:GetItem every service has).
func (in *Infra) PingStore(ctx context.Context) error {
	if in.Dynamo == nil {
		return in.DB.PingContext(ctx)
	}
	_, err := in.Dynamo.Client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(in.Dynamo.Table), Key: dynamo.Key("PING", "PING"), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return dynamo.Classify(fmt.Errorf("table %s: %w", in.Dynamo.Table, err))
	}
	return nil
}

// OutboxSource is the outbox the polling relay claims from: the SQL outbox
// or the DynamoDB one.
func (in *Infra) OutboxSource() outbox.Source {
	if in.Dynamo != nil {
		return in.Dynamo.Outbox
	}
	return in.Outbox
}

// openIdempotency opens the store of Idempotency-Key records that
// Config.IdempotencyStore names, by default the service's own store.
func (in *Infra) openIdempotency(ctx context.Context) (err error) {
	kind := in.Config.IdempotencyStore
	if kind == "" {
		kind = "sql"
		if in.Dynamo != nil {
			kind = DynamoScheme
		}
	}
	switch kind {
	case "redis":
		if in.Redis == nil {
			return errors.New("host: IDEMPOTENCY_STORE=redis needs REDIS_ADDR")
		}
		if in.Idempotency, err = redisstore.New(in.Redis, redisstore.Config{Prefix: "agora:" + in.Service + ":idempotency:"}); err != nil {
			return fmt.Errorf("host: idempotency store: %w", err)
		}
		return nil
	case DynamoScheme:
		if in.Dynamo == nil {
			return errors.New("host: IDEMPOTENCY_STORE=dynamodb needs a dynamodb://<table> DATABASE_URL")
		}
		if in.Idempotency, err = idempotencydynamo.New(in.Dynamo.Client, in.Dynamo.Table, idempotencydynamo.Config{}); err != nil {
			return fmt.Errorf("host: idempotency store: %w", err)
		}
		return nil
	case "sql":
		if in.DB == nil {
			return errors.New("host: IDEMPOTENCY_STORE=sql needs a SQL DATABASE_URL")
		}
		dialect := sqlstore.SQLite
		if in.DB.Dialect == sqldb.Postgres {
			dialect = sqlstore.Postgres
		}
		files, err := sqlstore.Migrations(dialect, sqlstore.DefaultTable)
		if err != nil {
			return fmt.Errorf("host: idempotency store: %w", err)
		}
		if err := in.DB.MigrateFS(ctx, files, "idempotency"); err != nil {
			return fmt.Errorf("host: idempotency store: %w", err)
		}
		if in.Idempotency, err = sqlstore.New(in.DB.DB, sqlstore.Config{Dialect: dialect}); err != nil {
			return fmt.Errorf("host: idempotency store: %w", err)
		}
		return nil
	}
	return fault.Permanent(fmt.Errorf("host: unknown idempotency store %q", kind))
}
