package protocompat_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/agoracommerce/agora/internal/platform/schemaregistry/protocompat"
)

func mustCompile(tb testing.TB, text string, deps map[string]string) *protocompat.Schema {
	tb.Helper()
	s, err := protocompat.Compile(context.Background(), text, deps)
	if err != nil {
		tb.Fatalf("compile: %v\n%s", err, text)
	}
	return s
}

type diff struct {
	Type protocompat.DifferenceType
	Path string
}

func diffsOf(ds []protocompat.Difference) []diff {
	out := []diff{}
	for _, d := range ds {
		out = append(out, diff{d.Type, d.Path})
	}
	return out
}

// TestCheckBackward feeds old → new pairs through the BACKWARD rule: the
// new schema reads what the old one wrote.
func TestCheckBackward(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		old, new string
		want     []diff
	}{
		{
			name: "adding a field",
			old:  `syntax = "proto3"; message M { string a = 1; }`,
			new:  `syntax = "proto3"; message M { string a = 1; float b = 2; }`,
		},
		{
			name: "removing an optional field",
			old:  `syntax = "proto3"; message M { string a = 1; string b = 2; }`,
			new:  `syntax = "proto3"; message M { string a = 1; }`,
		},
		{
			name: "renaming a field keeps its number",
			old:  `syntax = "proto3"; message M { string a = 1; }`,
			new:  `syntax = "proto3"; message M { string renamed = 1; }`,
		},
		{
			name: "adding a message",
			old:  `syntax = "proto3"; message M { string a = 1; }`,
			new:  `syntax = "proto3"; message M { string a = 1; } message N { int32 x = 1; }`,
		},
		{
			name: "reordering messages",
			old:  `syntax = "proto3"; message M { string a = 1; } message N { int32 x = 1; }`,
			new:  `syntax = "proto3"; message N { int32 x = 1; } message M { string a = 1; }`,
		},
		{
			name: "formatting, comments and qualification",
			old:  `syntax = "proto3"; package p; message M { S s = 1; message S { string x = 1; } }`,
			new:  "syntax = \"proto3\";\n// c\npackage p;\nmessage M {\n  .p.M.S s = 1; // c\n  message S { string x = 1; }\n}\n",
		},
		{
			name: "int32 to int64 shares the varint encoding",
			old:  `syntax = "proto3"; message M { int32 a = 1; }`,
			new:  `syntax = "proto3"; message M { int64 a = 1; }`,
		},
		{
			name: "string to bytes",
			old:  `syntax = "proto3"; message M { string a = 1; }`,
			new:  `syntax = "proto3"; message M { bytes a = 1; }`,
		},
		{
			name: "int32 to enum",
			old:  `syntax = "proto3"; message M { int32 a = 1; }`,
			new:  `syntax = "proto3"; message M { E a = 1; } enum E { E_UNSPECIFIED = 0; }`,
		},
		{
			name: "enum changes",
			old:  `syntax = "proto3"; message M { E a = 1; } enum E { A = 0; B = 1; C = 2; }`,
			new:  `syntax = "proto3"; message M { E a = 1; } enum E { A = 0; RENAMED = 1; D = 3; }`,
		},
		{
			name: "moving the number of a field is a removal and an addition",
			old:  `syntax = "proto3"; message M { string a = 1; }`,
			new:  `syntax = "proto3"; message M { string a = 2; }`,
		},
		{
			name: "same name at another number with another type",
			old:  `syntax = "proto3"; message M { string a = 1; int64 b = 2; }`,
			new:  `syntax = "proto3"; message M { string b = 1; }`,
		},
		{
			name: "swapping the numbers of two fields of different types",
			old:  `syntax = "proto3"; message M { string sku = 1; int32 qty = 2; }`,
			new:  `syntax = "proto3"; message M { int32 qty = 1; string sku = 2; }`,
			want: []diff{{protocompat.FieldScalarKindChanged, "#/M/1"}, {protocompat.FieldScalarKindChanged, "#/M/2"}},
		},
		{
			name: "map key type change",
			old:  `syntax = "proto3"; message M { map<string, int32> m = 1; }`,
			new:  `syntax = "proto3"; message M { map<int64, int32> m = 1; }`,
			want: []diff{{protocompat.FieldScalarKindChanged, "#/M/1/key"}},
		},
		{
			name: "scalar type change",
			old:  `syntax = "proto3"; message M { string a = 1; int32 b = 2; }`,
			new:  `syntax = "proto3"; message M { string a = 1; string b = 2; }`,
			want: []diff{{protocompat.FieldScalarKindChanged, "#/M/2"}},
		},
		{
			name: "zigzag to varint",
			old:  `syntax = "proto3"; message M { sint64 a = 1; }`,
			new:  `syntax = "proto3"; message M { int64 a = 1; }`,
			want: []diff{{protocompat.FieldScalarKindChanged, "#/M/1"}},
		},
		{
			name: "scalar to message",
			old:  `syntax = "proto3"; message M { int32 a = 1; }`,
			new:  `syntax = "proto3"; message M { N a = 1; } message N { string s = 1; }`,
			want: []diff{{protocompat.FieldKindChanged, "#/M/1"}},
		},
		{
			name: "message to scalar",
			old:  `syntax = "proto3"; message M { N a = 1; } message N { string s = 1; }`,
			new:  `syntax = "proto3"; message M { int32 a = 1; } message N { string s = 1; }`,
			want: []diff{{protocompat.FieldKindChanged, "#/M/1"}},
		},
		{
			name: "message field refers to another message",
			old:  `syntax = "proto3"; message M { N a = 1; } message N { string s = 1; }`,
			new:  `syntax = "proto3"; message M { O a = 1; } message N { string s = 1; } message O { string s = 1; }`,
			want: []diff{{protocompat.FieldNamedTypeChanged, "#/M/1"}},
		},
		{
			name: "change inside a referenced message is found through the field",
			old:  `syntax = "proto3"; message M { M.N a = 1; message N { int32 x = 1; } }`,
			new:  `syntax = "proto3"; message M { M.N a = 1; message N { double x = 1; } }`,
			want: []diff{{protocompat.FieldScalarKindChanged, "#/M/N/1"}},
		},
		{
			name: "map value type change",
			old:  `syntax = "proto3"; message M { map<string, int32> m = 1; }`,
			new:  `syntax = "proto3"; message M { map<string, string> m = 1; }`,
			want: []diff{{protocompat.FieldScalarKindChanged, "#/M/1/value"}},
		},
		{
			name: "map to scalar",
			old:  `syntax = "proto3"; message M { map<string, int32> m = 1; }`,
			new:  `syntax = "proto3"; message M { bytes m = 1; }`,
			want: []diff{{protocompat.FieldKindChanged, "#/M/1"}},
		},
		{
			name: "removing a message",
			old:  `syntax = "proto3"; message M { string a = 1; } message N { int32 x = 1; }`,
			new:  `syntax = "proto3"; message M { string a = 1; }`,
			want: []diff{{protocompat.MessageRemoved, "#/N"}},
		},
		{
			name: "removing a nested message",
			old:  `syntax = "proto3"; message M { message N { int32 x = 1; } N n = 1; }`,
			new:  `syntax = "proto3"; message M { bytes n = 1; }`,
			want: []diff{{protocompat.MessageRemoved, "#/M/N"}, {protocompat.FieldKindChanged, "#/M/1"}},
		},
		{
			name: "package change",
			old:  `syntax = "proto3"; package foo; message M { string a = 1; }`,
			new:  `syntax = "proto3"; package bar; message M { string a = 1; }`,
			want: []diff{{protocompat.PackageChanged, "#/"}},
		},
		{
			name: "singular to repeated string",
			old:  `syntax = "proto3"; message M { optional string a = 1; }`,
			new:  `syntax = "proto3"; message M { repeated string a = 1; }`,
		},
		{
			name: "singular to repeated message",
			old:  `syntax = "proto3"; message M { N a = 1; } message N {}`,
			new:  `syntax = "proto3"; message M { repeated N a = 1; } message N {}`,
		},
		{
			name: "singular to repeated number",
			old:  `syntax = "proto3"; message M { int32 a = 1; }`,
			new:  `syntax = "proto3"; message M { repeated int32 a = 1; }`,
			want: []diff{{protocompat.FieldNumericLabelChanged, "#/M/1"}},
		},
		{
			name: "adding a required field",
			old:  `syntax = "proto2"; message M { optional string a = 1; }`,
			new:  `syntax = "proto2"; message M { optional string a = 1; required string b = 2; }`,
			want: []diff{{protocompat.RequiredFieldAdded, "#/M/2"}},
		},
		{
			name: "making a field required",
			old:  `syntax = "proto2"; message M { optional string a = 1; }`,
			new:  `syntax = "proto2"; message M { required string a = 1; }`,
			want: []diff{{protocompat.RequiredFieldAdded, "#/M/1"}},
		},
		{
			name: "removing a required field",
			old:  `syntax = "proto2"; message M { optional string a = 1; required string b = 2; }`,
			new:  `syntax = "proto2"; message M { optional string a = 1; }`,
			want: []diff{{protocompat.RequiredFieldRemoved, "#/M/2"}},
		},
		{
			name: "moving one field into a new oneof",
			old:  `syntax = "proto3"; message M { string a = 1; string b = 2; }`,
			new:  `syntax = "proto3"; message M { string a = 1; oneof o { string b = 2; int32 c = 3; } }`,
		},
		{
			name: "moving several fields into a oneof",
			old:  `syntax = "proto3"; message M { string a = 1; string b = 2; }`,
			new:  `syntax = "proto3"; message M { oneof o { string a = 1; string b = 2; int32 c = 3; } }`,
			want: []diff{{protocompat.MultipleFieldsMovedToOneof, "#/M/o"}},
		},
		{
			name: "moving a field into an existing oneof",
			old:  `syntax = "proto3"; message M { string a = 1; oneof o { string b = 2; string c = 3; } }`,
			new:  `syntax = "proto3"; message M { oneof p { string a = 1; string b = 2; string c = 3; } }`,
			want: []diff{{protocompat.FieldMovedToExistingOneof, "#/M/p"}},
		},
		{
			name: "adding a oneof member",
			old:  `syntax = "proto3"; message M { oneof o { string a = 1; string b = 2; } }`,
			new:  `syntax = "proto3"; message M { oneof o { string a = 1; string b = 2; int32 c = 3; } }`,
		},
		{
			name: "renaming a oneof",
			old:  `syntax = "proto3"; message M { oneof o { string a = 1; string b = 2; } }`,
			new:  `syntax = "proto3"; message M { oneof renamed { string a = 1; string b = 2; } }`,
		},
		{
			name: "removing a oneof member",
			old:  `syntax = "proto3"; message M { oneof o { string a = 1; string b = 2; int32 c = 3; } }`,
			new:  `syntax = "proto3"; message M { oneof o { string a = 1; string b = 2; } }`,
			want: []diff{{protocompat.OneofFieldRemoved, "#/M/o/3"}},
		},
		{
			name: "moving a member out of its oneof",
			old:  `syntax = "proto3"; message M { oneof o { string a = 1; string b = 2; } }`,
			new:  `syntax = "proto3"; message M { string a = 1; oneof o { string b = 2; } }`,
			want: []diff{{protocompat.OneofFieldMovedToTopLevel, "#/M/o/1"}},
		},
		{
			name: "proto3 optional is not a oneof",
			old:  `syntax = "proto3"; message M { string a = 1; }`,
			new:  `syntax = "proto3"; message M { optional string a = 1; }`,
		},
		{
			name: "self reference terminates",
			old:  `syntax = "proto3"; message Node { Node next = 1; int32 v = 2; }`,
			new:  `syntax = "proto3"; message Node { Node next = 1; string v = 2; }`,
			want: []diff{{protocompat.FieldScalarKindChanged, "#/Node/2"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			oldS := mustCompile(t, tt.old, nil)
			newS := mustCompile(t, tt.new, nil)
			want := tt.want
			if want == nil {
				want = []diff{}
			}
			got := diffsOf(protocompat.Check(newS, oldS))
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("Check(new, old) mismatch (-want +got):\n%s", d)
			}
		})
	}
}

