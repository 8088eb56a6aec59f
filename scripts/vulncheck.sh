#!/usr/bin/env bash
# Scans Agora's Go modules for known vulnerabilities with govulncheck, for
# `make vulncheck` and `make lint`, without reaching vuln.go.dev:
#
#   1. the Go vulnerability database is the module golang.org/x/vulndb at a
#      pinned version, fetched through the Go module proxy (its hash is pinned
#      too) into a build directory under $AGORA_CACHE_DIR (default
#      ~/.cache/agora)/vulncheck;
#   2. that module's own cmd/indexdb turns its data/osv/GO-*.json entries into
#      the layout that `govulncheck -db file://...` reads (index/db.json,
#      index/modules.json, index/vulns.json, ID/<id>.json), kept in
#      $AGORA_CACHE_DIR/vulncheck/db-<version> (about 40 MB); the build
#      directory is removed. Steps 1 and 2 run once per pinned version;
#   3. the pinned govulncheck is installed into ./bin (unless that version is
#      there already);
#   4. govulncheck scans ./... of the root module and of tools/hclcheck (its
#      own module), at symbol level: what is reported as called is reachable
#      from Agora's code. Its findings are printed as govulncheck prints them,
#      then one summary line.
#
# The scan covers the standard library of the `go` on PATH, so its findings
# depend on that toolchain as well as on go.mod. A called vulnerability of a
# module fails the scan (bump the module); one of the standard library is
# reported with the Go release that fixes it but does not fail the scan:
# the fix is a newer toolchain, which the release builds use (the workflows
# take the newest Go 1.26 patch, the Dockerfile pins one), while a machine
# builds with the Go it has.
#
# Exit status: 0 when no module calls vulnerable code, 3 (govulncheck's own
# code) when one does, 1 when the scan could not run.
#
#   AGORA_VULNCHECK_WARN_ONLY=1   report called vulnerabilities but exit 0
#                                 (says so in the summary)
set -euo pipefail

# Pinned versions, kept here only. To move them forward:
#   go list -m -json golang.org/x/vulndb@latest   (Version: the newest snapshot)
#   go mod download -json golang.org/x/vulndb@<that version>   (Sum: its hash)
#   go list -m -versions golang.org/x/vuln   (the newest govulncheck release;
#     it must build with the project's Go: its go.mod's go line)
# then update the three lines below, run this script and commit; the next run
# everywhere builds the new database once.
VULNDB_VERSION=v0.0.0-20261105234957-e22db6528018
VULNDB_SUM=h1:mfngRv0Yoh0VApsXKEN82CjD99kl7mtparN3bs3JnqI=
GOVULNCHECK_VERSION=v1.9.0

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE_DIR=${AGORA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/agora}
STATE_DIR=$CACHE_DIR/vulncheck
DB_DIR=$STATE_DIR/db-$VULNDB_VERSION
GOVULNCHECK=$ROOT/bin/govulncheck
# Each Go module of the repository, relative to ROOT.
MODULES=(. tools/hclcheck)

log() { printf 'vulncheck: %s\n' "$*" >&2; }
die() { printf 'vulncheck: ERROR: %s\n' "$*" >&2; exit 1; }

command -v go >/dev/null || die "no Go toolchain on PATH"
# jq reads govulncheck's JSON: installed from the distribution when
# missing and running as root, as the test environment installs its own.
if ! command -v jq >/dev/null; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    log "installing jq with apt-get"
    (export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq --no-install-recommends jq) >/dev/null 2>&1 ||
      die "apt-get install jq failed"
  else
    die "jq is needed to read govulncheck's JSON (e.g. 'sudo apt-get install jq')"
  fi
fi
# As in the Makefile: scan with the Go on PATH, never a downloaded toolchain.
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}
mkdir -p "$STATE_DIR" "$ROOT/bin"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/agora-vulncheck.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
started=$SECONDS

# ------------------------------------------------------------ the database

