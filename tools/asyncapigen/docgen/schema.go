package docgen

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// schemas derives JSON Schemas from Protobuf messages, following the
// proto3 JSON mapping: lowerCamelCase field names, 64-bit integers as
// decimal strings, enums by value name, bytes as base64,
// google.protobuf.Timestamp as an RFC 3339 date-time, repeated fields as
// arrays, maps as objects, and every other message as a $ref to its own
// component schema (named by its full name).
type schemas struct {
	// components are the messages referenced so far, by full name.
	components map[protoreflect.FullName]protoreflect.MessageDescriptor
}

func newSchemas() *schemas {
	return &schemas{components: map[protoreflect.FullName]protoreflect.MessageDescriptor{}}
}

// schemaPointer is the JSON pointer of a message's component schema.
func schemaPointer(md protoreflect.MessageDescriptor) string {
	return pointer("components", "schemas", string(md.FullName()))
}

// ref is a $ref to md's component schema, which the document will carry.
func (s *schemas) ref(md protoreflect.MessageDescriptor) *yaml.Node {
	s.components[md.FullName()] = md
	return ref(schemaPointer(md))
}

// all returns the component schemas of every message referenced so far and
// of every message those reference, by full name.
func (s *schemas) all() map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	for len(out) < len(s.components) {
		for name, md := range s.components {
			if _, done := out[string(name)]; !done {
				out[string(name)] = s.message(md)
			}
		}
	}
	return out
}

// message is the component schema of md.
func (s *schemas) message(md protoreflect.MessageDescriptor) *yaml.Node {
	desc := comment(md)
	var notes []string
	for i := 0; i < md.Oneofs().Len(); i++ {
		o := md.Oneofs().Get(i)
		if o.IsSynthetic() {
			continue
		}
		var names []string
		for j := 0; j < o.Fields().Len(); j++ {
			names = append(names, "`"+o.Fields().Get(j).JSONName()+"`")
		}
		notes = append(notes, fmt.Sprintf("At most one of %s is set (oneof `%s`).", strings.Join(names, ", "), o.Name()))
	}
	desc = joinParagraphs(append([]string{desc}, notes...)...)
	props := make([]field, 0, md.Fields().Len())
	for i := 0; i < md.Fields().Len(); i++ {
		fd := md.Fields().Get(i)
		props = append(props, field{fd.JSONName(), s.field(fd)})
	}
	return object(
		field{"type", str("object")},
		field{"title", str(string(md.Name()))},
		field{"description", text(desc)},
		field{"properties", object(props...)},
	)
}

// field is the schema of one field of a message.
func (s *schemas) field(fd protoreflect.FieldDescriptor) *yaml.Node {
	desc := comment(fd)
	switch {
	case fd.IsMap():
		if k := fd.MapKey().Kind(); k != protoreflect.StringKind {
			desc = joinParagraphs(desc, fmt.Sprintf("The keys are %s values written as strings.", k))
		}
		return object(
			field{"type", str("object")},
			field{"description", text(desc)},
			field{"additionalProperties", s.value(fd.MapValue(), "")},
		)
	case fd.IsList():
		return object(
			field{"type", str("array")},
			field{"description", text(desc)},
			field{"items", s.value(fd, "")},
		)
	default:
		return s.value(fd, desc)
	}
}

// value is the schema of one value of fd (an element of a repeated field)
// described by desc.
func (s *schemas) value(fd protoreflect.FieldDescriptor, desc string) *yaml.Node {
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		md := fd.Message()
		if wkt, ok := wellKnown(md.FullName()); ok {
			return scalar(wkt, desc)
		}
		if desc == "" {
			return s.ref(md)
		}
		// Keywords next to a $ref are ignored by JSON Schema draft 7,
		// the base of AsyncAPI 3.0 schemas: a described reference wraps it.
		return object(field{"description", str(desc)}, field{"allOf", list(s.ref(md))})
	case protoreflect.EnumKind:
		return enum(fd.Enum(), desc)
	default:
		return scalar(scalarTypes[fd.Kind()], desc)
	}
}

// jsonType is a JSON Schema for a scalar.
type jsonType struct {
	typ, format, pattern, encoding string
	minimum                        *int64
}

var zero = int64(0)

