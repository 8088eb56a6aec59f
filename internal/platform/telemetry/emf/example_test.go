package emf_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/agoracommerce/agora/internal/platform/telemetry/emf"
)

func ExampleNew() {
	exp, err := emf.New(emf.Config{
		Writer:  os.Stdout,
		Service: "ordering",
		Clock:   func() time.Time { return time.UnixMilli(1767225600000) },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp)))
	meter := mp.Meter("example")

	ctx := context.Background()
	duration, _ := meter.Float64Histogram("agora.consumer.handler.duration", metric.WithUnit("s"))
	duration.Record(ctx, 0.25, metric.WithAttributes(attribute.String("topic", "orders"), attribute.String("outcome", "ok")))
	age, _ := meter.Float64ObservableGauge("agora.outbox.oldest_age", metric.WithUnit("s"))
	_, _ = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveFloat64(age, 3.5)
		return nil
	}, age)

	// Shutdown exports what is pending.
	if err := mp.Shutdown(ctx); err != nil {
		fmt.Println(err)
	}
	// Output:
	// {"_aws":{"Timestamp":1767225600000,"CloudWatchMetrics":[{"Namespace":"agora","Dimensions":[["service"]],"Metrics":[{"Name":"outbox_oldest_age_seconds","Unit":"Seconds"}]}]},"outbox_oldest_age_seconds":3.5,"service":"ordering"}
	// {"_aws":{"Timestamp":1767225600000,"CloudWatchMetrics":[{"Namespace":"agora","Dimensions":[["service","topic"]],"Metrics":[{"Name":"consumer_handler_duration_seconds_count","Unit":"Count"},{"Name":"consumer_handler_duration_seconds_max","Unit":"Seconds"},{"Name":"consumer_handler_duration_seconds_min","Unit":"Seconds"},{"Name":"consumer_handler_duration_seconds_sum","Unit":"Seconds"}]}]},"consumer_handler_duration_seconds_count":1,"consumer_handler_duration_seconds_max":0.25,"consumer_handler_duration_seconds_min":0.25,"consumer_handler_duration_seconds_sum":0.25,"service":"ordering","topic":"orders"}
}
