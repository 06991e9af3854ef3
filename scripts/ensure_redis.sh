#!/usr/bin/env bash
# The HTTP replica tests run a real redis-server (Debian package `redis-server`). Installs it when missing and
# apt-get is usable (root, or passwordless sudo). In CI (CI set) a Redis that cannot be installed is a failure;
# on a developer machine it is a warning and those tests skip.
set -euo pipefail
if command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; fi
fi
if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" = "0" ] || [ -n "$SUDO" ]; }; then
  echo "installing redis-server (for the HTTP replica tests)..." >&2
  $SUDO apt-get update -qq >/dev/null || true
  if DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null; then
    exit 0
  fi
fi
if [ -n "${CI:-}" ]; then
  echo "redis-server is missing and could not be installed: CI needs it (apt-get install redis-server)." >&2
  exit 1
fi
echo "warning: redis-server is not installed; the HTTP replica tests will skip (apt-get install redis-server)." >&2
