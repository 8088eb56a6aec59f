// Package services assembles each Agora service from its packages and the
// platform: it loads the service's typed configuration (variables
// AGORA_<SERVICE>_*), opens its infrastructure (host.Infra) and builds its
// parts — HTTP edge, consumers, periodic jobs, outbox relay and inbox
// janitor. It is the one place every process form gets a service from:
// `agora serve` and `agora run` run the parts as lifecycle components, the
// Lambda bootstrap drives them one invocation at a time.
package services

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/getkin/kin-openapi/openapi3"
	"go.uber.org/zap"

	"github.com/agoracommerce/agora/internal/platform/config"
	"github.com/agoracommerce/agora/internal/platform/consumer"
	"github.com/agoracommerce/agora/internal/platform/host"
	"github.com/agoracommerce/agora/internal/platform/httpserver"
	"github.com/agoracommerce/agora/internal/platform/lifecycle"
	"github.com/agoracommerce/agora/internal/platform/problem"
)

// ErrUnknownService is returned for a name that is not one of Names.
var ErrUnknownService = errors.New("unknown service")

// inboxJanitorInterval is how often the services that dedupe through the
// inbox purge its old entries.
const inboxJanitorInterval = time.Hour

// definition is a service's typed configuration (a struct embedding
// host.Config) that knows how to build the service's parts once the
// infrastructure is open.
type definition interface {
	Host() host.Config
	parts(ctx context.Context, in *host.Infra, prefix string) (Parts, error)
}

// checker is implemented by configurations with rules across variables;
// check runs after loading and before any infrastructure is opened.
type checker interface {
	check(prefix string) error
}

func definitions() map[string]func() definition {
	return map[string]func() definition{
		"cart":         func() definition { return &cartConfig{} },
		"catalog":      func() definition { return &catalogConfig{} },
		"inventory":    func() definition { return &inventoryConfig{} },
		"notification": func() definition { return &notificationConfig{} },
		"orderhistory": func() definition { return &orderhistoryConfig{} },
		"ordering":     func() definition { return &orderingConfig{} },
		"payment":      func() definition { return &paymentConfig{} },
		"shipping":     func() definition { return &shippingConfig{} },
	}
}

