#!/usr/bin/env bash
# Checks Agora's Terraform (deploy/terraform) for `make lint`, on any machine:
#
#   1. format and validity
#      - with OpenTofu or Terraform (tofu or terraform on PATH or in ./bin;
#        otherwise one attempt to `go install` OpenTofu into ./bin):
#        `fmt -check -recursive`, then `init -backend=false` + `validate` of
#        every module and environment when the providers can be downloaded;
#      - always: tools/hclcheck (parse, hclwrite formatting, typed and
#        described variables, described outputs, module sources, inputs and
#        required inputs, every reference resolved, module layout) — the
#        structural check that stands in for validate where the provider
#        registry cannot be reached;
#   2. checkov (scripts/checkov/requirements.txt, every package pinned) in a
#      virtualenv cached under $AGORA_CACHE_DIR (default ~/.cache/agora):
#      zero failed checks; every skip is justified inline
#      (#checkov:skip=CKV_...:reason).
#
# It says at the end which checks ran and which could not. Exit status: 0
# when every check that ran passed.
#
#   AGORA_TF_INSTALL_RETRY=1   retry installing OpenTofu after a failed attempt
#   AGORA_TF_SKIP_CHECKOV=1    skip checkov (says so in the summary)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TF_DIR=$ROOT/deploy/terraform
CACHE_DIR=${AGORA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/agora}
STATE_DIR=$CACHE_DIR/terraform-check
REQUIREMENTS=$ROOT/scripts/checkov/requirements.txt
CHECKOV_VERSION=$(sed -n 's/^checkov==//p' "$REQUIREMENTS")
# OpenTofu's go.mod has replace directives, so `go install` of it is
# refused; the attempt is made once per version and remembered.
OPENTOFU_VERSION=v1.12.6

log() { printf 'terraform-check: %s\n' "$*" >&2; }
die() { printf 'terraform-check: ERROR: %s\n' "$*" >&2; exit 1; }

[ -d "$TF_DIR" ] || die "no $TF_DIR"
mkdir -p "$STATE_DIR" "$ROOT/bin"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/agora-terraform-check.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

started=$SECONDS
failed=0
summary=()
note() { summary+=("$(printf '  %-10s %s' "$1" "$2")"); }

# A CLI configuration file that does not exist makes every command warn.
if [ -n "${TF_CLI_CONFIG_FILE:-}" ] && [ ! -f "$TF_CLI_CONFIG_FILE" ]; then unset TF_CLI_CONFIG_FILE; fi
export TF_IN_AUTOMATION=1 TF_INPUT=0 CHECKPOINT_DISABLE=1

# ------------------------------------------------------ tofu or terraform

find_tf() {
  local name
  for name in tofu terraform; do
    if [ -x "$ROOT/bin/$name" ]; then echo "$ROOT/bin/$name"; return; fi
    if command -v "$name" >/dev/null; then command -v "$name"; return; fi
  done
}

install_tofu() {
  local marker=$STATE_DIR/tofu-$OPENTOFU_VERSION.unavailable
  if [ -f "$marker" ] && [ -z "${AGORA_TF_INSTALL_RETRY:-}" ]; then
    log "OpenTofu $OPENTOFU_VERSION: not installable here ($(head -n 1 "$marker")); AGORA_TF_INSTALL_RETRY=1 tries again"
    return 1
  fi
  command -v go >/dev/null || { echo "no Go toolchain" >"$marker"; return 1; }
  log "installing OpenTofu $OPENTOFU_VERSION with go install (once)"
  if GOBIN=$ROOT/bin timeout 600 go install "github.com/opentofu/opentofu/cmd/tofu@$OPENTOFU_VERSION" >"$WORK/tofu-install.log" 2>&1; then
    rm -f "$marker"
    return 0
  fi
  if grep -q 'replace directives' "$WORK/tofu-install.log"; then
    echo "go install refuses it: its go.mod has replace directives" >"$marker"
  else
    echo "go install failed: $(tail -n 1 "$WORK/tofu-install.log")" >"$marker"
  fi
  log "OpenTofu $OPENTOFU_VERSION: $(cat "$marker")"
  return 1
}

