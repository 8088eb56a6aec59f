package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestVersion(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"version"}, &out, &out))
	require.True(t, strings.HasPrefix(out.String(), "agora "), "got %q", out.String())
}

func TestVersionJSON(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"version", "--json"}, &out, &out))
	var info map[string]any
	require.NoError(t, json.Unmarshal(out.Bytes(), &info))
	require.NotEmpty(t, info["version"])
	require.NotEmpty(t, info["go_version"])
}

func TestUnknownCommandFails(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	err := run(context.Background(), []string{"no-such-command"}, &out, &out)
	require.ErrorContains(t, err, "unknown command")
}

func TestHelpListsCommands(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"--help"}, &out, &out))
	require.Contains(t, out.String(), "version")
}
