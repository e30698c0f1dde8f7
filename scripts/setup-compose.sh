#!/usr/bin/env bash
# Builds Docker Compose v2 (`docker compose`) from the Go module github.com/docker/compose/v2
# through the Go module proxy and installs it as the Docker CLI plugin. Debian 12 has no
# Compose v2 (only the Python docker-compose 1.29).
#   build      .tools/compose/VERSION/docker-compose   (static, CGO off)
#   install    /usr/local/lib/docker/cli-plugins/docker-compose as root (found whatever
#              DOCKER_CONFIG is), else $DOCKER_CONFIG/cli-plugins (default ~/.docker/cli-plugins)
# Idempotent: builds only when the binary is missing, copies only when the installed plugin
# differs. Prints the installed plugin's path on stdout, everything else goes to stderr.
# Measured on the 2-core machine, busy with other builds: 5.4 min with empty Go caches, leaving
# 0.5 GB in the module cache and 0.9 GB in the build cache; 0.1 s once built.
# `go install module@version` refuses this module (its go.mod has exclude directives), so the
# module's source is downloaded with `go mod download` and built as the main module.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

COMPOSE_VERSION=v2.40.3   # newest of the 2.40 line: go list -m -versions github.com/docker/compose/v2

say() { echo "[setup-compose] $*" >&2; }
die() { echo "[setup-compose] ERROR: $*" >&2; exit 1; }

dest=.tools/compose/$COMPOSE_VERSION
binary=$dest/docker-compose

if [ ! -x "$binary" ]; then
  go=$(command -v go || echo /usr/local/go/bin/go)
  [ -x "$go" ] || die "Go 1.24 or newer is needed to build Docker Compose (looked for go on PATH and /usr/local/go/bin/go)"
  mkdir -p "$dest"
  log=$dest/build.log
  say "building docker-compose from github.com/docker/compose/v2@$COMPOSE_VERSION (log: $log)"
  start=$SECONDS
  src=$dest/src
  rm -rf "$src" "$binary.tmp"
  fail() { tail -30 "$log" >&2; die "building Docker Compose $COMPOSE_VERSION failed: $*"; }
  module_dir=$(GOTOOLCHAIN=local "$go" mod download -json "github.com/docker/compose/v2@$COMPOSE_VERSION" 2>"$log" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p') || true
  [ -n "$module_dir" ] && [ -f "$module_dir/go.mod" ] || fail "go mod download gave no source directory"
  # The module cache is read-only: build a writable copy, as the main module.
  cp -r "$module_dir" "$src" && chmod -R u+w "$src" || fail "copying $module_dir"
  # Flags as upstream's Makefile sets them (the version `docker compose version` shows).
  (cd "$src" && GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false "$go" build -trimpath \
    -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$COMPOSE_VERSION" \
    -o "$root/$binary.tmp" ./cmd) >>"$log" 2>&1 || fail "go build"
  rm -rf "$src"
  "$binary.tmp" version >/dev/null || fail "the built docker-compose does not run"
  mv "$binary.tmp" "$binary"
  say "built in $((SECONDS - start)) s"
fi

if [ "$(id -u)" = 0 ]; then
  plugins=/usr/local/lib/docker/cli-plugins
else
  plugins=${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins
fi
target=$plugins/docker-compose
if ! cmp -s "$binary" "$target"; then
  mkdir -p "$plugins"
  install -m 0755 "$binary" "$target.tmp"
  mv "$target.tmp" "$target"
  say "installed $target ($COMPOSE_VERSION)"
fi
echo "$target"
