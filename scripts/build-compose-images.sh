#!/usr/bin/env bash
# Builds local images that stand in for the upstream ones docker-compose.yml pulls, for the compose
# test (no container registry is reachable here). Each runs the same program as the image it
# replaces, with the same entry point, user and ports, on hades-test/busybox:1 (sh and wget, as
# the upstream alpine images have):
#   hades-test/temporal:<cli>      for temporalio/temporal  the Temporal CLI set-up installs
#                                  (.tools/venv/bin/temporal), ENTRYPOINT temporal, user temporal
#                                  (uid 1000) owning /home/temporal
#   hades-test/temporal-ui:<ui>    for temporalio/ui        ui-server built from the Go module
#                                  github.com/temporalio/ui-server/v2 at the version the CLI embeds
#                                  (.tools/temporal-ui/VERSION/ui-server), its config/docker.yaml
#                                  (configured by TEMPORAL_* env as upstream), port 8080, user temporal
#   hades-test/nats:<version>      for nats:<version>-alpine  nats-server set-up installs
# Idempotent: an image that exists is left alone (the tags carry the versions). Prints one line per
# image, `VARIABLE=image`, on stdout (the .env lines that select them); progress goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

say() { echo "[compose-images] $*" >&2; }
die() { echo "[compose-images] ERROR: $*" >&2; exit 1; }
have_image() { docker image inspect "$1" >/dev/null 2>&1; }

temporal_bin=$root/.tools/venv/bin/temporal
nats_bin=$root/.tools/venv/bin/nats-server
[ -x "$nats_bin" ] || nats_bin=$(command -v nats-server || true)
[ -x "$temporal_bin" ] && [ -n "$nats_bin" ] || die "the Temporal CLI or nats-server is missing: run npm run setup"
base=${HADES_TEST_BUSYBOX_IMAGE:-hades-test/busybox:1}
have_image "$base" || bash scripts/build-images.sh >&2

# "temporal version 1.9.1 (Server 1.32.0, UI 2.54.1)"
versions=$("$temporal_bin" --version)
cli_version=$(sed -n 's/^temporal version \([0-9][0-9.]*\) .*/\1/p' <<<"$versions")
ui_version=$(sed -n 's/.*UI \([0-9][0-9.]*\)).*/\1/p' <<<"$versions")
nats_version=$("$nats_bin" --version | sed -n 's/^nats-server: v\([0-9][0-9.]*\).*/\1/p')
[ -n "$cli_version" ] && [ -n "$ui_version" ] && [ -n "$nats_version" ] ||
  die "cannot read the versions from '$versions' and '$("$nats_bin" --version)'"

temporal_image=hades-test/temporal:$cli_version
ui_image=hades-test/temporal-ui:$ui_version
nats_image=hades-test/nats:$nats_version

# One build at a time (two test runs may ask at once): the second finds the images built.
mkdir -p .hades
exec 9>.hades/build-compose-images.lock
flock 9
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Without the buildx plugin the classic builder runs; these Dockerfiles suit both.
docker buildx version >/dev/null 2>&1 || export DOCKER_BUILDKIT=0

# The upstream images' user: temporal, uid and gid 1000, home /home/temporal.
add_temporal_user='RUN echo "temporal:x:1000:1000::/home/temporal:/bin/sh" >> /etc/passwd \
 && echo "temporal:x:1000:" >> /etc/group \
 && mkdir -p /home/temporal && chown 1000:1000 /home/temporal'

build() {
  local image=$1 context=$2
  say "building $image"
  docker build -t "$image" "$context" >"$context.log" 2>&1 || { tail -20 "$context.log" >&2; die "docker build $image failed"; }
}

if ! have_image "$temporal_image"; then
  mkdir -p "$work/temporal"
  cp "$temporal_bin" "$work/temporal/temporal"
  cat >"$work/temporal/Dockerfile" <<EOF
FROM $base
ENV PATH=/usr/local/bin:/bin
COPY temporal /usr/local/bin/temporal
$add_temporal_user
USER temporal
WORKDIR /home/temporal
EXPOSE 7233
ENTRYPOINT ["temporal"]
EOF
  build "$temporal_image" "$work/temporal"
fi

if ! have_image "$ui_image"; then
  dest=.tools/temporal-ui/v$ui_version
  if [ ! -x "$dest/ui-server" ]; then
    go=$(command -v go || echo /usr/local/go/bin/go)
    [ -x "$go" ] || die "Go is needed to build the Temporal UI server (looked for go on PATH and /usr/local/go/bin/go)"
    module=github.com/temporalio/ui-server/v2
    say "building ui-server from $module@v$ui_version (log: $dest/build.log)"
    mkdir -p "$dest"
    start=$SECONDS
    GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOBIN="$root/$dest/bin.tmp" \
      "$go" install -trimpath -ldflags '-s -w' "$module/cmd/server@v$ui_version" >"$dest/build.log" 2>&1 ||
      { tail -20 "$dest/build.log" >&2; die "building ui-server failed"; }
    # Its config template, as upstream's image ships it (TEMPORAL_ADDRESS, TEMPORAL_UI_PORT, …).
    module_dir=$(GOTOOLCHAIN=local "$go" mod download -json "$module@v$ui_version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
    install -m 0644 "$module_dir/config/docker.yaml" "$dest/docker.yaml"
    mv "$dest/bin.tmp/server" "$dest/ui-server"
    rm -rf "$dest/bin.tmp"
    say "ui-server built in $((SECONDS - start)) s"
  fi
  mkdir -p "$work/ui"
  cp "$dest/ui-server" "$dest/docker.yaml" "$work/ui/"
  cat >"$work/ui/Dockerfile" <<EOF
FROM $base
ENV PATH=/usr/local/bin:/bin
$add_temporal_user
WORKDIR /home/ui-server
COPY ui-server ./ui-server
COPY docker.yaml ./config/docker.yaml
USER temporal
EXPOSE 8080
ENTRYPOINT ["./ui-server", "--env", "docker", "start"]
EOF
  build "$ui_image" "$work/ui"
fi

if ! have_image "$nats_image"; then
  mkdir -p "$work/nats"
  cp "$nats_bin" "$work/nats/nats-server"
  cat >"$work/nats/Dockerfile" <<EOF
FROM $base
ENV PATH=/usr/local/bin:/bin
COPY nats-server /usr/local/bin/nats-server
EXPOSE 4222 8222
CMD ["nats-server", "--jetstream"]
EOF
  build "$nats_image" "$work/nats"
fi

say "$temporal_image, $ui_image and $nats_image ready"
echo "TEMPORAL_IMAGE=$temporal_image"
echo "TEMPORAL_UI_IMAGE=$ui_image"
echo "NATS_IMAGE=$nats_image"
