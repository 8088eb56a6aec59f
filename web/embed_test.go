package web_test

import (
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/web"
)

// The embedded viewers are the ones scripts/vendor-docs.sh pins, with their
// licenses.
func TestVendoredViewersMatchThePins(t *testing.T) {
	t.Parallel()
	versions, err := fs.ReadFile(web.FS, "vendor/VERSIONS")
	require.NoError(t, err)
	script, err := os.ReadFile("../scripts/vendor-docs.sh")
	require.NoError(t, err)

	got := map[string]string{}
	for _, line := range strings.Split(string(versions), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		require.Len(t, f, 4, "VERSIONS line %q", line)
		require.True(t, strings.HasPrefix(f[3], "sha512-"), "integrity of %s", f[0])
		got[f[0]+"@"+f[1]] = f[2]
		require.Contains(t, string(script), `"`+f[0]+"@"+f[1]+"|"+f[2]+"|", "vendor-docs.sh does not pin %s@%s", f[0], f[1])
		_, err := fs.Stat(web.FS, "vendor/"+f[2]+"/LICENSE")
		require.NoError(t, err, "license of %s", f[0])
	}
	require.Equal(t, map[string]string{
		"swagger-ui-dist@5.35.0":          "swagger-ui-dist",
		"@asyncapi/react-component@3.2.1": "asyncapi-react-component",
	}, got)
	for _, p := range []string{
		"swagger-ui-dist/swagger-ui-bundle.js", "swagger-ui-dist/swagger-ui.css",
		"asyncapi-react-component/browser/standalone/index.js", "asyncapi-react-component/styles/default.min.css",
	} {
		info, err := fs.Stat(web.FS, "vendor/"+p)
		require.NoError(t, err, p)
		require.Positive(t, info.Size(), p)
	}
}
