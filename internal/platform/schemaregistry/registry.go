// Package schemaregistry is Agora's embedded schema registry: the part of
// the Confluent Schema Registry REST API that Kafka serializers and
// registry clients use, served from inside the process in local mode so
// that producers and consumers register and resolve Protobuf schemas
// exactly as they do against Confluent in production.
//
// It stores schemas through the Store port (SQLite or PostgreSQL adapters
// live in the sqlstore subpackage), parses Protobuf with protocompile and
// enforces the compatibility levels NONE, BACKWARD, FORWARD, FULL and their
// transitive variants with the rules of the protocompat subpackage.
//
// What it serves, and what it does not:
//
//   - schema type PROTOBUF only; AVRO (the default when schemaType is
//     absent) and JSON are rejected with 42201;
//   - GET /schemas/ids/{id} honours format=serialized (the base64
//     FileDescriptorProto, as Confluent does for Protobuf); any other format
//     returns the schema text as registered;
//   - the mode is always READWRITE; IMPORT mode (registering with an
//     explicit id or version) is refused with 42205;
//   - schema contexts, metadata and rule sets are not supported; metadata
//     and rule sets in a request are ignored.
package schemaregistry

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// SchemaTypeProtobuf is the only schema type the registry accepts.
const SchemaTypeProtobuf = "PROTOBUF"

// LatestVersion asks a Store for the newest version of a subject.
const LatestVersion = -1

// Reference points from a schema to another registered schema: the import
// path Name resolves to the text of Subject at Version.
type Reference struct {
	Name    string `json:"name"`
	Subject string `json:"subject"`
	Version int    `json:"version"`
}

// Schema is a registered schema. ID is the registry-wide identifier; the
// Fingerprint identifies its meaning (the compiled schema plus its
// references), so that equal schemas share one ID.
type Schema struct {
	ID          int
	Type        string
	Text        string
	References  []Reference
	Fingerprint string
}

// SubjectVersion is one version of a subject and the schema it holds.
type SubjectVersion struct {
	Subject string
	Version int
	Deleted bool
	Schema  Schema
}

// Errors the Store returns and the HTTP API maps to Confluent's codes.
var (
	ErrSubjectNotFound       = errors.New("subject not found")
	ErrVersionNotFound       = errors.New("version not found")
	ErrSchemaNotFound        = errors.New("schema not found")
	ErrSubjectSoftDeleted    = errors.New("subject was soft deleted")
	ErrSubjectNotSoftDeleted = errors.New("subject was not soft deleted first")
	ErrVersionSoftDeleted    = errors.New("version was soft deleted")
	ErrVersionNotSoftDeleted = errors.New("version was not soft deleted first")
	ErrConfigNotFound        = errors.New("no compatibility level configured")
	ErrReferenceExists       = errors.New("schema version is referenced by another schema")
	ErrConflict              = errors.New("concurrent change to the subject")
	ErrInvalidCompatibility  = errors.New("invalid compatibility level")
	errInvalidVersion        = errors.New("invalid version")
	errInvalidSchema         = errors.New("invalid schema")
	errIncompatible          = errors.New("schema is incompatible")
	errOperationNotPermitted = errors.New("operation not permitted")
	errSubjectNotConfigured  = errors.New("subject has no compatibility level configured")
)

