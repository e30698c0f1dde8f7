#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager, kube-scheduler, kubelet and kubectl of one
# Kubernetes release from the Go module k8s.io/kubernetes, fetched through the Go module proxy.
#   usage: build-kubernetes.sh VERSION TOOLS_DIR      (e.g. v1.34.4 .tools/kubernetes)
# k8s.io/kubernetes replaces its staging modules (k8s.io/api, k8s.io/client-go, ...) with local
# folders, so it cannot be required as it is: a go.mod of our own requires it and points every
# staging module at its published v0.<minor>.<patch> release instead.
# Binaries land in TOOLS_DIR/VERSION/bin; nothing happens when all five are already there.
set -euo pipefail
version=${1:?version}
tools=$(realpath -m "${2:?tools dir}")
bin="$tools/$version/bin"
commands=(kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl)

have_all=1
for c in "${commands[@]}"; do [ -x "$bin/$c" ] || have_all=0; done
[ "$have_all" = 1 ] && exit 0

go=$(command -v go || echo /usr/local/go/bin/go)
[ -x "$go" ] || { echo "[kubernetes] Go is needed (1.24 or newer) to build Kubernetes $version" >&2; exit 1; }
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false

staging_version="v0.${version#v1.}"
minor=$(echo "$version" | cut -d. -f2)
build="$tools/$version/build"
mkdir -p "$build"
cd "$build"

# The upstream go.mod gives the go and godebug lines and the list of staging modules.
"$go" mod download -json "k8s.io/kubernetes@$version" >download.json
upstream_mod=$(sed -n 's/^\s*"GoMod": "\(.*\)",$/\1/p' download.json)
[ -f "$upstream_mod" ] || { echo "[kubernetes] no go.mod for k8s.io/kubernetes@$version" >&2; exit 1; }

{
  echo 'module hades.local/kubebuild'
  echo
  grep -E '^go [0-9.]+$' "$upstream_mod"
  grep -E '^godebug ' "$upstream_mod" || true
  echo
  echo "require k8s.io/kubernetes $version"
  echo
  echo 'replace ('
  # Each "k8s.io/x => ./staging/src/k8s.io/x" becomes "k8s.io/x => k8s.io/x v0.N.P".
  sed -n 's#^\s*\(k8s\.io/[A-Za-z0-9._-]*\) => \./staging/.*#\1#p' "$upstream_mod" |
    while read -r module; do echo "	$module => $module $staging_version"; done
  echo ')'
} >go.mod

{
  echo '//go:build tools'
  echo
  echo '// Package tools only names the commands to build, so go mod tidy keeps their dependencies.'
  echo 'package tools'
  echo
  echo 'import ('
  for c in "${commands[@]}"; do echo "	_ \"k8s.io/kubernetes/cmd/$c\""; done
  echo ')'
} >tools.go

echo "[kubernetes] go mod tidy ($version)"
"$go" mod tidy

now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$now"
done

echo "[kubernetes] go build ${commands[*]} ($version; a cold build takes 10 minutes or more)"
rm -rf "$build/out" && mkdir -p "$build/out"
pkgs=()
for c in "${commands[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
"$go" build -trimpath -ldflags "$ldflags" -o "$build/out/" "${pkgs[@]}"
mkdir -p "$bin"
for c in "${commands[@]}"; do mv "$build/out/$c" "$bin/$c"; done
echo "[kubernetes] built $("$bin/kubectl" version --client 2>/dev/null | head -1)"
