// Package web embeds the browser assets Agora serves itself: the vendored
// API documentation viewers under vendor/ (Swagger UI and the AsyncAPI React
// component, fetched and integrity-checked by scripts/vendor-docs.sh; the
// versions are in vendor/VERSIONS). Pages load them from Agora, never from a
// CDN.
package web

import "embed"

// FS holds the vendored assets under vendor/<package>/..., as
// vendor/VERSIONS lists them.
//
//go:embed vendor
var FS embed.FS