var (
	int32Type   = jsonType{typ: "integer", format: "int32"}
	uint32Type  = jsonType{typ: "integer", format: "uint32", minimum: &zero}
	int64Type   = jsonType{typ: "string", format: "int64", pattern: `^-?[0-9]+$`}
	uint64Type  = jsonType{typ: "string", format: "uint64", pattern: `^[0-9]+$`}
	floatType   = jsonType{typ: "number", format: "float"}
	doubleType  = jsonType{typ: "number", format: "double"}
	boolType    = jsonType{typ: "boolean"}
	stringType  = jsonType{typ: "string"}
	bytesType   = jsonType{typ: "string", encoding: "base64"}
	objectType  = jsonType{typ: "object"}
	anyType     = jsonType{}
	arrayType   = jsonType{typ: "array"}
	scalarTypes = map[protoreflect.Kind]jsonType{
		protoreflect.Int32Kind: int32Type, protoreflect.Sint32Kind: int32Type, protoreflect.Sfixed32Kind: int32Type,
		protoreflect.Uint32Kind: uint32Type, protoreflect.Fixed32Kind: uint32Type,
		protoreflect.Int64Kind: int64Type, protoreflect.Sint64Kind: int64Type, protoreflect.Sfixed64Kind: int64Type,
		protoreflect.Uint64Kind: uint64Type, protoreflect.Fixed64Kind: uint64Type,
		protoreflect.FloatKind: floatType, protoreflect.DoubleKind: doubleType,
		protoreflect.BoolKind: boolType, protoreflect.StringKind: stringType, protoreflect.BytesKind: bytesType,
	}
)

// wellKnown is the proto3 JSON form of a well-known message type.
func wellKnown(name protoreflect.FullName) (jsonType, bool) {
	switch name {
	case "google.protobuf.Timestamp":
		return jsonType{typ: "string", format: "date-time"}, true
	case "google.protobuf.Duration":
		return jsonType{typ: "string", pattern: `^-?[0-9]+(\.[0-9]{1,9})?s$`}, true
	case "google.protobuf.FieldMask":
		return stringType, true
	case "google.protobuf.Empty", "google.protobuf.Struct", "google.protobuf.Any":
		return objectType, true
	case "google.protobuf.Value":
		return anyType, true
	case "google.protobuf.ListValue":
		return arrayType, true
	case "google.protobuf.DoubleValue":
		return doubleType, true
	case "google.protobuf.FloatValue":
		return floatType, true
	case "google.protobuf.Int64Value":
		return int64Type, true
	case "google.protobuf.UInt64Value":
		return uint64Type, true
	case "google.protobuf.Int32Value":
		return int32Type, true
	case "google.protobuf.UInt32Value":
		return uint32Type, true
	case "google.protobuf.BoolValue":
		return boolType, true
	case "google.protobuf.StringValue":
		return stringType, true
	case "google.protobuf.BytesValue":
		return bytesType, true
	}
	return jsonType{}, false
}

// scalar is the schema of t described by desc.
func scalar(t jsonType, desc string) *yaml.Node {
	var minimum *yaml.Node
	if t.minimum != nil {
		minimum = integer(*t.minimum)
	}
	return object(
		field{"type", text(t.typ)},
		field{"format", text(t.format)},
		field{"pattern", text(t.pattern)},
		field{"contentEncoding", text(t.encoding)},
		field{"minimum", minimum},
		field{"description", text(desc)},
	)
}

// enum is the schema of an enum field: the value names as a string enum,
// described by the field's comment, the enum's and each value's.
func enum(ed protoreflect.EnumDescriptor, desc string) *yaml.Node {
	names := make([]string, 0, ed.Values().Len())
	var values strings.Builder
	for i := 0; i < ed.Values().Len(); i++ {
		v := ed.Values().Get(i)
		names = append(names, string(v.Name()))
		fmt.Fprintf(&values, "- `%s`", v.Name())
		if c := comment(v); c != "" {
			values.WriteString(": " + strings.Join(strings.Fields(c), " "))
		}
		values.WriteString("\n")
	}
	full := joinParagraphs(desc, comment(ed), fmt.Sprintf("`%s` values:\n\n%s", ed.FullName(), strings.TrimSuffix(values.String(), "\n")))
	return object(
		field{"type", str("string")},
		field{"enum", strs(names...)},
		field{"description", str(full)},
	)
}

// joinParagraphs joins the non-empty parts as Markdown paragraphs.
func joinParagraphs(parts ...string) string {
	var kept []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, "\n\n")
}
