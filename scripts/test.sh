#!/usr/bin/env bash
# Create the environment (device + host + dev extras) and run lint, types and every test.
# Usage: bash scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
# The shared data lives beside the project (../shared/data). A clone made elsewhere (CI
# clones into a temporary folder) uses the one beside the repository it was cloned from.
if [ -z "${EDGE_RUNTIME_DATA:-}" ] && [ ! -d ../shared/data ]; then
    origin=$(git config --get remote.origin.url 2>/dev/null || true)
    if [ -n "$origin" ] && [ -d "$origin/../shared/data" ]; then
        EDGE_RUNTIME_DATA=$(cd "$origin/../shared/data" && pwd)
        export EDGE_RUNTIME_DATA
        echo "test.sh: shared data from $EDGE_RUNTIME_DATA (beside $origin)"
    fi
fi
# Debian tools the tests use: chromium (a real browser for the web page; never a
# downloaded build) and systemd-analyze (offline security score of the unit).
NEED=""
command -v chromium >/dev/null 2>&1 || NEED="$NEED chromium"
command -v systemd-analyze >/dev/null 2>&1 || NEED="$NEED systemd"
if [ -n "$NEED" ] && command -v apt-get >/dev/null 2>&1; then
    SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $NEED >/dev/null
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[host,camera,dev]"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
