package glue_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsglue "github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/glue/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/testing/protocmp"

	protos "github.com/agoracommerce/agora/api/proto"
	catalogv1 "github.com/agoracommerce/agora/gen/proto/agora/catalog/v1"
	commonv1 "github.com/agoracommerce/agora/gen/proto/agora/common/v1"
	orderingv1 "github.com/agoracommerce/agora/gen/proto/agora/ordering/v1"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/fault"
	"github.com/agoracommerce/agora/internal/platform/schemaregistry/glue"
	"github.com/agoracommerce/agora/internal/testenv"
)

// testRegistry is the one registry the tests share: the emulator allows
// only ten registries per account, so each test uses schemas of its own
// in it and deletes them afterwards.
const testRegistry = "agora-test"

func mustClient(t *testing.T) *awsglue.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg, err := testenv.AWSEmulator(t).Config(ctx)
	require.NoError(t, err)
	return awsglue.NewFromConfig(cfg)
}

func mustRegistry(t *testing.T, api *awsglue.Client) *glue.Registry {
	t.Helper()
	reg, err := glue.New(api, glue.Config{RegistryName: testRegistry, PollInterval: 10 * time.Millisecond})
	require.NoError(t, err)
	return reg
}

// topic returns a topic name of the test's own and deletes its schema at
// the end.
func topic(t *testing.T, api *awsglue.Client, base string) string {
	t.Helper()
	name := "t" + strings.ReplaceAll(uuid.NewString(), "-", "")[:12] + "." + base
	t.Cleanup(func() {
		_, err := api.DeleteSchema(context.Background(), &awsglue.DeleteSchemaInput{SchemaId: &types.SchemaId{
			RegistryName: aws.String(testRegistry), SchemaName: aws.String(name)}})
		var nf *types.EntityNotFoundException
		if err != nil && !errors.As(err, &nf) {
			t.Errorf("delete schema %s: %v", name, err)
		}
	})
	return name
}

func productCreated(id string) *catalogv1.ProductEvent {
	return &catalogv1.ProductEvent{Event: &catalogv1.ProductEvent_ProductCreated{ProductCreated: &catalogv1.ProductCreated{
		ProductId: id, Sku: "MUG-1", Name: "Stoneware mug", Price: &commonv1.Money{AmountMinor: 1450, Currency: "EUR"},
		Attributes: map[string]string{"colour": "blue"}, Version: 1,
	}}}
}

func codec(t *testing.T, reg events.GlueRegistry, autoRegister, compress bool) *events.Codec {
	t.Helper()
	c, err := events.NewGlueCodec(events.GlueConfig{Registry: reg, Sources: protos.FS, AutoRegister: autoRegister, Compress: compress})
	require.NoError(t, err)
	return c
}

