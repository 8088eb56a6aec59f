package saga_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	protos "github.com/agoracommerce/agora/api/proto"
	// The event types the test decodes.
	_ "github.com/agoracommerce/agora/gen/proto/agora/cart/v1"
	_ "github.com/agoracommerce/agora/gen/proto/agora/catalog/v1"
	_ "github.com/agoracommerce/agora/gen/proto/agora/inventory/v1"
	_ "github.com/agoracommerce/agora/gen/proto/agora/notification/v1"
	_ "github.com/agoracommerce/agora/gen/proto/agora/ordering/v1"
	_ "github.com/agoracommerce/agora/gen/proto/agora/payment/v1"
	_ "github.com/agoracommerce/agora/gen/proto/agora/shipping/v1"
	"github.com/agoracommerce/agora/internal/platform/auth/devissuer"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/schemaregistry"
	"github.com/agoracommerce/agora/internal/platform/schemaregistry/sqlstore"
	"github.com/agoracommerce/agora/internal/testenv"
)

// The topics of the platform, without the run's prefix.
var topics = []string{
	"catalog.products.v1",
	"inventory.stock.v1",
	"cart.carts.v1",
	"ordering.orders.v1",
	"payment.payments.v1",
	"shipping.shipments.v1",
	"notification.messages.v1",
}

// serviceOrder is the order the services start in: producers a consumer
// needs first, ordering (whose cart client needs the cart's URL) after
// the cart.
var serviceOrder = []string{"catalog", "inventory", "cart", "payment", "shipping", "ordering", "notification", "orderhistory"}

// platform is every Agora service running as its own `agora serve`
// process against the test environment's Kafka and PostgreSQL (one
// database per service), with topics and consumer groups under a prefix of
// their own, an embedded schema registry and the development issuer.
type platform struct {
	t        *testing.T
	bin      string
	dir      string
	prefix   string
	brokers  []string
	registry string
	issuer   *devissuer.Issuer
	codec    *events.Codec
	admin    *kadm.Client

	mu    sync.Mutex
	procs map[string]*process
	urls  map[string]string
	envs  map[string][]string
}

// process is one running service.
type process struct {
	cmd  *exec.Cmd
	log  string
	done chan error
}

func startPlatform(t *testing.T, extra map[string]map[string]string) *platform {
	t.Helper()
	p := &platform{
		t: t, dir: t.TempDir(), brokers: testenv.KafkaBrokers(t),
		prefix: "saga-" + randomID(t) + ".",
		procs:  map[string]*process{}, urls: map[string]string{}, envs: map[string][]string{},
	}
	pgURL := testenv.PostgresURL(t)
	p.bin = buildAgora(t)
	p.startRegistry()
	p.startIssuer()
	p.createTopics()
	p.registerSchemas()

	for _, name := range serviceOrder {
		addr := freeAddr(t)
		p.urls[name] = "http://" + addr
		env := map[string]string{
			"DATABASE_URL":         createDatabase(t, pgURL, strings.TrimSuffix(p.prefix, ".")+"_"+name),
			"KAFKA_BROKERS":        strings.Join(p.brokers, ","),
			"KAFKA_TOPIC_PREFIX":   p.prefix,
			"SCHEMA_REGISTRY_URL":  p.registry,
			"SCHEMA_AUTO_REGISTER": "false",
			"AUTH_ISSUER":          p.issuer.IssuerURL(),
			"AUTH_JWKS_URL":        p.issuer.JWKSURL(),
			"HTTP_ADDR":            addr,
			"LOG_LEVEL":            "warn",
			"RELAY_MAX_POLL":       "100ms",
			"METRICS_EXPORTER":     "none",
		}
		for k, v := range extra[name] {
			env[k] = v
		}
		if name == "ordering" {
			env["CART_URL"] = p.urls["cart"]
		}
		vars := make([]string, 0, len(env))
		for k, v := range env {
			vars = append(vars, "AGORA_"+strings.ToUpper(name)+"_"+k+"="+v)
		}
		sort.Strings(vars)
		p.envs[name] = vars
		p.start(name)
	}
	for _, name := range serviceOrder {
		p.waitReady(name)
	}
	t.Cleanup(p.stopAll)
	return p
}

// buildAgora compiles cmd/agora into the test's temp dir.
func buildAgora(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	require.NoError(t, err, "the go tool is needed to build agora")
	bin := filepath.Join(t.TempDir(), "agora")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// #nosec G204 -- the go tool building this module's command.
	cmd := exec.CommandContext(ctx, goTool, "build", "-o", bin, "github.com/agoracommerce/agora/cmd/agora")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build agora: %s", out)
	return bin
}

