package notification_test

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
// infrastructure, no generated code and no adapter of its own (from the
// platform only the fault taxonomy); and no package of notification
// imports another service (tests may, to check contracts with their
// producers).
func TestImportBoundaries(t *testing.T) {
	t.Parallel()
	infra := []string{"database/sql", "net/http", "github.com/twmb/", "github.com/aws/", "github.com/jackc/pgx", "modernc.org/sqlite",
		"google.golang.org/protobuf", module + "gen/"}
	own := module + "internal/notification/"
	forbidden := map[string][]string{
		".": append([]string{module + "internal/platform/", own}, infra...),
		"app": append([]string{own + "sqlstore", own + "dynamostore", own + "httpapi", own + "eventsout", own + "kafka", own + "mailbox",
			module + "internal/platform/consumer", module + "internal/platform/inbox", module + "internal/platform/outbox",
			module + "internal/platform/sqldb", module + "internal/platform/events"}, infra...),
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
				!strings.HasPrefix(internal, "notification") && !strings.HasPrefix(internal, "platform/") {
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