// TestCheckDirection shows that one change can be fine in one direction
// and breaking in the other.
func TestCheckDirection(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		old, new      string
		backward, fwd []diff
	}{
		{
			name:     "adding a message breaks old readers of new records",
			old:      `syntax = "proto3"; message M { string a = 1; }`,
			new:      `syntax = "proto3"; message M { string a = 1; } message N {}`,
			backward: []diff{},
			fwd:      []diff{{protocompat.MessageRemoved, "#/N"}},
		},
		{
			name:     "adding a oneof member breaks old readers",
			old:      `syntax = "proto3"; message E { oneof event { string a = 1; } }`,
			new:      `syntax = "proto3"; message E { oneof event { string a = 1; string b = 2; } }`,
			backward: []diff{},
			fwd:      []diff{{protocompat.OneofFieldRemoved, "#/E/event/2"}},
		},
		{
			name:     "adding a required field is fine for old readers",
			old:      `syntax = "proto2"; message M { optional string a = 1; }`,
			new:      `syntax = "proto2"; message M { optional string a = 1; required int32 b = 2; }`,
			backward: []diff{{protocompat.RequiredFieldAdded, "#/M/2"}},
			fwd:      []diff{{protocompat.RequiredFieldRemoved, "#/M/2"}},
		},
		{
			name:     "type change breaks both",
			old:      `syntax = "proto3"; message M { double a = 1; }`,
			new:      `syntax = "proto3"; message M { float a = 1; }`,
			backward: []diff{{protocompat.FieldScalarKindChanged, "#/M/1"}},
			fwd:      []diff{{protocompat.FieldScalarKindChanged, "#/M/1"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			oldS := mustCompile(t, tt.old, nil)
			newS := mustCompile(t, tt.new, nil)
			if d := cmp.Diff(tt.backward, diffsOf(protocompat.Check(newS, oldS))); d != "" {
				t.Errorf("backward (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.fwd, diffsOf(protocompat.Check(oldS, newS))); d != "" {
				t.Errorf("forward (-want +got):\n%s", d)
			}
		})
	}
}

func TestCompile(t *testing.T) {
	t.Parallel()
	money := `syntax = "proto3"; package agora.common.v1; message Money { int64 minor = 1; string currency = 2; }`
	tests := []struct {
		name    string
		text    string
		deps    map[string]string
		wantErr bool
	}{
		{name: "plain", text: `syntax = "proto3"; message M { string a = 1; }`},
		{
			name: "well-known import",
			text: `syntax = "proto3"; import "google/protobuf/timestamp.proto"; message M { google.protobuf.Timestamp at = 1; }`,
		},
		{
			name: "reference",
			text: `syntax = "proto3"; import "agora/common/v1/money.proto"; message M { agora.common.v1.Money total = 1; }`,
			deps: map[string]string{"agora/common/v1/money.proto": money},
		},
		{
			name:    "missing reference",
			text:    `syntax = "proto3"; import "agora/common/v1/money.proto"; message M { agora.common.v1.Money total = 1; }`,
			wantErr: true,
		},
		{name: "syntax error", text: `syntax = "proto3"; message M { string a = ; }`, wantErr: true},
		{name: "unknown type", text: `syntax = "proto3"; message M { Nope a = 1; }`, wantErr: true},
		{name: "empty", text: ``},
		{name: "not protobuf", text: `{"type": "record"}`, wantErr: true},
		{
			name:    "reference named like the main file",
			text:    `syntax = "proto3";`,
			deps:    map[string]string{protocompat.MainFile: `syntax = "proto3";`},
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := protocompat.Compile(context.Background(), tt.text, tt.deps)
			if tt.wantErr {
				if !errors.Is(err, protocompat.ErrInvalid) {
					t.Fatalf("err = %v, want ErrInvalid", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	t.Parallel()
	fp := func(text string) string {
		t.Helper()
		f, err := mustCompile(t, text, nil).Fingerprint()
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	a := fp(`syntax = "proto3"; package p; message M { string a = 1; }`)
	b := fp("syntax = \"proto3\";\n\n// a comment\npackage p;\n\nmessage M {\n  string a = 1; // trailing\n}\n")
	c := fp(`syntax = "proto3"; package p; message M { string b = 1; }`)
	if a != b {
		t.Errorf("formatting changed the fingerprint: %s vs %s", a, b)
	}
	if a == c {
		t.Errorf("a renamed field kept the fingerprint %s", a)
	}
}
