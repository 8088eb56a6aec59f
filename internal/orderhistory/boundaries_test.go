package orderhistory_test

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
// platform's auth gives it the caller); and no package of the order
// history imports another service — it learns of them only through their
// events (tests may build the producers' envelopes).
func TestImportBoundaries(t *testing.T) {
	t.Parallel()
	infra := []string{"database/sql", "net/http", "github.com/twmb/", "github.com/aws/", "github.com/jackc/pgx", "modernc.org/sqlite",
		"google.golang.org/protobuf", module + "gen/"}
	forbidden := map[string][]string{
		".": append([]string{module + "internal/platform/", module + "internal/orderhistory/"}, infra...),
		"app": append([]string{module + "internal/orderhistory/sqlstore", module + "internal/orderhistory/dynamostore", module + "internal/orderhistory/httpapi",
			module + "internal/orderhistory/kafka", module + "internal/orderhistory/orderhistorytest"}, infra...),
		"sqlstore": {module + "internal/orderhistory/httpapi", module + "internal/orderhistory/kafka", module + "gen/"},
		"kafka":    {module + "internal/orderhistory/httpapi", module + "internal/orderhistory/sqlstore", "database/sql", "net/http"},
		"httpapi":  {module + "internal/orderhistory/sqlstore", module + "internal/orderhistory/kafka", "database/sql", "github.com/twmb/"},
	}
	checked := 0
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		checked++
		dir := filepath.ToSlash(filepath.Dir(path))
		for _, imp := range f.Imports {
			p, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				return err
			}
			if internal, ok := strings.CutPrefix(p, module+"internal/"); ok &&
				internal != "orderhistory" && !strings.HasPrefix(internal, "orderhistory/") && !strings.HasPrefix(internal, "platform/") {
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
	require.Greater(t, checked, 10)
}
