package events

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"time"

	"github.com/bufbuild/protocompile/parser"
	"github.com/bufbuild/protocompile/reporter"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/agoracommerce/agora/internal/platform/fault"
)

// Errors of the codec. Decoding errors other than registry outages are
// permanent: a record that cannot be decoded now never will be.
var (
	ErrNoSchema      = errors.New("events: schema not registered")
	ErrUnknownSchema = errors.New("events: unknown schema id")
	ErrUnknownType   = errors.New("events: unknown event type")
	ErrMalformed     = errors.New("events: malformed record value")
	ErrEmptyEnvelope = errors.New("events: envelope has no event set")
)

// maxIndexLength bounds the message-index path a record may claim.
const maxIndexLength = 16

// SchemaRegistry is the part of a Confluent-compatible registry client the
// codec uses; *sr.Client implements it.
type SchemaRegistry interface {
	CreateSchema(ctx context.Context, subject string, s sr.Schema) (sr.SubjectSchema, error)
	LookupSchema(ctx context.Context, subject string, s sr.Schema) (sr.SubjectSchema, error)
	SchemaByID(ctx context.Context, id int) (sr.Schema, error)
}

var _ SchemaRegistry = (*sr.Client)(nil)

// CodecConfig configures a Codec.
type CodecConfig struct {
	// Registry is the schema registry client.
	Registry SchemaRegistry
	// Sources holds the .proto texts by import path (protos.FS).
	Sources fs.FS
	// AutoRegister registers missing schemas (local mode). When false the
	// codec only looks schemas up and publishing an unregistered schema
	// fails with ErrNoSchema: in production CI registers schemas.
	AutoRegister bool
	// Types resolves message names to Go types; protoregistry.GlobalTypes
	// when nil.
	Types *protoregistry.Types
	// Format, when set, replaces the Confluent wire format and Registry:
	// the codec encodes, decodes and registers through it (NewGlueFormat
	// for the AWS Glue Schema Registry).
	Format Format
}

// Format is a wire format with its own schema registry, used by a Codec in
// place of the Confluent one. Encode and Decode follow the Codec's (errors
// marked fault.Permanent or fault.Retryable); Register returns the
// registry's number for the schema. Implementations are safe for
// concurrent use.
type Format interface {
	Encode(ctx context.Context, topic string, msg proto.Message) ([]byte, error)
	Decode(ctx context.Context, value []byte) (proto.Message, error)
	Register(ctx context.Context, topic string, envelope proto.Message) (int, error)
}

// Codec encodes envelopes in the Confluent wire format with schema IDs from
// the registry, and decodes records by the schema ID they carry. It caches
// IDs in both directions. Safe for concurrent use.
type Codec struct {
	cfg    CodecConfig
	header sr.ConfluentHeader

	mu       sync.Mutex
	subjects map[string]sr.SubjectSchema // subject -> registered schema
	encode   map[encodeKey]int           // (topic, message) -> schema ID
	decode   map[decodeKey]protoreflect.MessageType
}

type encodeKey struct {
	topic string
	name  protoreflect.FullName
}

type decodeKey struct {
	id    int
	index string
}

// NewCodec returns a Codec for cfg.
func NewCodec(cfg CodecConfig) (*Codec, error) {
	if cfg.Format != nil {
		return &Codec{cfg: cfg}, nil
	}
	if cfg.Registry == nil {
		return nil, errors.New("events: codec needs a schema registry client")
	}
	if cfg.Sources == nil {
		return nil, errors.New("events: codec needs the .proto sources")
	}
	if cfg.Types == nil {
		cfg.Types = protoregistry.GlobalTypes
	}
	return &Codec{
		cfg:      cfg,
		subjects: map[string]sr.SubjectSchema{},
		encode:   map[encodeKey]int{},
		decode:   map[decodeKey]protoreflect.MessageType{},
	}, nil
}

// Subject is the registry subject of a topic's record values
// (TopicNameStrategy).
func Subject(topic string) string { return topic + "-value" }

// Event is one encoded event, ready for the outbox or for Kafka.
type Event struct {
	Topic    string
	Key      string
	Value    []byte
	Metadata Metadata
}

// Record returns the Kafka record of e.
func (e Event) Record() *kgo.Record {
	return &kgo.Record{Topic: e.Topic, Key: []byte(e.Key), Value: e.Value, Headers: e.Metadata.Headers()}
}

// NewEvent encodes envelope for topic with the given aggregate key and builds
// its metadata: the type is the message set in the envelope's oneof, the
// correlation and trace context come from ctx.
func (c *Codec) NewEvent(ctx context.Context, topic, source, key string, envelope proto.Message, now time.Time) (Event, error) {
	eventType, err := EventType(envelope)
	if err != nil {
		return Event{}, err
	}
	value, err := c.Encode(ctx, topic, envelope)
	if err != nil {
		return Event{}, err
	}
	return Event{Topic: topic, Key: key, Value: value, Metadata: NewMetadata(ctx, eventType, source, key, now)}, nil
}

