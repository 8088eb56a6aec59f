package host

import (
	"context"
	"fmt"
	"net"
	"net/http"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/agoracommerce/agora/internal/platform/consumer"
	"github.com/agoracommerce/agora/internal/platform/outbox"
)

// The parts of a service that a function-as-a-service runtime (AWS Lambda)
// drives one invocation at a time: the HTTP edge as a plain handler, the
// consumers' handler chains without a consumer group, and the outbox
// relayed on demand.

// HTTPHandler assembles the service's HTTP edge exactly as HTTPServer does
// (same router, middlewares, validation and authentication) and returns
// its handler without listening anywhere.
func (in *Infra) HTTPHandler(edge HTTP) (http.Handler, error) {
	_, srv, err := in.HTTPServer(edge, unusedListener{})
	if err != nil {
		return nil, err
	}
	return srv.Handler(), nil
}

// Processor returns the handler chain of one of the service's consumers
// (cfg as for Consumer, with the same topic prefix and defaults) for
// records fetched elsewhere; dead-lettered records go out through the
// infrastructure's producer.
func (in *Infra) Processor(cfg consumer.Config) (*consumer.Processor, error) {
	if p := in.Config.KafkaTopicPrefix; p != "" {
		cfg.Group = p + cfg.Group
		topics := make([]string, len(cfg.Topics))
		for i, t := range cfg.Topics {
			topics[i] = p + t
		}
		cfg.Topics = topics
	}
	if cfg.Decoder == nil {
		cfg.Decoder = in.Codec
	}
	if cfg.Logger == nil {
		cfg.Logger = in.Logger.Named("consumer")
	}
	p, err := consumer.NewProcessor(cfg, in.Producer)
	if err != nil {
		return nil, fmt.Errorf("host: processor %s: %w", cfg.Group, err)
	}
	return p, nil
}

// OutboxRelay returns the relay that Relay runs, for callers that drive it
// themselves with RelayOnce (no waiting, no notifications).
func (in *Infra) OutboxRelay() (*outbox.Relay, error) {
	relay, err := outbox.NewRelay(outbox.RelayConfig{
		Source: in.OutboxSource(), Producer: in.Producer, BatchSize: in.Config.RelayBatchSize,
		MaxPoll: in.Config.RelayMaxPoll, Logger: in.Logger.Named("relay"), TopicPrefix: in.Config.KafkaTopicPrefix,
	})
	if err != nil {
		return nil, fmt.Errorf("host: outbox relay: %w", err)
	}
	return relay, nil
}

// FlushProducer waits until every record buffered in the producer was
// acknowledged or ctx ends.
func (in *Infra) FlushProducer(ctx context.Context) error {
	if in.Producer == nil {
		return nil
	}
	if err := in.Producer.Flush(ctx); err != nil {
		return fmt.Errorf("host: flush producer: %w", err)
	}
	return nil
}

var _ interface{ Flush(context.Context) error } = (*kgo.Client)(nil)

// unusedListener stands in for a listener when the HTTP server component
// is built only for its handler and never run.
type unusedListener struct{}

var _ net.Listener = unusedListener{}

func (unusedListener) Accept() (net.Conn, error) { return nil, net.ErrClosed }
func (unusedListener) Close() error              { return nil }
func (unusedListener) Addr() net.Addr            { return unusedAddr{} }

type unusedAddr struct{}

func (unusedAddr) Network() string { return "none" }
func (unusedAddr) String() string  { return "none" }
