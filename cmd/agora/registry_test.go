package main

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/services/servicestest"
)

// `agora registry` serves the embedded registry that `agora schemas`
// registers into, and keeps what it stored across a restart.
func TestRegistryServesAndPersists(t *testing.T) {
	t.Parallel()
	db := "sqlite:" + filepath.Join(t.TempDir(), "registry.db")
	start := func() (string, func()) {
		addr := servicestest.FreeAddr(t)
		ctx, stop := context.WithCancel(context.Background())
		done := make(chan error, 1)
		var out bytes.Buffer
		go func() { done <- run(ctx, []string{"registry", "--addr", addr, "--database", db}, &out, &out) }()
		url := "http://" + addr
		require.Eventually(t, func() bool {
			resp, err := http.Get(url + "/subjects") //nolint:gosec // loopback test URL
			if err != nil {
				return false
			}
			_ = resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		}, 10*time.Second, 20*time.Millisecond)
		return url, func() {
			stop()
			select {
			case err := <-done:
				require.NoError(t, err)
			case <-time.After(10 * time.Second):
				t.Error("agora registry did not stop")
			}
		}
	}

	url, stop := start()
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"schemas", "register", "--registry", url}, &out, &out))
	registered := out.String()
	stop()

	url, stop = start()
	defer stop()
	out.Reset()
	require.NoError(t, run(context.Background(), []string{"schemas", "check", "--registry", url}, &out, &out))
	require.Equal(t, registered, out.String(), "the schemas and their IDs survived the restart")
}

func TestRegistryRejectsUnknownDatabase(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	err := run(context.Background(), []string{"registry", "--addr", "127.0.0.1:0", "--database", "mysql://x"}, &out, &out)
	require.ErrorContains(t, err, "--database must be")
}
