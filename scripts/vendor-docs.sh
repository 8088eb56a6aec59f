#!/usr/bin/env bash
# Vendors the API documentation viewers into web/vendor, from which the agora
# binary embeds them (package web): nothing is fetched from a CDN at run time.
#
#   swagger-ui-dist               renders the OpenAPI files   (/docs/<service>)
#   @asyncapi/react-component     renders the AsyncAPI files  (/docs/events/<service>)
#
# Each package is fetched at its pinned version from the npm registry with
# `npm pack`, its tarball is checked against the registry's dist.integrity
# (SHA-512), and only the files the pages load (plus the licenses) are copied.
# web/vendor/VERSIONS records what was vendored. Run it again after changing
# a version below; it replaces web/vendor as a whole.
#
# Needs: npm, tar, openssl.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# package@version, the directory under web/vendor, then the files to copy
# (paths inside the package).
PACKAGES=(
  "swagger-ui-dist@5.35.0|swagger-ui-dist|swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css LICENSE NOTICE"
  "@asyncapi/react-component@3.2.1|asyncapi-react-component|browser/standalone/index.js browser/standalone/index.js.LICENSE.txt styles/default.min.css LICENSE"
)

for tool in npm tar openssl; do
  command -v "$tool" >/dev/null || { echo "vendor-docs: $tool is required" >&2; exit 1; }
done

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
out=$scratch/vendor
mkdir -p "$out"
{
  echo "# The documentation viewers vendored by scripts/vendor-docs.sh from the npm registry."
  echo "# package version directory dist.integrity"
} >"$out/VERSIONS"

for entry in "${PACKAGES[@]}"; do
  IFS='|' read -r spec dir files <<<"$entry"
  name=${spec%@*}
  version=${spec##*@}
  echo "vendor-docs: $spec"

  want=$(npm view "$spec" dist.integrity)
  case "$want" in
    sha512-*) ;;
    *) echo "vendor-docs: the registry gives no sha512 integrity for $spec (got '$want')" >&2; exit 1 ;;
  esac

  packdir=$scratch/pack/$dir
  mkdir -p "$packdir"
  (cd "$packdir" && npm pack "$spec" --silent >/dev/null)
  tarball=$(find "$packdir" -maxdepth 1 -name '*.tgz' -print -quit)
  [ -n "$tarball" ] || { echo "vendor-docs: npm pack left no tarball for $spec" >&2; exit 1; }

  got="sha512-$(openssl dgst -sha512 -binary "$tarball" | openssl base64 -A)"
  if [ "$got" != "$want" ]; then
    echo "vendor-docs: $spec: tarball integrity $got does not match the registry's $want" >&2
    exit 1
  fi

  mkdir -p "$packdir/x"
  tar -xzf "$tarball" -C "$packdir/x" --no-same-owner --no-same-permissions
  for f in $files; do
    src=$packdir/x/package/$f
    [ -f "$src" ] || { echo "vendor-docs: $spec has no $f" >&2; exit 1; }
    install -D -m 0644 "$src" "$out/$dir/$f"
  done
  echo "$name $version $dir $want" >>"$out/VERSIONS"
done

rm -rf web/vendor
mkdir -p web
mv "$out" web/vendor
echo "vendor-docs: web/vendor is up to date"
