package docgen_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/agoracommerce/agora/api"
	"github.com/agoracommerce/agora/api/asyncapi"
	protos "github.com/agoracommerce/agora/api/proto"
	"github.com/agoracommerce/agora/tools/asyncapigen/docgen"
)

func mustSchemas(tb testing.TB, fsys fs.FS) *docgen.Schemas {
	tb.Helper()
	s, err := docgen.Compile(context.Background(), fsys)
	require.NoError(tb, err)
	return s
}

func mustTopics(tb testing.TB) []api.Topic {
	tb.Helper()
	topics, err := api.Topics()
	require.NoError(tb, err)
	return topics
}

func mustParse(tb testing.TB, doc []byte) map[string]any {
	tb.Helper()
	var out map[string]any
	require.NoError(tb, yaml.Unmarshal(doc, &out))
	return out
}

// committed returns the checked-in documents by file name.
func committed(tb testing.TB) map[string][]byte {
	tb.Helper()
	names, err := fs.Glob(asyncapi.FS, "*.yaml")
	require.NoError(tb, err)
	out := map[string][]byte{}
	for _, name := range names {
		b, err := fs.ReadFile(asyncapi.FS, name)
		require.NoError(tb, err)
		out[name] = b
	}
	return out
}

func TestCommittedDocumentsAreCurrent(t *testing.T) {
	t.Parallel()
	docs, err := docgen.Generate(mustTopics(t), mustSchemas(t, protos.FS))
	require.NoError(t, err)
	have := committed(t)
	require.ElementsMatch(t, keys(docs), keys(have), "api/asyncapi is stale: run make generate")
	for name, doc := range docs {
		if diff := cmp.Diff(string(doc), string(have[name])); diff != "" {
			t.Errorf("api/asyncapi/%s is stale, run make generate (-generated +committed):\n%s", name, diff)
		}
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	t.Parallel()
	topics := mustTopics(t)
	first, err := docgen.Generate(topics, mustSchemas(t, protos.FS))
	require.NoError(t, err)
	for range 3 {
		again, err := docgen.Generate(topics, mustSchemas(t, protos.FS))
		require.NoError(t, err)
		require.Equal(t, first, again)
	}
}

func TestEveryTopicIsDocumentedByItsOwner(t *testing.T) {
	t.Parallel()
	docs := committed(t)
	owners := map[string]bool{}
	for _, topic := range mustTopics(t) {
		owners[docgen.FileName(topic.Owner)] = true
		doc, ok := docs[docgen.FileName(topic.Owner)]
		require.True(t, ok, "no document for %s, the owner of %s", topic.Owner, topic.Name)
		parsed := mustParse(t, doc)
		ch := lookup(t, parsed, "channels", topic.Name)
		require.Equal(t, topic.Name, lookup(t, ch, "address"))
		require.Equal(t, topic.Partitions, lookup(t, ch, "bindings", "kafka", "partitions"))
		require.Equal(t, int(topic.RetentionMillis()), lookup(t, ch, "bindings", "kafka", "topicConfiguration", "retention.ms"))

		ops := lookup(t, parsed, "operations").(map[string]any)
		send := ops[topic.Name+".send"]
		require.NotNil(t, send, "%s: no send operation", topic.Name)
		require.Equal(t, "send", lookup(t, send, "action"))
		for _, c := range topic.Consumers {
			op := ops[topic.Name+".receive."+c.Group]
			require.NotNil(t, op, "%s: no receive operation of %s", topic.Name, c.Group)
			require.Equal(t, "receive", lookup(t, op, "action"))
			require.Equal(t, []any{c.Group}, lookup(t, op, "bindings", "kafka", "groupId", "enum"))
			var got []string
			for _, m := range lookup(t, op, "messages").([]any) {
				got = append(got, path.Base(m.(map[string]any)["$ref"].(string)))
			}
			require.Equal(t, c.Events, got, "%s: events of %s", topic.Name, c.Group)
		}
	}
	require.ElementsMatch(t, keys(owners), keys(docs), "one document per owning service, no more")
}

func TestCommittedDocumentsAreValidAsyncAPI(t *testing.T) {
	t.Parallel()
	for name, doc := range committed(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			validate(t, mustParse(t, doc))
		})
	}
}

