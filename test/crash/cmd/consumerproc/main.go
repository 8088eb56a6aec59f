// Command consumerproc is the consuming service of Agora's crash tests: a
// consumer.Consumer that applies ordering events to a PostgreSQL effects
// table through consumer.Dedupe, so each effect and its inbox entry commit
// in one transaction, and offsets are committed only after processing. It
// reports each event on stdout so that a test can SIGKILL it at a chosen
// point.
//
// With -hold-after=K the handler stops right after the transaction of the
// K-th newly applied event committed: it prints "HOLDING <event ID>" and
// waits until stdin is closed. The consumer commits offsets only after the
// whole poll was handled, so killing it there leaves effects in the database
// whose offsets Kafka never saw: they are delivered again after a restart
// and must be recognised by the inbox.
//
// Output lines:
//
//	READY
//	APPLIED <event ID>      the effect and inbox entry committed
//	DUPLICATE <event ID>    the inbox already had the event; skipped
//	HOLDING <event ID> <partition> <offset>
//
// Effects are rows of the table "effects" (created when missing), which
// deliberately has no unique key on event_id so that a double shows. The
// database URL comes from AGORA_CRASH_DB_URL. SIGTERM or SIGINT stops the
// consumer cleanly.
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	protos "github.com/agoracommerce/agora/api/proto"
	orderingv1 "github.com/agoracommerce/agora/gen/proto/agora/ordering/v1"
	"github.com/agoracommerce/agora/internal/platform/consumer"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/fault"
	"github.com/agoracommerce/agora/internal/platform/inbox"
	"github.com/agoracommerce/agora/internal/platform/sqldb"
)

// EnvDatabaseURL names the variable holding the database URL.
const EnvDatabaseURL = "AGORA_CRASH_DB_URL"

type config struct {
	DatabaseURL    string
	Brokers        []string
	Registry       string
	Topic          string
	Group          string
	MaxPollRecords int
	SessionTimeout time.Duration
	HoldAfter      int // hold after this many newly applied events; 0 never
}

func (c config) validate() error {
	switch {
	case c.DatabaseURL == "":
		return fmt.Errorf("%s is required", EnvDatabaseURL)
	case len(c.Brokers) == 0 || c.Registry == "" || c.Topic == "" || c.Group == "":
		return errors.New("-brokers, -registry, -topic and -group are required")
	case c.MaxPollRecords <= 0:
		return errors.New("-max-poll must be positive")
	case c.SessionTimeout < time.Second:
		return errors.New("-session-timeout must be at least 1s")
	case c.HoldAfter < 0:
		return errors.New("-hold-after must not be negative")
	}
	return nil
}

func parseConfig(args []string) (config, error) {
	fs := flag.NewFlagSet("consumerproc", flag.ContinueOnError)
	brokers := fs.String("brokers", "", "comma-separated Kafka bootstrap brokers")
	cfg := config{DatabaseURL: os.Getenv(EnvDatabaseURL)}
	fs.StringVar(&cfg.Registry, "registry", "", "schema registry URL")
	fs.StringVar(&cfg.Topic, "topic", "", "topic to consume")
	fs.StringVar(&cfg.Group, "group", "", "consumer group")
	fs.IntVar(&cfg.MaxPollRecords, "max-poll", 50, "records per poll")
	fs.DurationVar(&cfg.SessionTimeout, "session-timeout", 6*time.Second, "consumer group session timeout")
	fs.IntVar(&cfg.HoldAfter, "hold-after", 0, "hold after this many newly applied events (0: never)")
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
		fmt.Fprintln(os.Stderr, "consumerproc:", err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	cfg, err := parseConfig(args)
	if err != nil {
		return err
	}
	db, err := sqldb.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	in, err := inbox.NewStore(ctx, db)
	if err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS effects (
    applied  BIGSERIAL PRIMARY KEY,
    event_id TEXT   NOT NULL,
    order_id TEXT   NOT NULL,
    n        BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("create effects table: %w", err)
	}
	registry, err := sr.NewClient(sr.URLs(cfg.Registry))
	if err != nil {
		return fmt.Errorf("registry client: %w", err)
	}
	codec, err := events.NewCodec(events.CodecConfig{Registry: registry, Sources: protos.FS})
	if err != nil {
		return err
	}

	released := make(chan struct{})
	go func() { // ends at EOF on stdin or with the process
		_, _ = io.Copy(io.Discard, stdin)
		close(released)
	}()
	out := &lines{w: stdout}
	dedupe := consumer.Dedupe(in, cfg.Group, apply)
	var applied atomic.Int64
	handler := func(ctx context.Context, m *consumer.Message) error {
		if err := dedupe(ctx, m); err != nil {
			return err
		}
		if m.Duplicate {
			out.printf("DUPLICATE %s", m.Meta.ID)
			return nil
		}
		out.printf("APPLIED %s", m.Meta.ID)
		if applied.Add(1) == int64(cfg.HoldAfter) {
			out.printf("HOLDING %s %d %d", m.Meta.ID, m.Record.Partition, m.Record.Offset)
			select {
			case <-released:
			case <-ctx.Done():
			}
		}
		return nil
	}
	c, err := consumer.New(consumer.Config{
		ClientOpts: []kgo.Opt{
			kgo.SeedBrokers(cfg.Brokers...),
			kgo.FetchMaxWait(200 * time.Millisecond),
			// A killed member leaves no LeaveGroup behind: the broker
			// notices it only when its session times out, and the
			// restarted member waits for that rebalance.
			kgo.SessionTimeout(cfg.SessionTimeout),
			kgo.HeartbeatInterval(cfg.SessionTimeout / 6),
		},
		Group:          cfg.Group,
		Topics:         []string{cfg.Topic},
		Decoder:        codec,
		Handler:        handler,
		MaxPollRecords: cfg.MaxPollRecords,
		// Long enough that a held handler is killed, not timed out.
		HandlerTimeout: time.Minute,
	})
	if err != nil {
		return err
	}
	out.printf("READY")
	return c.Run(ctx)
}

// apply records the effect of one OrderPlaced event inside the inbox's
// transaction.
func apply(ctx context.Context, tx *sql.Tx, m *consumer.Message) error {
	env, ok := m.Event.(*orderingv1.OrderEvent)
	if !ok || env.GetOrderPlaced() == nil {
		return fault.Permanent(fmt.Errorf("unexpected event %s", m.Meta.Type))
	}
	placed := env.GetOrderPlaced()
	if _, err := tx.ExecContext(ctx, `INSERT INTO effects (event_id, order_id, n) VALUES ($1, $2, $3)`,
		m.Meta.ID, placed.GetOrderId(), placed.GetTotal().GetAmountMinor()); err != nil {
		return fault.Retryable(fmt.Errorf("apply %s: %w", m.Meta.ID, err))
	}
	return nil
}

// lines writes whole lines to the test reading stdout; handlers of several
// partitions print concurrently.
type lines struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lines) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = fmt.Fprintf(l.w, format+"\n", args...)
}
