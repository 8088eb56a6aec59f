#!/usr/bin/env bash
# Builds the Lambda bootstrap once for linux/arm64 (static, reproducible)
# and packages it as one zip per service under dist/lambda/<service>.zip.
# Usage: scripts/lambda-zips.sh [service...]   (default: every service)
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
OUT=${OUT:-dist/lambda}
services=("$@")
if [ ${#services[@]} -eq 0 ]; then
  services=(cart catalog inventory notification orderhistory ordering payment shipping)
fi

mkdir -p "$OUT"
CGO_ENABLED=0 GOOS=linux GOARCH=arm64 "$GO" build -trimpath -buildvcs=false \
  -ldflags '-s -w -buildid=' -o "$OUT/bootstrap" ./cmd/lambda
"$GO" run ./tools/lambdazip -bootstrap "$OUT/bootstrap" -out "$OUT" "${services[@]}"
