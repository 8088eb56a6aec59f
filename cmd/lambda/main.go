// Command lambda is the AWS Lambda bootstrap of Agora's services: one
// binary, packaged once per service (dist/lambda/<service>.zip), whose
// behaviour the function's environment chooses:
//
//	AGORA_SERVICE         cart, catalog, inventory, notification,
//	                      orderhistory, ordering, payment or shipping
//	AGORA_LAMBDA_HANDLER  http     API Gateway HTTP API (payload 2.0) onto the
//	                               service's own HTTP handler
//	                      kafka    Amazon MSK event source batches onto the
//	                               service's consumer handler chains
//	                      streams  DynamoDB Streams batches of the outbox table
//	                               onto the stream relay (dynamo.StreamRelay;
//	                               map with ReportBatchItemFailures)
//	                      jobs     an EventBridge schedule: one round of each
//	                               periodic job the input names
//	                               ({"jobs": ["cart-expiry"]}; all when
//	                               empty), such as expiries and the
//	                               notification dispatcher
//	AGORA_LAMBDA_OUTBOX   inline (default): relay the outbox rows an
//	                      invocation wrote before it returns; off: another
//	                      function relays them (DynamoDB Streams)
//
// and the service's own AGORA_<SERVICE>_* variables, as for `agora serve`:
// the service comes from internal/services, the same wiring `agora serve`
// and `agora run` use. Periodic jobs run only in the jobs function, as
// often as its schedule fires (at most once a minute), where a process
// repeats them on their own intervals.
// The service is assembled once per cold start; each invocation ends by
// relaying the outbox and flushing the producer and telemetry, and a
// SIGTERM (sent when an extension is registered) closes everything.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	ctx := context.Background()
	app, err := New(ctx, os.LookupEnv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "agora lambda:", err)
		os.Exit(1)
	}
	lambda.StartWithOptions(app.Handler(), lambda.WithContext(ctx), lambda.WithEnableSIGTERM(func() {
		closeCtx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		if err := app.Close(closeCtx); err != nil {
			fmt.Fprintln(os.Stderr, "agora lambda: close:", err)
		}
	}))
}
