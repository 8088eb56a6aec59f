package apidocs

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
)

// static holds the pages' own script and styles, served under
// /docs/assets/agora/.
//
//go:embed static
var static embed.FS

// The asset paths (under /docs/assets/) the pages load.
const (
	swaggerJS     = "swagger-ui-dist/swagger-ui-bundle.js"
	swaggerCSS    = "swagger-ui-dist/swagger-ui.css"
	asyncapiJS    = "asyncapi-react-component/browser/standalone/index.js"
	asyncapiCSS   = "asyncapi-react-component/styles/default.min.css"
	ownDir        = "agora"
	docsCSS       = ownDir + "/docs.css"
	swaggerInit   = ownDir + "/swagger-init.js"
	asyncapiInit  = ownDir + "/asyncapi-init.js"
	vendorVersion = "VERSIONS"
)

// asset is one file under /docs/assets/.
type asset struct {
	path string
	res  *resource
}

// loadAssets lists the vendored viewers (under vendor/ in fsys) and the
// pages' own files, each with the hash that versions its URL.
func loadAssets(fsys fs.FS) (map[string]asset, error) {
	vendor, err := fs.Sub(fsys, "vendor")
	if err != nil {
		return nil, fmt.Errorf("apidocs: assets: %w", err)
	}
	own, err := fs.Sub(static, "static")
	if err != nil {
		return nil, fmt.Errorf("apidocs: own assets: %w", err)
	}
	out := map[string]asset{}
	add := func(src fs.FS, prefix string) error {
		return fs.WalkDir(src, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				return nil
			}
			name := path.Join(prefix, p)
			if _, clash := out[name]; clash {
				return fmt.Errorf("%s is there twice", name)
			}
			sum, err := hashFile(src, p)
			if err != nil {
				return err
			}
			out[name] = asset{path: name, res: &resource{
				contentType: contentType(p), cache: cacheRevalidate, version: sum[:16],
				etag: `"` + sum + `"`, fsys: src, name: p,
			}}
			return nil
		})
	}
	if err := add(vendor, ""); err != nil {
		return nil, fmt.Errorf("apidocs: assets: %w", err)
	}
	if _, clash := out[docsCSS]; clash {
		return nil, fmt.Errorf("apidocs: assets: a vendored package may not be called %s", ownDir)
	}
	if err := add(own, ownDir); err != nil {
		return nil, fmt.Errorf("apidocs: own assets: %w", err)
	}
	var missing []string
	for _, p := range []string{swaggerJS, swaggerCSS, asyncapiJS, asyncapiCSS} {
		if _, ok := out[p]; !ok {
			missing = append(missing, "vendor/"+p)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("apidocs: assets lack %v (run scripts/vendor-docs.sh)", missing)
	}
	return out, nil
}

// hashFile is the hex SHA-256 of a file.
func hashFile(fsys fs.FS, name string) (string, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return "", fmt.Errorf("open %s: %w", name, err)
	}
	defer func() { _ = f.Close() }()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", name, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// contentType is the media type of an asset by its name.
func contentType(name string) string {
	switch path.Ext(name) {
	case ".js", ".mjs":
		return jsType
	case ".css":
		return cssType
	case ".txt", "":
		return textType // LICENSE, NOTICE, VERSIONS and the bundles' license texts
	case ".html":
		return htmlType
	case ".json", ".map":
		return jsonType
	case ".yaml", ".yml":
		return yamlType
	case ".png":
		return "image/png"
	case ".svg":
		return "image/svg+xml"
	case ".woff2":
		return "font/woff2"
	default:
		return octetType
	}
}
