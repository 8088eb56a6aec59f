package host_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/agoracommerce/agora/internal/platform/consumer"
	"github.com/agoracommerce/agora/internal/platform/host"
	"github.com/agoracommerce/agora/internal/platform/httpserver"
	"github.com/agoracommerce/agora/internal/platform/kafkatest"
)

// The parts a Lambda drives come from the same infrastructure without a
// listener or a consumer group: the HTTP edge as a handler, the consumers
// as processors (topic prefix applied), the outbox relay on demand.
func TestInfraPartsForLambda(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation())
	require.NoError(t, err)
	t.Cleanup(cluster.Close)
	bus := kafkatest.New(t, cluster.ListenAddrs())
	issuer := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(issuer.Close)

	infra, err := host.Open(ctx, "widgets", host.Config{
		Env: "local", LogLevel: "error", HTTPAddr: "127.0.0.1:1",
		DatabaseURL:  "sqlite:" + filepath.Join(t.TempDir(), "widgets.db"),
		KafkaBrokers: cluster.ListenAddrs(), KafkaTopicPrefix: "staging.", SchemaRegistryURL: bus.RegistryURL,
		AuthIssuer: issuer.URL, AuthAudience: "agora", AuthJWKSURL: issuer.URL + "/jwks",
		TracesExporter: "none", MetricsExporter: "none", SampleRatio: 1,
		RelayBatchSize: 10, RelayMaxPoll: 10 * time.Millisecond, ShutdownTimeout: time.Second, InboxRetention: time.Hour,
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, infra.Close(context.Background())) })

	spec, err := os.ReadFile("../httpserver/testdata/testapi.yaml")
	require.NoError(t, err)
	h, err := infra.HTTPHandler(host.HTTP{Spec: spec, Mount: func(*httpserver.Server) {}})
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/nowhere", nil))
	require.Equal(t, http.StatusNotFound, rec.Code)
	require.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))

	p, err := infra.Processor(consumer.Config{Group: "widgets.g", Topics: []string{"widgets.v1"},
		Handler: func(context.Context, *consumer.Message) error { return nil }})
	require.NoError(t, err)
	require.Equal(t, "staging.widgets.g", p.Group())
	require.Equal(t, []string{"staging.widgets.v1"}, p.Topics())
	require.Equal(t, "staging.widgets.g.dlq", p.DeadLetterTopic())
	_, err = infra.Processor(consumer.Config{Group: "g"})
	require.Error(t, err)

	relay, err := infra.OutboxRelay()
	require.NoError(t, err)
	n, err := relay.RelayOnce(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
	require.NoError(t, infra.FlushProducer(ctx))
}