func TestRoundTripAgainstGlue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	api := mustClient(t)
	reg := mustRegistry(t, api)
	tp := topic(t, api, "catalog.products.v1")

	// Without auto-registration an unknown schema is refused for good.
	_, err := codec(t, reg, false, false).Encode(ctx, tp, productCreated("p-0"))
	require.ErrorIs(t, err, events.ErrNoSchema)
	require.True(t, fault.IsPermanent(err), "%v", err)

	producer := codec(t, reg, true, true)
	want := productCreated("p-1")
	value, err := producer.Encode(ctx, tp, want)
	require.NoError(t, err)
	require.Equal(t, []byte{3, 5}, value[:2], "header version 3, zlib")

	// The record carries the ID of the PROTOBUF schema version registered
	// under the topic's name with the envelope file's text.
	text, err := protos.FS.ReadFile("agora/catalog/v1/product_events.proto")
	require.NoError(t, err)
	byDef, err := api.GetSchemaByDefinition(ctx, &awsglue.GetSchemaByDefinitionInput{
		SchemaId:         &types.SchemaId{RegistryName: aws.String(testRegistry), SchemaName: aws.String(tp)},
		SchemaDefinition: aws.String(string(text)),
	})
	require.NoError(t, err)
	require.Equal(t, types.DataFormatProtobuf, byDef.DataFormat)
	id, err := uuid.FromBytes(value[2:18])
	require.NoError(t, err)
	require.Equal(t, aws.ToString(byDef.SchemaVersionId), id.String())
	schema, err := api.GetSchema(ctx, &awsglue.GetSchemaInput{SchemaId: &types.SchemaId{RegistryName: aws.String(testRegistry), SchemaName: aws.String(tp)}})
	require.NoError(t, err)
	require.Equal(t, types.CompatibilityBackward, schema.Compatibility)

	// A consumer with nothing cached resolves the version ID to the type.
	got, err := codec(t, reg, false, false).Decode(ctx, value)
	require.NoError(t, err)
	if d := cmp.Diff(want, got, protocmp.Transform()); d != "" {
		t.Fatalf("decoded (-want +got):\n%s", d)
	}

	// A lookup-only producer now finds the version.
	n, err := codec(t, reg, false, false).Register(ctx, tp, &catalogv1.ProductEvent{})
	require.NoError(t, err)
	require.Equal(t, 1, n)

	// Another definition under the same schema is its second version.
	order := &orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderPlaced{OrderPlaced: &orderingv1.OrderPlaced{OrderId: "o-1", CustomerId: "c-1"}}}
	n, err = producer.Register(ctx, tp, order)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	value2, err := producer.Encode(ctx, tp, order)
	require.NoError(t, err)
	require.NotEqual(t, value[2:18], value2[2:18])
	got2, err := codec(t, reg, false, false).Decode(ctx, value2)
	require.NoError(t, err)
	require.Empty(t, cmp.Diff(order, got2, protocmp.Transform()))

	// An unknown version ID is permanent.
	other := uuid.New()
	bad := append([]byte{3, 0}, other[:]...)
	_, err = codec(t, reg, false, false).Decode(ctx, append(bad, value[18:]...))
	require.ErrorIs(t, err, events.ErrUnknownSchema)
	require.True(t, fault.IsPermanent(err))
}

func TestRegistryCreatesAMissingRegistry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	api := mustClient(t)
	reg := mustRegistry(t, api)
	require.NoError(t, reg.EnsureRegistry(ctx))
	require.NoError(t, reg.EnsureRegistry(ctx), "an existing registry is fine")
	_, err := glue.New(api, glue.Config{})
	require.Error(t, err)
}

// Records produced with the Glue codec go through Kafka (kfake) and are
// decoded by a consumer that only knows the registry.
func TestProduceConsumeOnKafkaWithGlueCodec(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	api := mustClient(t)
	reg := mustRegistry(t, api)
	tp := topic(t, api, "catalog.products.v1")

	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation())
	require.NoError(t, err)
	t.Cleanup(cluster.Close)
	producer, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.AllowAutoTopicCreation())
	require.NoError(t, err)
	t.Cleanup(producer.Close)

	enc := codec(t, reg, true, false)
	var want []*catalogv1.ProductEvent
	for i := range 5 {
		env := productCreated("p-" + string(rune('a'+i)))
		want = append(want, env)
		ev, err := enc.NewEvent(ctx, tp, "catalog", "p", env, time.Now())
		require.NoError(t, err)
		require.NoError(t, producer.ProduceSync(ctx, ev.Record()).FirstErr())
	}

	consumer, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.ConsumeTopics(tp),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	require.NoError(t, err)
	t.Cleanup(consumer.Close)
	dec := codec(t, reg, false, false)
	var got []*catalogv1.ProductEvent
	for len(got) < len(want) {
		fetches := consumer.PollFetches(ctx)
		require.NoError(t, ctx.Err())
		for _, fe := range fetches.Errors() {
			t.Fatalf("fetch: %v", fe.Err)
		}
		for _, rec := range fetches.Records() {
			msg, err := dec.Decode(ctx, rec.Value)
			require.NoError(t, err)
			meta, err := events.MetadataFromHeaders(rec.Headers)
			require.NoError(t, err)
			require.Equal(t, "agora.catalog.v1.ProductCreated", meta.Type)
			got = append(got, msg.(*catalogv1.ProductEvent))
		}
	}
	require.Empty(t, cmp.Diff(want, got, protocmp.Transform()))
}
