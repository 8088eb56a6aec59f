#!/usr/bin/env bash
# Lints the event schemas and checks them for breaking changes.
#  1. buf lint on api/proto.
#  2. buf breaking (wire and JSON compatibility) of the working tree against
#     every committed version of api/proto, newest first: a schema must stay
#     readable by every consumer that was ever deployed, not just by the last
#     commit. BUF_BREAKING_AGAINST=<buf input> checks against one input instead.
#  3. A self-test proving that the check catches breaking changes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

buf lint api/proto

if [ -n "${BUF_BREAKING_AGAINST:-}" ]; then
  buf breaking api/proto --against "$BUF_BREAKING_AGAINST"
else
  checked=0
  for sha in $(git log --format=%H -n 50 -- api/proto 2>/dev/null); do
    git cat-file -e "$sha:api/proto/buf.yaml" 2>/dev/null || continue
    buf breaking api/proto --against ".git#ref=$sha,subdir=api/proto" ||
      { echo "buf breaking: api/proto is not compatible with commit $sha" >&2; exit 1; }
    checked=$((checked + 1))
  done
  echo "buf breaking: compatible with $checked committed version(s) of api/proto"
fi

scripts/buf-breaking-selftest.sh