func TestEveryEventOfAnEnvelopeIsAMessage(t *testing.T) {
	t.Parallel()
	schemas := mustSchemas(t, protos.FS)
	docs := committed(t)
	for _, topic := range mustTopics(t) {
		env, err := schemas.Message(topic.Envelope)
		require.NoError(t, err)
		parsed := mustParse(t, docs[docgen.FileName(topic.Owner)])
		msgs := lookup(t, parsed, "channels", topic.Name, "messages").(map[string]any)
		require.Len(t, msgs, env.Fields().Len(), topic.Name)
		for i := 0; i < env.Fields().Len(); i++ {
			f := env.Fields().Get(i)
			name := string(f.Message().Name())
			require.Contains(t, msgs, name, topic.Name)
			msg := resolve(t, parsed, msgs[name].(map[string]any)["$ref"].(string))
			require.Equal(t, "application/protobuf", lookup(t, msg, "contentType"))
			require.Equal(t, []any{f.JSONName()}, lookup(t, msg, "payload", "required"))
			require.Equal(t, "#/components/schemas/"+string(f.Message().FullName()),
				lookup(t, msg, "payload", "properties", f.JSONName(), "$ref"))
			require.Equal(t, string(f.Message().FullName()), lookup(t, msg, "examples", "0", "headers", "ce_type"))
			require.Equal(t, "agora/"+topic.Owner, lookup(t, msg, "examples", "0", "headers", "ce_source"))
		}
	}
}

func TestGenerateRejectsAnUnknownEnvelope(t *testing.T) {
	t.Parallel()
	topics := mustTopics(t)
	topics[0].Envelope = "agora.nothing.v1.NothingEvent"
	_, err := docgen.Generate(topics, mustSchemas(t, protos.FS))
	require.ErrorIs(t, err, docgen.ErrUnknownMessage)
	require.ErrorContains(t, err, "topic "+topics[0].Name+": envelope: agora.nothing.v1.NothingEvent is not a message of the Protobuf schemas")
}

func TestGenerateRejectsAConsumerOfAnUnknownEvent(t *testing.T) {
	t.Parallel()
	topics := mustTopics(t)
	topics[0].Consumers[0].Events = []string{"NoSuchEvent"}
	_, err := docgen.Generate(topics, mustSchemas(t, protos.FS))
	require.ErrorContains(t, err, fmt.Sprintf("consumer group %s names event NoSuchEvent", topics[0].Consumers[0].Group))
}

func TestGenerateRejectsAMessageThatIsNoEnvelope(t *testing.T) {
	t.Parallel()
	schemas := mustSchemas(t, os.DirFS("testdata/proto"))
	for _, name := range []string{"acme.widgets.v1.NotAnEnvelope", "acme.widgets.v1.Mixed", "acme.widgets.v1.Colour"} {
		topic := widgetTopic()
		topic.Envelope = name
		_, err := docgen.Generate([]api.Topic{topic}, schemas)
		require.Error(t, err, name)
		require.ErrorContains(t, err, "topic acme.widgets.v1", name)
	}
}

func TestCompileFailsOnBrokenSchemas(t *testing.T) {
	t.Parallel()
	_, err := docgen.Compile(context.Background(), os.DirFS(t.TempDir()))
	require.ErrorContains(t, err, "no .proto files")

	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "broken.proto"), []byte(`syntax = "proto3"; message {`), 0o600))
	_, err = docgen.Compile(context.Background(), os.DirFS(dir))
	require.ErrorContains(t, err, "compile the Protobuf schemas")
}

func widgetTopic() api.Topic {
	return api.Topic{
		Name: "acme.widgets.v1", Owner: "acme", Envelope: "acme.widgets.v1.WidgetEvent", Key: "widget ID",
		Partitions: 2, Retention: api.RetainForever, Description: "Widgets. Every one of them.",
		Consumers: []api.Consumer{{Group: "shop.widgets", Service: "shop", Events: []string{"WidgetMelted"}, Description: "Sells them."}},
	}
}

