#!/usr/bin/env bash
# Build offline stand-ins for the official Postgres, Redis and nginx images from Debian's
# packages, for machines whose Docker cannot reach Docker Hub (this project's CI): a minimal
# Debian root made by debootstrap from the machine's own mirror, then `docker import`ed (as the
# agent base image is).
# Usage: build-stack-offline.sh postgres|redis|nginx IMAGE_TAG
set -euo pipefail
what=${1:?usage: build-stack-offline.sh postgres|redis|nginx IMAGE_TAG}
tag=${2:?usage: build-stack-offline.sh postgres|redis|nginx IMAGE_TAG}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/debootstrap-env.sh"

case "$what" in
  postgres) packages=postgresql-15 ;;
  redis) packages=redis-server ;;
  nginx) packages=nginx ;;
  *) echo "unknown image $what: postgres, redis or nginx" >&2; exit 2 ;;
esac
rootfs=$(mktemp -d /var/tmp/rl-arena-$what.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
echo "debootstrap $suite ($packages) from $mirror into $rootfs" >&2
debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" "$mirror" >&2
rm -rf "$rootfs"/var/cache/apt/* "$rootfs"/var/lib/apt/lists/* \
       "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*
path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
if [ "$what" = postgres ]; then
  # The package made a cluster of its own on install: the entrypoint makes one per data dir.
  rm -rf "$rootfs"/var/lib/postgresql/15 "$rootfs"/etc/postgresql/15
  install -m 0755 "$here/stack/postgres-entrypoint.sh" "$rootfs/usr/local/bin/docker-entrypoint.sh"
  mkdir -p "$rootfs/var/lib/postgresql/data"
  chroot "$rootfs" chown postgres:postgres /var/lib/postgresql/data
  tar -C "$rootfs" -c . | docker import \
    --change "ENV PATH=/usr/lib/postgresql/15/bin:$path" \
    --change 'ENV PGDATA=/var/lib/postgresql/data LANG=C.UTF-8' \
    --change 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' \
    --change 'EXPOSE 5432' \
    --change 'LABEL rl-arena.stand-in=postgres:15' - "$tag" >&2
elif [ "$what" = nginx ]; then
  # As the official image: the site comes from conf.d, the logs go to the container's output.
  rm -f "$rootfs"/etc/nginx/sites-enabled/*
  ln -sf /dev/stdout "$rootfs/var/log/nginx/access.log"
  ln -sf /dev/stderr "$rootfs/var/log/nginx/error.log"
  tar -C "$rootfs" -c . | docker import \
    --change "ENV PATH=$path LANG=C.UTF-8" \
    --change 'CMD ["nginx", "-g", "daemon off;"]' \
    --change 'EXPOSE 80' --change 'LABEL rl-arena.stand-in=nginx:1' - "$tag" >&2
else
  mkdir -p "$rootfs/data"
  chroot "$rootfs" chown redis:redis /data
  tar -C "$rootfs" -c . | docker import \
    --change "ENV PATH=$path LANG=C.UTF-8" --change 'WORKDIR /data' --change 'USER redis' \
    --change 'CMD ["redis-server", "--protected-mode", "no", "--bind", "0.0.0.0", "--appendonly", "yes"]' \
    --change 'EXPOSE 6379' --change 'LABEL rl-arena.stand-in=redis:7' - "$tag" >&2
fi
echo "$tag"
