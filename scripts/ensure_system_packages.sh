#!/usr/bin/env bash
# System packages the tests use for real: `redis-server` (the HTTP replica tests) and `git` (the diff tests).
# Installs what is missing when apt-get is usable (root, or passwordless sudo). In CI (CI set) a package that
# cannot be installed is a failure; on a developer machine it is a warning and those tests skip.
set -euo pipefail
missing=()
command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || missing+=(redis-server)
command -v git >/dev/null 2>&1 || missing+=(git)
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; fi
fi
if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" = "0" ] || [ -n "$SUDO" ]; }; then
  echo "installing ${missing[*]} (for the tests that use them for real)..." >&2
  $SUDO apt-get update -qq >/dev/null || true
  if DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null; then
    exit 0
  fi
fi
if [ -n "${CI:-}" ]; then
  echo "${missing[*]} missing and could not be installed: CI needs them (apt-get install ${missing[*]})." >&2
  exit 1
fi
echo "warning: ${missing[*]} not installed; the tests that need them will skip (apt-get install ${missing[*]})." >&2
