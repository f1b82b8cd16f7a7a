#!/usr/bin/env bash
# Build the agent base image without a registry: a minimal Debian root (python3 + numpy)
# made by debootstrap from the machine's own Debian mirror, then `docker import`ed.
# Usage: build-base-offline.sh IMAGE_TAG
set -euo pipefail
tag=${1:?usage: build-base-offline.sh IMAGE_TAG}
suite=${RL_ARENA_DEBIAN_SUITE:-bookworm}

mirror=${RL_ARENA_DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
  # First Debian main archive named by apt's sources (deb822 or one-line format).
  mirror=$(grep -rhoE '(URIs:|^deb)[[:space:]]+[^[:space:]]+/debian/?([[:space:]]|$)' \
             /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
           | awk '{print $2}' | head -n 1 || true)
fi
mirror=${mirror:-http://deb.debian.org/debian}

command -v debootstrap >/dev/null || { echo "debootstrap is missing: apt-get install -y debootstrap" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "debootstrap needs root" >&2; exit 1; }

rootfs=$(mktemp -d /var/tmp/rl-arena-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
echo "debootstrap $suite from $mirror into $rootfs" >&2
debootstrap --variant=minbase --include=python3,python3-numpy "$suite" "$rootfs" "$mirror" >&2
# Trim what an agent never needs: package caches, docs, locales.
rm -rf "$rootfs"/var/cache/apt/* "$rootfs"/var/lib/apt/lists/* \
       "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*
mkdir -p "$rootfs/agent" "$rootfs/run/arena" "$rootfs/opt/rl-arena"
tar -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'LABEL rl-arena.base=debootstrap' \
  - "$tag" >&2
echo "$tag"