TF=$(find_tf || true)
if [ -z "$TF" ] && install_tofu; then TF=$(find_tf || true); fi

if [ -n "$TF" ]; then
  tf_version=$("$TF" version 2>/dev/null | head -n 1)
  log "format: $TF fmt -check -recursive ($tf_version)"
  if "$TF" fmt -check -recursive -diff "$TF_DIR" >"$WORK/fmt.log" 2>&1; then
    note format "ok: $(basename "$TF") fmt -check -recursive ($tf_version)"
  else
    cat "$WORK/fmt.log" >&2
    note format "FAILED: $(basename "$TF") fmt -check -recursive (run: $(basename "$TF") fmt -recursive deploy/terraform)"
    failed=1
  fi

  # init and validate every module and environment in a copy of the tree,
  # so that neither .terraform nor lock files land in the repository.
  cp -R "$TF_DIR" "$WORK/tree"
  export TF_PLUGIN_CACHE_DIR=$STATE_DIR/plugins
  mkdir -p "$TF_PLUGIN_CACHE_DIR"
  roots=()
  while IFS= read -r dir; do roots+=("$dir"); done < <(
    cd "$WORK/tree" && find . -name '*.tf' -not -path '*/.terraform/*' -exec dirname {} \; | sort -u)
  validated=0 unreachable=""
  for dir in "${roots[@]}"; do
    if ! (cd "$WORK/tree/$dir" && "$TF" init -backend=false -input=false -no-color >"$WORK/init.log" 2>&1); then
      if grep -Eqi 'registry|could not connect|no such host|failed to (install|query)|dial tcp|discovery' "$WORK/init.log"; then
        unreachable=$(grep -Eoi -m 1 '(lookup|dial tcp|Failed to query|could not connect)[^│]*' "$WORK/init.log" | head -n 1 | cut -c 1-120)
        break
      fi
      cat "$WORK/init.log" >&2
      note validate "FAILED: init of ${dir#./}"
      failed=1
      continue
    fi
    if (cd "$WORK/tree/$dir" && "$TF" validate -no-color >"$WORK/validate.log" 2>&1); then
      validated=$((validated + 1))
    else
      printf -- '--- %s\n' "${dir#./}" >&2
      cat "$WORK/validate.log" >&2
      note validate "FAILED: ${dir#./}"
      failed=1
    fi
  done
  if [ -n "$unreachable" ]; then
    log "validate: the providers cannot be downloaded ($unreachable)"
    note validate "not run: init cannot download the providers ($unreachable); hclcheck checks the structure instead"
  elif [ "$validated" -eq "${#roots[@]}" ]; then
    note validate "ok: $(basename "$TF") init -backend=false + validate of ${#roots[@]} modules and environments"
  fi
else
  note format "hclwrite only (no tofu or terraform: see above)"
  note validate "not run: no tofu or terraform; hclcheck checks the structure instead"
fi

# Every checkov skip carries its reason: #checkov:skip=CKV_...:<why>.
bare=$(grep -rn --include='*.tf' -E '#checkov:skip=' "$TF_DIR" | grep -Ev '#checkov:skip=CKV2?_[A-Z0-9_]+:.{20,}' || true)
if [ -n "$bare" ]; then
  printf '%s\n' "$bare" >&2
  note skips "FAILED: checkov skips without a reason (above); write #checkov:skip=CKV_...:<why>"
  failed=1
fi

# ---------------------------------------------------------------- hclcheck

log "structure: tools/hclcheck"
# hclcheck is its own Go module (it keeps HCL out of the services' module),
# so `go vet ./...` and `go test ./...` at the root do not reach it: vet and
# test it here (cached by Go when unchanged), then build it.
(cd "$ROOT/tools/hclcheck" && export GOWORK=off && go vet ./... && go test ./... >"$WORK/hclcheck-test.log" 2>&1 &&
  go build -trimpath -o "$ROOT/bin/hclcheck" .) || { cat "$WORK/hclcheck-test.log" >&2 2>/dev/null; die "tools/hclcheck does not vet, test or build"; }
