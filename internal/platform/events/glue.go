package events

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"sync"

	"github.com/bufbuild/protocompile/parser"
	"github.com/bufbuild/protocompile/reporter"
	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/agoracommerce/agora/internal/platform/fault"
)

// The AWS Glue Schema Registry wire format, as written and read by AWS's
// serializer/deserializer library (github.com/awslabs/aws-glue-schema-registry:
// AWSSchemaRegistryConstants.java for the header, ProtobufWireFormatEncoder.java
// and MessageIndexFinder.java for the Protobuf payload):
//
//	byte 0      header version, 3
//	byte 1      compression: 0 none, 5 zlib (of everything after the header)
//	bytes 2-17  the schema version ID, a UUID
//	then        the message index as an unsigned varint, then the Protobuf bytes
//
// The message index numbers every message of the schema's .proto file,
// nested ones (map entries too) included, in lexicographic order of their
// full names. Glue keeps one .proto file per schema version and has no
// references between schemas: an envelope's definition is its file's text,
// whose imports only Agora's own consumers resolve (from their generated
// types).
const (
	glueHeaderVersion = 3
	glueNoCompression = 0
	glueZlib          = 5
	glueHeaderSize    = 18
	// glueMaxInflated bounds a decompressed record value.
	glueMaxInflated = 16 << 20
)

// GlueSchemaVersion identifies one registered version of a Glue schema.
type GlueSchemaVersion struct {
	ID     uuid.UUID
	Number int64
}

// GlueRegistry is the part of the AWS Glue Schema Registry the Glue format
// uses; schemaregistry/glue implements it over the AWS SDK. Implementations
// are safe for concurrent use.
type GlueRegistry interface {
	// SchemaVersion returns the version of schema name whose definition is
	// definition. With register, a missing schema (data format PROTOBUF)
	// or version is registered first; without, a missing one is an error
	// wrapping ErrNoSchema, marked permanent. Outages are retryable.
	SchemaVersion(ctx context.Context, name, definition string, register bool) (GlueSchemaVersion, error)
	// Definition returns the definition of the schema version id, or an
	// error wrapping ErrUnknownSchema, marked permanent, when there is none.
	Definition(ctx context.Context, id uuid.UUID) (string, error)
}

// GlueConfig configures a GlueFormat.
type GlueConfig struct {
	// Registry is the Glue Schema Registry client.
	Registry GlueRegistry
	// Sources holds the .proto texts by import path (protos.FS); the text
	// of an envelope's file is its schema definition.
	Sources fs.FS
	// AutoRegister registers missing schemas and versions; when false
	// they are only looked up (see CodecConfig.AutoRegister).
	AutoRegister bool
	// Compress zlib-compresses record values (compression byte 5).
	Compress bool
	// Types resolves message names to Go types; protoregistry.GlobalTypes
	// when nil.
	Types *protoregistry.Types
}

// GlueFormat is the AWS Glue Schema Registry wire format for a Codec
// (CodecConfig.Format): the schema of a topic's envelope is the Glue
// schema named after the topic, its version ID is in every record, and
// consumers resolve a version ID to the Go type of the message its
// definition names. It caches in both directions. Safe for concurrent use.
type GlueFormat struct {
	cfg GlueConfig

	mu     sync.Mutex
	encode map[encodeKey]GlueSchemaVersion
	decode map[glueDecodeKey]protoreflect.MessageType
	names  map[uuid.UUID][]protoreflect.FullName
}

type glueDecodeKey struct {
	id    uuid.UUID
	index uint64
}

var _ Format = (*GlueFormat)(nil)

// NewGlueFormat returns a GlueFormat for cfg.
func NewGlueFormat(cfg GlueConfig) (*GlueFormat, error) {
	if cfg.Registry == nil {
		return nil, errors.New("events: the Glue format needs a Glue Schema Registry client")
	}
	if cfg.Sources == nil {
		return nil, errors.New("events: the Glue format needs the .proto sources")
	}
	if cfg.Types == nil {
		cfg.Types = protoregistry.GlobalTypes
	}
	return &GlueFormat{
		cfg:    cfg,
		encode: map[encodeKey]GlueSchemaVersion{},
		decode: map[glueDecodeKey]protoreflect.MessageType{},
		names:  map[uuid.UUID][]protoreflect.FullName{},
	}, nil
}

