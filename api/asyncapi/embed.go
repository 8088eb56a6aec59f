// Package asyncapi embeds the AsyncAPI 3.0 documents of Agora's Kafka
// topics, one per publishing service (<service>.yaml). They are generated
// by tools/asyncapigen from api/topics.yaml and the Protobuf schemas in
// api/proto (`make generate`); never edit them by hand.
package asyncapi

import "embed"

// FS holds every generated document at its root.
//
//go:embed *.yaml
var FS embed.FS
