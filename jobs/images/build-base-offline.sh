#!/usr/bin/env bash
# Build the agent base image without a registry: a minimal Debian root (python3 + numpy)
# made by debootstrap from the machine's own Debian mirror, plus the wheels pinned in
# agent-base-wheels.txt (onnxruntime), then `docker import`ed.
# Usage: build-base-offline.sh IMAGE_TAG PYTHON
#   PYTHON: an interpreter with pip (the platform's), which fetches the pinned wheels through
#   the operator's pip configuration and unpacks them into the root (Debian's python3 has no pip).
set -euo pipefail
tag=${1:?usage: build-base-offline.sh IMAGE_TAG PYTHON}
python=${2:?usage: build-base-offline.sh IMAGE_TAG PYTHON}
here=$(dirname "$0")
source "$here/debootstrap-env.sh"

rootfs=$(mktemp -d /var/tmp/rl-arena-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
echo "debootstrap $suite from $mirror into $rootfs" >&2
debootstrap --variant=minbase --include=python3,python3-numpy "$suite" "$rootfs" "$mirror" >&2
# The pinned wheels, for the root's own Python, where its `python3 -I` looks (not a user folder).
pyver=$(chroot "$rootfs" python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
site=/usr/local/lib/python$pyver/dist-packages
echo "installing $here/agent-base-wheels.txt into $site (python $pyver)" >&2
"$python" -m pip install --disable-pip-version-check --no-deps --require-hashes --no-compile \
  --only-binary=:all: --platform manylinux_2_28_x86_64 --implementation cp \
  --python-version "$pyver" --abi "cp${pyver/./}" --target "$rootfs$site" \
  -r "$here/agent-base-wheels.txt" >&2
rm -rf "${rootfs:?}$site/bin"  # console scripts, their shebang the host's interpreter
chroot "$rootfs" python3 -m compileall -q "$site" >&2
# Trim what an agent never needs: package caches, docs, locales.
rm -rf "$rootfs"/var/cache/apt/* "$rootfs"/var/lib/apt/lists/* \
       "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*
mkdir -p "$rootfs/agent" "$rootfs/run/arena" "$rootfs/opt/rl-arena"
# What the root is made of, not the build (hosts that build alike give agents' images the same
# tags): see base-content.sh.
content=$(bash "$here/base-content.sh" "$rootfs")
# onnxruntime's telemetry off: no device id kept (nor its warning in each agent's stderr).
tar -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'ENV ORT_DISABLE_TELEMETRY=1' \
  --change 'LABEL rl-arena.base=debootstrap' \
  --change "LABEL rl-arena.base-content=$content" \
  - "$tag" >&2
echo "$tag"