# build_db fetches the pinned vulndb module and writes the database into
# DB_DIR. It works in a build directory beside DB_DIR with a module cache of
# its own (the module and what cmd/indexdb needs: close to 1 GB, of no use
# once the database exists), removed at the end, and renames the database into
# place, so an interrupted build leaves nothing that looks complete. Run it in
# a subshell: it exports the module cache settings and sets its own EXIT trap.
build_db() {
  local mod # build is global: the EXIT trap reads it after build_db returns
  # Leftovers of builds that were killed.
  find "$STATE_DIR" -mindepth 1 -maxdepth 1 -name '.build.*' -mmin +60 -exec rm -rf {} +
  build=$(mktemp -d "$STATE_DIR/.build.XXXXXX")
  trap 'rm -rf "$build"' EXIT
  # -modcacherw: a module cache that rm -rf can remove.
  export GOMODCACHE=$build/modcache GOFLAGS=-modcacherw GOWORK=off

  log "database: downloading golang.org/x/vulndb@$VULNDB_VERSION (once per version)"
  go mod download -json "golang.org/x/vulndb@$VULNDB_VERSION" >"$build/vulndb.json" 2>"$build/download.log" ||
    { cat "$build/download.log" "$build/vulndb.json" >&2; die "downloading golang.org/x/vulndb@$VULNDB_VERSION failed"; }
  [ "$(jq -r .Sum "$build/vulndb.json")" = "$VULNDB_SUM" ] ||
    die "golang.org/x/vulndb@$VULNDB_VERSION has hash $(jq -r .Sum "$build/vulndb.json"), pinned $VULNDB_SUM"
  mod=$(jq -r .Dir "$build/vulndb.json")
  [ -d "$mod/data/osv" ] || die "golang.org/x/vulndb@$VULNDB_VERSION has no data/osv"

  log "database: building cmd/indexdb of golang.org/x/vulndb@$VULNDB_VERSION"
  GOBIN=$build/bin go install "golang.org/x/vulndb/cmd/indexdb@$VULNDB_VERSION" >"$build/install.log" 2>&1 ||
    { cat "$build/install.log" >&2; die "building golang.org/x/vulndb/cmd/indexdb failed"; }
  "$build/bin/indexdb" -vulns "$mod/data/osv" -out "$build/db" >"$build/indexdb.log" 2>&1 ||
    { cat "$build/indexdb.log" >&2; die "indexdb could not build the database"; }

  # The entries in the module carry no modification time (the published
  # database takes it from git history), so index/db.json says 0001-01-01.
  # State the snapshot's commit time instead, which govulncheck reports as the
  # database's last modification.
  jq -c --arg t "$(jq -r .Time "$(jq -r .Info "$build/vulndb.json")")" \
    'if $t | test("^[0-9]{4}-") then .modified = $t else error("no commit time in the .info file") end' \
    "$build/db/index/db.json" >"$build/db.json"
  cp "$build/db.json" "$build/db/index/db.json"
  gzip -n -c "$build/db/index/db.json" >"$build/db/index/db.json.gz"

  # A concurrent run may have won the race: its database is the same.
  mv -T "$build/db" "$DB_DIR" 2>/dev/null || [ -f "$DB_DIR/index/modules.json" ] ||
    die "cannot move the database to $DB_DIR"
  # Databases of earlier pins are no longer used.
  find "$STATE_DIR" -mindepth 1 -maxdepth 1 -type d -name 'db-*' ! -name "db-$VULNDB_VERSION" -exec rm -rf {} +
}

if [ ! -f "$DB_DIR/index/modules.json" ]; then
  rm -rf "$DB_DIR"
  (build_db)
fi
entries=$(jq length "$DB_DIR/index/vulns.json")
db_date=$(jq -r '.modified | .[0:10]' "$DB_DIR/index/db.json")

# ------------------------------------------------------------- govulncheck

installed=$(go version -m "$GOVULNCHECK" 2>/dev/null | awk '$1 == "mod" { print $3 }' || true)
if [ "$installed" != "$GOVULNCHECK_VERSION" ]; then
  log "installing golang.org/x/vuln/cmd/govulncheck@$GOVULNCHECK_VERSION into ./bin"
  GOBIN=$ROOT/bin go install "golang.org/x/vuln/cmd/govulncheck@$GOVULNCHECK_VERSION" >"$WORK/govulncheck-install.log" 2>&1 ||
    { cat "$WORK/govulncheck-install.log" >&2; die "installing govulncheck $GOVULNCHECK_VERSION failed"; }
