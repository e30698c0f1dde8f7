#!/usr/bin/env bash
# Builds a production Temporal server (not the dev server) from the Go module go.temporal.io/server
# through the Go module proxy, with its SQL schema tool and PostgreSQL schemas, and makes sure
# PostgreSQL (Debian) is installed. Used by scripts/topology/temporalServer.ts.
#   build      .tools/temporal-server/VERSION/bin/temporal-server      (./cmd/server, static, CGO off)
#              .tools/temporal-server/VERSION/bin/temporal-sql-tool    (./cmd/tools/sql)
#   copy       .tools/temporal-server/VERSION/schema/postgresql/v12/{temporal,visibility}
#              (the module's schema/postgresql/v12/...: temporal-sql-tool update-schema -d reads them)
#   install    Debian `postgresql` with apt-get when no /usr/lib/postgresql/<major>/bin/initdb exists
# Idempotent: builds only when a binary or the schema is missing. Prints the
# VERSION directory on stdout, everything else goes to stderr.
# Measured on the 2-core machine (other work running on it too), with empty Go module and build
# caches (GOMODCACHE and GOCACHE pointed at new directories): 9.2 min (552 s) for the download
# and both builds, leaving 1.4 GB in the module cache and 1.6 GB in the build cache; the binaries
# are 116 MB (temporal-server) and 40 MB (temporal-sql-tool). 0.01 s once built.
# v1.32.2's go.mod says `go 1.26.10`; with an older 1.26 toolchain (1.26.8 here) and
# GOTOOLCHAIN=local, `go mod download` reports an error (the module is still extracted) and
# `go build` refuses. Patch releases do not change the language, so the writable copy's go
# directive is lowered to the local 1.26.x (said on stderr); a newer Go builds it unchanged.
# (The binary then has 1.26.8's standard library, not the 1.26.10 upstream asks for.)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

TEMPORAL_SERVER_VERSION=v1.32.2   # newest of the 1.32 line: GOTOOLCHAIN=local go list -m -versions go.temporal.io/server
MODULE=go.temporal.io/server

say() { echo "[setup-temporal-server] $*" >&2; }
die() { echo "[setup-temporal-server] ERROR: $*" >&2; exit 1; }

dest=.tools/temporal-server/$TEMPORAL_SERVER_VERSION
bin=$dest/bin
schema=$dest/schema/postgresql/v12

if [ ! -x "$bin/temporal-server" ] || [ ! -x "$bin/temporal-sql-tool" ] ||
   [ ! -f "$schema/temporal/schema.sql" ] || [ ! -f "$schema/visibility/schema.sql" ]; then
  go=$(command -v go || echo /usr/local/go/bin/go)
  [ -x "$go" ] || die "Go 1.26 or newer is needed to build the Temporal server (looked for go on PATH and /usr/local/go/bin/go)"
  mkdir -p "$dest"
  log=$dest/build.log
  : >"$log"
  say "building temporal-server and temporal-sql-tool from $MODULE@$TEMPORAL_SERVER_VERSION (log: $log)"
  start=$SECONDS
  src=$dest/src
  tmp=$dest/tmp
  rm -rf "$src" "$tmp"
  fail() { tail -30 "$log" >&2; die "building the Temporal server $TEMPORAL_SERVER_VERSION failed: $*"; }
  # The JSON has no "Dir" when the module asks for a newer Go than the local one (see above),
  # although the source is extracted all the same: take the directory from the module cache.
  GOTOOLCHAIN=local "$go" mod download -json "$MODULE@$TEMPORAL_SERVER_VERSION" >>"$log" 2>&1 || true
  module_dir=$(GOTOOLCHAIN=local "$go" env GOMODCACHE)/$MODULE@$TEMPORAL_SERVER_VERSION
  [ -f "$module_dir/go.mod" ] || fail "go mod download gave no source in $module_dir"
  for part in temporal visibility; do
    [ -f "$module_dir/schema/postgresql/v12/$part/schema.sql" ] || fail "no schema/postgresql/v12/$part in the module"
  done
  # The module cache is read-only: build a writable copy, as the main module.
  cp -r "$module_dir" "$src" && chmod -R u+w "$src" || fail "copying $module_dir"
  local_go=$(GOTOOLCHAIN=local "$go" env GOVERSION) # go1.26.8
  local_go=${local_go#go}
  wanted_go=$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$src/go.mod")
  if [ "${wanted_go%.*}" = "${local_go%.*}" ] &&
     [ "$(printf '%s\n%s\n' "$wanted_go" "$local_go" | sort -V | head -1)" != "$wanted_go" ]; then
    say "the module asks for go $wanted_go; building with the local go $local_go (same language version)"
    sed -i "s/^go $wanted_go\$/go $local_go/" "$src/go.mod"
  fi
  mkdir -p "$tmp/bin" "$tmp/schema/postgresql/v12"
  # As upstream's Makefile builds them (`make temporal-server temporal-sql-tool`), static.
  for target in temporal-server:./cmd/server temporal-sql-tool:./cmd/tools/sql; do
    name=${target%%:*}
    say "go build $name"
    (cd "$src" && GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false "$go" build -trimpath \
      -ldflags "-s -w" -o "$root/$tmp/bin/$name" "${target#*:}") >>"$log" 2>&1 || fail "go build $name"
  done
  cp -r "$src/schema/postgresql/v12/temporal" "$src/schema/postgresql/v12/visibility" "$tmp/schema/postgresql/v12/"
  rm -rf "$src"
  "$tmp/bin/temporal-server" --version >/dev/null || fail "the built temporal-server does not run"
  "$tmp/bin/temporal-sql-tool" --version >/dev/null || fail "the built temporal-sql-tool does not run"
  # Into place in one step each: an interrupted build leaves only tmp behind, never half a bin.
  rm -rf "$bin" "$dest/schema"
  mv "$tmp/schema" "$dest/schema"
  mv "$tmp/bin" "$bin"
  rm -rf "$tmp"
  say "built in $((SECONDS - start)) s"
fi

# PostgreSQL: the topology runs its own private cluster with these binaries (initdb, postgres).
if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  [ "$(id -u)" = 0 ] || die "PostgreSQL is not installed: run as root, or apt-get install postgresql"
  say "installing PostgreSQL (apt-get install postgresql)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends postgresql >&2 ||
    { apt-get update >&2 && apt-get install -y --no-install-recommends postgresql >&2; } ||
    die "apt-get install postgresql failed"
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || die "postgresql installed, but no /usr/lib/postgresql/*/bin/initdb"
  # The package makes a "main" cluster and may start it on port 5432: the topology runs its own.
  if command -v pg_lsclusters >/dev/null; then
    pg_lsclusters -h 2>/dev/null | while read -r version name _port status _rest; do
      if [ "$status" = online ]; then
        say "stopping the cluster $version/$name the package started (the topology runs its own)"
        pg_ctlcluster "$version" "$name" stop >&2 || true
      fi
    done
  fi
fi
id postgres >/dev/null 2>&1 || die "no 'postgres' user (the postgresql package creates it): PostgreSQL refuses to run as root"

echo "$root/$dest"
