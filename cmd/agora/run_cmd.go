package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/agoracommerce/agora/api"
	"github.com/agoracommerce/agora/api/asyncapi"
	openapispecs "github.com/agoracommerce/agora/api/openapi"
	"github.com/agoracommerce/agora/internal/platform/apidocs"
	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/auth/devissuer"
	"github.com/agoracommerce/agora/internal/platform/broker"
	"github.com/agoracommerce/agora/internal/platform/config"
	"github.com/agoracommerce/agora/internal/platform/gateway"
	"github.com/agoracommerce/agora/internal/platform/host"
	"github.com/agoracommerce/agora/internal/platform/lifecycle"
	"github.com/agoracommerce/agora/internal/platform/logging"
	"github.com/agoracommerce/agora/internal/platform/schemaregistry"
	"github.com/agoracommerce/agora/internal/platform/topics"
	"github.com/agoracommerce/agora/internal/services"
	"github.com/agoracommerce/agora/web"
)

// shopOptions are the settings of agora run. Every embedded part is
// replaced by a real one when its setting is given.
type shopOptions struct {
	Addr         string
	DataDir      string
	KafkaBrokers []string
	BrokerPort   int
	PostgresURL  string
	RegistryURL  string
	RegistryAddr string
	AuthIssuer   string
	AuthJWKSURL  string
	LogLevel     string
	PprofAddr    string
	Seed         bool
	Services     []string
}

