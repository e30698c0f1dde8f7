#!/usr/bin/env bash
# Builds the pod sandbox ("pause") image without any registry: pause.c compiled static with gcc,
# packed by hand as a docker-archive tarball (manifest.json + config + one layer) that
# `ctr images import` reads.
#   usage: build-pause-image.sh OUTPUT_TAR IMAGE_NAME
set -euo pipefail
out=$(realpath -m "${1:?output tar}")
name=${2:?image name}
here=$(cd "$(dirname "$0")" && pwd)
[ -s "$out" ] && [ "$out" -nt "$here/pause.c" ] && exit 0

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/root" "$work/image"
gcc -static -Os -s -o "$work/root/pause" "$here/pause.c"
# A fixed mtime and owner keep the layer (so its digest) the same from one build to the next.
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work/root" -cf "$work/layer.tar" pause
layer_sha=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
mkdir -p "$work/image/$layer_sha"
mv "$work/layer.tar" "$work/image/$layer_sha/layer.tar"

cat >"$work/config.json" <<JSON
{"architecture":"$(dpkg --print-architecture 2>/dev/null || echo amd64)","os":"linux","created":"1970-01-01T00:00:00Z","config":{"Entrypoint":["/pause"],"User":"65535:65535"},"rootfs":{"type":"layers","diff_ids":["sha256:$layer_sha"]},"history":[{"created":"1970-01-01T00:00:00Z","created_by":"hades build-pause-image.sh"}]}
JSON
config_sha=$(sha256sum "$work/config.json" | cut -d' ' -f1)
mv "$work/config.json" "$work/image/$config_sha.json"
printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]\n' "$config_sha" "$name" "$layer_sha" >"$work/image/manifest.json"

mkdir -p "$(dirname "$out")"
(cd "$work/image" && tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf "$out.tmp" -- *)
mv "$out.tmp" "$out"
