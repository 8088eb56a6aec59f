package contract_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	orderingv1 "github.com/agoracommerce/agora/gen/proto/agora/ordering/v1"
	"github.com/agoracommerce/agora/internal/platform/contract"
)

func reads() contract.Reads {
	return contract.Reads{
		Consumer: "inventory.orders",
		Topic:    "ordering.orders.v1",
		Events: map[string][]string{
			"agora.ordering.v1.OrderPlaced": {
				"order_id string",
				"lines repeated message agora.ordering.v1.OrderLine",
				"lines.sku string",
				"lines.quantity int32",
				"total.amount_minor int64",
				"reservation_expires_at message google.protobuf.Timestamp",
			},
			"agora.ordering.v1.OrderCancelled": {"order_id string", "code enum agora.ordering.v1.EndReason", "refund bool"},
		},
	}
}

func envelope() protoreflect.MessageDescriptor {
	return (&orderingv1.OrderEvent{}).ProtoReflect().Descriptor()
}

func TestCheckAcceptsWhatTheProducerPublishes(t *testing.T) {
	t.Parallel()
	require.NoError(t, contract.Check(reads(), envelope()))
}

func TestCheckRejectsMismatches(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		event, field, want string
	}{
		"unknown event":       {"agora.ordering.v1.OrderLost", "order_id string", "carries no event agora.ordering.v1.OrderLost"},
		"unknown field":       {"agora.ordering.v1.OrderPlaced", "coupon string", `has no field "coupon"`},
		"wrong type":          {"agora.ordering.v1.OrderPlaced", "order_id int64", "field order_id is string, the consumer reads int64"},
		"not repeated":        {"agora.ordering.v1.OrderPlaced", "lines message agora.ordering.v1.OrderLine", "is repeated message"},
		"path through scalar": {"agora.ordering.v1.OrderPlaced", "order_id.value string", "order_id is not a message"},
		"malformed":           {"agora.ordering.v1.OrderPlaced", "order_id", `is not "path type"`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := contract.Reads{Consumer: "c", Topic: "t", Events: map[string][]string{tc.event: {tc.field}}}
			err := contract.Check(r, envelope())
			require.Error(t, err)
			require.ErrorContains(t, err, tc.want)
			require.ErrorContains(t, err, "contract c on t")
		})
	}
	require.ErrorContains(t, contract.Check(contract.Reads{Consumer: "c", Topic: "t"}, envelope()), "declares no events")
}

// A breaking change of the producer's schema — a field removed, a field
// retyped, an event type dropped from the envelope — fails the consumer's
// contract.
func TestCheckCatchesBreakingSchemaChanges(t *testing.T) {
	t.Parallel()
	mutations := map[string]struct {
		mutate func(*descriptorpb.FileDescriptorProto)
		want   string
	}{
		"field removed": {func(f *descriptorpb.FileDescriptorProto) {
			m := message(f, "OrderPlaced")
			m.Field = remove(m.Field, "reservation_expires_at")
		}, `has no field "reservation_expires_at"`},
		"field retyped": {func(f *descriptorpb.FileDescriptorProto) {
			field(message(f, "OrderLine"), "quantity").Type = descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum()
		}, "field lines.quantity is string, the consumer reads int32"},
		"event dropped": {func(f *descriptorpb.FileDescriptorProto) {
			m := message(f, "OrderEvent")
			m.Field = remove(m.Field, "order_cancelled")
		}, "carries no event agora.ordering.v1.OrderCancelled"},
	}
	for name, tc := range mutations {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fdp := protodesc.ToFileDescriptorProto(envelope().ParentFile())
			tc.mutate(fdp)
			// A private registry: the mutated file replaces the original.
			files := new(protoregistry.Files)
			protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
				if fd.Path() != fdp.GetName() {
					require.NoError(t, files.RegisterFile(fd))
				}
				return true
			})
			fd, err := protodesc.NewFile(fdp, files)
			require.NoError(t, err)
			changed := fd.Messages().ByName("OrderEvent")
			err = contract.Check(reads(), changed)
			require.ErrorContains(t, err, tc.want)
			require.ErrorContains(t, err, "contract inventory.orders on ordering.orders.v1")
		})
	}
}

func message(f *descriptorpb.FileDescriptorProto, name string) *descriptorpb.DescriptorProto {
	for _, m := range f.MessageType {
		if m.GetName() == name {
			return m
		}
	}
	panic("no message " + name)
}

func field(m *descriptorpb.DescriptorProto, name string) *descriptorpb.FieldDescriptorProto {
	for _, f := range m.Field {
		if f.GetName() == name {
			return f
		}
	}
	panic("no field " + name)
}

func remove(fields []*descriptorpb.FieldDescriptorProto, name string) []*descriptorpb.FieldDescriptorProto {
	out := make([]*descriptorpb.FieldDescriptorProto, 0, len(fields))
	for _, f := range fields {
		if f.GetName() != name {
			out = append(out, proto.Clone(f).(*descriptorpb.FieldDescriptorProto))
		}
	}
	return out
}
