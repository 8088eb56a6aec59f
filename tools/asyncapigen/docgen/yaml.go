package docgen

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The documents are built as yaml.Node trees so that every mapping keeps the
// order it is written in (a readable AsyncAPI layout), and mappings built
// from sets are sorted by key: the output is the same on every run.

// field is one key of a mapping; a nil value leaves the key out.
type field struct {
	key   string
	value *yaml.Node
}

// object is a mapping of fields in the given order.
func object(fields ...field) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for _, f := range fields {
		if f.value == nil {
			continue
		}
		n.Content = append(n.Content, str(f.key), f.value)
	}
	return n
}

// sorted is a mapping of m's entries sorted by key.
func sorted(m map[string]*yaml.Node) *yaml.Node {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fields := make([]field, 0, len(keys))
	for _, k := range keys {
		fields = append(fields, field{k, m[k]})
	}
	return object(fields...)
}

// list is a sequence.
func list(items ...*yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: items}
}

// strs is a sequence of strings in flow style ([a, b]).
func strs(items ...string) *yaml.Node {
	n := list()
	n.Style = yaml.FlowStyle
	for _, s := range items {
		n.Content = append(n.Content, str(s))
	}
	return n
}

// str is a string; a multi-line string is written as a literal block.
func str(s string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	if strings.Contains(s, "\n") {
		n.Style = yaml.LiteralStyle
	}
	return n
}

// text is an optional string: nil (left out) when s is empty.
func text(s string) *yaml.Node {
	if s == "" {
		return nil
	}
	return str(s)
}

// integer is an integer.
func integer(i int64) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(i, 10)}
}

// ref is a Reference Object to a JSON pointer in the same document.
func ref(pointer string) *yaml.Node {
	return object(field{"$ref", str(pointer)})
}

// pointer is the JSON pointer ("#/a/b") of the path, escaped per RFC 6901.
func pointer(path ...string) string {
	var b strings.Builder
	b.WriteString("#")
	for _, p := range path {
		b.WriteString("/")
		b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(p))
	}
	return b.String()
}

// encode writes root as one YAML document under a heading comment.
func encode(root *yaml.Node, heading string) ([]byte, error) {
	doc := &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}, HeadComment: heading}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encode YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode YAML: %w", err)
	}
	return buf.Bytes(), nil
}
