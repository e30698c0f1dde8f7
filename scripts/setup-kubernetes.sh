#!/usr/bin/env bash
# Installs and builds what a local Kubernetes cluster for the tests needs (scripts/kubernetes/
# cluster.ts starts it). Run as root on Debian 12; safe and fast to run again: every step checks
# before it acts, and a second run changes nothing.
#   Debian packages   etcd-server containerd runc containernetworking-plugins ipset iptables
#                     nftables iproute2 openssl conntrack gcc libc6-dev (no service is started by
#                     the install)
#   Kubernetes        kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl,
#                     built from the Go module k8s.io/kubernetes  -> .tools/kubernetes/VERSION/bin
#   local-path        github.com/rancher/local-path-provisioner  -> .tools/local-path-provisioner/VERSION
#   kube-router       github.com/cloudnativelabs/kube-router/v2  -> .tools/kube-router/VERSION
#                     (NetworkPolicy enforcement only)
#   pause image       scripts/kubernetes/pause.c, static          -> .tools/kubernetes/pause-image.tar
# A cold build takes 10 to 15 minutes and leaves about 7 GB in the Go build and module caches;
# with those caches warm (a fresh clone on the same machine) it takes about 15 seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

KUBERNETES_VERSION=v1.34.4
LOCAL_PATH_VERSION=v0.0.30
KUBE_ROUTER_VERSION=v2.1.0
PAUSE_IMAGE=hades-test/pause:1

say() { echo "[setup-kubernetes] $*"; }
die() { echo "[setup-kubernetes] ERROR: $*" >&2; exit 1; }

# --- Debian packages ------------------------------------------------------------------------
packages=(etcd-server containerd runc containernetworking-plugins ipset iptables nftables iproute2 openssl conntrack gcc libc6-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null ||
    die "missing: ${missing[*]}. Install these Debian packages (apt-get install -y ${missing[*]}) as root, then run again."
  # The cluster runs its own etcd and containerd on private sockets and ports: keep the packages'
  # system services from starting while they install (policy-rc.d answers "not now").
  added_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    added_policy=1
  fi
  say "apt-get update"
  apt-get update -qq >/dev/null || die "apt-get update failed"
  say "apt-get install ${missing[*]}"
  mkdir -p .tools
  DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >.tools/apt-kubernetes.log 2>&1 ||
    { tail -20 .tools/apt-kubernetes.log >&2; die "apt-get install ${missing[*]} failed"; }
  [ "$added_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
  # Under systemd the etcd unit would still be enabled for the next boot; nothing needs it.
  if [[ " ${missing[*]} " == *" etcd-server "* ]] && [ -d /run/systemd/system ]; then
    systemctl disable --now etcd >/dev/null 2>&1 || true
  fi
fi
for tool in etcd containerd ctr runc ipset iptables ip openssl; do
  command -v "$tool" >/dev/null || die "$tool is not on PATH after installing its package"
done
[ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/firewall ] || die "CNI plugins missing in /usr/lib/cni"

# --- Go builds ------------------------------------------------------------------------------
go=$(command -v go || echo /usr/local/go/bin/go)
need_go() { [ -x "$go" ] || die "Go 1.24 or newer is needed to build $1 (looked for go on PATH and /usr/local/go/bin/go)"; }

need_build=0
for c in kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl; do
  [ -x ".tools/kubernetes/$KUBERNETES_VERSION/bin/$c" ] || need_build=1
done
if [ "$need_build" = 1 ]; then
  need_go "Kubernetes"
  say "building Kubernetes $KUBERNETES_VERSION (log: .tools/kubernetes/build.log)"
  mkdir -p .tools/kubernetes
  start=$SECONDS
  PATH="$(dirname "$go"):$PATH" bash scripts/kubernetes/build-kubernetes.sh "$KUBERNETES_VERSION" .tools/kubernetes \
    >.tools/kubernetes/build.log 2>&1 || { tail -30 .tools/kubernetes/build.log >&2; die "Kubernetes build failed"; }
  say "Kubernetes built in $((SECONDS - start)) s"
fi

# go install of a module at a version (neither has replace directives), into DEST/NAME.
go_install() {
  local package=$1 dest=$2 name=$3
  [ -x "$dest/$name" ] && return 0
  need_go "$name"
  say "building $package (log: $dest.log)"
  mkdir -p "$dest.tmp"
  GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOBIN="$root/$dest.tmp" \
    "$go" install -trimpath -ldflags '-s -w' "$package" >"$dest.log" 2>&1 ||
    { tail -30 "$dest.log" >&2; die "building $package failed"; }
  mkdir -p "$dest"
  mv "$dest.tmp/$name" "$dest/$name"
  rm -rf "$dest.tmp"
}
go_install "github.com/rancher/local-path-provisioner@$LOCAL_PATH_VERSION" \
  ".tools/local-path-provisioner/$LOCAL_PATH_VERSION" local-path-provisioner
go_install "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@$KUBE_ROUTER_VERSION" \
  ".tools/kube-router/$KUBE_ROUTER_VERSION" kube-router

# --- pause image ----------------------------------------------------------------------------
bash scripts/kubernetes/build-pause-image.sh .tools/kubernetes/pause-image.tar "$PAUSE_IMAGE" ||
  die "building the pause image failed"

say "ready (Kubernetes $KUBERNETES_VERSION in .tools/kubernetes/$KUBERNETES_VERSION/bin)"
