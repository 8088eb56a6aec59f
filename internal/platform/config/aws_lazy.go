package config

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/agoracommerce/agora/internal/platform/fault"
)

// LazyAWSResolver is an AWSResolver built on first use, so that a process
// whose configuration holds no reference never loads AWS credentials. Safe
// for concurrent use.
type LazyAWSResolver struct {
	load func(ctx context.Context) (aws.Config, error)

	mu sync.Mutex
	r  *AWSResolver
}

var _ Resolver = (*LazyAWSResolver)(nil)

// NewLazyAWSResolver returns a resolver whose AWS configuration comes from
// load, or, when load is nil, from the SDK's default chain: AWS_REGION,
// the credentials of the task role or the environment, and AWS_ENDPOINT_URL
// (or AWS_ENDPOINT_URL_SECRETS_MANAGER and AWS_ENDPOINT_URL_SSM) for an
// emulator.
func NewLazyAWSResolver(load func(ctx context.Context) (aws.Config, error)) *LazyAWSResolver {
	if load == nil {
		load = func(ctx context.Context) (aws.Config, error) { return awsconfig.LoadDefaultConfig(ctx) }
	}
	return &LazyAWSResolver{load: load}
}

// Resolve implements Resolver; see AWSResolver.Resolve. Failing to load the
// AWS configuration is retryable.
func (l *LazyAWSResolver) Resolve(ctx context.Context, ref string) (string, error) {
	l.mu.Lock()
	r := l.r
	if r == nil {
		cfg, err := l.load(ctx)
		if err != nil {
			l.mu.Unlock()
			return "", fault.Retryable(fmt.Errorf("aws configuration for %q: %w", ref, err))
		}
		r = NewAWSResolver(cfg)
		l.r = r
	}
	l.mu.Unlock()
	return r.Resolve(ctx, ref)
}
