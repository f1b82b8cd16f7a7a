#!/usr/bin/env bash
# Make sure `docker compose` (Compose v2) works. Debian 12 has only the old docker-compose 1.29,
# which lacks `up --wait`; Debian 13's docker-compose package is Compose v2, a Go program that
# needs glibc >= 2.34 (Debian 12 has 2.36): its binary becomes a Docker CLI plugin. The package
# comes from Debian's archive and is checked against the digest pinned here.
set -euo pipefail
if docker compose version >/dev/null 2>&1; then exit 0; fi
version=2.26.1-4
sha256=47681197cb2b1ab88206b42a1a92fc75f50d9530a6322d03494a473eed0408ea
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
plugins=${DOCKER_CLI_PLUGINS:-/usr/local/lib/docker/cli-plugins}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
deb="$work/docker-compose.deb"
echo "installing Compose v2 ($version, Debian 13's docker-compose) as a Docker CLI plugin" >&2
curl -fsSL --retry 3 -o "$deb" "$mirror/pool/main/d/docker-compose/docker-compose_${version}_amd64.deb"
echo "$sha256  $deb" | sha256sum --check --quiet
dpkg-deb -x "$deb" "$work/root"
install -D -m 0755 "$work/root/usr/libexec/docker/cli-plugins/docker-compose" "$plugins/docker-compose"
docker compose version
