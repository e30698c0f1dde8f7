#!/usr/bin/env bash
# Builds the local test images with `docker import`: there is no container registry to pull from.
#   hades-test/busybox:1   busybox-static in an empty root (sh and the usual tools)
#   hades-test/debian:12   debootstrap minbase + python3 (bash, python3)
# Idempotent: an image that exists is left alone. Needs root, apt and a running Docker engine.
set -euo pipefail

BUSYBOX_IMAGE=${HADES_TEST_BUSYBOX_IMAGE:-hades-test/busybox:1}
DEBIAN_IMAGE=${HADES_TEST_DEBIAN_IMAGE:-hades-test/debian:12}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

if ! have_image "$BUSYBOX_IMAGE"; then
  echo "[images] building $BUSYBOX_IMAGE from busybox-static"
  # Debian's busybox-static (setup installs it): one static binary, no libraries needed.
  dpkg -s busybox-static >/dev/null 2>&1 || { echo "[images] needs Debian busybox-static" >&2; exit 1; }
  bb=/bin/busybox
  root="$work/busybox"
  mkdir -p "$root"/{bin,etc,tmp,root,shared,proc,sys,dev}
  chmod 1777 "$root/tmp"
  cp "$bb" "$root/bin/busybox"
  for applet in $("$root/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
  tar -C "$root" -c . | docker import \
    -c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]' - "$BUSYBOX_IMAGE" >/dev/null
fi

if ! have_image "$DEBIAN_IMAGE"; then
  echo "[images] building $DEBIAN_IMAGE with debootstrap (takes a minute or two)"
  command -v debootstrap >/dev/null || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; } ||
    { echo "[images] ERROR: apt-get install debootstrap failed" >&2; exit 1; }
  mirror=${HADES_DEBIAN_MIRROR:-http://deb.debian.org/debian}
  root="$work/debian"
  debootstrap --variant=minbase --include=python3-minimal bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
    tail -20 "$work/debootstrap.log" >&2
    echo "[images] debootstrap failed (mirror $mirror); set HADES_DEBIAN_MIRROR to a reachable Debian mirror" >&2
    exit 1
  }
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  mkdir -p "$root/shared"
  tar -C "$root" -c . | docker import \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' -c 'CMD ["/bin/bash"]' \
    - "$DEBIAN_IMAGE" >/dev/null
fi
echo "[images] $BUSYBOX_IMAGE and $DEBIAN_IMAGE ready"
