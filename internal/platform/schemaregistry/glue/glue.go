// Package glue is the AWS Glue Schema Registry adapter of the event codec:
// it looks up and registers the schema versions of topics' envelopes (one
// Glue schema per topic, data format PROTOBUF, compatibility BACKWARD by
// default) and reads the definitions of schema versions for consumers. It
// implements events.GlueRegistry over the AWS SDK's Glue client.
package glue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsglue "github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/glue/types"
	"github.com/aws/smithy-go"
	"github.com/google/uuid"

	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/fault"
)

// API is the part of the Glue client the Registry calls; *awsglue.Client
// implements it.
type API interface {
	CreateRegistry(ctx context.Context, in *awsglue.CreateRegistryInput, opts ...func(*awsglue.Options)) (*awsglue.CreateRegistryOutput, error)
	CreateSchema(ctx context.Context, in *awsglue.CreateSchemaInput, opts ...func(*awsglue.Options)) (*awsglue.CreateSchemaOutput, error)
	RegisterSchemaVersion(ctx context.Context, in *awsglue.RegisterSchemaVersionInput, opts ...func(*awsglue.Options)) (*awsglue.RegisterSchemaVersionOutput, error)
	GetSchemaVersion(ctx context.Context, in *awsglue.GetSchemaVersionInput, opts ...func(*awsglue.Options)) (*awsglue.GetSchemaVersionOutput, error)
	GetSchemaByDefinition(ctx context.Context, in *awsglue.GetSchemaByDefinitionInput, opts ...func(*awsglue.Options)) (*awsglue.GetSchemaByDefinitionOutput, error)
}

var _ API = (*awsglue.Client)(nil)

// Config configures a Registry.
type Config struct {
	// RegistryName is the Glue registry holding the schemas. Required.
	RegistryName string
	// Compatibility of the schemas the Registry creates; BACKWARD when
	// empty.
	Compatibility types.Compatibility
	// PollInterval and PollTimeout bound the wait for a registered version
	// to leave PENDING (Glue checks compatibility asynchronously); 200ms
	// and 30s when zero.
	PollInterval time.Duration
	PollTimeout  time.Duration
}

// Registry is the Glue Schema Registry client of the codec. Safe for
// concurrent use.
type Registry struct {
	api API
	cfg Config
}

var _ events.GlueRegistry = (*Registry)(nil)

// New returns a Registry over api.
func New(api API, cfg Config) (*Registry, error) {
	if api == nil {
		return nil, errors.New("glue: a Glue client is required")
	}
	if cfg.RegistryName == "" {
		return nil, errors.New("glue: a registry name is required")
	}
	if cfg.Compatibility == "" {
		cfg.Compatibility = types.CompatibilityBackward
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 200 * time.Millisecond
	}
	if cfg.PollTimeout <= 0 {
		cfg.PollTimeout = 30 * time.Second
	}
	return &Registry{api: api, cfg: cfg}, nil
}

// NewFromConfig returns a Registry using a Glue client built from awsCfg.
func NewFromConfig(awsCfg aws.Config, cfg Config, opts ...func(*awsglue.Options)) (*Registry, error) {
	return New(awsglue.NewFromConfig(awsCfg, opts...), cfg)
}

// EnsureRegistry creates the registry unless it exists.
func (r *Registry) EnsureRegistry(ctx context.Context) error {
	_, err := r.api.CreateRegistry(ctx, &awsglue.CreateRegistryInput{
		RegistryName: aws.String(r.cfg.RegistryName),
		Description:  aws.String("Agora event schemas"),
	})
	var exists *types.AlreadyExistsException
	if err != nil && !errors.As(err, &exists) {
		return classify(fmt.Errorf("glue: create registry %s: %w", r.cfg.RegistryName, err))
	}
	return nil
}

// SchemaVersion implements events.GlueRegistry.
func (r *Registry) SchemaVersion(ctx context.Context, name, definition string, register bool) (events.GlueSchemaVersion, error) {
	id := &types.SchemaId{RegistryName: aws.String(r.cfg.RegistryName), SchemaName: aws.String(name)}
	got, err := r.api.GetSchemaByDefinition(ctx, &awsglue.GetSchemaByDefinitionInput{SchemaId: id, SchemaDefinition: aws.String(definition)})
	if err == nil {
		return r.await(ctx, aws.ToString(got.SchemaVersionId), 0, got.Status)
	}
	if !notFound(err) {
		return events.GlueSchemaVersion{}, classify(fmt.Errorf("glue: look up schema %s: %w", name, err))
	}
	if !register {
		return events.GlueSchemaVersion{}, fault.Permanent(fmt.Errorf("%w: no version of Glue schema %s/%s has this definition: %w", events.ErrNoSchema, r.cfg.RegistryName, name, err))
	}
	created, err := r.create(ctx, name, definition)
	if err == nil {
		return r.await(ctx, aws.ToString(created.SchemaVersionId), 1, created.SchemaVersionStatus)
	}
	var exists *types.AlreadyExistsException
	if !errors.As(err, &exists) {
		return events.GlueSchemaVersion{}, classify(fmt.Errorf("glue: create schema %s: %w", name, err))
	}
	// The schema exists with other versions: this definition is a new one.
	reg, err := r.api.RegisterSchemaVersion(ctx, &awsglue.RegisterSchemaVersionInput{SchemaId: id, SchemaDefinition: aws.String(definition)})
	if err != nil {
		return events.GlueSchemaVersion{}, classify(fmt.Errorf("glue: register a version of schema %s: %w", name, err))
	}
	return r.await(ctx, aws.ToString(reg.SchemaVersionId), aws.ToInt64(reg.VersionNumber), reg.Status)
}

