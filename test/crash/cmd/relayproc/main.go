// Command relayproc is the outbox relay of Agora's crash tests: it relays a
// PostgreSQL (or DynamoDB) outbox to Kafka with outbox.Relay and the idempotent producer,
// exactly as a service process does, and reports each produced batch on
// stdout so that a test can SIGKILL it at a chosen point.
//
// With -hold-after=K the process stops after the broker acknowledged its
// K-th batch and before the relay marks that batch published: it prints
// "HOLDING" and waits until stdin is closed. Killing it there leaves rows
// that are on Kafka but still unpublished in the outbox, the window the
// at-least-once guarantee has to cover.
//
// Output lines:
//
//	READY
//	PRODUCED <n> <event ID>,<event ID>,...
//	HOLDING
//
// The database URL comes from AGORA_CRASH_DB_URL (it carries a password, so
// it is not a flag). With -dynamo-table the relay claims from the DynamoDB
// outbox in that table instead (-aws-region, -aws-endpoint; credentials
// from the SDK's default chain, e.g. AWS_ACCESS_KEY_ID). SIGTERM or
// SIGINT stops the relay cleanly.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/agoracommerce/agora/internal/platform/dynamo"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/outbox"
	"github.com/agoracommerce/agora/internal/platform/sqldb"
)

// EnvDatabaseURL names the variable holding the outbox database URL.
const EnvDatabaseURL = "AGORA_CRASH_DB_URL"

type config struct {
	DatabaseURL string
	Dynamo      dynamo.Config // used when Dynamo.Table is set
	Brokers     []string
	BatchSize   int
	Lease       time.Duration
	MaxPoll     time.Duration
	HoldAfter   int // hold after this many produced batches; 0 never
}

func (c config) validate() error {
	if c.Dynamo.Table != "" {
		if err := c.Dynamo.Validate(); err != nil {
			return err
		}
	} else if c.DatabaseURL == "" {
		return fmt.Errorf("%s or -dynamo-table is required", EnvDatabaseURL)
	}
	switch {
	case len(c.Brokers) == 0:
		return errors.New("-brokers is required")
	case c.BatchSize <= 0:
		return errors.New("-batch must be positive")
	case c.Lease <= 0 || c.MaxPoll <= 0:
		return errors.New("-lease and -max-poll must be positive")
	case c.HoldAfter < 0:
		return errors.New("-hold-after must not be negative")
	}
	return nil
}

func parseConfig(args []string) (config, error) {
	fs := flag.NewFlagSet("relayproc", flag.ContinueOnError)
	brokers := fs.String("brokers", "", "comma-separated Kafka bootstrap brokers")
	cfg := config{DatabaseURL: os.Getenv(EnvDatabaseURL)}
	fs.IntVar(&cfg.BatchSize, "batch", 100, "rows claimed and produced per batch")
	fs.DurationVar(&cfg.Lease, "lease", 2*time.Second, "claim lease")
	fs.DurationVar(&cfg.MaxPoll, "max-poll", 100*time.Millisecond, "longest idle poll interval")
	fs.IntVar(&cfg.HoldAfter, "hold-after", 0, "hold after the broker acknowledged this many batches (0: never)")
	fs.StringVar(&cfg.Dynamo.Table, "dynamo-table", "", "relay the DynamoDB outbox of this table instead of the database's")
	fs.StringVar(&cfg.Dynamo.Region, "aws-region", "us-east-1", "AWS region of the DynamoDB table")
	fs.StringVar(&cfg.Dynamo.Endpoint, "aws-endpoint", "", "DynamoDB endpoint override (an emulator)")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if *brokers != "" {
		cfg.Brokers = strings.Split(*brokers, ",")
	}
	return cfg, cfg.validate()
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "relayproc:", err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	cfg, err := parseConfig(args)
	if err != nil {
		return err
	}
	var store outbox.Source
	if cfg.Dynamo.Table != "" {
		client, err := dynamo.NewClient(ctx, cfg.Dynamo)
		if err != nil {
			return err
		}
		if store, err = dynamo.NewOutbox(dynamo.OutboxConfig{Client: client, Table: cfg.Dynamo.Table}); err != nil {
			return err
		}
	} else {
		db, err := sqldb.Open(ctx, cfg.DatabaseURL)
		if err != nil {
			return err
		}
		defer func() { _ = db.Close() }()
		if store, err = outbox.NewStore(ctx, db); err != nil {
			return err
		}
	}
	// franz-go's defaults: idempotent producer, acks=all.
	client, err := kgo.NewClient(kgo.SeedBrokers(cfg.Brokers...))
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	defer client.Close()

	released := make(chan struct{})
	go func() { // ends at EOF on stdin or with the process
		_, _ = io.Copy(io.Discard, stdin)
		close(released)
	}()
	logger, err := zap.NewProduction() // JSON lines on stderr
	if err != nil {
		return fmt.Errorf("logger: %w", err)
	}
	defer func() { _ = logger.Sync() }()
	out := &lines{w: stdout}
	relay, err := outbox.NewRelay(outbox.RelayConfig{
		Source:    store,
		Producer:  &reportingProducer{next: client, out: out, holdAfter: cfg.HoldAfter, released: released},
		BatchSize: cfg.BatchSize,
		Lease:     cfg.Lease,
		MinPoll:   5 * time.Millisecond,
		MaxPoll:   cfg.MaxPoll,
		Logger:    logger,
	})
	if err != nil {
		return err
	}
	out.printf("READY")
	return relay.Run(ctx)
}

// reportingProducer reports every acknowledged batch and, once, holds
// before returning to the relay (so before MarkPublished).
type reportingProducer struct {
	next      outbox.Producer
	out       *lines
	holdAfter int
	released  <-chan struct{}
	batches   int // the relay produces one batch at a time
}

func (p *reportingProducer) ProduceSync(ctx context.Context, rs ...*kgo.Record) kgo.ProduceResults {
	results := p.next.ProduceSync(ctx, rs...)
	if err := results.FirstErr(); err != nil {
		return results
	}
	p.batches++
	ids := make([]string, 0, len(rs))
	for _, r := range rs {
		for _, h := range r.Headers {
			if h.Key == events.HeaderID {
				ids = append(ids, string(h.Value))
			}
		}
	}
	p.out.printf("PRODUCED %d %s", len(rs), strings.Join(ids, ","))
	if p.batches == p.holdAfter {
		p.out.printf("HOLDING")
		select {
		case <-p.released:
		case <-ctx.Done():
		}
	}
	return results
}

// lines writes whole lines to the test reading stdout.
type lines struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lines) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = fmt.Fprintf(l.w, format+"\n", args...)
}
