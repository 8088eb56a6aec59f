// Command probe waits until one dependency of the test environment really
// serves: a Kafka produce/consume round trip, PostgreSQL SELECT 1, Redis PING
// or one AWS API call. scripts/testenv.sh runs it after starting (or before
// reusing) each dependency.
//
//	probe [-wait 90s] kafka <brokers> | postgres <url> | redis <addr> | aws <endpoint>
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/agoracommerce/agora/internal/testenv"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "probe:", err)
		os.Exit(1)
	}
}

func run() error {
	wait := flag.Duration("wait", 90*time.Second, "how long to keep trying")
	flag.Parse()
	if flag.NArg() != 2 {
		return fmt.Errorf("usage: probe [-wait d] kafka|postgres|redis|aws <endpoint>")
	}
	kind, endpoint := flag.Arg(0), flag.Arg(1)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *wait)
	defer cancel()

	var detail string
	var probe func(context.Context) error
	switch kind {
	case "kafka":
		probe = func(ctx context.Context) (err error) {
			detail, err = testenv.ProbeKafka(ctx, strings.Split(endpoint, ","))
			return err
		}
	case "postgres":
		probe = func(ctx context.Context) (err error) {
			detail, err = testenv.ProbePostgres(ctx, endpoint)
			return err
		}
	case "redis":
		probe = func(ctx context.Context) (err error) {
			detail, err = testenv.ProbeRedis(ctx, endpoint)
			return err
		}
	case "aws":
		probe = func(ctx context.Context) error {
			detail = "dynamodb ListTables answered"
			return testenv.ProbeAWS(ctx, testenv.NewAWS(endpoint))
		}
	default:
		return fmt.Errorf("unknown dependency %q (want kafka, postgres, redis or aws)", kind)
	}
	if err := testenv.Retry(ctx, 500*time.Millisecond, probe); err != nil {
		return fmt.Errorf("%s at %s does not serve: %w", kind, endpoint, err)
	}
	fmt.Println(detail)
	return nil
}
