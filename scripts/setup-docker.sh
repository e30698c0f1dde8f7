#!/usr/bin/env bash
# Builds the Docker engine that set-up runs, from the Go module github.com/moby/moby/v2 (the Docker
# 29 engine) through the Go module proxy, into .tools/docker/VERSION/bin:
#   dockerd        the daemon (classic overlay2 graph driver; libnetwork without moby#46661)
#   docker-proxy   the userland proxy for published ports
# containerd, its runc shim, runc, docker-init (tini) and iptables come from Debian; the client
# stays whatever `docker` is installed (the daemon accepts API 1.40 and newer, so Debian's 20.10
# client works too). Only builds when a binary is missing; a cold build takes 4 to 5 minutes and
# about 2.5 GB of Go module and build cache. Prints the bin directory on stdout, everything else
# goes to stderr. Debian 12's docker.io (20.10) deadlocks under the tests' load (moby#46661).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

MOBY_VERSION=v2.0.0-beta.24   # master of moby/moby after Docker 29.8.0 (releases/versions.yaml)
ENGINE_VERSION=29.8.1-dev   # what `docker version` shows, with the module version after it

say() { echo "[setup-docker] $*" >&2; }
die() { echo "[setup-docker] ERROR: $*" >&2; exit 1; }

dest=.tools/docker/$MOBY_VERSION
bin=$dest/bin
if [ -x "$bin/dockerd" ] && [ -x "$bin/docker-proxy" ]; then
  echo "$root/$bin"
  exit 0
fi

go=$(command -v go || echo /usr/local/go/bin/go)
[ -x "$go" ] || die "Go 1.26 or newer is needed to build the Docker engine (looked for go on PATH and /usr/local/go/bin/go)"

say "building dockerd and docker-proxy from github.com/moby/moby/v2@$MOBY_VERSION (log: $dest/build.log)"
mkdir -p "$dest"
rm -rf "$dest/bin.tmp"
start=$SECONDS
# CGO off: the only cgo users are the btrfs graph driver (excluded) and XFS project quotas
# (overlay2 size limits, unused). The tags are those of the upstream static build.
module=github.com/moby/moby/v2
ldflags="-s -w -X $module/dockerversion.Version=$ENGINE_VERSION-moby-$MOBY_VERSION"
ldflags+=" -X $module/dockerversion.GitCommit=$MOBY_VERSION"
ldflags+=" -X $module/dockerversion.BuildTime=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOBIN="$root/$dest/bin.tmp" \
  "$go" install -trimpath \
  -tags 'netgo osusergo static_build nri_no_wasm exclude_graphdriver_btrfs' \
  -ldflags "$ldflags" \
  "$module/cmd/dockerd@$MOBY_VERSION" "$module/cmd/docker-proxy@$MOBY_VERSION" \
  >"$dest/build.log" 2>&1 ||
  { tail -30 "$dest/build.log" >&2; die "building the Docker engine failed"; }
rm -rf "$bin"
mv "$dest/bin.tmp" "$bin"
say "built in $((SECONDS - start)) s"
echo "$root/$bin"
