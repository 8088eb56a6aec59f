package shipping_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The domain and the app stay free of adapters: no SQL, Kafka, HTTP, AWS
// or generated code, and the app imports no adapter of its own service.
func TestImportBoundaries(t *testing.T) {
	t.Parallel()
	forbidden := map[string][]string{
		".": {"database/sql", "net/http", "github.com/twmb/", "github.com/aws/", "github.com/agoracommerce/agora/gen/",
			"github.com/agoracommerce/agora/internal/platform/", "github.com/agoracommerce/agora/internal/shipping/"},
		"app": {"database/sql", "net/http", "github.com/twmb/", "github.com/aws/", "github.com/agoracommerce/agora/gen/",
			"github.com/agoracommerce/agora/internal/shipping/sqlstore", "github.com/agoracommerce/agora/internal/shipping/dynamostore", "github.com/agoracommerce/agora/internal/shipping/httpapi",
			"github.com/agoracommerce/agora/internal/shipping/eventsout", "github.com/agoracommerce/agora/internal/shipping/simcarrier"},
	}
	for dir, banned := range forbidden {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f) // #nosec G304 -- files of this package
			if err != nil {
				t.Fatal(err)
			}
			parsed, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range parsed.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				for _, b := range banned {
					if strings.HasPrefix(path, b) {
						t.Errorf("%s imports %s", f, path)
					}
				}
			}
		}
	}
}
