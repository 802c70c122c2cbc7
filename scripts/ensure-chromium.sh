#!/usr/bin/env bash
# The browser tests drive Debian's Chromium (Playwright never downloads a browser here).
# Installs it when missing and we are root; otherwise says how to install it and fails.
set -euo pipefail

DEBIAN_CHROMIUM=/usr/bin/chromium
CHROMIUM="${CHROMIUM:-$DEBIAN_CHROMIUM}"

if [ -x "$CHROMIUM" ]; then
  exit 0
fi

if [ "$CHROMIUM" = "$DEBIAN_CHROMIUM" ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the browser tests..."
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium
  [ -x "$CHROMIUM" ] && exit 0
fi

echo "The browser tests need Chromium at $CHROMIUM, and it is missing." >&2
echo "Install it as root:  apt-get update && apt-get install -y chromium" >&2
echo "(or set CHROMIUM to another Chromium binary). Playwright's own browser download is not used." >&2
exit 1
