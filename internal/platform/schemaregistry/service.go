package schemaregistry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/agoracommerce/agora/internal/platform/fault"
	"github.com/agoracommerce/agora/internal/platform/schemaregistry/protocompat"
)

const (
	// maxReferenceDepth bounds how deep references may nest.
	maxReferenceDepth = 32
	// maxReferences bounds how many schemas one schema may pull in.
	maxReferences = 256
	// maxRegisterAttempts bounds the retries when concurrent registrations
	// under one subject keep overtaking each other.
	maxRegisterAttempts = 16
)

// registry holds the rules of the API on top of a Store: compiling,
// fingerprinting and compatibility checking. The HTTP layer only decodes
// and encodes.
type registry struct {
	store        Store
	defaultLevel Compatibility
}

// schemaInput is a schema as a client submits it.
type schemaInput struct {
	Type       string
	Text       string
	References []Reference
}

// compiledSchema is a schema with its references resolved to concrete
// versions and its fingerprint computed.
type compiledSchema struct {
	schema *protocompat.Schema
	refs   []Reference
	fp     string
}

func invalidSchema(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errInvalidSchema, fmt.Sprintf(format, args...))
}

// compile validates the input, resolves its references through the store
// and compiles it.
func (r *registry) compile(ctx context.Context, in schemaInput) (*compiledSchema, error) {
	switch t := strings.ToUpper(in.Type); t {
	case SchemaTypeProtobuf:
	case "", "AVRO", "JSON":
		if t == "" {
			t = "AVRO (the default when schemaType is absent)"
		}
		return nil, invalidSchema("schema type %s is not supported by Agora's embedded registry: register Protobuf schemas with schemaType PROTOBUF", t)
	default:
		return nil, invalidSchema("unknown schema type %q", in.Type)
	}
	deps := map[string]string{}
	refs, err := r.resolveRefs(ctx, in.References, deps, 0)
	if err != nil {
		return nil, err
	}
	s, err := protocompat.Compile(ctx, in.Text, deps)
	if err != nil {
		if errors.Is(err, protocompat.ErrInvalid) {
			return nil, fmt.Errorf("%w: %w", errInvalidSchema, err)
		}
		return nil, err
	}
	fp, err := s.Fingerprint()
	if err != nil {
		return nil, err
	}
	return &compiledSchema{schema: s, refs: refs, fp: fingerprint(fp, refs)}, nil
}

