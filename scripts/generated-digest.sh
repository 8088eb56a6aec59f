#!/usr/bin/env bash
# Prints one "sha256  path" line per generated file, so that two runs can be
# compared (make check-generated).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
for dir in gen api/asyncapi; do
  if [ -d "$dir" ]; then find "$dir" -type f -print0; fi
done | sort -z | xargs -0 -r sha256sum
