#!/usr/bin/env bash
# Creates .venv (Python >= 3.11) and installs Junior AI with its dev tools. Idempotent and quick when nothing
# changed: it reinstalls only when pyproject.toml is newer than the last install.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "Junior AI needs Python 3.11 or newer; $PYTHON is $("$PYTHON" --version 2>&1). Set PYTHON=python3.12 (say)." >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.junior-ai-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".[dev]"
  touch "$stamp"
fi
# The replica tests need a real redis-server and the diff tests git (installed when missing; required in CI).
bash scripts/ensure_system_packages.sh