// fingerprint combines the compiled schema's fingerprint with its
// references: the same text importing other versions is another schema.
func fingerprint(schemaFP string, refs []Reference) string {
	sorted := append([]Reference(nil), refs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	h := sha256.New()
	h.Write([]byte(SchemaTypeProtobuf + "\n" + schemaFP + "\n"))
	for _, ref := range sorted {
		fmt.Fprintf(h, "%q %q %d\n", ref.Name, ref.Subject, ref.Version)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// resolveRefs loads the text of every reference (and of their own
// references) into deps and returns refs with "latest" replaced by the
// concrete version.
func (r *registry) resolveRefs(ctx context.Context, refs []Reference, deps map[string]string, depth int) ([]Reference, error) {
	if depth > maxReferenceDepth {
		return nil, invalidSchema("references nest deeper than %d levels", maxReferenceDepth)
	}
	out := make([]Reference, 0, len(refs))
	for _, ref := range refs {
		if ref.Name == "" || ref.Subject == "" {
			return nil, invalidSchema("a reference needs a name and a subject")
		}
		if ref.Version != LatestVersion && ref.Version < 1 {
			return nil, invalidSchema("reference %q has invalid version %d", ref.Name, ref.Version)
		}
		v, err := r.store.Version(ctx, ref.Subject, ref.Version, false)
		if errors.Is(err, ErrSubjectNotFound) || errors.Is(err, ErrVersionNotFound) {
			return nil, invalidSchema("reference %q: subject %q version %d is not registered", ref.Name, ref.Subject, ref.Version)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, Reference{Name: ref.Name, Subject: ref.Subject, Version: v.Version})
		if prev, seen := deps[ref.Name]; seen {
			if prev != v.Schema.Text {
				return nil, invalidSchema("reference %q names two different schemas", ref.Name)
			}
			continue
		}
		if len(deps) >= maxReferences {
			return nil, invalidSchema("more than %d references", maxReferences)
		}
		deps[ref.Name] = v.Schema.Text
		if _, err := r.resolveRefs(ctx, v.Schema.References, deps, depth+1); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// compileStored compiles a schema that is already registered.
func (r *registry) compileStored(ctx context.Context, s Schema) (*compiledSchema, error) {
	c, err := r.compile(ctx, schemaInput{Type: s.Type, Text: s.Text, References: s.References})
	if err != nil {
		return nil, fmt.Errorf("compile registered schema %d: %w", s.ID, err)
	}
	return c, nil
}

// level is the compatibility level in force for subject.
func (r *registry) level(ctx context.Context, subject string) (Compatibility, error) {
	for _, scope := range []string{subject, ""} {
		c, err := r.store.Compatibility(ctx, scope)
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, ErrConfigNotFound) {
			return "", err
		}
	}
	return r.defaultLevel, nil
}

// register adds the schema to subject unless it is already there, and
// returns its ID.
func (r *registry) register(ctx context.Context, subject string, in schemaInput) (int, error) {
	c, err := r.compile(ctx, in)
	if err != nil {
		return 0, err
	}
	for range maxRegisterAttempts {
		existing, err := r.store.LookupSchema(ctx, subject, c.fp, false)
		if err == nil {
			return existing.Schema.ID, nil
		}
		if !errors.Is(err, ErrSubjectNotFound) && !errors.Is(err, ErrSchemaNotFound) {
			return 0, err
		}
		live, err := r.liveVersions(ctx, subject)
		if err != nil {
			return 0, err
		}
		level, err := r.level(ctx, subject)
		if err != nil {
			return 0, err
		}
		targets := live
		if !level.transitive() && len(live) > 0 {
			targets = live[len(live)-1:]
		}
		msgs, err := r.check(ctx, c, subject, targets, level)
		if err != nil {
			return 0, err
		}
		if len(msgs) > 0 {
			return 0, fmt.Errorf("%w: schema being registered is incompatible with an earlier schema for subject %q (compatibility %s): %s",
				errIncompatible, subject, level, strings.Join(msgs, "; "))
		}
		expect := 0
		if len(live) > 0 {
			expect = live[len(live)-1]
		}
		v, _, err := r.store.CreateVersion(ctx, subject, Schema{
			Type:        SchemaTypeProtobuf,
			Text:        in.Text,
			References:  c.refs,
			Fingerprint: c.fp,
		}, expect)
		if errors.Is(err, ErrConflict) {
			continue
		}
		if err != nil {
			return 0, err
		}
		return v.Schema.ID, nil
	}
	return 0, fault.Retryable(fmt.Errorf("register under %q: %w after %d attempts", subject, ErrConflict, maxRegisterAttempts))
}

func (r *registry) liveVersions(ctx context.Context, subject string) ([]int, error) {
	vs, err := r.store.Versions(ctx, subject, false)
	if errors.Is(err, ErrSubjectNotFound) {
		return nil, nil
	}
	return vs, err
}

// check compares c with each target version of subject in the directions
// level asks for, and returns one message per incompatibility.
func (r *registry) check(ctx context.Context, c *compiledSchema, subject string, targets []int, level Compatibility) ([]string, error) {
	if level == CompatNone {
		return nil, nil
	}
	var msgs []string
	for _, version := range targets {
		v, err := r.store.Version(ctx, subject, version, false)
		if err != nil {
			return nil, err
		}
		old, err := r.compileStored(ctx, v.Schema)
		if err != nil {
			return nil, err
		}
		if level.backward() {
			for _, d := range protocompat.Check(c.schema, old.schema) {
				msgs = append(msgs, fmt.Sprintf("%s (the new schema cannot read data written with version %d)", d, version))
			}
		}
		if level.forward() {
			for _, d := range protocompat.Check(old.schema, c.schema) {
				msgs = append(msgs, fmt.Sprintf("%s (version %d cannot read data written with the new schema)", d, version))
			}
		}
	}
	return msgs, nil
}

// checkCompatibility answers the compatibility endpoint: against one
// version, or against every live version when version is "".
func (r *registry) checkCompatibility(ctx context.Context, subject, version string, in schemaInput) ([]string, error) {
	c, err := r.compile(ctx, in)
	if err != nil {
		return nil, err
	}
	level, err := r.level(ctx, subject)
	if err != nil {
		return nil, err
	}
	var targets []int
	if version == "" {
		if targets, err = r.liveVersions(ctx, subject); err != nil {
			return nil, err
		}
	} else {
		n, err := parseVersion(version)
		if err != nil {
			return nil, err
		}
		v, err := r.store.Version(ctx, subject, n, false)
		if err != nil {
			return nil, err
		}
		targets = []int{v.Version}
	}
	return r.check(ctx, c, subject, targets, level)
}

// lookup finds the version of subject that holds the submitted schema.
func (r *registry) lookup(ctx context.Context, subject string, in schemaInput, includeDeleted bool) (SubjectVersion, error) {
	c, err := r.compile(ctx, in)
	if err != nil {
		return SubjectVersion{}, err
	}
	return r.store.LookupSchema(ctx, subject, c.fp, includeDeleted)
}

// parseVersion accepts a positive version number, "latest" or -1.
func parseVersion(s string) (int, error) {
	if s == "latest" {
		return LatestVersion, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n == 0 || n < LatestVersion {
		return 0, fmt.Errorf("%w: %q: the version must be a positive integer, \"latest\" or -1", errInvalidVersion, s)
	}
	return n, nil
}
