#!/usr/bin/env bash
# Lint, strict type check, then the test suite (pytest exits non-zero on a failure and on zero tests).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
