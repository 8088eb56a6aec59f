package config

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/agoracommerce/agora/internal/platform/fault"
)

// Reference schemes understood by AWSResolver.
const (
	SchemeSecretsManager = "secretsmanager:"
	SchemeSSM            = "ssm:"
)

// AWSResolver resolves "secretsmanager:<secret-id>[#<json-key>]" from AWS
// Secrets Manager (the secret's string; with a key, that key of the JSON
// object it holds) and "ssm:<name>" from SSM Parameter Store, decrypting
// SecureString parameters. Each secret or parameter is fetched once per
// resolver, so several keys of one secret cost one call. It is safe for
// concurrent use.
type AWSResolver struct {
	sm  *secretsmanager.Client
	ssm *ssm.Client

	mu    sync.Mutex
	cache map[string]string
}

var _ Resolver = (*AWSResolver)(nil)

// NewAWSResolver returns a resolver using cfg for both services.
func NewAWSResolver(cfg aws.Config) *AWSResolver {
	return &AWSResolver{
		sm:    secretsmanager.NewFromConfig(cfg),
		ssm:   ssm.NewFromConfig(cfg),
		cache: map[string]string{},
	}
}

// Resolve returns the value ref points to. A missing secret, parameter or
// JSON key is a permanent error; other failures keep the SDK's nature
// (timeouts are retryable).
func (r *AWSResolver) Resolve(ctx context.Context, ref string) (string, error) {
	switch {
	case strings.HasPrefix(ref, SchemeSecretsManager):
		id, key, hasKey := strings.Cut(strings.TrimPrefix(ref, SchemeSecretsManager), "#")
		if id == "" || (hasKey && key == "") {
			return "", fault.Permanent(fmt.Errorf("malformed reference %q", ref))
		}
		raw, err := r.fetch(ctx, SchemeSecretsManager+id, func(ctx context.Context) (string, error) { return r.secret(ctx, id) })
		if err != nil || !hasKey {
			return raw, err
		}
		return jsonKey(raw, id, key)
	case strings.HasPrefix(ref, SchemeSSM):
		name := strings.TrimPrefix(ref, SchemeSSM)
		if name == "" {
			return "", fault.Permanent(fmt.Errorf("malformed reference %q", ref))
		}
		return r.fetch(ctx, ref, func(ctx context.Context) (string, error) { return r.parameter(ctx, name) })
	}
	return "", fault.Permanent(fmt.Errorf("unknown reference scheme in %q", ref))
}

func (r *AWSResolver) fetch(ctx context.Context, k string, get func(context.Context) (string, error)) (string, error) {
	r.mu.Lock()
	v, ok := r.cache[k]
	r.mu.Unlock()
	if ok {
		return v, nil
	}
	v, err := get(ctx)
	if err != nil {
		return "", err
	}
	r.mu.Lock()
	r.cache[k] = v
	r.mu.Unlock()
	return v, nil
}

func (r *AWSResolver) secret(ctx context.Context, id string) (string, error) {
	out, err := r.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	if err != nil {
		var nf *smtypes.ResourceNotFoundException
		if errors.As(err, &nf) {
			return "", fault.Permanent(fmt.Errorf("secret %s not found: %w", id, err))
		}
		return "", fmt.Errorf("get secret %s: %w", id, err)
	}
	switch {
	case out.SecretString != nil:
		return *out.SecretString, nil
	case out.SecretBinary != nil:
		return string(out.SecretBinary), nil
	}
	return "", fault.Permanent(fmt.Errorf("secret %s has no value", id))
}

func (r *AWSResolver) parameter(ctx context.Context, name string) (string, error) {
	out, err := r.ssm.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
	if err != nil {
		var nf *ssmtypes.ParameterNotFound
		if errors.As(err, &nf) {
			return "", fault.Permanent(fmt.Errorf("parameter %s not found: %w", name, err))
		}
		return "", fmt.Errorf("get parameter %s: %w", name, err)
	}
	if out.Parameter == nil || out.Parameter.Value == nil {
		return "", fault.Permanent(fmt.Errorf("parameter %s has no value", name))
	}
	return *out.Parameter.Value, nil
}

// jsonKey extracts one key of a JSON object secret; the secret's content
// never appears in errors.
func jsonKey(raw, id, key string) (string, error) {
	var obj map[string]any
	if err := json.Unmarshal([]byte(raw), &obj); err != nil {
		return "", fault.Permanent(fmt.Errorf("secret %s is not a JSON object", id))
	}
	v, ok := obj[key]
	if !ok {
		return "", fault.Permanent(fmt.Errorf("secret %s has no key %q", id, key))
	}
	switch t := v.(type) {
	case string:
		return t, nil
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64), nil
	case bool:
		return strconv.FormatBool(t), nil
	}
	return "", fault.Permanent(fmt.Errorf("secret %s key %q is not a string, number or boolean", id, key))
}