if "$ROOT/bin/hclcheck" "$TF_DIR" >"$WORK/hclcheck.log" 2>&1; then
  note structure "ok: $(sed -n 's/^hclcheck: //p' "$WORK/hclcheck.log")"
else
  cat "$WORK/hclcheck.log" >&2
  note structure "FAILED: hclcheck (findings above)"
  failed=1
fi

# ----------------------------------------------------------------- checkov

checkov_venv() {
  local venv=$CACHE_DIR/checkov-$CHECKOV_VERSION stamp want
  stamp=$venv/.requirements.sha256
  want=$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)
  if [ ! -x "$venv/bin/checkov" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    command -v python3 >/dev/null || die "checkov needs python3 (with venv)"
    log "checkov: installing checkov $CHECKOV_VERSION into $venv (cached afterwards)"
    rm -rf "$venv"
    { python3 -m venv "$venv" && "$venv/bin/pip" install -q --disable-pip-version-check -r "$REQUIREMENTS"; } \
      >"$WORK/checkov-pip.log" 2>&1 || { cat "$WORK/checkov-pip.log" >&2; die "installing checkov failed"; }
    echo "$want" >"$stamp"
  fi
  echo "$venv"
}

if [ -n "${AGORA_TF_SKIP_CHECKOV:-}" ]; then
  note checkov "not run (AGORA_TF_SKIP_CHECKOV is set)"
else
  venv=$(checkov_venv)
  log "security: checkov $CHECKOV_VERSION over deploy/terraform"
  set +e
  (cd "$ROOT" && LOG_LEVEL=ERROR BC_SKIP_MAPPING=TRUE "$venv/bin/checkov" -d deploy/terraform \
    --framework terraform --quiet --compact --skip-download \
    -o cli -o json --output-file-path "console,$WORK/checkov.json") >"$WORK/checkov.log" 2>"$WORK/checkov.err"
  status=$?
  set -e
  # passed failed skipped parsing_errors, from the JSON summary.
  read -r passed nfailed skipped parse_errors < <("$venv/bin/python" -c '
import json, sys
s = json.load(open(sys.argv[1]))
s = (s[0] if isinstance(s, list) else s)["summary"]
print(s["passed"], s["failed"], s["skipped"], s["parsing_errors"])' "$WORK/checkov.json" 2>/dev/null || echo "- - - -")
  if [ "$passed" = "-" ]; then
    cat "$WORK/checkov.log" "$WORK/checkov.err" >&2
    note checkov "FAILED: checkov $CHECKOV_VERSION did not report (exit $status)"
    failed=1
  elif [ "$nfailed" -ne 0 ] || [ "$parse_errors" -ne 0 ] || [ "$status" -ne 0 ]; then
    cat "$WORK/checkov.log" >&2
    note checkov "FAILED: checkov $CHECKOV_VERSION: $passed passed, $nfailed failed, $skipped skipped, $parse_errors files not parsed"
    failed=1
  else
    note checkov "ok: checkov $CHECKOV_VERSION: $passed passed, $nfailed failed, $skipped skipped (each skip justified inline, below)"
    # The skips as written in the code: check, file, reason.
    grep -rn --include='*.tf' '#checkov:skip=' "$TF_DIR" |
      sed -E "s|^$TF_DIR/([^:]*):[0-9]+:[[:space:]]*#checkov:skip=([A-Z0-9_]+):(.*)$|  \2 \1: \3|" >"$WORK/skips.txt" || true
  fi
fi

# ----------------------------------------------------------------- summary

printf 'terraform-check: deploy/terraform in %d s\n' "$((SECONDS - started))"
printf '%s\n' "${summary[@]}"
if [ -s "$WORK/skips.txt" ]; then
  echo "  checkov skips (check, file: reason):"
  sed 's/^/  /' "$WORK/skips.txt"
fi
exit "$failed"
