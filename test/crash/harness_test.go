package crash_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	protos "github.com/agoracommerce/agora/api/proto"
	commonv1 "github.com/agoracommerce/agora/gen/proto/agora/common/v1"
	orderingv1 "github.com/agoracommerce/agora/gen/proto/agora/ordering/v1"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/schemaregistry"
	"github.com/agoracommerce/agora/internal/platform/schemaregistry/sqlstore"
)

// envDatabaseURL is how the helper processes receive their database URL.
const envDatabaseURL = "AGORA_CRASH_DB_URL"

// buildProgram compiles the helper command under cmd/<name> into the test's
// temp dir and returns the binary's path.
func buildProgram(t *testing.T, name string) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	require.NoError(t, err, "the go tool is needed to build the crash test's processes")
	bin := filepath.Join(t.TempDir(), name)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// #nosec G204 -- the go tool building a package of this module.
	cmd := exec.CommandContext(ctx, goTool, "build", "-o", bin, "./cmd/"+name)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build %s: %s", name, out)
	return bin
}

// registry is the embedded Confluent-compatible schema registry, served on
// a loopback port for the test and its helper processes.
type registry struct {
	url   string
	codec *events.Codec
}

func startRegistry(t *testing.T) *registry {
	t.Helper()
	store, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "registry.db"))
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
	url := "http://" + ln.Addr().String()
	cl, err := sr.NewClient(sr.URLs(url))
	require.NoError(t, err)
	codec, err := events.NewCodec(events.CodecConfig{Registry: cl, Sources: protos.FS, AutoRegister: true})
	require.NoError(t, err)
	return &registry{url: url, codec: codec}
}

// orderPlaced encodes the n-th event of an order: an OrderPlaced whose total
// carries n, so tests can check the order of each key's events.
func (r *registry) orderPlaced(t *testing.T, topic, orderID string, n int) events.Event {
	t.Helper()
	env := &orderingv1.OrderEvent{Event: &orderingv1.OrderEvent_OrderPlaced{OrderPlaced: &orderingv1.OrderPlaced{
		OrderId:    orderID,
		CustomerId: "customer-" + orderID,
		Lines: []*orderingv1.OrderLine{{
			Sku: "SKU-" + orderID, Quantity: 1, UnitPrice: &commonv1.Money{AmountMinor: int64(n), Currency: "EUR"},
		}},
		Total: &commonv1.Money{AmountMinor: int64(n), Currency: "EUR"},
	}}}
	ev, err := r.codec.NewEvent(context.Background(), topic, "agora/crash-test", orderID, env, time.Now())
	require.NoError(t, err)
	return ev
}

// orderEvents builds perKey events for each of keys orders, interleaved the
// way concurrent checkouts write them.
func (r *registry) orderEvents(t *testing.T, topic string, keys, perKey int) []events.Event {
	t.Helper()
	evs := make([]events.Event, 0, keys*perKey)
	for n := range perKey {
		for k := range keys {
			evs = append(evs, r.orderPlaced(t, topic, fmt.Sprintf("order-%03d", k), n))
		}
	}
	return evs
}

// kafka is the test environment's broker, seen through an admin client.
type kafka struct {
	brokers []string
	client  *kgo.Client
	admin   *kadm.Client
}

func newKafka(t *testing.T, brokers []string) *kafka {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	return &kafka{brokers: brokers, client: cl, admin: kadm.NewClient(cl)}
}

// topic creates a fresh three-partition topic, deleted with the extra
// topics named at the end of the test.
func (k *kafka) topic(t *testing.T, prefix string, alsoDelete ...string) string {
	t.Helper()
	name := prefix + "-" + randomID(t)
	_, err := k.admin.CreateTopic(context.Background(), 3, 1, nil, name)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = k.admin.DeleteTopics(context.Background(), append([]string{name}, alsoDelete...)...)
	})
	return name
}

// readAll reads every record of topic up to its current end offsets.
func (k *kafka) readAll(t *testing.T, topic string) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ends, err := k.admin.ListEndOffsets(ctx, topic)
	require.NoError(t, err)
	var want int64
	ends.Each(func(o kadm.ListedOffset) {
		require.NoError(t, o.Err)
		want += o.Offset
	})
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	require.NoError(t, err)
	defer cl.Close()
	var out []*kgo.Record
	for int64(len(out)) < want {
		fs := cl.PollFetches(ctx)
		require.NoError(t, ctx.Err(), "read %d of %d records of %s", len(out), want, topic)
		fs.EachError(func(_ string, _ int32, err error) { require.NoError(t, err) })
		fs.EachRecord(func(r *kgo.Record) { out = append(out, r) })
	}
	return out
}

// process is a helper program running as its own OS process. Its stdout
// lines are collected for the test; its stdin stays open until the process
// ends, which keeps a held process holding.
type process struct {
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser

	mu     sync.Mutex
	lines  []string
	stderr bytes.Buffer
	exited chan struct{}
	err    error // of cmd.Wait, once exited is closed
}

func startProcess(t *testing.T, bin string, env []string, args ...string) *process {
	t.Helper()
	// #nosec G204 -- a helper binary this test just built.
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	p := &process{name: filepath.Base(bin), cmd: cmd, exited: make(chan struct{})}
	cmd.Stderr = &lockedWriter{mu: &p.mu, w: &p.stderr}
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	p.stdin, err = cmd.StdinPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	go func() { // ends when the process closes stdout, i.e. when it exits
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64*1024), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
		}
		err := cmd.Wait()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = cmd.Process.Kill()
			<-p.exited
		}
		_ = p.stdin.Close()
	})
	return p
}

// output returns the lines printed so far.
func (p *process) output() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lines...)
}

// linesWith returns the printed lines starting with prefix.
func (p *process) linesWith(prefix string) []string {
	var out []string
	for _, l := range p.output() {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

// waitLine waits until the process prints a line starting with prefix and
// returns the index of that line; it fails when the process exits first.
func (p *process) waitLine(t *testing.T, prefix string, timeout time.Duration) int {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		for i, l := range p.output() {
			if strings.HasPrefix(l, prefix) {
				return i
			}
		}
		select {
		case <-p.exited:
			t.Fatalf("%s exited (%v) before printing %q; stderr:\n%s", p.name, p.exitErr(), prefix, p.stderrText())
		case <-deadline.C:
			t.Fatalf("%s printed no %q within %s; stderr:\n%s", p.name, prefix, timeout, p.stderrText())
		case <-tick.C:
		}
	}
}

// kill sends SIGKILL: no deferred function, no graceful shutdown runs.
func (p *process) kill(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
	<-p.exited
	var exit *exec.ExitError
	require.ErrorAs(t, p.exitErr(), &exit)
	status, ok := exit.Sys().(syscall.WaitStatus)
	require.True(t, ok && status.Signaled() && status.Signal() == syscall.SIGKILL, "%s: %v", p.name, exit)
}

// stop sends SIGTERM and expects a clean exit.
func (p *process) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not stop within 30s", p.name)
	}
	require.NoError(t, p.exitErr(), "%s stderr:\n%s", p.name, p.stderrText())
}

func (p *process) exitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

func (p *process) stderrText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// header returns the value of the record header key.
func header(r *kgo.Record, key string) (string, error) {
	v, ok := events.Header(r.Headers, key)
	if !ok {
		return "", errors.New("record has no " + key + " header")
	}
	return v, nil
}

func randomID(tb testing.TB) string {
	tb.Helper()
	b := make([]byte, 6)
	_, err := rand.Read(b)
	require.NoError(tb, err)
	return hex.EncodeToString(b)
}