func (p *platform) startRegistry() {
	t := p.t
	store, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(p.dir, "registry.db"))
	require.NoError(t, err)
	srv, err := schemaregistry.NewServer(store)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-served)
		_ = store.Close()
	})
	p.registry = "http://" + ln.Addr().String()
	cl, err := sr.NewClient(sr.URLs(p.registry))
	require.NoError(t, err)
	p.codec, err = events.NewCodec(events.CodecConfig{Registry: cl, Sources: protos.FS})
	require.NoError(t, err)
}

func (p *platform) startIssuer() {
	t := p.t
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	iss, err := devissuer.New(devissuer.Config{Mode: "local", DataDir: p.dir, Issuer: "http://" + ln.Addr().String()})
	require.NoError(t, err)
	srv := &http.Server{Handler: iss.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	p.issuer = iss
}

func (p *platform) createTopics() {
	t := p.t
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.brokers...))
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	p.admin = kadm.NewClient(cl)
	names := make([]string, len(topics))
	for i, topic := range topics {
		names[i] = p.prefix + topic
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := p.admin.CreateTopics(ctx, 3, 1, nil, names...)
	require.NoError(t, err)
	for _, r := range res {
		require.NoError(t, r.Err, "create topic %s", r.Topic)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		list, err := p.admin.ListTopics(ctx)
		if err != nil {
			return
		}
		var mine []string
		for _, name := range list.Names() {
			if strings.HasPrefix(name, p.prefix) {
				mine = append(mine, name)
			}
		}
		_, _ = p.admin.DeleteTopics(ctx, mine...)
	})
}

// registerSchemas registers every topic's schema the way a deployment
// pipeline does; the services only look them up.
func (p *platform) registerSchemas() {
	out, err := p.agora(nil, "schemas", "register", "--registry", p.registry)
	require.NoError(p.t, err, "agora schemas register: %s", out)
}

