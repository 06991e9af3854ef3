#!/usr/bin/env bash
# The offline demo: simulated AIs of both protocols, the real server over stdio, what a host would see.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/junior-ai demo "$@"
