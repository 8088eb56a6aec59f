// Package openapi embeds the OpenAPI files of Agora's HTTP APIs, one per
// service and major version (<service>.v<major>.yaml), next to the
// oapi-codegen settings of each (<service>.v<major>.codegen.yaml). They are
// the source of truth: the servers are generated from them, requests are
// validated against them and the API documentation is rendered from them.
package openapi

import "embed"

// FS holds every .yaml file of the directory at its root.
//
//go:embed *.yaml
var FS embed.FS
