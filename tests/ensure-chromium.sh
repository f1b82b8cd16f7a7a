#!/usr/bin/env bash
# The browser tests drive Debian's Chromium through Playwright (never `playwright install`, which
# downloads browsers): install it when we are root on a machine without it.
set -euo pipefail
if command -v chromium >/dev/null; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "Chromium is missing: apt-get install chromium (the browser tests need it)" >&2
  exit 1
fi
echo "installing Debian's chromium" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
