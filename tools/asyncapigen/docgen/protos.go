package docgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/bufbuild/protocompile"
	"github.com/bufbuild/protocompile/linker"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// ErrUnknownMessage is returned when a name does not resolve to a message
// of the compiled schemas.
var ErrUnknownMessage = errors.New("not a message of the Protobuf schemas")

// Schemas are the compiled Protobuf files of a buf module, with their
// comments.
type Schemas struct {
	files linker.Files
}

// Compile compiles every .proto file of fsys (a buf module root such as
// api/proto, files named by import path) with source information, so that
// the documents can carry the schemas' comments. The well-known
// google/protobuf imports resolve without being in fsys.
func Compile(ctx context.Context, fsys fs.FS) (*Schemas, error) {
	var names []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && path.Ext(p) == ".proto" {
			names = append(names, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("docgen: list the .proto files: %w", err)
	}
	if len(names) == 0 {
		return nil, errors.New("docgen: no .proto files to compile")
	}
	sort.Strings(names)
	comp := protocompile.Compiler{
		Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{
			Accessor: func(name string) (io.ReadCloser, error) {
				f, err := fsys.Open(name)
				if err != nil {
					return nil, fmt.Errorf("open %s: %w", name, err)
				}
				return f, nil
			},
		}),
		MaxParallelism: 1,
		SourceInfoMode: protocompile.SourceInfoStandard,
	}
	files, err := comp.Compile(ctx, names...)
	if err != nil {
		return nil, fmt.Errorf("docgen: compile the Protobuf schemas: %w", err)
	}
	return &Schemas{files: files}, nil
}

// Message returns the message of the full name.
func (s *Schemas) Message(name string) (protoreflect.MessageDescriptor, error) {
	d, err := s.files.AsResolver().FindDescriptorByName(protoreflect.FullName(name))
	if err != nil {
		return nil, fmt.Errorf("%s is %w", name, ErrUnknownMessage)
	}
	md, ok := d.(protoreflect.MessageDescriptor)
	if !ok {
		return nil, fmt.Errorf("%s is %w (it names another kind of element)", name, ErrUnknownMessage)
	}
	return md, nil
}

// comment is the leading comment of d as Markdown: the comment markers'
// single space removed, trailing blanks dropped, and runs of indented lines
// (tables and lists aligned with spaces) kept as they are in a code block.
func comment(d protoreflect.Descriptor) string {
	loc := d.ParentFile().SourceLocations().ByDescriptor(d)
	raw := strings.TrimRight(loc.LeadingComments, " \t\n")
	if raw == "" {
		return ""
	}
	lines := strings.Split(raw, "\n")
	var out []string
	inCode := false
	for _, l := range lines {
		l = strings.TrimRight(strings.TrimPrefix(l, " "), " \t")
		indented := strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t")
		switch {
		case indented && !inCode:
			out = append(out, "```text")
			inCode = true
		case !indented && inCode:
			out = append(out, "```")
			inCode = false
		}
		out = append(out, l)
	}
	if inCode {
		out = append(out, "```")
	}
	return strings.Trim(strings.Join(out, "\n"), "\n")
}

// summary is the first sentence of a comment, on one line.
func summary(c string) string {
	para, _, _ := strings.Cut(c, "\n\n")
	para = strings.Join(strings.Fields(para), " ")
	if i := strings.Index(para, ". "); i >= 0 {
		return para[:i+1]
	}
	return para
}
