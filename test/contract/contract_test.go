// Package contract_test checks every event consumer of Agora against the
// schema its producer publishes, before anything runs: each consumer
// declares which event types and fields it reads (contract.Reads, next to
// its handler), api/topics.yaml names the envelope of every topic, and the
// check resolves every declared field in that envelope. A second test
// proves the check has teeth: removing or retyping any single field a
// consumer reads, in a copy of the producer's schema, fails that
// consumer's contract.
package contract_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/agoracommerce/agora/api"
	_ "github.com/agoracommerce/agora/gen/proto/agora/cart/v1"
	_ "github.com/agoracommerce/agora/gen/proto/agora/catalog/v1"
	_ "github.com/agoracommerce/agora/gen/proto/agora/inventory/v1"
	_ "github.com/agoracommerce/agora/gen/proto/agora/notification/v1"
	_ "github.com/agoracommerce/agora/gen/proto/agora/ordering/v1"
	_ "github.com/agoracommerce/agora/gen/proto/agora/payment/v1"
	_ "github.com/agoracommerce/agora/gen/proto/agora/shipping/v1"
	cartkafka "github.com/agoracommerce/agora/internal/cart/kafka"
	inventorykafka "github.com/agoracommerce/agora/internal/inventory/kafka"
	notificationkafka "github.com/agoracommerce/agora/internal/notification/kafka"
	orderhistorykafka "github.com/agoracommerce/agora/internal/orderhistory/kafka"
	orderingkafka "github.com/agoracommerce/agora/internal/ordering/kafka"
	paymentkafka "github.com/agoracommerce/agora/internal/payment/kafka"
	"github.com/agoracommerce/agora/internal/platform/contract"
	shippingkafka "github.com/agoracommerce/agora/internal/shipping/kafka"
)

// consumers is every consumer's declaration.
func consumers() []contract.Reads {
	var all []contract.Reads
	for _, reads := range [][]contract.Reads{
		cartkafka.Contracts(), inventorykafka.Contracts(), orderingkafka.Contracts(), paymentkafka.Contracts(),
		shippingkafka.Contracts(), notificationkafka.Contracts(), orderhistorykafka.Contracts(),
	} {
		all = append(all, reads...)
	}
	return all
}

// envelopes maps each topic to the envelope its producer publishes.
func envelopes(t *testing.T) map[string]protoreflect.MessageDescriptor {
	t.Helper()
	topics, err := api.Topics()
	require.NoError(t, err)
	out := map[string]protoreflect.MessageDescriptor{}
	for _, topic := range topics {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(topic.Envelope))
		require.NoError(t, err, "topic %s", topic.Name)
		out[topic.Name] = d.(protoreflect.MessageDescriptor)
	}
	return out
}

func TestEveryConsumerReadsWhatItsProducerPublishes(t *testing.T) {
	t.Parallel()
	env := envelopes(t)
	all := consumers()
	require.NotEmpty(t, all)
	fields := 0
	for _, r := range all {
		t.Run(r.Consumer+" on "+r.Topic, func(t *testing.T) {
			envelope, ok := env[r.Topic]
			require.True(t, ok, "%s consumes %s, which no producer publishes (api/topics.yaml)", r.Consumer, r.Topic)
			require.NoError(t, contract.Check(r, envelope))
		})
		for _, fs := range r.Events {
			fields += len(fs)
		}
	}
	t.Logf("%d consumer contracts, %d field reads, all satisfied", len(all), fields)
}

// Every field any consumer reads is load-bearing: a producer schema
// without it, or with it retyped, breaks that consumer's contract.
func TestBreakingAReadFieldBreaksTheContract(t *testing.T) {
	t.Parallel()
	env := envelopes(t)
	mutations := 0
	for _, r := range consumers() {
		envelope := env[r.Topic]
		for event, fields := range r.Events {
			for _, decl := range fields {
				path, _, _ := strings.Cut(decl, " ")
				for _, kind := range []string{"removed", "retyped"} {
					changed := mutate(t, envelope, event, path, kind)
					err := contract.Check(r, changed)
					require.Error(t, err, "%s: %s.%s %s in the producer's schema goes unnoticed", r.Consumer, event, path, kind)
					require.ErrorContains(t, err, r.Consumer)
					mutations++
				}
			}
		}
	}
	t.Logf("%d single-field breaking changes, each caught", mutations)
}

// mutate returns the envelope from a copy of its file in which the last
// field of path (within event) is removed or given another type.
func mutate(t *testing.T, envelope protoreflect.MessageDescriptor, event, path, kind string) protoreflect.MessageDescriptor {
	t.Helper()
	// Find the message that holds the field and its file.
	msgDesc, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(event))
	require.NoError(t, err)
	holder := msgDesc.(protoreflect.MessageDescriptor)
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		holder = holder.Fields().ByName(protoreflect.Name(p)).Message()
	}
	name := parts[len(parts)-1]
	file := holder.ParentFile()

	files := new(protoregistry.Files)
	fdp := protodesc.ToFileDescriptorProto(file)
	dp := findMessage(fdp, holder.FullName())
	require.NotNil(t, dp, "message %s in %s", holder.FullName(), file.Path())
	var kept []*descriptorpb.FieldDescriptorProto
	for _, f := range dp.Field {
		if f.GetName() != name {
			kept = append(kept, f)
			continue
		}
		if kind == "retyped" {
			f = proto.Clone(f).(*descriptorpb.FieldDescriptorProto)
			if f.GetType() == descriptorpb.FieldDescriptorProto_TYPE_BYTES {
				f.Type = descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum()
			} else {
				f.Type = descriptorpb.FieldDescriptorProto_TYPE_BYTES.Enum()
			}
			f.TypeName = nil
			kept = append(kept, f)
		}
	}
	dp.Field = kept
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if fd.Path() != file.Path() {
			require.NoError(t, files.RegisterFile(fd))
		}
		return true
	})
	changed, err := protodesc.NewFile(fdp, files)
	require.NoError(t, err, "mutating %s.%s", holder.FullName(), name)
	// The envelope as the changed file (or, when the field lives in an
	// imported file, the envelope's own file built on it) describes it.
	if envelope.ParentFile().Path() == file.Path() {
		return changed.Messages().ByName(envelope.Name())
	}
	require.NoError(t, files.RegisterFile(changed))
	own := protodesc.ToFileDescriptorProto(envelope.ParentFile())
	rebuilt, err := protodesc.NewFile(own, files)
	require.NoError(t, err)
	return rebuilt.Messages().ByName(envelope.Name())
}

func findMessage(f *descriptorpb.FileDescriptorProto, name protoreflect.FullName) *descriptorpb.DescriptorProto {
	prefix := f.GetPackage() + "."
	var walk func(msgs []*descriptorpb.DescriptorProto, scope string) *descriptorpb.DescriptorProto
	walk = func(msgs []*descriptorpb.DescriptorProto, scope string) *descriptorpb.DescriptorProto {
		for _, m := range msgs {
			full := scope + m.GetName()
			if full == string(name) {
				return m
			}
			if found := walk(m.NestedType, full+"."); found != nil {
				return found
			}
		}
		return nil
	}
	return walk(f.MessageType, prefix)
}
