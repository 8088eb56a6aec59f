#!/usr/bin/env bash
# Regenerates every generated file from its source of truth. Deterministic:
# running it twice changes nothing, and `make check-generated` fails when the
# committed output differs from a fresh run.
#   api/proto/ (buf module)            -> gen/proto/...        (protoc-gen-go via buf)
#   <dir>/<name>.yaml + <name>.codegen.yaml, for the OpenAPI specs in api/openapi/
#   and test specs in internal/**/testdata/ -> gen/openapi/<service>/<service>.gen.go (oapi-codegen),
#   where <service> is <name> up to its first dot (catalog.v1.yaml -> gen/openapi/catalog/)
#   api/topics.yaml + api/proto/       -> api/asyncapi/<service>.yaml (tools/asyncapigen: the AsyncAPI 3.0
#   documents of every topic, one per publishing service; stale documents are removed)
# Everything is generated into a scratch directory that then replaces gen/ as a
# whole, so removed sources and hand edits leave no trace.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
out=$scratch/gen
mkdir -p "$out"

if [ -f api/proto/buf.yaml ]; then
  buf generate api/proto --template api/proto/buf.gen.yaml --output "$scratch"
fi

shopt -s nullglob globstar
for cfg in api/openapi/*.codegen.yaml internal/**/testdata/*.codegen.yaml; do
  name=$(basename "$cfg" .codegen.yaml)
  spec=$(dirname "$cfg")/$name.yaml
  [ -f "$spec" ] || { echo "generate: $cfg has no spec $spec" >&2; exit 1; }
  pkg=${name%%.*}
  mkdir -p "$out/openapi/$pkg"
  oapi-codegen -config "$cfg" -o "$out/openapi/$pkg/$pkg.gen.go" "$spec"
done

rm -rf gen
if [ -n "$(ls -A "$out")" ]; then
  mv "$out" gen
else
  echo "generate: no Protobuf or OpenAPI sources yet; nothing to generate"
fi

if [ -f api/topics.yaml ]; then
  "${GO:-go}" run ./tools/asyncapigen -topics api/topics.yaml -proto api/proto -out api/asyncapi
fi
