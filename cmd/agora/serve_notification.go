package main

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	notificationapp "github.com/agoracommerce/agora/internal/notification/app"
	notificationhttp "github.com/agoracommerce/agora/internal/notification/httpapi"
	notificationkafka "github.com/agoracommerce/agora/internal/notification/kafka"
	"github.com/agoracommerce/agora/internal/notification/mailbox"
	notificationsql "github.com/agoracommerce/agora/internal/notification/sqlstore"
	"github.com/agoracommerce/agora/internal/platform/config"
	"github.com/agoracommerce/agora/internal/platform/consumer"
	"github.com/agoracommerce/agora/internal/platform/host"
	"github.com/agoracommerce/agora/internal/platform/httpserver"
	"github.com/agoracommerce/agora/internal/platform/lifecycle"
)

type notificationConfig struct {
	host.Config
	// EmailSender names the email adapter; only the local mailbox (kept in
	// the service's database) exists so far.
	EmailSender string `env:"EMAIL_SENDER" default:"mailbox" validate:"oneof=mailbox"`
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

func buildNotification(ctx context.Context, env config.Options) (*host.Infra, []lifecycle.Component, error) {
	cfg := &notificationConfig{}
	return build(ctx, env, "notification", cfg, func(in *host.Infra) ([]lifecycle.Component, error) {
		if cfg.RetryMax < cfg.RetryInitial {
			return nil, fmt.Errorf("%s_RETRY_MAX (%s) must not be below %s_RETRY_INITIAL (%s)", env.Prefix, cfg.RetryMax, env.Prefix, cfg.RetryInitial)
		}
		store, err := notificationsql.New(ctx, in.DB, in.Outbox, in.Inbox, in.Codec)
		if err != nil {
			return nil, err
		}
		box, err := mailbox.New(ctx, in.DB, mailbox.Config{})
		if err != nil {
			return nil, err
		}
		svc, err := notificationapp.New(store, box, notificationapp.Config{
			BatchSize: cfg.DispatchBatchSize, MaxAttempts: cfg.MaxAttempts, RetryInitial: cfg.RetryInitial,
			RetryMax: cfg.RetryMax, SendTimeout: cfg.SendTimeout, Mailbox: box,
		})
		if err != nil {
			return nil, err
		}
		api, err := notificationhttp.New(svc)
		if err != nil {
			return nil, err
		}
		web, err := edge(in, notificationhttp.Document, notificationhttp.Problems, func(s *httpserver.Server) { notificationhttp.Mount(s, api) })
		if err != nil {
			return nil, err
		}
		handler, err := notificationkafka.Handler(svc)
		if err != nil {
			return nil, err
		}
		events, err := in.Consumer(consumer.Config{Group: notificationkafka.Group, Topics: notificationkafka.Topics(), Handler: handler})
		if err != nil {
			return nil, err
		}
		dispatcher := every(in, "dispatcher", cfg.DispatchInterval, func(ctx context.Context) error {
			rep, err := svc.Dispatch(ctx)
			if rep.Retried > 0 || rep.Failed > 0 {
				in.Logger.Warn("messages not sent", zap.Int("sent", rep.Sent), zap.Int("retried", rep.Retried), zap.Int("failed", rep.Failed))
			}
			return err
		})
		return []lifecycle.Component{in.Relay(), in.InboxJanitor(time.Hour), dispatcher, events, web}, nil
	})
}
