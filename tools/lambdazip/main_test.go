package main

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Two runs over the same bootstrap give byte-identical zips, whatever the
// files' times on disk, holding one executable bootstrap.
func TestZipsAreReproducible(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bootstrap := filepath.Join(dir, "bootstrap")
	require.NoError(t, os.WriteFile(bootstrap, []byte("\x7fELF pretend binary"), 0o600))

	first, second := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	var out bytes.Buffer
	require.NoError(t, run([]string{"-bootstrap", bootstrap, "-out", first, "payment", "cart"}, &out))
	require.Contains(t, out.String(), filepath.Join(first, "cart.zip"))
	require.NoError(t, os.Chtimes(bootstrap, bootstrapTime(), bootstrapTime()))
	require.NoError(t, run([]string{"-bootstrap", bootstrap, "-out", second, "cart", "payment"}, io.Discard))

	for _, svc := range []string{"cart", "payment"} {
		a, err := os.ReadFile(filepath.Join(first, svc+".zip"))
		require.NoError(t, err)
		b, err := os.ReadFile(filepath.Join(second, svc+".zip"))
		require.NoError(t, err)
		require.True(t, bytes.Equal(a, b), "%s.zip differs between builds", svc)

		zr, err := zip.NewReader(bytes.NewReader(a), int64(len(a)))
		require.NoError(t, err)
		require.Len(t, zr.File, 1)
		f := zr.File[0]
		require.Equal(t, "bootstrap", f.Name)
		require.Equal(t, os.FileMode(0o755), f.Mode().Perm())
		require.True(t, f.Modified.Equal(modified), "modified %s", f.Modified)
		rc, err := f.Open()
		require.NoError(t, err)
		data, err := io.ReadAll(rc)
		require.NoError(t, err)
		require.NoError(t, rc.Close())
		require.Equal(t, "\x7fELF pretend binary", string(data))
	}
}

func TestPackageSortsEntries(t *testing.T) {
	t.Parallel()
	data, err := Package(map[string]File{"z": {Data: []byte("z"), Mode: 0o644}, "a": {Data: []byte("a"), Mode: 0o644}})
	require.NoError(t, err)
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	require.NoError(t, err)
	require.Equal(t, "a", zr.File[0].Name)
	require.Equal(t, "z", zr.File[1].Name)
}

func TestRejectsBadArguments(t *testing.T) {
	t.Parallel()
	require.Error(t, run(nil, io.Discard))
	require.Error(t, run([]string{"-bootstrap", filepath.Join(t.TempDir(), "missing"), "cart"}, io.Discard))
	bootstrap := filepath.Join(t.TempDir(), "bootstrap")
	require.NoError(t, os.WriteFile(bootstrap, []byte("x"), 0o600))
	require.ErrorContains(t, run([]string{"-bootstrap", bootstrap, "-out", t.TempDir(), "../etc"}, io.Discard), "not a service name")
}

func bootstrapTime() (t time.Time) { return time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC) }
