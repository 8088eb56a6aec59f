// Package protos embeds the Protobuf sources of Agora's event schemas. The
// schema registry stores these texts: producers register them (or look them
// up) before they publish, so that every event on Kafka names its schema.
package protos

import "embed"

// FS holds every .proto file of the module, by import path
// (agora/<context>/v1/<file>.proto).
//
//go:embed agora
var FS embed.FS
