// Package protocompat is the Protobuf half of Agora's schema registry, free of
// HTTP and storage: it compiles a schema text together with the texts of the
// schemas it imports, fingerprints the result so that equal schemas are
// recognised however they are formatted, and lists the differences between
// two versions that would stop a reader of one version from decoding data
// written with the other.
//
// The rules follow the spirit of Confluent's Protobuf compatibility checker:
// messages are matched by name, fields by number, and a change is judged by
// what it does on the wire. See Check for the list of difference types.
package protocompat

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/bufbuild/protocompile"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

// MainFile is the file name a compiled schema carries. Imports resolve
// against the names of its dependencies, never against this name.
const MainFile = "registered_schema.proto"

// ErrInvalid marks every error that comes from a schema that does not
// compile: a syntax error, an unresolved type or import, a cycle.
var ErrInvalid = errors.New("invalid protobuf schema")

// Schema is a compiled Protobuf schema. It is immutable and safe for
// concurrent use.
type Schema struct {
	file protoreflect.FileDescriptor
}

// Compile parses and links text. deps maps an import path (a schema
// reference's name) to the text of the schema it names; the well-known
// google/protobuf imports resolve without being listed. Errors wrap
// ErrInvalid and carry the compiler's message.
func Compile(ctx context.Context, text string, deps map[string]string) (*Schema, error) {
	if _, clash := deps[MainFile]; clash {
		return nil, fmt.Errorf("%w: a reference may not be named %q", ErrInvalid, MainFile)
	}
	srcs := make(map[string]string, len(deps)+1)
	for name, src := range deps {
		srcs[name] = src
	}
	srcs[MainFile] = text
	comp := protocompile.Compiler{
		Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{
			Accessor: func(path string) (io.ReadCloser, error) {
				src, ok := srcs[path]
				if !ok {
					return nil, fmt.Errorf("import %q is neither a well-known type nor a declared reference", path)
				}
				return io.NopCloser(strings.NewReader(src)), nil
			},
		}),
		MaxParallelism: 1,
		SourceInfoMode: protocompile.SourceInfoNone,
	}
	files, err := comp.Compile(ctx, MainFile)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("compile schema: %w", ctxErr)
		}
		return nil, fmt.Errorf("%w: %s", ErrInvalid, err.Error())
	}
	if len(files) != 1 {
		return nil, fmt.Errorf("%w: compiler returned %d files", ErrInvalid, len(files))
	}
	return &Schema{file: files[0]}, nil
}

// File is the compiled file descriptor.
func (s *Schema) File() protoreflect.FileDescriptor { return s.file }

// FileDescriptorProto returns the schema as a descriptor proto without
// source information (comments and positions).
func (s *Schema) FileDescriptorProto() *descriptorpb.FileDescriptorProto {
	fdp := protodesc.ToFileDescriptorProto(s.file)
	fdp.SourceCodeInfo = nil
	return fdp
}

// Serialized is the binary FileDescriptorProto of the schema, the form
// Confluent's API returns for format=serialized.
func (s *Schema) Serialized() ([]byte, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(s.FileDescriptorProto())
	if err != nil {
		return nil, fmt.Errorf("serialize schema: %w", err)
	}
	return b, nil
}

// Fingerprint identifies the schema's meaning: two texts that differ only
// in formatting, comments or the way names are qualified share it.
func (s *Schema) Fingerprint() (string, error) {
	b, err := s.Serialized()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}
