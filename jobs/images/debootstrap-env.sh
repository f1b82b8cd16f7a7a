# Sourced by the offline image builds: the Debian suite and mirror for debootstrap (the first
# Debian main archive named by apt's sources unless RL_ARENA_DEBIAN_MIRROR says), and the checks
# that debootstrap can run here.
suite=${RL_ARENA_DEBIAN_SUITE:-bookworm}
mirror=${RL_ARENA_DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
  # deb822 or one-line format.
  mirror=$(grep -rhoE '(URIs:|^deb)[[:space:]]+[^[:space:]]+/debian/?([[:space:]]|$)' \
             /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
           | awk '{print $2}' | head -n 1 || true)
fi
mirror=${mirror:-http://deb.debian.org/debian}
command -v debootstrap >/dev/null || { echo "debootstrap is missing: apt-get install -y debootstrap" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "debootstrap needs root" >&2; exit 1; }