func newRunCmd() *cobra.Command {
	var o shopOptions
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the whole shop in one process on embedded defaults",
		Long: `Run every Agora service in this one process: an embedded Kafka-protocol
broker, an embedded schema registry, a SQLite database per service and the
development token issuer, behind a gateway that routes /v1/... to each
service the way API Gateway does. Data lives in --data-dir; a restart keeps
every order, event and schema. Services still talk only through Kafka.

Each embedded part can be replaced by a real one: --kafka-brokers,
--postgres-url (one schema per service), --schema-registry-url and
--auth-issuer/--auth-jwks-url. Any service setting can still be given as
AGORA_<SERVICE>_<NAME> (see agora serve --help).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runShop(cmd.Context(), o, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Addr, "addr", envOr("AGORA_ADDR", ":8080"), "gateway listen address (AGORA_ADDR)")
	f.StringVar(&o.DataDir, "data-dir", envOr("AGORA_DATA_DIR", defaultDataDir), "data directory (AGORA_DATA_DIR)")
	f.StringSliceVar(&o.KafkaBrokers, "kafka-brokers", splitList(os.Getenv("AGORA_KAFKA_BROKERS")), "use this Kafka instead of the embedded broker (AGORA_KAFKA_BROKERS)")
	f.IntVar(&o.BrokerPort, "broker-port", 0, "port of the embedded broker on 127.0.0.1 (0 picks one)")
	f.StringVar(&o.PostgresURL, "postgres-url", os.Getenv("AGORA_POSTGRES_URL"), "use this PostgreSQL (a schema per service) instead of SQLite files (AGORA_POSTGRES_URL)")
	f.StringVar(&o.RegistryURL, "schema-registry-url", os.Getenv("AGORA_SCHEMA_REGISTRY_URL"), "use this schema registry instead of the embedded one (AGORA_SCHEMA_REGISTRY_URL)")
	f.StringVar(&o.RegistryAddr, "registry-addr", "127.0.0.1:0", "listen address of the embedded schema registry")
	f.StringVar(&o.AuthIssuer, "auth-issuer", os.Getenv("AGORA_AUTH_ISSUER"), "trust this OIDC issuer instead of the development issuer (AGORA_AUTH_ISSUER)")
	f.StringVar(&o.AuthJWKSURL, "auth-jwks-url", os.Getenv("AGORA_AUTH_JWKS_URL"), "the issuer's JWKS URL (AGORA_AUTH_JWKS_URL)")
	f.StringVar(&o.LogLevel, "log-level", envOr("AGORA_LOG_LEVEL", "warn"), "log level of the services (AGORA_LOG_LEVEL)")
	f.StringVar(&o.PprofAddr, "pprof-addr", "", "serve Go's profiling endpoints (/debug/pprof) on this loopback address, e.g. 127.0.0.1:6060")
	f.BoolVar(&o.Seed, "seed", true, "seed a demo catalog and stock when the catalog is empty")
	f.StringSliceVar(&o.Services, "services", nil, "run only these services (default: all)")
	return cmd
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// shop is a running agora run.
type shop struct {
	opts      shopOptions
	log       *zap.Logger
	baseURL   string // what users call, e.g. http://localhost:8080
	selfURL   string // the gateway on loopback, for the services
	brokers   []string
	registry  string
	issuer    *devissuer.Issuer
	runner    *lifecycle.Runner
	infras    []*host.Infra
	gateway   *gateway.Gateway
	closers   []func()
	startedAt time.Time
}

// runShop starts every part, seeds, prints the banner and runs until ctx
// ends; then it stops intake first and closes everything in reverse order.
func runShop(ctx context.Context, o shopOptions, out io.Writer) (err error) {
	s := &shop{opts: o, startedAt: time.Now()}
	if s.log, err = logging.New(logging.Config{Service: "agora", Level: o.LogLevel}); err != nil {
		return err
	}
	defer func() { _ = s.log.Sync() }()
	defer s.close()
	if err := os.MkdirAll(o.DataDir, 0o750); err != nil {
		return fmt.Errorf("run: data dir: %w", err)
	}
	if s.runner, err = lifecycle.New(lifecycle.Config{ShutdownTimeout: 30 * time.Second, Logger: s.log}); err != nil {
		return err
	}

	front, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return fmt.Errorf("run: gateway: listen on %s: %w", o.Addr, err)
	}
	port := front.Addr().(*net.TCPAddr).Port
	s.baseURL = fmt.Sprintf("http://localhost:%d", port)
	s.selfURL = fmt.Sprintf("http://127.0.0.1:%d", port)

	if err := s.startBroker(); err != nil {
		return err
	}
	if err := s.ensureTopics(ctx); err != nil {
		return err
	}
	if err := s.startRegistry(ctx); err != nil {
		return err
	}
	mounts, err := s.startIssuer()
	if err != nil {
		return err
	}
	docs, err := apidocs.Handler(apidocs.Config{OpenAPI: openapispecs.FS, AsyncAPI: asyncapi.FS, Assets: web.FS, Logger: s.log.Named("docs")})
	if err != nil {
		return fmt.Errorf("run: docs: %w", err)
	}
	mounts["/docs"] = docs
	routes, err := s.startServices(ctx)
	if err != nil {
		return err
	}
	if s.gateway, err = gateway.New(gateway.Config{Routes: routes, Mounts: mounts, Logger: s.log.Named("gateway")}); err != nil {
		return err
	}
	srv := &http.Server{Handler: s.gateway, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	if err := s.runner.Add(lifecycle.Func("gateway", func(ctx context.Context) error {
		return serveUntil(ctx, srv, front)
	}, nil)); err != nil {
		return err
	}

	if o.PprofAddr != "" {
		if err := s.startPprof(o.PprofAddr); err != nil {
			return err
		}
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- s.runner.Run(runCtx) }()

	if err := s.awaitReady(ctx, ran); err != nil {
		cancel()
		return errors.Join(err, <-ran)
	}
	ready := time.Since(s.startedAt)
	seeded, seedErr := s.seed(ctx)
	s.banner(out, ready, seeded, seedErr)
	return <-ran
}

// startPprof serves the runtime profiles on a loopback address only.
func (s *shop) startPprof(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("run: --pprof-addr: %w", err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("run: --pprof-addr %s: profiles are served on a loopback address only", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("run: --pprof-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	return s.runner.Add(lifecycle.Func("pprof", func(ctx context.Context) error { return serveUntil(ctx, srv, ln) }, nil))
}

// serveUntil serves srv on ln until ctx ends, then shuts it down.
func serveUntil(ctx context.Context, srv *http.Server, ln net.Listener) error {
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

func (s *shop) startBroker() error {
	if len(s.opts.KafkaBrokers) > 0 {
		s.brokers = s.opts.KafkaBrokers
		return nil
	}
	b, err := broker.Start(broker.Config{DataDir: filepath.Join(s.opts.DataDir, "kafka"), Port: s.opts.BrokerPort})
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	s.closers = append(s.closers, b.Close)
	s.brokers = b.Addrs()
	return nil
}

// ensureTopics applies the topics of api/topics.yaml (created with their
// partitions and retention when missing), so that consumers find them at
// once instead of waiting for a metadata refresh after the first produce.
func (s *shop) ensureTopics(ctx context.Context) error {
	decl, err := api.Topics()
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.brokers...))
	if err != nil {
		return fmt.Errorf("run: kafka: %w", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := topics.Apply(ctx, kadm.NewClient(cl), decl, topics.Options{}); err != nil {
		return fmt.Errorf("run: kafka: %w", err)
	}
	return nil
}

func (s *shop) startRegistry(ctx context.Context) error {
	if s.opts.RegistryURL != "" {
		s.registry = s.opts.RegistryURL
		return nil
	}
	store, err := openRegistryStore(ctx, "sqlite:"+filepath.Join(s.opts.DataDir, "registry.db"))
	if err != nil {
		return fmt.Errorf("run: schema registry: %w", err)
	}
	s.closers = append(s.closers, func() { _ = store.Close() })
	srv, err := schemaregistry.NewServer(store, schemaregistry.WithLogger(s.log.Named("registry")))
	if err != nil {
		return fmt.Errorf("run: schema registry: %w", err)
	}
	ln, err := net.Listen("tcp", s.opts.RegistryAddr)
	if err != nil {
		return fmt.Errorf("run: schema registry: listen on %s: %w", s.opts.RegistryAddr, err)
	}
	s.registry = "http://" + ln.Addr().String()
	return s.runner.Add(lifecycle.Func("schema-registry", func(ctx context.Context) error { return srv.Serve(ctx, ln) }, nil))
}

// startIssuer starts the development issuer, unless a real one is
// configured, and returns the gateway mounts that serve it.
func (s *shop) startIssuer() (map[string]http.Handler, error) {
	mounts := map[string]http.Handler{}
	if s.opts.AuthIssuer != "" {
		if s.opts.AuthJWKSURL == "" {
			return nil, errors.New("run: --auth-jwks-url (AGORA_AUTH_JWKS_URL) is required with --auth-issuer")
		}
		return mounts, nil
	}
	iss, err := devissuer.New(devissuer.Config{Mode: "local", DataDir: s.opts.DataDir, Issuer: s.baseURL})
	if err != nil {
		return nil, fmt.Errorf("run: development issuer: %w", err)
	}
	s.issuer = iss
	h := iss.Handler()
	mounts["/.well-known/"] = h
	mounts[devissuer.TokenPath] = h
	return mounts, nil
}

// serviceEnv returns the settings agora run gives a service, as the
// variables agora serve reads; a variable set in the environment wins.
func (s *shop) serviceEnv(ctx context.Context, name, addr string) (config.Options, error) {
	prefix := "AGORA_" + strings.ToUpper(name)
	vars := map[string]string{
		"KAFKA_BROKERS":        strings.Join(s.brokers, ","),
		"SCHEMA_REGISTRY_URL":  s.registry,
		"SCHEMA_AUTO_REGISTER": "true",
		"HTTP_ADDR":            addr,
		"LOG_LEVEL":            s.opts.LogLevel,
		"RELAY_MAX_POLL":       "200ms",
	}
	if s.opts.RegistryURL != "" {
		vars["SCHEMA_AUTO_REGISTER"] = "false"
	}
	if s.issuer != nil {
		vars["AUTH_ISSUER"] = s.issuer.IssuerURL()
		vars["AUTH_JWKS_URL"] = s.selfURL + devissuer.JWKSPath
	} else {
		vars["AUTH_ISSUER"] = s.opts.AuthIssuer
		vars["AUTH_JWKS_URL"] = s.opts.AuthJWKSURL
	}
	if s.opts.PostgresURL != "" {
		dbURL, err := postgresSchema(ctx, s.opts.PostgresURL, "agora_"+name)
		if err != nil {
			return config.Options{}, err
		}
		vars["DATABASE_URL"] = dbURL
	} else {
		vars["DATABASE_URL"] = "sqlite:" + filepath.Join(s.opts.DataDir, name+".db")
	}
	switch name {
	case "ordering":
		vars["CART_URL"] = s.selfURL
	case "shipping":
		// The simulated carrier moves a demo order along on its own.
		vars["CARRIER_PICKUP_AFTER"] = "5s"
		vars["CARRIER_DELIVER_AFTER"] = "10s"
	}
	return config.Options{Prefix: prefix, LookupEnv: func(key string) (string, bool) {
		if v, ok := os.LookupEnv(key); ok {
			return v, true
		}
		v, ok := vars[strings.TrimPrefix(key, prefix+"_")]
		return v, ok && strings.HasPrefix(key, prefix+"_")
	}}, nil
}

// postgresSchema creates schema in the database of base (if missing) and
// returns a URL whose connections use it.
func postgresSchema(ctx context.Context, base, schema string) (string, error) {
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", fmt.Errorf("run: postgres: %w", err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	if _, err := conn.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize()); err != nil {
		return "", fmt.Errorf("run: postgres: create schema %s: %w", schema, err)
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("run: postgres URL: %w", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// startServices builds every service on its own loopback listener and
// returns the gateway's routes to them, taken from their OpenAPI paths.
func (s *shop) startServices(ctx context.Context) ([]gateway.Route, error) {
	names := s.opts.Services
	if len(names) == 0 {
		names = services.Names()
	}
	var routes []gateway.Route
	for _, name := range names {
		if !services.Known(name) {
			return nil, fmt.Errorf("run: unknown service %q (services: %s)", name, strings.Join(services.Names(), ", "))
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("run: %s: %w", name, err)
		}
		env, err := s.serviceEnv(ctx, name, ln.Addr().String())
		if err != nil {
			_ = ln.Close()
			return nil, err
		}
		infra, parts, err := services.Open(ctx, name, env, services.WithListener(ln))
		if err != nil {
			_ = ln.Close()
			return nil, fmt.Errorf("run: %s: %w", name, err)
		}
		s.infras = append(s.infras, infra)
		components, err := parts.Components(infra)
		if err != nil {
			_ = ln.Close()
			return nil, fmt.Errorf("run: %s: %w", name, err)
		}
		if err := s.runner.Add(components...); err != nil {
			return nil, err
		}
		paths, err := specPaths(name)
		if err != nil {
			return nil, err
		}
		routes = append(routes, gateway.RoutesFromPaths(name, &url.URL{Scheme: "http", Host: ln.Addr().String()}, paths)...)
	}
	return routes, nil
}

// specPaths returns the paths of a service's OpenAPI document.
func specPaths(service string) ([]string, error) {
	raw, err := openapispecs.FS.ReadFile(service + ".v1.yaml")
	if err != nil {
		return nil, fmt.Errorf("run: %s has no OpenAPI document: %w", service, err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		return nil, fmt.Errorf("run: %s OpenAPI document: %w", service, err)
	}
	paths := doc.Paths.InMatchingOrder()
	sort.Strings(paths)
	return paths, nil
}

// awaitReady waits until every service answers /readyz through its
// loopback address.
func (s *shop) awaitReady(ctx context.Context, ran <-chan error) error {
	for {
		err := s.gateway.Ready(ctx)
		if err == nil {
			return nil
		}
		select {
		case rerr := <-ran:
			return fmt.Errorf("run: stopped before it was ready: %w", rerr)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Since(s.startedAt) > 2*time.Minute {
			return fmt.Errorf("run: not ready after 2 minutes: %w", err)
		}
	}
}

func (s *shop) seed(ctx context.Context) (int, error) {
	if !s.opts.Seed || s.issuer == nil || !s.runs("catalog") || !s.runs("inventory") {
		return 0, nil
	}
	tok, err := s.issuer.Mint("agora-seed", auth.AdminScopes(), 5*time.Minute)
	if err != nil {
		return 0, err
	}
	sd := &seeder{base: s.selfURL, token: tok, http: &http.Client{Timeout: 15 * time.Second}}
	return sd.seed(ctx)
}

func (s *shop) runs(name string) bool {
	if len(s.opts.Services) == 0 {
		return true
	}
	for _, n := range s.opts.Services {
		if n == name {
			return true
		}
	}
	return false
}

func (s *shop) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := len(s.infras) - 1; i >= 0; i-- {
		if err := s.infras[i].Close(ctx); err != nil {
			s.log.Warn("closing a service", zap.String("service", s.infras[i].Service), zap.Error(err))
		}
	}
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
}

// banner tells the user where everything is and how to place an order.
func (s *shop) banner(out io.Writer, ready time.Duration, seeded int, seedErr error) {
	b := &strings.Builder{}
	fmt.Fprintf(b, "\nAgora is running (ready in %s).\n\n", ready.Round(time.Millisecond))
	fmt.Fprintf(b, "  API gateway     %s/v1/...\n", s.baseURL)
	fmt.Fprintf(b, "  API docs        %s/docs\n", s.baseURL)
	fmt.Fprintf(b, "  Event docs      %s/docs/events\n", s.baseURL)
	fmt.Fprintf(b, "  Kafka           %s%s\n", strings.Join(s.brokers, ","), map[bool]string{true: " (embedded)", false: ""}[len(s.opts.KafkaBrokers) == 0])
	fmt.Fprintf(b, "  Schema registry %s\n", s.registry)
	if s.opts.PostgresURL != "" {
		fmt.Fprintf(b, "  Databases       PostgreSQL, one schema per service (agora_<service>)\n")
	} else {
		fmt.Fprintf(b, "  Databases       SQLite files in %s\n", s.opts.DataDir)
	}
	switch {
	case seedErr != nil:
		fmt.Fprintf(b, "  Demo data       NOT seeded: %v\n", seedErr)
	case seeded > 0:
		fmt.Fprintf(b, "  Demo data       seeded %d products with stock\n", seeded)
	}
	if s.issuer != nil {
		dataDir := s.opts.DataDir
		fmt.Fprintf(b, `
Tokens come from the development issuer (local use only):

  TOKEN=$(agora token --customer --data-dir %[2]s --issuer %[1]s)
  ADMIN=$(agora token --admin --data-dir %[2]s --issuer %[1]s)

Walk through a purchase:

  curl -s '%[1]s/v1/products?q=mug'
  CART=$(curl -s -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d '{"currency":"EUR"}' %[1]s/v1/carts | jq -r .id)
  curl -s -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d '{"product_id":"<a product id>","quantity":2}' %[1]s/v1/carts/$CART/lines
  curl -s -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -H "Idempotency-Key: checkout-$CART" -d '{"cart_id":"'$CART'","payment_token":"tok_approve",
    "email":"you@example.com","shipping_address":{"name":"Ada","line1":"Main St 1",
    "city":"Lisbon","postal_code":"1100-001","country":"PT"}}' %[1]s/v1/orders
  curl -s -H "Authorization: Bearer $TOKEN" %[1]s/v1/orders/<order id>
`, s.baseURL, dataDir)
	}
	fmt.Fprintf(b, "\nPress Ctrl-C to stop.\n")
	_, _ = io.WriteString(out, b.String())
}
