// Command asyncapigen writes the AsyncAPI 3.0 documents of Agora's Kafka
// topics (api/asyncapi/<service>.yaml) from the topic configuration
// (api/topics.yaml) and the Protobuf schemas (api/proto). scripts/generate.sh
// runs it from the repository root:
//
//	go run ./tools/asyncapigen -topics api/topics.yaml -proto api/proto -out api/asyncapi
//
// Its output is deterministic, so `make check-generated` can tell when the
// committed documents are stale.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/agoracommerce/agora/api"
	"github.com/agoracommerce/agora/tools/asyncapigen/docgen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "asyncapigen:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	flags := flag.NewFlagSet("asyncapigen", flag.ContinueOnError)
	topicsPath := flags.String("topics", "api/topics.yaml", "the topic configuration")
	protoDir := flags.String("proto", "api/proto", "the root of the Protobuf schemas (the buf module)")
	outDir := flags.String("out", "api/asyncapi", "the directory of the documents")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return errors.New("unexpected arguments; see -help")
	}
	data, err := os.ReadFile(*topicsPath)
	if err != nil {
		return fmt.Errorf("read the topic configuration: %w", err)
	}
	topics, err := api.ParseTopics(data)
	if err != nil {
		return fmt.Errorf("%s: %w", *topicsPath, err)
	}
	schemas, err := docgen.Compile(ctx, os.DirFS(*protoDir))
	if err != nil {
		return err
	}
	docs, err := docgen.Generate(topics, schemas)
	if err != nil {
		return err
	}
	written, removed, err := docgen.WriteDir(*outDir, docs)
	if err != nil {
		return err
	}
	for _, name := range written {
		if _, err := fmt.Fprintf(stdout, "asyncapigen: wrote %s\n", filepath.Join(*outDir, name)); err != nil {
			return fmt.Errorf("write the report: %w", err)
		}
	}
	for _, name := range removed {
		if _, err := fmt.Fprintf(stdout, "asyncapigen: removed %s\n", filepath.Join(*outDir, name)); err != nil {
			return fmt.Errorf("write the report: %w", err)
		}
	}
	return nil
}
