package ordering_test

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
// imports no infrastructure and nothing of the platform; the app no
// infrastructure, no generated code and no adapter of its own (the
// platform's auth gives it the caller); and no package of ordering imports
// another service (tests may: the cart client is checked against the real
// cart service).
func TestImportBoundaries(t *testing.T) {
	t.Parallel()
	infra := []string{"database/sql", "net/http", "github.com/twmb/", "github.com/aws/", "github.com/jackc/pgx", "modernc.org/sqlite",
		"google.golang.org/protobuf", module + "gen/"}
	adapters := []string{"sqlstore", "httpapi", "eventsout", "kafka", "carthttp", "orderingtest"}
	own := make([]string, len(adapters))
	for i, a := range adapters {
		own[i] = module + "internal/ordering/" + a
	}
	forbidden := map[string][]string{
		".":   append([]string{module + "internal/platform/", module + "internal/ordering/"}, infra...),
		"app": append(own, infra...),
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
			if internal, ok := strings.CutPrefix(p, module+"internal/"); ok &&
				internal != "ordering" && !strings.HasPrefix(internal, "ordering/") && !strings.HasPrefix(internal, "platform/") {
				t.Errorf("%s imports another service: %s", path, p)
			}
			for _, deny := range forbidden[dir] {
				if strings.HasPrefix(p, deny) {
					t.Errorf("%s (layer %q) imports %s", path, dir, p)
				}
			}
		}
		return nil
	})
	require.NoError(t, err)
}
