package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/agoracommerce/agora/internal/platform/config"
	"github.com/agoracommerce/agora/internal/platform/dynamo"
	"github.com/agoracommerce/agora/internal/platform/host"
	"github.com/agoracommerce/agora/internal/platform/lambdahost"
	"github.com/agoracommerce/agora/internal/services"
)

// The variables that choose what the function is.
const (
	envService = "AGORA_SERVICE"
	envHandler = "AGORA_LAMBDA_HANDLER"
	envOutbox  = "AGORA_LAMBDA_OUTBOX"
)

// Handler kinds.
const (
	kindHTTP    = "http"
	kindKafka   = "kafka"
	kindStreams = "streams"
	kindJobs    = "jobs"
)

// App is one service assembled for Lambda: its infrastructure and the
// handler of the invocation kind the environment chose.
type App struct {
	Service string
	Kind    string
	Infra   *host.Infra

	handler any
}

// New loads the function's configuration through lookup (os.LookupEnv),
// opens the service's infrastructure and builds the handler. On error it
// closes what it opened; the message names the bad variable.
func New(ctx context.Context, lookup func(string) (string, bool)) (app *App, err error) {
	get := func(k string) string { v, _ := lookup(k); return strings.TrimSpace(v) }
	name, kind, outbox := get(envService), get(envHandler), get(envOutbox)
	if !services.Known(name) {
		return nil, fmt.Errorf("%s: %q is not a service (services: %s)", envService, name, strings.Join(services.Names(), ", "))
	}
	switch kind {
	case kindHTTP, kindKafka, kindStreams, kindJobs:
	default:
		return nil, fmt.Errorf("%s: %q is not one of http, kafka, streams, jobs", envHandler, kind)
	}
	switch outbox {
	case "":
		outbox = "inline"
	case "inline", "off":
	default:
		return nil, fmt.Errorf("%s: %q is not one of inline, off", envOutbox, outbox)
	}

	in, p, err := services.Open(ctx, name, config.Options{LookupEnv: lookup})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, in.Close(context.WithoutCancel(ctx)))
		}
	}()

	flusher := &lambdahost.Flusher{Producer: in.Producer, Logger: in.Logger.Named("lambda")}
	for _, provider := range []any{in.Telemetry.TracerProvider(), in.Telemetry.MeterProvider()} {
		if f, ok := provider.(lambdahost.ForceFlusher); ok {
			flusher.Telemetry = append(flusher.Telemetry, f)
		}
	}
	if outbox == "inline" && p.Relay {
		if flusher.Outbox, err = in.OutboxRelay(); err != nil {
			return nil, err
		}
	}

	app = &App{Service: name, Kind: kind, Infra: in}
	switch kind {
	case kindHTTP:
		h, err := in.HTTPHandler(p.HTTP)
		if err != nil {
			return nil, err
		}
		app.handler = flusher.HTTP(lambdahost.HTTP(h))
	case kindKafka:
		var procs []lambdahost.Processor
		for _, c := range p.Consumers {
			proc, err := in.Processor(c)
			if err != nil {
				return nil, err
			}
			procs = append(procs, proc)
		}
		if len(procs) == 0 {
			return nil, fmt.Errorf("%s: the %s service consumes no topic", envHandler, name)
		}
		h, err := lambdahost.Kafka(lambdahost.KafkaConfig{Processors: procs})
		if err != nil {
			return nil, err
		}
		app.handler = flusher.Kafka(h)
	case kindStreams:
		// The outbox table's stream onto Kafka; the relay needs nothing of
		// the service but its producer and topic prefix.
		relay, err := dynamo.NewStreamRelay(dynamo.StreamRelayConfig{
			Producer: in.Producer, TopicPrefix: in.Config.KafkaTopicPrefix, Logger: in.Logger.Named("stream-relay"),
		})
		if err != nil {
			return nil, err
		}
		app.handler = flusher.Streams(lambdahost.Streams(relay))
	case kindJobs:
		if len(p.Jobs) == 0 {
			return nil, fmt.Errorf("%s: the %s service has no periodic job", envHandler, name)
		}
		jobs := make([]lambdahost.Job, len(p.Jobs))
		for i, j := range p.Jobs {
			jobs[i] = lambdahost.Job{Name: j.Name, Round: j.Round}
		}
		h, err := lambdahost.Jobs(jobs)
		if err != nil {
			return nil, err
		}
		app.handler = flusher.Jobs(h)
	}
	return app, nil
}

// Handler is the function for lambda.Start: a lambdahost.HTTPHandler,
// KafkaHandler, StreamsHandler or JobsHandler.
func (a *App) Handler() any { return a.handler }

// Close releases the infrastructure.
func (a *App) Close(ctx context.Context) error { return a.Infra.Close(ctx) }