// NewGlueCodec returns a Codec writing and reading the Glue wire format.
func NewGlueCodec(cfg GlueConfig) (*Codec, error) {
	f, err := NewGlueFormat(cfg)
	if err != nil {
		return nil, err
	}
	return NewCodec(CodecConfig{Format: f, Sources: cfg.Sources, Types: f.cfg.Types})
}

// Encode frames msg for topic in the Glue wire format.
func (g *GlueFormat) Encode(ctx context.Context, topic string, msg proto.Message) ([]byte, error) {
	desc := msg.ProtoReflect().Descriptor()
	v, err := g.version(ctx, topic, desc)
	if err != nil {
		return nil, err
	}
	index, err := glueIndexOf(desc)
	if err != nil {
		return nil, fault.Permanent(fmt.Errorf("events: encode %s: %w", desc.FullName(), err))
	}
	payload := binary.AppendUvarint(nil, index)
	payload, err = proto.MarshalOptions{Deterministic: true}.MarshalAppend(payload, msg)
	if err != nil {
		return nil, fault.Permanent(fmt.Errorf("events: encode %s: %w", desc.FullName(), err))
	}
	out := make([]byte, glueHeaderSize, glueHeaderSize+len(payload))
	out[0] = glueHeaderVersion
	copy(out[2:glueHeaderSize], v.ID[:])
	if !g.cfg.Compress {
		out[1] = glueNoCompression
		return append(out, payload...), nil
	}
	out[1] = glueZlib
	buf := bytes.NewBuffer(out)
	zw := zlib.NewWriter(buf)
	if _, err := zw.Write(payload); err != nil {
		return nil, fault.Permanent(fmt.Errorf("events: compress %s: %w", desc.FullName(), err))
	}
	if err := zw.Close(); err != nil {
		return nil, fault.Permanent(fmt.Errorf("events: compress %s: %w", desc.FullName(), err))
	}
	return buf.Bytes(), nil
}

// Register makes sure the schema version of envelope's file exists under
// the Glue schema named topic (registered with AutoRegister, looked up
// otherwise) and returns its version number.
func (g *GlueFormat) Register(ctx context.Context, topic string, envelope proto.Message) (int, error) {
	v, err := g.version(ctx, topic, envelope.ProtoReflect().Descriptor())
	if err != nil {
		return 0, err
	}
	return int(v.Number), nil
}

// Decode reads the schema version ID and message index of value, resolves
// them to a Go message type (asking the registry for versions it has not
// seen) and unmarshals the Protobuf bytes.
func (g *GlueFormat) Decode(ctx context.Context, value []byte) (proto.Message, error) {
	if len(value) < glueHeaderSize || value[0] != glueHeaderVersion {
		return nil, fault.Permanent(fmt.Errorf("%w: not in the Glue wire format", ErrMalformed))
	}
	id, err := uuid.FromBytes(value[2:glueHeaderSize])
	if err != nil {
		return nil, fault.Permanent(fmt.Errorf("%w: schema version ID: %w", ErrMalformed, err))
	}
	payload := value[glueHeaderSize:]
	switch value[1] {
	case glueNoCompression:
	case glueZlib:
		if payload, err = inflate(payload); err != nil {
			return nil, fault.Permanent(fmt.Errorf("%w: schema version %s: %w", ErrMalformed, id, err))
		}
	default:
		return nil, fault.Permanent(fmt.Errorf("%w: unknown compression byte %d", ErrMalformed, value[1]))
	}
	index, n := binary.Uvarint(payload)
	if n <= 0 {
		return nil, fault.Permanent(fmt.Errorf("%w: schema version %s: bad message index", ErrMalformed, id))
	}
	mt, err := g.messageType(ctx, id, index)
	if err != nil {
		return nil, err
	}
	msg := mt.New().Interface()
	if err := proto.Unmarshal(payload[n:], msg); err != nil {
		return nil, fault.Permanent(fmt.Errorf("%w: %s with schema version %s: %w", ErrMalformed, mt.Descriptor().FullName(), id, err))
	}
	return msg, nil
}