// Names returns the services, sorted.
func Names() []string {
	var names []string
	for name := range definitions() {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// Known reports whether name is one of Names.
func Known(name string) bool { return slices.Contains(Names(), name) }

// Prefix returns the prefix of a service's variables, e.g. AGORA_CATALOG.
func Prefix(name string) string { return "AGORA_" + strings.ToUpper(name) }

// Variables returns the names (without the prefix) of the variables a
// service reads besides the common ones of host.Config, sorted; nil for an
// unknown service.
func Variables(name string) []string {
	newDef, ok := definitions()[name]
	if !ok {
		return nil
	}
	common := config.Redacted(host.Config{})
	var vars []string
	for v := range config.Redacted(newDef()) {
		if _, ok := common[v]; !ok {
			vars = append(vars, v)
		}
	}
	sort.Strings(vars)
	return vars
}

// Parts is what a service is made of, independent of how it runs.
type Parts struct {
	// HTTP is the service's HTTP edge.
	HTTP host.HTTP
	// Consumers are the service's consumer groups (group, topics, handler).
	Consumers []consumer.Config
	// Jobs are the service's periodic rounds.
	Jobs []Job
	// Relay is whether the service publishes through its outbox.
	Relay bool
	// InboxJanitor is how often old inbox entries are purged; 0 when the
	// service dedupes without the inbox.
	InboxJanitor time.Duration
}

// Job is one of a service's periodic rounds, such as expiring carts.
type Job struct {
	Name     string
	Interval time.Duration
	Round    func(ctx context.Context) error
}

// Components returns the parts as the lifecycle components of a
// long-running process, in the order they start: outbox relay, inbox
// janitor, jobs, consumers and, last, the HTTP server (intake stops
// first). The HTTP server serves on in.Listener, or listens on
// Config.HTTPAddr. On error nothing is left listening.
func (p Parts) Components(in *host.Infra) (components []lifecycle.Component, err error) {
	if p.Relay {
		components = append(components, in.Relay())
	}
	if p.InboxJanitor > 0 {
		if janitor := in.InboxJanitor(p.InboxJanitor); janitor != nil {
			components = append(components, janitor)
		}
	}
	for _, j := range p.Jobs {
		name := j.Name
		components = append(components, lifecycle.Every(in.Service+"-"+name, j.Interval, j.Round, func(err error) {
			in.Logger.Warn(name+" failed", zap.Error(err))
		}))
	}
	// Listen before the consumers connect, so that a taken address leaves
	// no consumer client behind.
	ln := in.Listener
	if ln == nil {
		if ln, err = net.Listen("tcp", in.Config.HTTPAddr); err != nil {
			return nil, fmt.Errorf("listen on %s: %w", in.Config.HTTPAddr, err)
		}
		defer func() {
			if err != nil {
				_ = ln.Close()
			}
		}()
	}
	web, _, err := in.HTTPServer(p.HTTP, ln)
	if err != nil {
		return nil, err
	}
	for _, c := range p.Consumers {
		member, err := in.Consumer(c)
		if err != nil {
			return nil, err
		}
		components = append(components, member)
	}
	return append(components, web), nil
}

// An Option changes how Open opens a service.
type Option func(*options)

type options struct {
	listener net.Listener
	host     []host.Option
}

// WithAWSConfig gives the service's AWS clients awsCfg (see
// host.WithAWSConfig).
func WithAWSConfig(awsCfg aws.Config) Option {
	return func(o *options) { o.host = append(o.host, host.WithAWSConfig(awsCfg)) }
}

// WithListener makes the service's HTTP server serve on ln instead of
// listening on its HTTP_ADDR (agora run puts every service on a loopback
// port it chose).
func WithListener(ln net.Listener) Option {
	return func(o *options) { o.listener = ln }
}

// Open loads the configuration of the service name through env (Prefix
// defaults to Prefix(name); Resolver to a lazy AWS resolver, so values may
// be secretsmanager: or ssm: references), opens its infrastructure and
// builds its parts. The error names the bad variable; on error Open closes
// what it opened. The caller closes the returned infrastructure after the
// parts stopped.
func Open(ctx context.Context, name string, env config.Options, opts ...Option) (in *host.Infra, p Parts, err error) {
	newDef, ok := definitions()[name]
	if !ok {
		return nil, Parts{}, fmt.Errorf("%w %q (services: %s)", ErrUnknownService, name, strings.Join(Names(), ", "))
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if env.Prefix == "" {
		env.Prefix = Prefix(name)
	}
	if env.Resolver == nil {
		env.Resolver = config.NewLazyAWSResolver(nil)
	}
	def := newDef()
	if err := config.Load(ctx, def, env); err != nil {
		return nil, Parts{}, err
	}
	if c, ok := def.(checker); ok {
		if err := c.check(env.Prefix); err != nil {
			return nil, Parts{}, err
		}
	}
	if in, err = host.Open(ctx, name, def.Host(), o.host...); err != nil {
		return nil, Parts{}, err
	}
	if o.listener != nil {
		in.Listener = o.listener
	}
	if p, err = def.parts(ctx, in, env.Prefix); err != nil {
		return nil, Parts{}, errors.Join(fmt.Errorf("%s: %w", name, err), in.Close(context.WithoutCancel(ctx)))
	}
	return in, p, nil
}

// Run runs the service name as a long-running process (agora serve): it
// opens it as Open does, runs its components until ctx ends, stops them in
// reverse order and closes the infrastructure.
func Run(ctx context.Context, name string, env config.Options, opts ...Option) (err error) {
	in, p, err := Open(ctx, name, env, opts...)
	if err != nil {
		return err
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		err = errors.Join(err, in.Close(closeCtx))
	}()
	components, err := p.Components(in)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	runner, err := lifecycle.New(lifecycle.Config{ShutdownTimeout: in.Config.ShutdownTimeout, Logger: in.Logger})
	if err != nil {
		return err
	}
	if err := runner.Add(components...); err != nil {
		return err
	}
	in.Logger.Info("service starting", zap.String("service", name), zap.String("http_addr", in.Config.HTTPAddr),
		zap.Object("config", config.Loggable(in.Config)))
	return runner.Run(ctx)
}

// edge assembles a service's HTTP edge from its generated document, its
// problem mapping and its route mounting.
func edge(document func() (*openapi3.T, error), problems func() (*problem.Mapper, error), mount func(*httpserver.Server)) (host.HTTP, error) {
	doc, err := document()
	if err != nil {
		return host.HTTP{}, err
	}
	mapper, err := problems()
	if err != nil {
		return host.HTTP{}, err
	}
	return host.HTTP{Document: doc, Problems: mapper, Mount: mount}, nil
}

// sqlOnly refuses a DynamoDB store for the services whose state is
// relational (ordering and payment keep the saga and their ledgers in
// PostgreSQL or SQLite), before anything is opened.
func sqlOnly(service, databaseURL, prefix string) error {
	if _, dynamo, _ := host.DynamoTable(databaseURL); dynamo {
		return fmt.Errorf("%s_DATABASE_URL: the %s service keeps its state in PostgreSQL or SQLite, not DynamoDB", prefix, service)
	}
	return nil
}