func TestSchemasFollowTheProto3JSONMapping(t *testing.T) {
	t.Parallel()
	docs, err := docgen.Generate([]api.Topic{widgetTopic()}, mustSchemas(t, os.DirFS("testdata/proto")))
	require.NoError(t, err)
	require.Len(t, docs, 1)
	doc := mustParse(t, docs["acme.yaml"])
	validate(t, doc)

	colour := "Colour is what a widget looks like.\n\n`acme.widgets.v1.Colour` values:\n\n" +
		"- `COLOUR_UNSPECIFIED`\n- `COLOUR_BLUE`: Like the sky.\n- `COLOUR_RED`"
	colours := []any{"COLOUR_UNSPECIFIED", "COLOUR_BLUE", "COLOUR_RED"}
	part := map[string]any{"$ref": "#/components/schemas/acme.widgets.v1.Part"}
	str := map[string]any{"type": "string"}
	want := map[string]any{
		"type":        "object",
		"title":       "WidgetMade",
		"description": "WidgetMade: a widget left the line. It is new.\n\nAt most one of `factory`, `workshop` is set (oneof `origin`).",
		"properties": map[string]any{
			"widgetId":    map[string]any{"type": "string", "description": "The widget's ID."},
			"serial":      map[string]any{"type": "string", "format": "int64", "pattern": "^-?[0-9]+$"},
			"big":         map[string]any{"type": "string", "format": "uint64", "pattern": "^[0-9]+$"},
			"small":       map[string]any{"type": "integer", "format": "int32"},
			"count":       map[string]any{"type": "integer", "format": "uint32", "minimum": 0},
			"weight":      map[string]any{"type": "number", "format": "double"},
			"width":       map[string]any{"type": "number", "format": "float"},
			"shiny":       map[string]any{"type": "boolean"},
			"blob":        map[string]any{"type": "string", "contentEncoding": "base64"},
			"colour":      map[string]any{"type": "string", "enum": colours, "description": "What it looks like.\n\n" + colour},
			"colours":     map[string]any{"type": "array", "items": map[string]any{"type": "string", "enum": colours, "description": colour}},
			"mainPart":    map[string]any{"description": "The main part.", "allOf": []any{part}},
			"sparePart":   part,
			"parts":       map[string]any{"type": "array", "items": part},
			"partsByName": map[string]any{"type": "object", "additionalProperties": part},
			"labels":      map[string]any{"type": "object", "description": "The keys are int32 values written as strings.", "additionalProperties": str},
			"madeAt":      map[string]any{"type": "string", "format": "date-time"},
			"took":        map[string]any{"type": "string", "pattern": `^-?[0-9]+(\.[0-9]{1,9})?s$`},
			"factory":     str,
			"workshop":    str,
			"nickname":    str,
		},
	}
	if diff := cmp.Diff(want, lookup(t, doc, "components", "schemas", "acme.widgets.v1.WidgetMade")); diff != "" {
		t.Fatalf("WidgetMade schema (-want +got):\n%s", diff)
	}
	// Field order follows the .proto file.
	var order []string
	raw := mustNode(t, docs["acme.yaml"], "components", "schemas", "acme.widgets.v1.WidgetMade", "properties")
	for i := 0; i < len(raw.Content); i += 2 {
		order = append(order, raw.Content[i].Value)
	}
	require.Equal(t, []string{"widgetId", "serial", "big", "small", "count", "weight", "width", "shiny", "blob", "colour",
		"colours", "mainPart", "sparePart", "parts", "partsByName", "labels", "madeAt", "took", "factory", "workshop", "nickname"}, order)

	// The recursive Part is one component referring to itself; only
	// referenced messages become components.
	require.Equal(t, map[string]any{"type": "array", "description": "Nested parts.", "items": part},
		lookup(t, doc, "components", "schemas", "acme.widgets.v1.Part", "properties", "parts"))
	require.ElementsMatch(t, []string{"acme.widgets.v1.Part", "acme.widgets.v1.WidgetMade", "acme.widgets.v1.WidgetMelted"},
		keys(lookup(t, doc, "components", "schemas").(map[string]any)))

	// Messages, in the oneof's order, with the comments of the schemas.
	msg := lookup(t, doc, "components", "messages", "WidgetMade")
	require.Equal(t, "Widget made", lookup(t, msg, "title"))
	require.Equal(t, "WidgetMade: a widget left the line.", lookup(t, msg, "summary"))
	require.Contains(t, lookup(t, msg, "description"), "No Agora consumer group acts on it.")
	require.Contains(t, lookup(t, doc, "components", "messages", "WidgetMelted", "description"), "Acted on by `shop.widgets`.")
	channelMsgs := mustNode(t, docs["acme.yaml"], "channels", "acme.widgets.v1", "messages")
	require.Equal(t, "WidgetMade", channelMsgs.Content[0].Value)
	require.Equal(t, "WidgetMelted", channelMsgs.Content[2].Value)
	desc := lookup(t, doc, "channels", "acme.widgets.v1", "description").(string)
	require.Contains(t, desc, "```text\n  WidgetMade   a widget left the line\n  WidgetMelted it is gone\n```")
	require.Contains(t, desc, "Records are kept forever")
	require.Equal(t, "Widgets.", lookup(t, doc, "channels", "acme.widgets.v1", "summary"))

	// The record trait: key and Confluent framing.
	trait := lookup(t, doc, "components", "messageTraits", "AcmeWidgetsV1Record", "bindings", "kafka")
	require.Equal(t, "confluent", lookup(t, trait, "schemaIdPayloadEncoding"))
	require.Equal(t, "payload", lookup(t, trait, "schemaIdLocation"))
	require.Equal(t, "The record key: widget ID.", lookup(t, trait, "key", "description"))
}

func TestWriteDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	keep := filepath.Join(dir, "embed.go")
	require.NoError(t, os.WriteFile(keep, []byte("package x\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "gone.yaml"), []byte("old"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "same.yaml"), []byte("same"), 0o600))

	written, removed, err := docgen.WriteDir(dir, map[string][]byte{"same.yaml": []byte("same"), "new.yaml": []byte("new")})
	require.NoError(t, err)
	require.Equal(t, []string{"new.yaml"}, written)
	require.Equal(t, []string{"gone.yaml"}, removed)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	require.Equal(t, []string{"embed.go", "new.yaml", "same.yaml"}, names)

	written, removed, err = docgen.WriteDir(dir, map[string][]byte{"same.yaml": []byte("same"), "new.yaml": []byte("new")})
	require.NoError(t, err)
	require.Empty(t, written)
	require.Empty(t, removed)
	got, err := os.ReadFile(filepath.Join(dir, "new.yaml"))
	require.NoError(t, err)
	require.Equal(t, "new", string(got))

	_, _, err = docgen.WriteDir(dir, map[string][]byte{"../escape.yaml": []byte("x")})
	require.ErrorContains(t, err, "not a document file name")
}

// validate checks the structure of an AsyncAPI 3.0 document: the version,
// info, that every $ref resolves, that every channel's messages are
// messages with a payload, and that every operation names a channel and
// only messages of that channel.
func validate(t *testing.T, doc map[string]any) {
	t.Helper()
	require.Equal(t, "3.0.0", doc["asyncapi"])
	require.NotEmpty(t, lookup(t, doc, "info", "title"))
	require.NotEmpty(t, lookup(t, doc, "info", "version"))
	for _, server := range lookup(t, doc, "servers").(map[string]any) {
		require.NotEmpty(t, lookup(t, server, "host"))
		require.Contains(t, []any{"kafka", "kafka-secure"}, lookup(t, server, "protocol"))
	}
	refs := 0
	walk(doc, func(r string) {
		refs++
		resolve(t, doc, r)
	})
	require.Positive(t, refs)

	channels := lookup(t, doc, "channels").(map[string]any)
	require.NotEmpty(t, channels)
	for id, ch := range channels {
		require.NotEmpty(t, lookup(t, ch, "address"), id)
		msgs := lookup(t, ch, "messages").(map[string]any)
		require.NotEmpty(t, msgs, id)
		for name, m := range msgs {
			msg := deref(t, doc, m)
			require.Equal(t, name, lookup(t, msg, "name"), "channel %s", id)
			require.Equal(t, "object", lookup(t, msg, "payload", "type"))
			for _, trait := range lookup(t, msg, "traits").([]any) {
				deref(t, doc, trait)
			}
		}
	}
	ops := lookup(t, doc, "operations").(map[string]any)
	require.NotEmpty(t, ops)
	for id, op := range ops {
		require.Contains(t, []any{"send", "receive"}, lookup(t, op, "action"), id)
		chRef := lookup(t, op, "channel", "$ref").(string)
		require.True(t, strings.HasPrefix(chRef, "#/channels/"), id)
		deref(t, doc, lookup(t, op, "channel"))
		msgs := lookup(t, op, "messages").([]any)
		require.NotEmpty(t, msgs, id)
		for _, m := range msgs {
			r := m.(map[string]any)["$ref"].(string)
			require.True(t, strings.HasPrefix(r, chRef+"/messages/"), "operation %s: message %s is not of its channel", id, r)
		}
	}
	// Every component schema is an object with properties.
	for name, s := range lookup(t, doc, "components", "schemas").(map[string]any) {
		require.Equal(t, "object", lookup(t, s, "type"), name)
	}
}

// walk calls fn with every $ref of v.
func walk(v any, fn func(string)) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if s, ok := e.(string); ok && k == "$ref" {
				fn(s)
				continue
			}
			walk(e, fn)
		}
	case []any:
		for _, e := range v {
			walk(e, fn)
		}
	}
}

