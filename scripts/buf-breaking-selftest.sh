#!/usr/bin/env bash
# Proves that `buf breaking` with the module's rules rejects the changes that
# would break consumers of an event: removing a field without reserving it,
# changing a field's type, changing a field's number. A compatible change
# (adding a field) must pass. Works on a scratch copy; touches nothing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp -r api/proto "$scratch/base"
file=agora/ordering/v1/order_events.proto

# mutate NAME SED-EXPRESSION EXPECT(pass|fail)
mutate() {
  local name=$1 expr=$2 expect=$3 dir=$scratch/$1
  cp -r "$scratch/base" "$dir"
  sed -i "$expr" "$dir/$file"
  if cmp -s "$scratch/base/$file" "$dir/$file"; then
    echo "buf selftest: mutation '$name' changed nothing; the test schema moved" >&2
    exit 1
  fi
  if buf breaking "$dir" --against "$scratch/base" >"$dir.out" 2>&1; then got=pass; else got=fail; fi
  if [ "$got" != "$expect" ]; then
    echo "buf selftest: '$name' should $expect the breaking check but did $got:" >&2
    cat "$dir.out" >&2
    exit 1
  fi
}

mutate removed-field '/^message OrderRejected {/,/^}/{/string reason = 2;/d}' fail
mutate changed-type '/^message OrderLine {/,/^}/s/int32 quantity = 2;/string quantity = 2;/' fail
mutate changed-number '/^message OrderConfirmed {/,/^}/s/string order_id = 1;/string order_id = 99;/' fail
mutate added-field '/^message OrderConfirmed {/,/^}/s/string order_id = 1;/string order_id = 1;\n  string note = 99;/' pass
echo "buf selftest: removed, retyped and renumbered fields are rejected; an added field passes"