// agora runs the binary with args and returns its output.
func (p *platform) agora(env []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// #nosec G204 -- the binary built by this test.
	cmd := exec.CommandContext(ctx, p.bin, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// start runs `agora serve name` in the background.
func (p *platform) start(name string) {
	t := p.t
	logPath := filepath.Join(p.dir, name+".log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600) // #nosec G304 -- the test's temp dir.
	require.NoError(t, err)
	// #nosec G204 -- the binary built by this test.
	cmd := exec.Command(p.bin, "serve", name)
	cmd.Env = append(os.Environ(), p.envs[name]...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	require.NoError(t, cmd.Start(), "start %s", name)
	proc := &process{cmd: cmd, log: logPath, done: make(chan error, 1)}
	go func() {
		proc.done <- cmd.Wait()
		_ = logFile.Close()
	}()
	p.mu.Lock()
	p.procs[name] = proc
	p.mu.Unlock()
}

// stop ends a service gracefully (SIGTERM) and waits for it.
func (p *platform) stop(name string) {
	p.mu.Lock()
	proc := p.procs[name]
	delete(p.procs, name)
	p.mu.Unlock()
	if proc == nil {
		return
	}
	_ = proc.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-proc.done:
		if err != nil && !p.t.Failed() {
			p.t.Errorf("%s stopped with %v:\n%s", name, err, tail(proc.log))
		}
	case <-time.After(30 * time.Second):
		_ = proc.cmd.Process.Kill()
		<-proc.done
		p.t.Errorf("%s did not stop within 30s of SIGTERM:\n%s", name, tail(proc.log))
	}
}

func (p *platform) stopAll() {
	for i := len(serviceOrder) - 1; i >= 0; i-- {
		p.stop(serviceOrder[i])
	}
	if p.t.Failed() {
		for _, name := range serviceOrder {
			p.t.Logf("--- %s log ---\n%s", name, tail(filepath.Join(p.dir, name+".log")))
		}
	}
}

func (p *platform) waitReady(name string) {
	t := p.t
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		proc := p.procs[name]
		p.mu.Unlock()
		select {
		case err := <-proc.done:
			t.Fatalf("%s exited before it was ready (%v):\n%s", name, err, tail(proc.log))
		default:
		}
		res, err := http.Get(p.urls[name] + "/readyz") // #nosec G107 -- a loopback URL of the test.
		if err == nil {
			_ = res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s not ready within 90s:\n%s", name, tail(filepath.Join(p.dir, name+".log")))
}

// token mints a development token for subject with scopes.
func (p *platform) token(subject string, scopes []string) string {
	tok, err := p.issuer.Mint(subject, scopes, time.Hour)
	require.NoError(p.t, err)
	return tok
}

// call sends a JSON request to a service and returns the status and body.
func (p *platform) call(service, method, path, token, body string, headers ...string) (int, map[string]any) {
	t := p.t
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, p.urls[service]+path, r)
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = res.Body.Close() }()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	var out map[string]any
	if len(bytes.TrimSpace(raw)) > 0 {
		require.NoError(t, json.Unmarshal(raw, &out), "%s %s%s: %s", method, service, path, raw)
	}
	return res.StatusCode, out
}

// must sends a request that has to answer want.
func (p *platform) must(want int, service, method, path, token, body string, headers ...string) map[string]any {
	p.t.Helper()
	status, out := p.call(service, method, path, token, body, headers...)
	require.Equal(p.t, want, status, "%s %s%s: %v", method, service, path, out)
	return out
}

// orderEvents reads every record of the run's topic (from the start) and
// returns, per order ID, the names of the events about it in topic order.
func (p *platform) orderEvents(topic string) map[string][]string {
	t := p.t
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name := p.prefix + topic
	ends, err := p.admin.ListEndOffsets(ctx, name)
	require.NoError(t, err)
	offsets := map[string]map[int32]kgo.Offset{name: {}}
	want := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		offsets[name][o.Partition] = kgo.NewOffset().AtStart()
		if o.Offset > 0 {
			want[o.Partition] = o.Offset
		}
	})
	out := map[string][]string{}
	if len(want) == 0 {
		return out
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.brokers...), kgo.ConsumePartitions(offsets))
	require.NoError(t, err)
	defer cl.Close()
	for len(want) > 0 {
		fetches := cl.PollFetches(ctx)
		require.NoError(t, ctx.Err(), "reading %s", name)
		fetches.EachError(func(topic string, partition int32, err error) {
			require.NoError(t, err, "fetch %s/%d", topic, partition)
		})
		fetches.EachRecord(func(r *kgo.Record) {
			if end, ok := want[r.Partition]; ok && r.Offset+1 >= end {
				delete(want, r.Partition)
			}
			env, err := p.codec.Decode(ctx, r.Value)
			require.NoError(t, err, "decode %s/%d@%d", r.Topic, r.Partition, r.Offset)
			event, orderID := eventOf(env)
			if orderID != "" {
				out[orderID] = append(out[orderID], event)
			}
		})
	}
	return out
}

// eventOf returns the name of the envelope's event and its order_id field,
// if it has one.
func eventOf(env proto.Message) (name, orderID string) {
	m := env.ProtoReflect()
	oneofs := m.Descriptor().Oneofs()
	for i := 0; i < oneofs.Len(); i++ {
		fd := m.WhichOneof(oneofs.Get(i))
		if fd == nil || fd.Message() == nil {
			continue
		}
		ev := m.Get(fd).Message()
		name = string(fd.Message().Name())
		if f := fd.Message().Fields().ByName(protoreflect.Name("order_id")); f != nil {
			orderID = ev.Get(f).String()
		}
		return name, orderID
	}
	return "", ""
}

func createDatabase(t *testing.T, adminURL, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, adminURL)
	require.NoError(t, err)
	defer func() { _ = conn.Close(context.Background()) }()
	ident := pgx.Identifier{strings.ReplaceAll(name, "-", "_")}.Sanitize()
	_, err = conn.Exec(ctx, "CREATE DATABASE "+ident)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, adminURL)
		if err != nil {
			return
		}
		defer func() { _ = conn.Close(context.Background()) }()
		_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)")
	})
	u, err := url.Parse(adminURL)
	require.NoError(t, err)
	u.Path = "/" + strings.ReplaceAll(name, "-", "_")
	return u.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

func randomID(t *testing.T) string {
	t.Helper()
	b := make([]byte, 4)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

// tail returns the last lines of a log file.
func tail(path string) string {
	raw, err := os.ReadFile(path) // #nosec G304 -- the test's own log.
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
	if len(lines) > 60 {
		lines = lines[len(lines)-60:]
	}
	return strings.Join(lines, "\n")
}

var errTimeout = errors.New("timed out")

// eventually polls fn until it returns nil or the timeout passes, and
// returns the last error.
func eventually(timeout time.Duration, fn func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := fn()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w after %s: %w", errTimeout, timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