// deref resolves a Reference Object (or returns v when it is none).
func deref(t *testing.T, doc map[string]any, v any) any {
	t.Helper()
	if m, ok := v.(map[string]any); ok {
		if r, ok := m["$ref"].(string); ok {
			return resolve(t, doc, r)
		}
	}
	return v
}

// resolve follows a local JSON pointer.
func resolve(t *testing.T, doc map[string]any, ref string) any {
	t.Helper()
	require.True(t, strings.HasPrefix(ref, "#/"), "$ref %s is not local", ref)
	var parts []string
	for _, p := range strings.Split(ref[2:], "/") {
		parts = append(parts, strings.NewReplacer("~1", "/", "~0", "~").Replace(p))
	}
	v, err := get(doc, parts...)
	require.NoError(t, err, "$ref %s does not resolve", ref)
	return v
}

func lookup(t *testing.T, v any, path ...string) any {
	t.Helper()
	out, err := get(v, path...)
	require.NoError(t, err)
	return out
}

func get(v any, path ...string) (any, error) {
	for i, p := range path {
		switch c := v.(type) {
		case map[string]any:
			next, ok := c[p]
			if !ok {
				return nil, fmt.Errorf("no %s", strings.Join(path[:i+1], "/"))
			}
			v = next
		case []any:
			n, err := strconv.Atoi(p)
			if err != nil || n < 0 || n >= len(c) {
				return nil, fmt.Errorf("no %s", strings.Join(path[:i+1], "/"))
			}
			v = c[n]
		default:
			return nil, errors.New("not a container at " + strings.Join(path[:i], "/"))
		}
	}
	return v, nil
}

// mustNode returns the mapping node at path of a document, to check order.
func mustNode(tb testing.TB, doc []byte, path ...string) *yaml.Node {
	tb.Helper()
	var root yaml.Node
	require.NoError(tb, yaml.Unmarshal(doc, &root))
	n := root.Content[0]
	for _, p := range path {
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == p {
				next = n.Content[i+1]
			}
		}
		require.NotNil(tb, next, "no %s", p)
		n = next
	}
	return n
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
