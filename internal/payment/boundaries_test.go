package payment_test

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
// or generated code, the app imports no adapter of its own service, and
// neither imports another service.
func TestImportBoundaries(t *testing.T) {
	t.Parallel()
	forbidden := map[string][]string{
		".": {"database/sql", "net/http", "github.com/twmb/", "github.com/aws/", "github.com/agoracommerce/agora/gen/",
			"github.com/agoracommerce/agora/internal/platform/", "github.com/agoracommerce/agora/internal/payment/"},
		"app": {"database/sql", "net/http", "github.com/twmb/", "github.com/aws/", "github.com/agoracommerce/agora/gen/",
			"github.com/agoracommerce/agora/internal/payment/sqlstore", "github.com/agoracommerce/agora/internal/payment/httpapi",
			"github.com/agoracommerce/agora/internal/payment/eventsout", "github.com/agoracommerce/agora/internal/payment/simgateway"},
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
				if rest, ok := strings.CutPrefix(path, "github.com/agoracommerce/agora/internal/"); ok &&
					!strings.HasPrefix(rest, "platform/") && rest != "payment" && !strings.HasPrefix(rest, "payment/") {
					t.Errorf("%s imports another service: %s", f, path)
				}
				for _, b := range banned {
					if strings.HasPrefix(path, b) {
						t.Errorf("%s imports %s", f, path)
					}
				}
			}
		}
	}
}
