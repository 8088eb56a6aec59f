package catalog_test

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

const module = "github.com/agoracommerce/agora/"

// The hexagon's imports flow one way: adapters -> app -> domain. The domain
// imports no infrastructure, the app only the domain (and the platform's
// error taxonomy), and no package of the catalog imports another service.
func TestLayers(t *testing.T) {
	t.Parallel()
	infra := []string{"database/sql", "net/http", "github.com/twmb/franz-go", "github.com/aws/", "github.com/jackc/pgx", "modernc.org/sqlite",
		"google.golang.org/protobuf", module + "gen/"}
	rules := map[string]struct {
		allowInternal []string
		denyPrefixes  []string
	}{
		".":   {allowInternal: nil, denyPrefixes: infra},
		"app": {allowInternal: []string{"internal/catalog", "internal/platform/fault"}, denyPrefixes: infra},
	}
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(filepath.Dir(path))
		for _, imp := range f.Imports {
			p, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				return err
			}
			internal, isInternal := strings.CutPrefix(p, module+"internal/")
			if isInternal && !strings.HasPrefix(internal, "catalog") && !strings.HasPrefix(internal, "platform/") {
				t.Errorf("%s imports another service: %s", path, p)
			}
			rule, ok := rules[dir]
			if !ok {
				continue
			}
			for _, deny := range rule.denyPrefixes {
				if strings.HasPrefix(p, deny) {
					t.Errorf("%s (layer %q) imports infrastructure: %s", path, dir, p)
				}
			}
			if isInternal && !allowed(internal, rule.allowInternal) {
				t.Errorf("%s (layer %q) imports %s", path, dir, p)
			}
		}
		return nil
	})
	require.NoError(t, err)
}

func allowed(internal string, list []string) bool {
	for _, a := range list {
		if internal == strings.TrimPrefix(a, "internal/") {
			return true
		}
	}
	return false
}