// EventType returns the full name of the message set in the envelope's first
// oneof, or the envelope's own name when it has no oneof.
func EventType(envelope proto.Message) (string, error) {
	m := envelope.ProtoReflect()
	oneofs := m.Descriptor().Oneofs()
	if oneofs.Len() == 0 {
		return string(m.Descriptor().FullName()), nil
	}
	fd := m.WhichOneof(oneofs.Get(0))
	if fd == nil {
		return "", fault.Permanent(fmt.Errorf("%w: %s", ErrEmptyEnvelope, m.Descriptor().FullName()))
	}
	if fd.Message() != nil {
		return string(fd.Message().FullName()), nil
	}
	return string(m.Descriptor().FullName()) + "." + string(fd.Name()), nil
}

// Encode frames msg for topic: magic byte, schema ID, message indexes, then
// the Protobuf bytes.
func (c *Codec) Encode(ctx context.Context, topic string, msg proto.Message) ([]byte, error) {
	if c.cfg.Format != nil {
		return c.cfg.Format.Encode(ctx, topic, msg)
	}
	desc := msg.ProtoReflect().Descriptor()
	id, err := c.schemaID(ctx, topic, desc)
	if err != nil {
		return nil, err
	}
	b, err := sr.Encode(msg, &c.header, id, messageIndex(desc), func(v any) ([]byte, error) {
		return proto.MarshalOptions{Deterministic: true}.Marshal(v.(proto.Message))
	})
	if err != nil {
		return nil, fault.Permanent(fmt.Errorf("events: encode %s: %w", desc.FullName(), err))
	}
	return b, nil
}

// Register makes sure the schema of envelope is known to the registry under
// topic's subject — registered when the codec auto-registers, looked up
// otherwise — and returns its ID. Deployment pipelines call it to register
// every topic's schema before services (which do not auto-register in
// production) publish.
func (c *Codec) Register(ctx context.Context, topic string, envelope proto.Message) (int, error) {
	if c.cfg.Format != nil {
		return c.cfg.Format.Register(ctx, topic, envelope)
	}
	return c.schemaID(ctx, topic, envelope.ProtoReflect().Descriptor())
}

// Decode reads the schema ID and message indexes of value, resolves them to
// a Go message type (asking the registry for IDs it has not seen) and
// unmarshals the Protobuf bytes.
func (c *Codec) Decode(ctx context.Context, value []byte) (proto.Message, error) {
	if c.cfg.Format != nil {
		return c.cfg.Format.Decode(ctx, value)
	}
	id, rest, err := c.header.DecodeID(value)
	if err != nil {
		return nil, fault.Permanent(fmt.Errorf("%w: %w", ErrMalformed, err))
	}
	index, payload, err := c.header.DecodeIndex(rest, maxIndexLength)
	if err != nil {
		return nil, fault.Permanent(fmt.Errorf("%w: schema %d: %w", ErrMalformed, id, err))
	}
	mt, err := c.messageType(ctx, id, index)
	if err != nil {
		return nil, err
	}
	msg := mt.New().Interface()
	if err := proto.Unmarshal(payload, msg); err != nil {
		return nil, fault.Permanent(fmt.Errorf("%w: %s with schema %d: %w", ErrMalformed, mt.Descriptor().FullName(), id, err))
	}
	return msg, nil
}

func (c *Codec) schemaID(ctx context.Context, topic string, desc protoreflect.MessageDescriptor) (int, error) {
	key := encodeKey{topic: topic, name: desc.FullName()}
	c.mu.Lock()
	id, ok := c.encode[key]
	c.mu.Unlock()
	if ok {
		return id, nil
	}
	ss, err := c.ensure(ctx, Subject(topic), desc.ParentFile())
	if err != nil {
		return 0, err
	}
	c.mu.Lock()
	c.encode[key] = ss.ID
	c.decode[decodeKey{id: ss.ID, index: indexKey(messageIndex(desc))}] = mustMessageType(c.cfg.Types, desc)
	c.mu.Unlock()
	return ss.ID, nil
}

