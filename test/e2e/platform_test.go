package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/auth/devissuer"
)

// target is the Agora under test: its gateway URL and a way to get tokens.
type target struct {
	t    *testing.T
	base string
	mint func(subject string, scopes []string) string
}

// newTarget returns the platform the suite drives: a running deployment
// when AGORA_E2E_URL is set (tokens from AGORA_E2E_DATA_DIR's development
// issuer, or the fixed AGORA_E2E_{CUSTOMER,CUSTOMER_B,ADMIN}_TOKEN), or
// else `agora run` started for the test on a fresh data directory.
func newTarget(t *testing.T) *target {
	t.Helper()
	if base := os.Getenv("AGORA_E2E_URL"); base != "" {
		tg := &target{t: t, base: strings.TrimRight(base, "/")}
		if dir := os.Getenv("AGORA_E2E_DATA_DIR"); dir != "" {
			tg.mint = issuerMint(t, dir, tg.base)
		} else {
			tg.mint = fixedTokens(t)
		}
		return tg
	}
	return startRun(t)
}

func issuerMint(t *testing.T, dir, issuer string) func(string, []string) string {
	iss, err := devissuer.New(devissuer.Config{Mode: "local", DataDir: dir, Issuer: issuer})
	require.NoError(t, err)
	return func(subject string, scopes []string) string {
		tok, err := iss.Mint(subject, scopes, time.Hour)
		require.NoError(t, err)
		return tok
	}
}

func fixedTokens(t *testing.T) func(string, []string) string {
	return func(subject string, scopes []string) string {
		name := "AGORA_E2E_CUSTOMER_TOKEN"
		switch {
		case strings.HasPrefix(subject, "admin"):
			name = "AGORA_E2E_ADMIN_TOKEN"
		case strings.HasSuffix(subject, "-b"):
			name = "AGORA_E2E_CUSTOMER_B_TOKEN"
		}
		tok := os.Getenv(name)
		require.NotEmpty(t, tok, "set %s (or AGORA_E2E_DATA_DIR) to run against AGORA_E2E_URL", name)
		return tok
	}
}

// startRun builds agora and runs `agora run` on a free port and a temp
// data directory, with a quick simulated carrier.
func startRun(t *testing.T) *target {
	t.Helper()
	goTool, err := exec.LookPath("go")
	require.NoError(t, err)
	dir := t.TempDir()
	bin := filepath.Join(dir, "agora")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// #nosec G204 -- the go tool building this module's command.
	out, err := exec.CommandContext(ctx, goTool, "build", "-o", bin, "github.com/agoracommerce/agora/cmd/agora").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	data := filepath.Join(dir, "var")
	logPath := filepath.Join(dir, "agora.log")
	logFile, err := os.Create(logPath) // #nosec G304 -- the test's temp dir.
	require.NoError(t, err)
	// #nosec G204 -- the binary built above.
	cmd := exec.Command(bin, "run", "--addr", addr, "--data-dir", data, "--log-level", "warn")
	cmd.Env = append(os.Environ(),
		"AGORA_SHIPPING_CARRIER_PICKUP_AFTER=1s", "AGORA_SHIPPING_CARRIER_DELIVER_AFTER=1s",
		"AGORA_SHIPPING_CARRIER_ADVANCE_INTERVAL=200ms", "AGORA_NOTIFICATION_DISPATCH_INTERVAL=200ms")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("agora run stopped with %v", err)
			}
		case <-time.After(45 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("agora run did not stop within 45s of SIGINT")
		}
		_ = logFile.Close()
		if t.Failed() {
			raw, _ := os.ReadFile(logPath) // #nosec G304 -- the test's log.
			t.Logf("agora run output:\n%s", lastLines(string(raw), 80))
		}
	})
	base := "http://" + addr
	// Ready once the banner is out (seeding done).
	deadline := time.Now().Add(2 * time.Minute)
	for {
		select {
		case err := <-done:
			raw, _ := os.ReadFile(logPath) // #nosec G304 -- the test's log.
			t.Fatalf("agora run exited (%v):\n%s", err, lastLines(string(raw), 80))
		default:
		}
		raw, _ := os.ReadFile(logPath) // #nosec G304 -- the test's log.
		if strings.Contains(string(raw), "Agora is running") {
			break
		}
		require.True(t, time.Now().Before(deadline), "agora run not ready in 2 minutes:\n%s", lastLines(string(raw), 80))
		time.Sleep(50 * time.Millisecond)
	}
	return &target{t: t, base: base, mint: issuerMint(t, data, "http://localhost:"+addr[strings.LastIndex(addr, ":")+1:])}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// shopper is a caller with a token.
type shopper struct {
	tg    *target
	token string
}

func (tg *target) customer(subject string) *shopper {
	return &shopper{tg: tg, token: tg.mint(subject, auth.CustomerScopes())}
}

func (tg *target) operator() *shopper {
	return &shopper{tg: tg, token: tg.mint("admin-e2e", auth.AdminScopes())}
}

func (tg *target) anonymous() *shopper { return &shopper{tg: tg} }

// call sends a request through the gateway and returns the status and the
// decoded JSON body.
func (s *shopper) call(method, path string, body any, headers ...string) (int, map[string]any, http.Header) {
	t := s.tg.t
	t.Helper()
	var r io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		require.NoError(t, err)
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, s.tg.base+path, r)
	require.NoError(t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
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
	if len(bytes.TrimSpace(raw)) > 0 && strings.Contains(res.Header.Get("Content-Type"), "json") {
		require.NoError(t, json.Unmarshal(raw, &out), "%s %s: %s", method, path, raw)
	}
	if res.StatusCode >= 400 {
		require.Equal(t, "application/problem+json", res.Header.Get("Content-Type"), "%s %s: errors are problem+json", method, path)
	}
	require.Less(t, res.StatusCode, 500, "%s %s: %s", method, path, raw)
	return res.StatusCode, out, res.Header
}

func (s *shopper) must(want int, method, path string, body any, headers ...string) map[string]any {
	s.tg.t.Helper()
	status, out, _ := s.call(method, path, body, headers...)
	require.Equal(s.tg.t, want, status, "%s %s: %v", method, path, out)
	return out
}

// eventually polls fn until it returns nil, failing after timeout.
func eventually(t *testing.T, timeout time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %v", timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func items(out map[string]any) []map[string]any {
	raw, _ := out["items"].([]any)
	list := make([]map[string]any, 0, len(raw))
	for _, it := range raw {
		list = append(list, it.(map[string]any))
	}
	return list
}

func str(v any) string { return fmt.Sprint(v) }