// create creates schema name with definition as its first version; when the
// registry does not exist yet it is created first.
func (r *Registry) create(ctx context.Context, name, definition string) (*awsglue.CreateSchemaOutput, error) {
	in := &awsglue.CreateSchemaInput{
		RegistryId:       &types.RegistryId{RegistryName: aws.String(r.cfg.RegistryName)},
		SchemaName:       aws.String(name),
		DataFormat:       types.DataFormatProtobuf,
		Compatibility:    r.cfg.Compatibility,
		SchemaDefinition: aws.String(definition),
		Description:      aws.String("Record values of the Kafka topic " + name),
	}
	out, err := r.api.CreateSchema(ctx, in)
	if err != nil && notFound(err) {
		if err := r.EnsureRegistry(ctx); err != nil {
			return nil, err
		}
		out, err = r.api.CreateSchema(ctx, in)
	}
	return out, err
}

// await waits until the version id is AVAILABLE and returns it with its
// number (looked up when number is 0).
func (r *Registry) await(ctx context.Context, rawID string, number int64, status types.SchemaVersionStatus) (events.GlueSchemaVersion, error) {
	id, err := uuid.Parse(rawID)
	if err != nil {
		return events.GlueSchemaVersion{}, fault.Permanent(fmt.Errorf("glue: schema version ID %q: %w", rawID, err))
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.PollTimeout)
	defer cancel()
	for {
		switch status {
		case types.SchemaVersionStatusFailure:
			return events.GlueSchemaVersion{}, fault.Permanent(fmt.Errorf("glue: schema version %s failed registration (incompatible with the schema's compatibility mode?)", id))
		case types.SchemaVersionStatusDeleting:
			return events.GlueSchemaVersion{}, fault.Permanent(fmt.Errorf("%w: schema version %s is being deleted", events.ErrNoSchema, id))
		case types.SchemaVersionStatusAvailable:
			if number > 0 {
				return events.GlueSchemaVersion{ID: id, Number: number}, nil
			}
		}
		if status != types.SchemaVersionStatusAvailable { // PENDING
			select {
			case <-ctx.Done():
				return events.GlueSchemaVersion{}, fault.Retryable(fmt.Errorf("glue: schema version %s still pending: %w", id, ctx.Err()))
			case <-time.After(r.cfg.PollInterval):
			}
		}
		out, err := r.api.GetSchemaVersion(ctx, &awsglue.GetSchemaVersionInput{SchemaVersionId: aws.String(id.String())})
		if err != nil {
			return events.GlueSchemaVersion{}, classify(fmt.Errorf("glue: get schema version %s: %w", id, err))
		}
		status, number = out.Status, aws.ToInt64(out.VersionNumber)
	}
}

// Definition implements events.GlueRegistry.
func (r *Registry) Definition(ctx context.Context, id uuid.UUID) (string, error) {
	out, err := r.api.GetSchemaVersion(ctx, &awsglue.GetSchemaVersionInput{SchemaVersionId: aws.String(id.String())})
	if err != nil {
		if notFound(err) {
			return "", fault.Permanent(fmt.Errorf("%w %s: %w", events.ErrUnknownSchema, id, err))
		}
		return "", classify(fmt.Errorf("glue: get schema version %s: %w", id, err))
	}
	if out.DataFormat != "" && out.DataFormat != types.DataFormatProtobuf {
		return "", fault.Permanent(fmt.Errorf("%w: schema version %s is %s, not PROTOBUF", events.ErrUnknownSchema, id, out.DataFormat))
	}
	return aws.ToString(out.SchemaDefinition), nil
}

func notFound(err error) bool {
	var nf *types.EntityNotFoundException
	return errors.As(err, &nf)
}

// classify marks an error of the Glue API: a missing entity, invalid input
// and limits are permanent; throttling, server faults, timeouts, network
// failures and access denials (which an operator fixes without the record
// being at fault) are retryable.
func classify(err error) error {
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "EntityNotFoundException", "InvalidInputException", "ResourceNumberLimitExceededException", "AlreadyExistsException":
			return fault.Permanent(err)
		}
		if api.ErrorFault() == smithy.FaultClient && api.ErrorCode() != "ThrottlingException" && api.ErrorCode() != "AccessDeniedException" &&
			api.ErrorCode() != "ConcurrentModificationException" {
			return fault.Permanent(err)
		}
	}
	return fault.Retryable(err)
}
