package loadgen_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The load generator is a client of the platform: it knows the services
// only through their OpenAPI contracts (the generated models) and imports
// no service and nothing of the platform's internals.
func TestImportBoundaries(t *testing.T) {
	t.Parallel()
	const module = "github.com/agoracommerce/agora/"
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				return err
			}
			rest, ours := strings.CutPrefix(p, module)
			if ours && !strings.HasPrefix(rest, "gen/openapi/") && !strings.HasPrefix(rest, "internal/loadgen") {
				t.Errorf("%s imports %s; the load generator may use only the generated API models", path, p)
			}
		}
		return nil
	})
	require.NoError(t, err)
}
