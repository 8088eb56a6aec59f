package protocompat

import (
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// DifferenceType names one kind of incompatible change. The names are
// Confluent's where Confluent has one.
type DifferenceType string

// The incompatible differences Check reports. Everything else (adding or
// removing an optional field, renaming a field or a oneof, adding a message,
// any enum change, int32 to int64, string to bytes, moving a single field
// into a new oneof, ...) is compatible and not reported.
const (
	// PackageChanged: the file's package differs, so every message has a
	// new full name.
	PackageChanged DifferenceType = "PACKAGE_CHANGED"
	// MessageRemoved: a message of the writer's schema has no counterpart of
	// the same name in the reader's schema.
	MessageRemoved DifferenceType = "MESSAGE_REMOVED"
	// FieldKindChanged: a field changed between scalar, message, group and
	// map.
	FieldKindChanged DifferenceType = "FIELD_KIND_CHANGED"
	// FieldScalarKindChanged: a scalar field changed to a type with another
	// wire encoding (int32 to string, int64 to sint64, float to double, ...).
	FieldScalarKindChanged DifferenceType = "FIELD_SCALAR_KIND_CHANGED"
	// FieldNamedTypeChanged: a message field now refers to another message.
	FieldNamedTypeChanged DifferenceType = "FIELD_NAMED_TYPE_CHANGED"
	// FieldNumericLabelChanged: a numeric field changed between singular and
	// repeated (packed encoding makes these unreadable to each other).
	FieldNumericLabelChanged DifferenceType = "FIELD_NUMERIC_LABEL_CHANGED"
	// RequiredFieldAdded: the reader requires a field the writer may omit.
	RequiredFieldAdded DifferenceType = "REQUIRED_FIELD_ADDED"
	// RequiredFieldRemoved: the writer's required field is gone from the
	// reader.
	RequiredFieldRemoved DifferenceType = "REQUIRED_FIELD_REMOVED"
	// OneofFieldRemoved: a member of a writer's oneof is gone from the
	// reader, so a value of that case would read as "no case set".
	OneofFieldRemoved DifferenceType = "ONEOF_FIELD_REMOVED"
	// OneofFieldMovedToTopLevel: a member of a writer's oneof is an ordinary
	// field in the reader, which loses the writer's "one of" guarantee.
	OneofFieldMovedToTopLevel DifferenceType = "ONEOF_FIELD_MOVED_TO_TOP_LEVEL"
	// MultipleFieldsMovedToOneof: several independent fields of the writer
	// share one oneof in the reader, which would keep only the last one.
	MultipleFieldsMovedToOneof DifferenceType = "MULTIPLE_FIELDS_MOVED_TO_ONEOF"
	// FieldMovedToExistingOneof: a reader's oneof mixes fields that were
	// independent in the writer with members of another writer oneof.
	FieldMovedToExistingOneof DifferenceType = "FIELD_MOVED_TO_EXISTING_ONEOF"
)

// Difference is one incompatible change. Path locates it like Confluent
// does: "#/" then message names and field numbers (or oneof names).
type Difference struct {
	Type   DifferenceType
	Path   string
	Detail string
}

// String renders the difference for humans and for the registry's verbose
// compatibility messages.
func (d Difference) String() string {
	if d.Detail == "" {
		return fmt.Sprintf("%s %s", d.Type, d.Path)
	}
	return fmt.Sprintf("%s %s: %s", d.Type, d.Path, d.Detail)
}

// Check lists what stops reader from decoding every record that writer can
// produce. An empty result means compatible. For a registry's BACKWARD rule
// the new schema is the reader and the old one the writer; for FORWARD the
// other way round; FULL checks both.
//
// Messages are matched by name (relative to each file's package), fields by
// number. The result is deterministic: it follows the writer's declaration
// order.
func Check(reader, writer *Schema) []Difference {
	c := checker{seen: map[[2]protoreflect.FullName]bool{}}
	r, w := reader.file, writer.file
	if r.Package() != w.Package() {
		c.add(PackageChanged, "#/", "package %q became %q", w.Package(), r.Package())
	}
	msgs := w.Messages()
	for i := range msgs.Len() {
		wm := msgs.Get(i)
		path := "#/" + string(wm.Name())
		rm := r.Messages().ByName(wm.Name())
		if rm == nil {
			c.add(MessageRemoved, path, "message %s is missing", wm.Name())
			continue
		}
		c.message(rm, wm, path)
	}
	return c.diffs
}

type checker struct {
	seen  map[[2]protoreflect.FullName]bool
	diffs []Difference
}

func (c *checker) add(t DifferenceType, path, format string, args ...any) {
	c.diffs = append(c.diffs, Difference{Type: t, Path: path, Detail: fmt.Sprintf(format, args...)})
}

func (c *checker) message(r, w protoreflect.MessageDescriptor, path string) {
	key := [2]protoreflect.FullName{r.FullName(), w.FullName()}
	if c.seen[key] {
		return
	}
	c.seen[key] = true

	nested := w.Messages()
	for i := range nested.Len() {
		wn := nested.Get(i)
		if wn.IsMapEntry() {
			continue // compared through the map field that owns it
		}
		p := path + "/" + string(wn.Name())
		rn := r.Messages().ByName(wn.Name())
		if rn == nil {
			c.add(MessageRemoved, p, "message %s is missing", relName(wn))
			continue
		}
		c.message(rn, wn, p)
	}

	c.readerOneofs(r, w, path)
	c.writerOneofs(r, w, path)

	wfs := w.Fields()
	for i := range wfs.Len() {
		wf := wfs.Get(i)
		p := path + "/" + strconv.Itoa(int(wf.Number()))
		rf := r.Fields().ByNumber(wf.Number())
		if rf == nil {
			if wf.Cardinality() == protoreflect.Required {
				c.add(RequiredFieldRemoved, p, "required field %s is missing", wf.Name())
			}
			continue
		}
		c.field(rf, wf, p)
	}
	rfs := r.Fields()
	for i := range rfs.Len() {
		rf := rfs.Get(i)
		if rf.Cardinality() != protoreflect.Required {
			continue
		}
		wf := w.Fields().ByNumber(rf.Number())
		if wf == nil || wf.Cardinality() != protoreflect.Required {
			c.add(RequiredFieldAdded, path+"/"+strconv.Itoa(int(rf.Number())),
				"field %s is required but the writer may omit it", rf.Name())
		}
	}
}

// readerOneofs finds reader oneofs that join fields which the writer could
// set independently of each other.
func (c *checker) readerOneofs(r, w protoreflect.MessageDescriptor, path string) {
	oneofs := r.Oneofs()
	for i := range oneofs.Len() {
		ro := oneofs.Get(i)
		if ro.IsSynthetic() {
			continue
		}
		groups := map[string]bool{}
		topLevel := 0
		fields := ro.Fields()
		for j := range fields.Len() {
			wf := w.Fields().ByNumber(fields.Get(j).Number())
			if wf == nil {
				continue // new field: no old data sets it
			}
			if wo := realOneof(wf); wo != nil {
				groups["oneof:"+string(wo.Name())] = true
			} else {
				groups["field:"+strconv.Itoa(int(wf.Number()))] = true
				topLevel++
			}
		}
		if len(groups) < 2 {
			continue
		}
		p := path + "/" + string(ro.Name())
		if topLevel > 1 {
			c.add(MultipleFieldsMovedToOneof, p, "%d independent fields moved into oneof %s", topLevel, ro.Name())
		} else {
			c.add(FieldMovedToExistingOneof, p, "oneof %s joins fields from different writer groups", ro.Name())
		}
	}
}

// writerOneofs finds members of writer oneofs that the reader no longer
// treats as oneof members.
func (c *checker) writerOneofs(r, w protoreflect.MessageDescriptor, path string) {
	oneofs := w.Oneofs()
	for i := range oneofs.Len() {
		wo := oneofs.Get(i)
		if wo.IsSynthetic() {
			continue
		}
		fields := wo.Fields()
		for j := range fields.Len() {
			wf := fields.Get(j)
			p := path + "/" + string(wo.Name()) + "/" + strconv.Itoa(int(wf.Number()))
			rf := r.Fields().ByNumber(wf.Number())
			switch {
			case rf == nil:
				c.add(OneofFieldRemoved, p, "oneof %s lost its member %s", wo.Name(), wf.Name())
			case realOneof(rf) == nil:
				c.add(OneofFieldMovedToTopLevel, p, "member %s of oneof %s is no longer in a oneof", wf.Name(), wo.Name())
			}
		}
	}
}

func (c *checker) field(r, w protoreflect.FieldDescriptor, path string) {
	if r.IsMap() || w.IsMap() {
		if !r.IsMap() || !w.IsMap() {
			c.add(FieldKindChanged, path, "field %s changed from %s to %s", w.Name(), describe(w), describe(r))
			return
		}
		c.field(r.MapKey(), w.MapKey(), path+"/key")
		c.field(r.MapValue(), w.MapValue(), path+"/value")
		return
	}
	wk, rk := w.Kind(), r.Kind()
	wMsg := wk == protoreflect.MessageKind || wk == protoreflect.GroupKind
	rMsg := rk == protoreflect.MessageKind || rk == protoreflect.GroupKind
	switch {
	case wMsg || rMsg:
		if wk != rk {
			c.add(FieldKindChanged, path, "field %s changed from %s to %s", w.Name(), describe(w), describe(r))
			return
		}
		if relName(r.Message()) != relName(w.Message()) {
			c.add(FieldNamedTypeChanged, path, "field %s changed from %s to %s", w.Name(), relName(w.Message()), relName(r.Message()))
			return
		}
		c.message(r.Message(), w.Message(), path)
	case encoding(wk) != encoding(rk):
		c.add(FieldScalarKindChanged, path, "field %s changed from %s to %s", w.Name(), describe(w), describe(r))
	case encoding(wk) != encBytes && w.IsList() != r.IsList():
		c.add(FieldNumericLabelChanged, path, "field %s changed from %s to %s", w.Name(), label(w), label(r))
	}
}

type wireEncoding int

const (
	encVarint wireEncoding = iota
	encZigzag
	encFixed32
	encFloat
	encFixed64
	encDouble
	encBytes
	encOther
)

// encoding groups scalar kinds that read each other's values on the wire.
func encoding(k protoreflect.Kind) wireEncoding {
	switch k {
	case protoreflect.Int32Kind, protoreflect.Int64Kind, protoreflect.Uint32Kind,
		protoreflect.Uint64Kind, protoreflect.BoolKind, protoreflect.EnumKind:
		return encVarint
	case protoreflect.Sint32Kind, protoreflect.Sint64Kind:
		return encZigzag
	case protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind:
		return encFixed32
	case protoreflect.FloatKind:
		return encFloat
	case protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind:
		return encFixed64
	case protoreflect.DoubleKind:
		return encDouble
	case protoreflect.StringKind, protoreflect.BytesKind:
		return encBytes
	default:
		return encOther
	}
}

func realOneof(f protoreflect.FieldDescriptor) protoreflect.OneofDescriptor {
	o := f.ContainingOneof()
	if o == nil || o.IsSynthetic() {
		return nil
	}
	return o
}

// relName is a type's name relative to its own file's package, so that a
// package rename alone does not make every field reference differ.
func relName(d protoreflect.Descriptor) string {
	name := string(d.FullName())
	if pkg := string(d.ParentFile().Package()); pkg != "" {
		name = strings.TrimPrefix(name, pkg+".")
	}
	return name
}

func describe(f protoreflect.FieldDescriptor) string {
	switch {
	case f.IsMap():
		return "map<" + describe(f.MapKey()) + ", " + describe(f.MapValue()) + ">"
	case f.Kind() == protoreflect.MessageKind || f.Kind() == protoreflect.GroupKind:
		return f.Kind().String() + " " + relName(f.Message())
	case f.Kind() == protoreflect.EnumKind:
		return "enum " + relName(f.Enum())
	default:
		return f.Kind().String()
	}
}

func label(f protoreflect.FieldDescriptor) string {
	if f.IsList() {
		return "repeated " + describe(f)
	}
	return "singular " + describe(f)
}
