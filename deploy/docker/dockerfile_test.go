// Package docker holds the container image of Agora's services; its test
// checks the Dockerfile statically (no Docker engine needed).
package docker_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

type instruction struct {
	cmd, args string
	line      int
}

// parse splits a Dockerfile into instructions (continuations joined,
// comments and blank lines dropped).
func parse(t *testing.T, path string) []instruction {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var out []instruction
	var cur strings.Builder
	start := 0
	for i, raw := range strings.Split(string(data), "\n") {
		line := strings.TrimSpace(raw)
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		if strings.HasSuffix(line, "\\") {
			cur.WriteString(strings.TrimSuffix(line, "\\") + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args), line: start})
		cur.Reset()
	}
	require.Zero(t, cur.Len(), "unterminated continuation")
	return out
}

var (
	pinnedTag = regexp.MustCompile(`:[0-9]+\.[0-9]+\.[0-9]+[^ @]*(@sha256:[0-9a-f]{64})?$`)
	digest    = regexp.MustCompile(`@sha256:[0-9a-f]{64}$`)
)

func TestDockerfile(t *testing.T) {
	t.Parallel()
	ins := parse(t, "Dockerfile")

	var stages [][]instruction
	for _, in := range ins {
		if in.cmd == "FROM" {
			stages = append(stages, nil)
		}
		require.NotEmpty(t, stages, "line %d: %s before FROM", in.line, in.cmd)
		stages[len(stages)-1] = append(stages[len(stages)-1], in)
	}
	require.GreaterOrEqual(t, len(stages), 2, "multi-stage: a builder and a runtime stage")

	for _, stage := range stages {
		fields := strings.Fields(stage[0].args)
		image := ""
		for _, f := range fields {
			if !strings.HasPrefix(f, "--") {
				image = f
				break
			}
		}
		require.True(t, pinnedTag.MatchString(image) || digest.MatchString(image),
			"line %d: base image %q is pinned neither by exact version nor by digest", stage[0].line, image)
		require.NotContains(t, image, ":latest")
	}

	for _, in := range ins {
		if in.cmd == "ADD" {
			require.NotRegexp(t, `(?i)https?://`, in.args, "line %d: ADD of a URL; download in a RUN with a checksum", in.line)
		}
	}

	final := stages[len(stages)-1]
	require.Regexp(t, `distroless/static|scratch`, final[0].args, "runtime is distroless static or scratch")
	require.True(t, digest.MatchString(strings.Fields(final[0].args)[0]), "the runtime image is pinned by digest")
	last := func(cmd string) (instruction, bool) {
		var found instruction
		ok := false
		for _, in := range final {
			if in.cmd == cmd {
				found, ok = in, true
			}
		}
		return found, ok
	}
	user, ok := last("USER")
	require.True(t, ok, "the runtime stage sets USER")
	name, _, _ := strings.Cut(user.args, ":")
	require.NotContains(t, []string{"root", "0", ""}, name, "USER is not root")

	hc, ok := last("HEALTHCHECK")
	require.True(t, ok, "HEALTHCHECK present")
	require.Regexp(t, `CMD \["/agora", "healthcheck"\]$`, hc.args, "exec form: distroless has no shell")

	entry, ok := last("ENTRYPOINT")
	require.True(t, ok)
	require.Equal(t, `["/agora"]`, entry.args)
	cmd, ok := last("CMD")
	require.True(t, ok)
	require.Equal(t, `["serve"]`, cmd.args)

	var build string
	for _, in := range stages[0] {
		if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
			build = in.args
		}
	}
	require.Contains(t, build, "CGO_ENABLED=0", "a static binary")
	require.Contains(t, build, "-trimpath")
	require.Contains(t, build, "./cmd/agora")
}

// The build context leaves out what the image does not need, and keeps
// what it copies.
func TestDockerignore(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../../.dockerignore")
	require.NoError(t, err)
	lines := map[string]bool{}
	for _, l := range strings.Split(string(data), "\n") {
		lines[strings.TrimSpace(l)] = true
	}
	for _, excluded := range []string{".git", "bin", "dist", "var"} {
		require.True(t, lines[excluded], ".dockerignore leaves out %s", excluded)
	}
	for _, in := range parse(t, "Dockerfile") {
		if in.cmd != "COPY" || strings.Contains(in.args, "--from=") {
			continue
		}
		for _, src := range strings.Fields(in.args)[:len(strings.Fields(in.args))-1] {
			src = strings.TrimPrefix(strings.TrimSuffix(src, "/"), "./")
			require.False(t, lines[src], ".dockerignore excludes %s, which the Dockerfile copies", src)
			_, err := os.Stat("../../" + src)
			require.NoError(t, err, "the Dockerfile copies %s", src)
		}
	}
}
