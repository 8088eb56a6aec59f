// Package contract checks event contracts between producers and consumers
// before anything runs. A consumer declares, next to its handler, which
// event types of a topic it reads and which fields of each it relies on
// (Reads); Check verifies the declaration against the Protobuf envelope the
// producer publishes on that topic. A producer change that removes,
// renumbers into another type or retypes a field some consumer reads, or
// drops an event type from the envelope, fails the check and names the
// consumer.
package contract

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// Reads is one consumer's declaration for one topic.
type Reads struct {
	// Consumer names the reader, usually its consumer group.
	Consumer string
	// Topic is the topic it consumes.
	Topic string
	// Events maps the full name of each event message it handles (the
	// message type of one field of the envelope's oneof, e.g.
	// "agora.ordering.v1.OrderPlaced") to the fields it reads from it.
	//
	// A field is "path type": the path is dot-separated field names
	// (through nested and repeated messages, e.g. "lines.sku"); the type is
	// a Protobuf scalar kind (string, bool, int32, int64, uint32, uint64,
	// double, float, bytes), "enum <full name>", "message <full name>"
	// (e.g. "message google.protobuf.Timestamp") and a "repeated " prefix
	// for repeated fields.
	Events map[string][]string
}

// Check verifies r against envelope, the message the producer publishes
// on r.Topic. It returns every mismatch, joined.
func Check(r Reads, envelope protoreflect.MessageDescriptor) error {
	if len(r.Events) == 0 {
		return fmt.Errorf("contract %s on %s: declares no events", r.Consumer, r.Topic)
	}
	var errs []error
	names := make([]string, 0, len(r.Events))
	for name := range r.Events {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		msg := eventOf(envelope, protoreflect.FullName(name))
		if msg == nil {
			errs = append(errs, fmt.Errorf("contract %s on %s: %s carries no event %s", r.Consumer, r.Topic, envelope.FullName(), name))
			continue
		}
		for _, field := range r.Events[name] {
			if err := checkField(msg, field); err != nil {
				errs = append(errs, fmt.Errorf("contract %s on %s: %s: %w", r.Consumer, r.Topic, name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// eventOf finds the event message name among the message-typed fields of
// the envelope's oneofs.
func eventOf(envelope protoreflect.MessageDescriptor, name protoreflect.FullName) protoreflect.MessageDescriptor {
	oneofs := envelope.Oneofs()
	for i := 0; i < oneofs.Len(); i++ {
		fields := oneofs.Get(i).Fields()
		for j := 0; j < fields.Len(); j++ {
			if m := fields.Get(j).Message(); m != nil && m.FullName() == name {
				return m
			}
		}
	}
	return nil
}

func checkField(msg protoreflect.MessageDescriptor, decl string) error {
	path, want, ok := strings.Cut(strings.TrimSpace(decl), " ")
	if !ok || path == "" || strings.TrimSpace(want) == "" {
		return fmt.Errorf("field declaration %q is not \"path type\"", decl)
	}
	var fd protoreflect.FieldDescriptor
	cur := msg
	for i, name := range strings.Split(path, ".") {
		if cur == nil {
			return fmt.Errorf("field %s: %s is not a message", path, strings.Join(strings.Split(path, ".")[:i], "."))
		}
		fd = cur.Fields().ByName(protoreflect.Name(name))
		if fd == nil {
			return fmt.Errorf("field %s: %s has no field %q", path, cur.FullName(), name)
		}
		cur = fd.Message()
	}
	if got := TypeOf(fd); got != strings.TrimSpace(want) {
		return fmt.Errorf("field %s is %s, the consumer reads %s", path, got, strings.TrimSpace(want))
	}
	return nil
}

// TypeOf spells a field's type the way Reads declares it.
func TypeOf(fd protoreflect.FieldDescriptor) string {
	var t string
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		t = "message " + string(fd.Message().FullName())
	case protoreflect.EnumKind:
		t = "enum " + string(fd.Enum().FullName())
	case protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		t = "int32"
	case protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		t = "int64"
	case protoreflect.Fixed32Kind:
		t = "uint32"
	case protoreflect.Fixed64Kind:
		t = "uint64"
	default:
		t = fd.Kind().String()
	}
	if fd.IsList() {
		t = "repeated " + t
	}
	if fd.IsMap() {
		t = "map " + t
	}
	return t
}