// Store keeps subjects, versions, schemas and compatibility levels. All
// methods are safe for concurrent use, also by several processes sharing
// one database. Errors other than the sentinels above are store failures.
type Store interface {
	// CreateVersion adds s as the next version of subject, in one
	// transaction. If a live version of subject already holds a schema with
	// s.Fingerprint, that version is returned with created false. Otherwise
	// the subject's latest live version must be expectLatest (0 for none),
	// or ErrConflict comes back and the caller re-checks compatibility and
	// tries again; ErrConflict also reports a lost race for the version
	// number. A schema already registered under any subject keeps its ID.
	CreateVersion(ctx context.Context, subject string, s Schema, expectLatest int) (v SubjectVersion, created bool, err error)
	// SchemaByID returns the schema with the given ID or ErrSchemaNotFound.
	SchemaByID(ctx context.Context, id int) (Schema, error)
	// SchemaUsages lists the subject versions holding schema id, ordered by
	// subject and version (ErrSchemaNotFound for an unknown id).
	SchemaUsages(ctx context.Context, id int, includeDeleted bool) ([]SubjectVersion, error)
	// LookupSchema finds the version of subject holding the schema with
	// fingerprint: ErrSubjectNotFound or ErrSchemaNotFound otherwise.
	LookupSchema(ctx context.Context, subject, fingerprint string, includeDeleted bool) (SubjectVersion, error)
	// Subjects lists subject names in order.
	Subjects(ctx context.Context, includeDeleted bool) ([]string, error)
	// Versions lists a subject's version numbers in order, or
	// ErrSubjectNotFound.
	Versions(ctx context.Context, subject string, includeDeleted bool) ([]int, error)
	// Version returns one version (LatestVersion for the newest), or
	// ErrSubjectNotFound / ErrVersionNotFound.
	Version(ctx context.Context, subject string, version int, includeDeleted bool) (SubjectVersion, error)
	// DeleteSubject soft-deletes every live version of subject, or with
	// permanent removes a subject whose versions are all soft-deleted, and
	// returns the version numbers affected. Errors: ErrSubjectNotFound,
	// ErrSubjectSoftDeleted, ErrSubjectNotSoftDeleted, ErrReferenceExists.
	DeleteSubject(ctx context.Context, subject string, permanent bool) ([]int, error)
	// DeleteVersion soft-deletes one version (LatestVersion for the newest
	// live one), or with permanent removes a soft-deleted one, and returns
	// its number. Errors: ErrSubjectNotFound, ErrVersionNotFound,
	// ErrVersionSoftDeleted, ErrVersionNotSoftDeleted, ErrReferenceExists.
	DeleteVersion(ctx context.Context, subject string, version int, permanent bool) (int, error)
	// Compatibility returns the level configured for subject, or for the
	// whole registry when subject is "", or ErrConfigNotFound.
	Compatibility(ctx context.Context, subject string) (Compatibility, error)
	// SetCompatibility configures the level of subject ("" for global).
	SetCompatibility(ctx context.Context, subject string, level Compatibility) error
	// DeleteCompatibility removes the level of subject ("" for global) and
	// returns it, or ErrConfigNotFound.
	DeleteCompatibility(ctx context.Context, subject string) (Compatibility, error)
}

// Compatibility is a registry compatibility level.
type Compatibility string

// The compatibility levels, Confluent's names. BACKWARD: the new schema
// reads data written with the previous one; FORWARD: the previous schema
// reads data written with the new one; FULL: both. Transitive levels check
// against every earlier live version instead of the latest only.
const (
	CompatNone               Compatibility = "NONE"
	CompatBackward           Compatibility = "BACKWARD"
	CompatBackwardTransitive Compatibility = "BACKWARD_TRANSITIVE"
	CompatForward            Compatibility = "FORWARD"
	CompatForwardTransitive  Compatibility = "FORWARD_TRANSITIVE"
	CompatFull               Compatibility = "FULL"
	CompatFullTransitive     Compatibility = "FULL_TRANSITIVE"
)

// ParseCompatibility accepts a level name in any letter case.
func ParseCompatibility(s string) (Compatibility, error) {
	c := Compatibility(strings.ToUpper(strings.TrimSpace(s)))
	switch c {
	case CompatNone, CompatBackward, CompatBackwardTransitive, CompatForward,
		CompatForwardTransitive, CompatFull, CompatFullTransitive:
		return c, nil
	}
	return "", fmt.Errorf("%w: %q (use NONE, BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL or FULL_TRANSITIVE)", ErrInvalidCompatibility, s)
}

func (c Compatibility) backward() bool {
	return c == CompatBackward || c == CompatBackwardTransitive || c == CompatFull || c == CompatFullTransitive
}

func (c Compatibility) forward() bool {
	return c == CompatForward || c == CompatForwardTransitive || c == CompatFull || c == CompatFullTransitive
}

func (c Compatibility) transitive() bool {
	return c == CompatBackwardTransitive || c == CompatForwardTransitive || c == CompatFullTransitive
}
