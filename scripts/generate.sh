#!/usr/bin/env bash
# Regenerates every generated file from its source of truth. Deterministic:
# running it twice changes nothing, and `make check-generated` fails when the
# committed output differs from a fresh run.
#   api/proto/    (buf module)         -> gen/proto/...  (protoc-gen-go via buf)
#   api/openapi/  (one spec a service) -> gen/openapi/<service>/ (oapi-codegen)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# gen/ holds generated code only: start from nothing so that removed sources
# and hand edits leave no trace.
rm -rf gen
generated=0
if [ -f api/proto/buf.yaml ]; then
  buf generate api/proto --template api/proto/buf.gen.yaml
  generated=1
fi

shopt -s nullglob
for cfg in api/openapi/*.codegen.yaml; do
  spec=${cfg%.codegen.yaml}.yaml
  [ -f "$spec" ] || { echo "generate: $cfg has no spec $spec" >&2; exit 1; }
  out=$(sed -n 's/^output: *//p' "$cfg")
  mkdir -p "$(dirname "$out")"
  oapi-codegen -config "$cfg" "$spec"
  generated=1
done

if [ "$generated" -eq 0 ]; then
  echo "generate: no Protobuf or OpenAPI sources yet; nothing to generate"
fi
