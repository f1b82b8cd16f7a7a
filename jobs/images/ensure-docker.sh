#!/usr/bin/env bash
# Make sure a Docker engine answers: install Debian's docker.io and start dockerd when we are
# root on a machine without one (no systemd here); otherwise say what to do.
set -euo pipefail
if docker info >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "Docker engine not reachable: start dockerd (or use --sandbox process)" >&2
  exit 1
fi
if ! command -v dockerd >/dev/null; then
  echo "installing Debian's docker.io and debootstrap" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io debootstrap >/dev/null
fi
echo "starting dockerd" >&2
nohup dockerd >/var/log/dockerd.log 2>&1 &
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then exit 0; fi
  sleep 1
done
echo "dockerd did not come up in 60 s; see /var/log/dockerd.log" >&2
tail -n 20 /var/log/dockerd.log >&2 || true
exit 1
