#!/usr/bin/env bash
# The agent base's content digest (its rl-arena.base-content label): every Debian package in
# ROOTFS at its version, the build recipe and the pinned wheels beside this file. Unlike the
# image's id, which differs at each import, hosts that build alike get the same digest.
# Usage: base-content.sh ROOTFS
set -euo pipefail
rootfs=${1:?usage: base-content.sh ROOTFS}
here=$(dirname "$0")
digest=$({ dpkg-query --admindir="$rootfs/var/lib/dpkg" -W -f '${Package}=${Version}\n' | sort
           cat "$here/build-base-offline.sh" "$here/agent-base-wheels.txt"; } \
         | sha256sum | cut -d' ' -f1)
echo "sha256:$digest"
