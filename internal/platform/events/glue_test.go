package events_test

import (
	"bytes"
	"compress/zlib"
	"context"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	protos "github.com/agoracommerce/agora/api/proto"
	catalogv1 "github.com/agoracommerce/agora/gen/proto/agora/catalog/v1"
	commonv1 "github.com/agoracommerce/agora/gen/proto/agora/common/v1"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/fault"
)

// memGlue is an in-memory Glue Schema Registry.
type memGlue struct {
	mu       sync.Mutex
	versions map[string][]uuid.UUID // schema name -> version IDs
	defs     map[uuid.UUID]string
	calls    int
}

func newMemGlue() *memGlue {
	return &memGlue{versions: map[string][]uuid.UUID{}, defs: map[uuid.UUID]string{}}
}

func (m *memGlue) SchemaVersion(_ context.Context, name, def string, register bool) (events.GlueSchemaVersion, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	for i, id := range m.versions[name] {
		if m.defs[id] == def {
			return events.GlueSchemaVersion{ID: id, Number: int64(i + 1)}, nil
		}
	}
	if !register {
		return events.GlueSchemaVersion{}, fault.Permanent(events.ErrNoSchema)
	}
	id := uuid.New()
	m.versions[name] = append(m.versions[name], id)
	m.defs[id] = def
	return events.GlueSchemaVersion{ID: id, Number: int64(len(m.versions[name]))}, nil
}

func (m *memGlue) Definition(_ context.Context, id uuid.UUID) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	def, ok := m.defs[id]
	if !ok {
		return "", fault.Permanent(events.ErrUnknownSchema)
	}
	return def, nil
}

func newGlueCodec(t *testing.T, reg events.GlueRegistry, autoRegister, compress bool) *events.Codec {
	t.Helper()
	c, err := events.NewGlueCodec(events.GlueConfig{Registry: reg, Sources: protos.FS, AutoRegister: autoRegister, Compress: compress})
	require.NoError(t, err)
	return c
}

func productCreated(id string) *catalogv1.ProductEvent {
	return &catalogv1.ProductEvent{Event: &catalogv1.ProductEvent_ProductCreated{ProductCreated: &catalogv1.ProductCreated{
		ProductId: id, Sku: "MUG-1", Name: "Stoneware mug", Price: &commonv1.Money{AmountMinor: 1450, Currency: "EUR"},
		Attributes: map[string]string{"colour": "blue"}, Version: 1,
	}}}
}

func TestGlueFormatRoundTrip(t *testing.T) {
	t.Parallel()
	for _, compress := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "zlib"}[compress], func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			reg := newMemGlue()
			producer := newGlueCodec(t, reg, true, compress)
			want := productCreated("p-1")
			value, err := producer.Encode(ctx, "catalog.products.v1", want)
			require.NoError(t, err)

			require.Equal(t, byte(3), value[0], "header version")
			require.Equal(t, map[bool]byte{false: 0, true: 5}[compress], value[1], "compression byte")
			id, err := uuid.FromBytes(value[2:18])
			require.NoError(t, err)
			require.Equal(t, reg.versions["catalog.products.v1"], []uuid.UUID{id}, "the schema version ID follows the header")

			payload := value[18:]
			if compress {
				zr, err := zlib.NewReader(bytes.NewReader(payload))
				require.NoError(t, err)
				var buf bytes.Buffer
				_, err = buf.ReadFrom(zr)
				require.NoError(t, err)
				payload = buf.Bytes()
			}
			// Messages of catalog/v1 sorted by full name: ProductArchived,
			// ProductCreated, ProductCreated.AttributesEntry, ProductEvent, ...
			require.Equal(t, byte(3), payload[0], "message index of ProductEvent")

			consumer := newGlueCodec(t, reg, false, false)
			got, err := consumer.Decode(ctx, value)
			require.NoError(t, err)
			if d := cmp.Diff(want, got, protocmp.Transform()); d != "" {
				t.Fatalf("decoded (-want +got):\n%s", d)
			}
			calls := reg.calls
			_, err = consumer.Decode(ctx, value)
			require.NoError(t, err)
			require.Equal(t, calls, reg.calls, "a known version is not looked up again")
		})
	}
}

func TestGlueFormatWithoutAutoRegisterNeedsRegisteredSchema(t *testing.T) {
	t.Parallel()
	c := newGlueCodec(t, newMemGlue(), false, false)
	_, err := c.Encode(context.Background(), "catalog.products.v1", productCreated("p-1"))
	require.ErrorIs(t, err, events.ErrNoSchema)
	require.True(t, fault.IsPermanent(err))
}

func TestGlueFormatRegisterReturnsVersionNumber(t *testing.T) {
	t.Parallel()
	c := newGlueCodec(t, newMemGlue(), true, false)
	n, err := c.Register(context.Background(), "catalog.products.v1", &catalogv1.ProductEvent{})
	require.NoError(t, err)
	require.Equal(t, 1, n)
}

func TestGlueFormatDecodeRejectsBadValues(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg := newMemGlue()
	c := newGlueCodec(t, reg, true, false)
	good, err := c.Encode(ctx, "catalog.products.v1", productCreated("p-1"))
	require.NoError(t, err)
	unknown := bytes.Clone(good)
	other := uuid.New()
	copy(unknown[2:18], other[:])
	badIndex := bytes.Clone(good)
	badIndex[18] = 0x7f
	for name, tc := range map[string]struct {
		value []byte
		want  error
	}{
		"empty":             {nil, events.ErrMalformed},
		"confluent":         {[]byte{0, 0, 0, 0, 1, 0, 1, 2}, events.ErrMalformed},
		"short header":      {good[:10], events.ErrMalformed},
		"bad compression":   {append([]byte{3, 9}, good[2:]...), events.ErrMalformed},
		"bad zlib":          {append([]byte{3, 5}, good[2:]...), events.ErrMalformed},
		"unknown version":   {unknown, events.ErrUnknownSchema},
		"index out of file": {badIndex, events.ErrUnknownType},
		"truncated payload": {append(bytes.Clone(good[:19]), 0x0a, 0x40), events.ErrMalformed},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := c.Decode(ctx, tc.value)
			require.ErrorIs(t, err, tc.want)
			require.True(t, fault.IsPermanent(err), "%v", err)
		})
	}
	got, err := c.Decode(ctx, good)
	require.NoError(t, err)
	require.True(t, proto.Equal(productCreated("p-1"), got))
}
