package sqlstore_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/sr"
	"google.golang.org/protobuf/proto"

	protos "github.com/agoracommerce/agora/api/proto"
	catalogv1 "github.com/agoracommerce/agora/gen/proto/agora/catalog/v1"
	commonv1 "github.com/agoracommerce/agora/gen/proto/agora/common/v1"
	"github.com/agoracommerce/agora/internal/catalog"
	"github.com/agoracommerce/agora/internal/catalog/catalogtest"
	"github.com/agoracommerce/agora/internal/catalog/eventsout"
	"github.com/agoracommerce/agora/internal/catalog/sqlstore"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/kafkatest"
	"github.com/agoracommerce/agora/internal/platform/outbox"
	"github.com/agoracommerce/agora/internal/platform/schemaregistry"
	regsqlstore "github.com/agoracommerce/agora/internal/platform/schemaregistry/sqlstore"
	"github.com/agoracommerce/agora/internal/platform/sqldb"
	"github.com/agoracommerce/agora/internal/platform/sqldb/sqldbtest"
)

// mustCodec returns a codec over an embedded schema registry of the test's
// own, as in local mode.
func mustCodec(tb testing.TB) *events.Codec {
	tb.Helper()
	store, err := regsqlstore.OpenSQLite(context.Background(), filepath.Join(tb.TempDir(), "registry.db"))
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = store.Close() })
	reg, err := schemaregistry.NewServer(store)
	require.NoError(tb, err)
	hs := httptest.NewServer(reg)
	tb.Cleanup(hs.Close)
	cl, err := sr.NewClient(sr.URLs(hs.URL))
	require.NoError(tb, err)
	codec, err := events.NewCodec(events.CodecConfig{Registry: cl, Sources: protos.FS, AutoRegister: true})
	require.NoError(tb, err)
	return codec
}

// claimAll leases every unpublished outbox row, oldest first.
func claimAll(tb testing.TB, ob *outbox.Store) []outbox.Row {
	tb.Helper()
	rows, err := ob.Claim(context.Background(), "catalog-test", 10_000, time.Hour)
	require.NoError(tb, err)
	return rows
}

func newStore(t *testing.T, db *sqldb.DB, codec *events.Codec) (*sqlstore.Store, *outbox.Store) {
	t.Helper()
	ctx := context.Background()
	ob, err := outbox.NewStore(ctx, db)
	require.NoError(t, err)
	st, err := sqlstore.New(ctx, db, ob, codec)
	require.NoError(t, err)
	return st, ob
}

func TestRepository(t *testing.T) {
	t.Parallel()
	codec := mustCodec(t)
	sqldbtest.Each(t, func(t *testing.T, open func(testing.TB) *sqldb.DB) {
		catalogtest.TestRepository(t, func(t *testing.T) catalogtest.Backend {
			st, ob := newStore(t, open(t), codec)
			return catalogtest.Backend{Products: st, Categories: st, Outbox: func(t *testing.T) []*catalogv1.ProductEvent {
				t.Helper()
				var out []*catalogv1.ProductEvent
				for _, row := range claimAll(t, ob) {
					msg, err := codec.Decode(context.Background(), row.Event.Value)
					require.NoError(t, err)
					env, ok := msg.(*catalogv1.ProductEvent)
					require.True(t, ok, "outbox holds a %T", msg)
					out = append(out, env)
				}
				return out
			}}
		})
	})
}

// The record a product change puts in the outbox travels through a Kafka
// broker and decodes, with a codec that resolves its schema by ID, into the
// ProductEvent envelope with CloudEvents metadata.
func TestEventContract(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation())
	require.NoError(t, err)
	t.Cleanup(cluster.Close)
	bus := kafkatest.New(t, cluster.ListenAddrs())
	topic := bus.Topic(t, 1)

	enc, err := eventsout.NewForTopic(bus.Codec, topic)
	require.NoError(t, err)
	db := sqldbtest.SQLite(t)
	ob, err := outbox.NewStore(ctx, db)
	require.NoError(t, err)
	st, err := sqlstore.NewWithEncoder(ctx, db, ob, enc)
	require.NoError(t, err)

	cat, err := catalog.NewCategory(uuid.Must(uuid.NewV7()), "contract", "Contract", "", time.Now())
	require.NoError(t, err)
	require.NoError(t, st.CreateCategory(ctx, cat))
	price, err := catalog.NewMoney(4200, "SEK")
	require.NoError(t, err)
	p, err := catalog.NewProduct(uuid.Must(uuid.NewV7()), "CONTRACT-1",
		catalog.Details{Name: "Lamp", Price: price, CategoryID: cat.ID()}, catalog.StatusActive, time.Now())
	require.NoError(t, err)
	require.NoError(t, st.Create(ctx, p))
	require.NoError(t, st.Update(ctx, p.ID(), func(p *catalog.Product) error {
		newPrice, err := catalog.NewMoney(3900, "SEK")
		if err != nil {
			return err
		}
		d := p.State().Details
		d.Price = newPrice
		return p.Replace(d, p.Status(), time.Now())
	}))

	rows := claimAll(t, ob)
	require.Len(t, rows, 2)
	for _, row := range rows {
		bus.Produce(t, row.Event.Record())
	}
	recs := bus.Read(t, topic, 2)

	// A consumer's codec knows nothing yet: it resolves the schema by ID.
	consumer, err := events.NewCodec(events.CodecConfig{Registry: bus.Registry, Sources: protos.FS})
	require.NoError(t, err)
	for i, rec := range recs {
		require.Equal(t, p.ID().String(), string(rec.Key), "keyed by product ID")
		h := kafkatest.Headers(rec)
		require.Equal(t, eventsout.Source, h["ce_source"])
		require.Equal(t, p.ID().String(), h["ce_subject"])
		msg, err := consumer.Decode(ctx, rec.Value)
		require.NoError(t, err)
		env, ok := msg.(*catalogv1.ProductEvent)
		require.True(t, ok, "record %d decodes to %T", i, msg)
		switch i {
		case 0:
			require.Equal(t, "agora.catalog.v1.ProductCreated", h["ce_type"])
			c := env.GetProductCreated()
			require.NotNil(t, c)
			require.NotNil(t, c.OccurredAt)
			c.OccurredAt = nil
			require.True(t, proto.Equal(c, &catalogv1.ProductCreated{
				ProductId: p.ID().String(), Sku: "CONTRACT-1", Name: "Lamp", Price: eventsout.Money(price), CategoryId: cat.ID().String(),
				Status: catalogv1.ProductStatus_PRODUCT_STATUS_ACTIVE, Version: 1,
			}), "got %v", c)
		case 1:
			require.Equal(t, "agora.catalog.v1.ProductPriceChanged", h["ce_type"])
			c := env.GetProductPriceChanged()
			require.NotNil(t, c)
			require.NotNil(t, c.OccurredAt)
			c.OccurredAt = nil
			require.True(t, proto.Equal(c, &catalogv1.ProductPriceChanged{
				ProductId: p.ID().String(), Sku: "CONTRACT-1", Name: "Lamp", OldPrice: eventsout.Money(price),
				Price:  &commonv1.Money{AmountMinor: 3900, Currency: "SEK"},
				Status: catalogv1.ProductStatus_PRODUCT_STATUS_ACTIVE, Version: 2,
			}), "got %v", c)
		}
	}
}