fi

# ------------------------------------------------------------------- scans

# Each module is scanned once, to JSON; `-mode convert` then prints the text
# report and gives govulncheck's exit status (3: vulnerable code is called),
# and jq counts the vulnerabilities at each level from the same JSON.
db_url=file://$DB_DIR
called_total=0
failing=()
std_notes=()
results=()
for module in "${MODULES[@]}"; do
  name=${module#./}
  [ "$module" = . ] && name=root
  json=$WORK/scan-${name//\//_}.json
  log "scanning ./... of the $name module with govulncheck $GOVULNCHECK_VERSION"
  (cd "$ROOT/$module" && GOWORK=off "$GOVULNCHECK" -db "$db_url" -format json ./... >"$json" 2>"$WORK/scan.log") ||
    { cat "$WORK/scan.log" >&2; die "govulncheck could not scan the $name module"; }
  set +e
  "$GOVULNCHECK" -db "$db_url" -mode convert <"$json"
  status=$?
  set -e
  case $status in
    0 | 3) ;;
    *) die "govulncheck could not report on the $name module (exit $status)" ;;
  esac
  # Called vulnerabilities of modules (they fail the scan) and of the
  # standard library (reported with the Go release that fixes them).
  read -r called_mods called_std std_fixed < <(jq -s -r '
    [.[] | .finding? // empty | select(.trace[0].function)] | group_by(.osv)
    | [(map(select(.[0].trace[0].module != "stdlib")) | length),
       (map(select(.[0].trace[0].module == "stdlib")) | length),
       ([.[] | select(.[0].trace[0].module == "stdlib") | .[0].fixed_version // empty]
        | map(ltrimstr("v")) | sort_by(split(".") | map(tonumber? // 0)) | last // "-")] | @tsv' "$json") ||
    die "cannot classify the findings of the $name module"
  if [ "$called_mods" -gt 0 ]; then
    failing+=("$name")
  fi
  if [ "$called_std" -gt 0 ]; then
    std_notes+=("$name: $called_std in the standard library of $(go env GOVERSION), fixed in go$std_fixed")
  fi
  # A vulnerability's level is the deepest of its findings: a function that
  # is called, a package that is imported, or only a module that is required.
  read -r called imported required < <(jq -s -r '
    [.[] | .finding? // empty] | group_by(.osv)
    | map(if any(.[]; .trace[0].function) then "called"
          elif any(.[]; .trace[0].package) then "imported" else "required" end)
    | [(map(select(. == "called")) | length),
       (map(select(. == "imported")) | length),
       (map(select(. == "required")) | length)] | @tsv' "$json") ||
    die "cannot count the findings of the $name module"
  called_total=$((called_total + called))
  results+=("$name $called called ($called_std in the standard library), $imported imported, $required required")
done

# ----------------------------------------------------------------- summary

verdict=ok
status=0
if [ "${#std_notes[@]}" -gt 0 ]; then
  notes=$(printf '%s; ' "${std_notes[@]}")
  log "standard library (not failing: the fix is a newer Go, which release builds use): ${notes%; }"
fi
if [ "${#failing[@]}" -gt 0 ]; then
  if [ -n "${AGORA_VULNCHECK_WARN_ONLY:-}" ]; then
    verdict="WARNING (AGORA_VULNCHECK_WARN_ONLY, not failing): $called_total called vulnerabilities in ${failing[*]}"
  else
    verdict="FAILED: called vulnerabilities of modules in ${failing[*]} (above)"
    status=3
  fi
fi
summary=$(printf '%s; ' "${results[@]}")
printf 'vulncheck: %s in %d s; golang.org/x/vulndb@%s (%d entries, %s), govulncheck %s, %s; %s\n' \
  "$verdict" "$((SECONDS - started))" "$VULNDB_VERSION" "$entries" "$db_date" \
  "$GOVULNCHECK_VERSION" "$(go env GOVERSION)" "${summary%; }"
exit "$status"
