#!/usr/bin/env bash
# Build the agent base image without a registry: a minimal Debian root (python3 + numpy)
# made by debootstrap from the machine's own Debian mirror, then `docker import`ed.
# Usage: build-base-offline.sh IMAGE_TAG
set -euo pipefail
tag=${1:?usage: build-base-offline.sh IMAGE_TAG}
source "$(dirname "$0")/debootstrap-env.sh"

rootfs=$(mktemp -d /var/tmp/rl-arena-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
echo "debootstrap $suite from $mirror into $rootfs" >&2
debootstrap --variant=minbase --include=python3,python3-numpy "$suite" "$rootfs" "$mirror" >&2
# Trim what an agent never needs: package caches, docs, locales.
rm -rf "$rootfs"/var/cache/apt/* "$rootfs"/var/lib/apt/lists/* \
       "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*
mkdir -p "$rootfs/agent" "$rootfs/run/arena" "$rootfs/opt/rl-arena"
# What the root is made of (every package at its version, and this recipe), unlike the image's
# id, which differs at each import: hosts that build alike give agents' images the same tags.
content=$({ dpkg-query --admindir="$rootfs/var/lib/dpkg" -W -f '${Package}=${Version}\n' | sort
            cat "$0"; } | sha256sum | cut -d' ' -f1)
tar -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'LABEL rl-arena.base=debootstrap' \
  --change "LABEL rl-arena.base-content=sha256:$content" \
  - "$tag" >&2
echo "$tag"
