package services

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	notificationapp "github.com/agoracommerce/agora/internal/notification/app"
	notificationdynamo "github.com/agoracommerce/agora/internal/notification/dynamostore"
	notificationhttp "github.com/agoracommerce/agora/internal/notification/httpapi"
	notificationkafka "github.com/agoracommerce/agora/internal/notification/kafka"
	"github.com/agoracommerce/agora/internal/notification/mailbox"
	"github.com/agoracommerce/agora/internal/notification/ses"
	notificationsql "github.com/agoracommerce/agora/internal/notification/sqlstore"
	"github.com/agoracommerce/agora/internal/platform/consumer"
	"github.com/agoracommerce/agora/internal/platform/host"
	"github.com/agoracommerce/agora/internal/platform/httpserver"
)

type notificationConfig struct {
	host.Config
	// EmailSender names the email adapter: the local mailbox (kept in the
	// service's database) or Amazon SES (region and endpoint from
	// AWS_REGION and AWS_ENDPOINT).
	EmailSender string `env:"EMAIL_SENDER" default:"mailbox" validate:"oneof=mailbox|ses"`
	// SESFrom is the verified SES identity emails are sent from, e.g.
	// "Agora <orders@shop.example>"; required with EMAIL_SENDER=ses.
	SESFrom string `env:"SES_FROM" validate:"max=320"`
	// SESConfigurationSet is the SES configuration set of every email.
	SESConfigurationSet string `env:"SES_CONFIGURATION_SET" validate:"max=64"`
	// The dispatcher: how often it sends due messages, how many it claims
	// at a time, how many attempts a message gets and the backoff between
	// them, and how long one send may take.
	DispatchInterval  time.Duration `env:"DISPATCH_INTERVAL" default:"1s" validate:"min=10ms,max=1h"`
	DispatchBatchSize int           `env:"DISPATCH_BATCH_SIZE" default:"50" validate:"min=1,max=1000"`
	MaxAttempts       int           `env:"MAX_ATTEMPTS" default:"8" validate:"min=1,max=100"`
	RetryInitial      time.Duration `env:"RETRY_INITIAL" default:"5s" validate:"min=10ms,max=1h"`
	RetryMax          time.Duration `env:"RETRY_MAX" default:"30m" validate:"min=10ms,max=24h"`
	SendTimeout       time.Duration `env:"SEND_TIMEOUT" default:"30s" validate:"min=100ms,max=5m"`
}

func (cfg *notificationConfig) check(prefix string) error {
	if cfg.RetryMax < cfg.RetryInitial {
		return fmt.Errorf("%s_RETRY_MAX (%s) must not be below %s_RETRY_INITIAL (%s)", prefix, cfg.RetryMax, prefix, cfg.RetryInitial)
	}
	if cfg.EmailSender == "ses" && cfg.SESFrom == "" {
		return fmt.Errorf("%s_SES_FROM is required with %s_EMAIL_SENDER=ses", prefix, prefix)
	}
	return nil
}

// parts assembles the notification service: messages in SQL or DynamoDB
// with their outbox and inbox, the consumer that turns the saga's events
// into messages, and the dispatcher that sends them through the configured
// email sender.
func (cfg *notificationConfig) parts(ctx context.Context, in *host.Infra, prefix string) (Parts, error) {
	store, err := notificationStore(ctx, in)
	if err != nil {
		return Parts{}, err
	}
	var (
		sender notificationapp.EmailSender
		reader notificationapp.MailboxReader
	)
	switch cfg.EmailSender {
	case "ses":
		awsCfg, err := in.AWSConfig(ctx)
		if err != nil {
			return Parts{}, err
		}
		if sender, err = ses.NewFromConfig(awsCfg, ses.Config{From: cfg.SESFrom, ConfigurationSet: cfg.SESConfigurationSet}); err != nil {
			return Parts{}, fmt.Errorf("%s_SES_FROM: %w", prefix, err)
		}
	default:
		if in.DB == nil {
			return Parts{}, fmt.Errorf("%s_EMAIL_SENDER: the local mailbox keeps its emails in a SQL database; with a DynamoDB store send through ses", prefix)
		}
		box, err := mailbox.New(ctx, in.DB, mailbox.Config{})
		if err != nil {
			return Parts{}, err
		}
		sender, reader = box, box
	}
	svc, err := notificationapp.New(store, sender, notificationapp.Config{
		BatchSize: cfg.DispatchBatchSize, MaxAttempts: cfg.MaxAttempts, RetryInitial: cfg.RetryInitial,
		RetryMax: cfg.RetryMax, SendTimeout: cfg.SendTimeout, Mailbox: reader,
	})
	if err != nil {
		return Parts{}, err
	}
	api, err := notificationhttp.New(svc)
	if err != nil {
		return Parts{}, err
	}
	web, err := edge(notificationhttp.Document, notificationhttp.Problems, func(s *httpserver.Server) { notificationhttp.Mount(s, api) })
	if err != nil {
		return Parts{}, err
	}
	handler, err := notificationkafka.Handler(svc)
	if err != nil {
		return Parts{}, err
	}
	return Parts{
		HTTP: web, Relay: true, InboxJanitor: inboxJanitorInterval,
		Jobs: []Job{{Name: "dispatcher", Interval: cfg.DispatchInterval, Round: func(ctx context.Context) error {
			rep, err := svc.Dispatch(ctx)
			if rep.Retried > 0 || rep.Failed > 0 {
				in.Logger.Warn("messages not sent", zap.Int("sent", rep.Sent), zap.Int("retried", rep.Retried), zap.Int("failed", rep.Failed))
			}
			return err
		}}},
		Consumers: []consumer.Config{{Group: notificationkafka.Group, Topics: notificationkafka.Topics(), Handler: handler}},
	}, nil
}

func notificationStore(ctx context.Context, in *host.Infra) (notificationapp.Repository, error) {
	if d := in.Dynamo; d != nil {
		return notificationdynamo.New(d.Client, d.Table, d.Outbox, d.Inbox, in.Codec)
	}
	return notificationsql.New(ctx, in.DB, in.Outbox, in.Inbox, in.Codec)
}