// ensure registers (or looks up) the file under subject, after its imports
// under their import paths; well-known google/protobuf imports are built
// into every registry and are not registered.
func (c *Codec) ensure(ctx context.Context, subject string, fd protoreflect.FileDescriptor) (sr.SubjectSchema, error) {
	c.mu.Lock()
	ss, ok := c.subjects[subject]
	c.mu.Unlock()
	if ok {
		return ss, nil
	}
	var refs []sr.SchemaReference
	imports := fd.Imports()
	for i := 0; i < imports.Len(); i++ {
		dep := imports.Get(i).FileDescriptor
		if strings.HasPrefix(dep.Path(), "google/protobuf/") {
			continue
		}
		depSchema, err := c.ensure(ctx, dep.Path(), dep)
		if err != nil {
			return sr.SubjectSchema{}, err
		}
		refs = append(refs, sr.SchemaReference{Name: dep.Path(), Subject: dep.Path(), Version: depSchema.Version})
	}
	text, err := fs.ReadFile(c.cfg.Sources, fd.Path())
	if err != nil {
		return sr.SubjectSchema{}, fault.Permanent(fmt.Errorf("events: source of %s: %w", fd.Path(), err))
	}
	schema := sr.Schema{Schema: string(text), Type: sr.TypeProtobuf, References: refs}
	if c.cfg.AutoRegister {
		ss, err = c.cfg.Registry.CreateSchema(ctx, subject, schema)
	} else {
		ss, err = c.cfg.Registry.LookupSchema(ctx, subject, schema)
	}
	if err != nil {
		return sr.SubjectSchema{}, classifyRegistryError(fmt.Errorf("events: schema of %s as subject %s: %w", fd.Path(), subject, err))
	}
	c.mu.Lock()
	c.subjects[subject] = ss
	c.mu.Unlock()
	return ss, nil
}

func (c *Codec) messageType(ctx context.Context, id int, index []int) (protoreflect.MessageType, error) {
	key := decodeKey{id: id, index: indexKey(index)}
	c.mu.Lock()
	mt, ok := c.decode[key]
	c.mu.Unlock()
	if ok {
		return mt, nil
	}
	schema, err := c.cfg.Registry.SchemaByID(ctx, id)
	if err != nil {
		return nil, classifyRegistryError(fmt.Errorf("%w %d: %w", ErrUnknownSchema, id, err))
	}
	name, err := messageName(schema.Schema, index)
	if err != nil {
		return nil, fault.Permanent(fmt.Errorf("%w: schema %d: %w", ErrUnknownType, id, err))
	}
	mt, err = c.cfg.Types.FindMessageByName(name)
	if err != nil {
		return nil, fault.Permanent(fmt.Errorf("%w: %s (schema %d): %w", ErrUnknownType, name, id, err))
	}
	c.mu.Lock()
	c.decode[key] = mt
	c.mu.Unlock()
	return mt, nil
}

// classifyRegistryError marks "not found" answers permanent and everything
// else (network, 5xx) retryable.
func classifyRegistryError(err error) error {
	var re *sr.ResponseError
	if errors.As(err, &re) {
		switch {
		case re.ErrorCode == 40401 || re.ErrorCode == 40402 || re.ErrorCode == 40403:
			return fault.Permanent(fmt.Errorf("%w: %w", ErrNoSchema, err))
		case re.StatusCode >= 400 && re.StatusCode < 500 && re.StatusCode != 429:
			return fault.Permanent(err)
		}
	}
	return fault.Retryable(err)
}

// messageName parses a .proto text (without linking its imports) and returns
// the full name of the message at the Confluent message-index path.
func messageName(text string, index []int) (protoreflect.FullName, error) {
	handler := reporter.NewHandler(nil)
	ast, err := parser.Parse("schema.proto", bytes.NewReader([]byte(text)), handler)
	if err != nil {
		return "", fmt.Errorf("parse schema: %w", err)
	}
	res, err := parser.ResultFromAST(ast, false, handler)
	if err != nil {
		return "", fmt.Errorf("parse schema: %w", err)
	}
	file := res.FileDescriptorProto()
	if len(index) == 0 {
		index = []int{0}
	}
	msgs := file.GetMessageType()
	var msg *descriptorpb.DescriptorProto
	name := file.GetPackage()
	for _, i := range index {
		if i < 0 || i >= len(msgs) {
			return "", fmt.Errorf("message index %v out of range", index)
		}
		msg = msgs[i]
		if name != "" {
			name += "."
		}
		name += msg.GetName()
		msgs = msg.GetNestedType()
	}
	return protoreflect.FullName(name), nil
}

// messageIndex is the Confluent message-index path of desc within its file.
func messageIndex(desc protoreflect.MessageDescriptor) []int {
	var path []int
	for d := protoreflect.Descriptor(desc); ; {
		path = append([]int{d.Index()}, path...)
		parent := d.Parent()
		if _, ok := parent.(protoreflect.MessageDescriptor); !ok {
			break
		}
		d = parent
	}
	return path
}

func indexKey(index []int) string {
	if len(index) == 0 {
		index = []int{0}
	}
	return fmt.Sprint(index)
}

func mustMessageType(types *protoregistry.Types, desc protoreflect.MessageDescriptor) protoreflect.MessageType {
	mt, err := types.FindMessageByName(desc.FullName())
	if err != nil {
		// Generated types are always registered; a message built from a
		// descriptor at run time decodes as a dynamic message.
		return dynamicpb.NewMessageType(desc)
	}
	return mt
}