func (g *GlueFormat) version(ctx context.Context, topic string, desc protoreflect.MessageDescriptor) (GlueSchemaVersion, error) {
	key := encodeKey{topic: topic, name: desc.FullName()}
	g.mu.Lock()
	v, ok := g.encode[key]
	g.mu.Unlock()
	if ok {
		return v, nil
	}
	file := desc.ParentFile()
	text, err := fs.ReadFile(g.cfg.Sources, file.Path())
	if err != nil {
		return GlueSchemaVersion{}, fault.Permanent(fmt.Errorf("events: source of %s: %w", file.Path(), err))
	}
	v, err = g.cfg.Registry.SchemaVersion(ctx, topic, string(text), g.cfg.AutoRegister)
	if err != nil {
		return GlueSchemaVersion{}, fmt.Errorf("events: Glue schema %s of %s: %w", topic, file.Path(), err)
	}
	index, err := glueIndexOf(desc)
	if err != nil {
		return GlueSchemaVersion{}, fault.Permanent(fmt.Errorf("events: encode %s: %w", desc.FullName(), err))
	}
	g.mu.Lock()
	g.encode[key] = v
	g.decode[glueDecodeKey{id: v.ID, index: index}] = mustMessageType(g.cfg.Types, desc)
	g.mu.Unlock()
	return v, nil
}

func (g *GlueFormat) messageType(ctx context.Context, id uuid.UUID, index uint64) (protoreflect.MessageType, error) {
	key := glueDecodeKey{id: id, index: index}
	g.mu.Lock()
	mt, ok := g.decode[key]
	names, known := g.names[id]
	g.mu.Unlock()
	if ok {
		return mt, nil
	}
	if !known {
		def, err := g.cfg.Registry.Definition(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("events: schema version %s: %w", id, err)
		}
		if names, err = glueMessageNames(def); err != nil {
			return nil, fault.Permanent(fmt.Errorf("%w: schema version %s: %w", ErrUnknownType, id, err))
		}
		g.mu.Lock()
		g.names[id] = names
		g.mu.Unlock()
	}
	if index >= uint64(len(names)) {
		return nil, fault.Permanent(fmt.Errorf("%w: schema version %s has no message %d", ErrUnknownType, id, index))
	}
	name := names[index]
	mt, err := g.cfg.Types.FindMessageByName(name)
	if err != nil {
		return nil, fault.Permanent(fmt.Errorf("%w: %s (schema version %s): %w", ErrUnknownType, name, id, err))
	}
	g.mu.Lock()
	g.decode[key] = mt
	g.mu.Unlock()
	return mt, nil
}

// glueIndexOf is desc's Glue message index within its file.
func glueIndexOf(desc protoreflect.MessageDescriptor) (uint64, error) {
	var names []protoreflect.FullName
	var walk func(protoreflect.MessageDescriptors)
	walk = func(ms protoreflect.MessageDescriptors) {
		for i := 0; i < ms.Len(); i++ {
			m := ms.Get(i)
			names = append(names, m.FullName())
			walk(m.Messages())
		}
	}
	walk(desc.ParentFile().Messages())
	slices.Sort(names)
	var index uint64
	for _, name := range names {
		if name == desc.FullName() {
			return index, nil
		}
		index++
	}
	return 0, fmt.Errorf("message %s is not in its file", desc.FullName())
}

// glueMessageNames parses a .proto text (without linking its imports) and
// returns the full names of its messages in Glue message-index order.
func glueMessageNames(text string) ([]protoreflect.FullName, error) {
	handler := reporter.NewHandler(nil)
	ast, err := parser.Parse("schema.proto", bytes.NewReader([]byte(text)), handler)
	if err != nil {
		return nil, fmt.Errorf("parse schema: %w", err)
	}
	res, err := parser.ResultFromAST(ast, false, handler)
	if err != nil {
		return nil, fmt.Errorf("parse schema: %w", err)
	}
	file := res.FileDescriptorProto()
	var names []protoreflect.FullName
	var walk func(prefix string, ms []*descriptorpb.DescriptorProto)
	walk = func(prefix string, ms []*descriptorpb.DescriptorProto) {
		for _, m := range ms {
			name := m.GetName()
			if prefix != "" {
				name = prefix + "." + name
			}
			names = append(names, protoreflect.FullName(name))
			walk(name, m.GetNestedType())
		}
	}
	walk(file.GetPackage(), file.GetMessageType())
	slices.Sort(names)
	return names, nil
}

// inflate decompresses a zlib stream of at most glueMaxInflated bytes.
func inflate(b []byte) ([]byte, error) {
	zr, err := zlib.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("zlib: %w", err)
	}
	defer func() { _ = zr.Close() }()
	out, err := io.ReadAll(io.LimitReader(zr, glueMaxInflated+1))
	if err != nil {
		return nil, fmt.Errorf("zlib: %w", err)
	}
	if len(out) > glueMaxInflated {
		return nil, fmt.Errorf("zlib: more than %d bytes", glueMaxInflated)
	}
	return out, nil
}
