#!/usr/bin/env bash
# Create the environment (device + host + dev extras) and run lint, types and every test.
# Usage: bash scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
# Data: $EDGE_RUNTIME_DATA, else the full data in ../shared/data beside the project, else
# (a developer's clone in a temporary folder) the one beside the repository it was cloned
# from, else the few sample files committed in samples/. Said first, before anything slow.
if [ -z "${EDGE_RUNTIME_DATA:-}" ] && [ ! -d ../shared/data ]; then
    origin=$(git config --get remote.origin.url 2>/dev/null || true)
    if [ -n "$origin" ] && [ -d "$origin/../shared/data" ]; then
        EDGE_RUNTIME_DATA=$(cd "$origin/../shared/data" && pwd)
        export EDGE_RUNTIME_DATA
    fi
fi
if [ -n "${EDGE_RUNTIME_DATA:-}" ]; then
    echo "test.sh: data: $EDGE_RUNTIME_DATA (EDGE_RUNTIME_DATA)"
elif [ -d ../shared/data ]; then
    echo "test.sh: data: $(cd ../shared/data && pwd) (full data beside the project)"
else
    echo "test.sh: data: samples/ (the repository's sample files; no ../shared/data here)"
fi
# Debian tools the tests use: chromium (a real browser for the web page; never a
# downloaded build), systemd-analyze (offline security score of the unit) and mosquitto
# (a real MQTT broker, started by the tests on a loopback port).
NEED=""
command -v chromium >/dev/null 2>&1 || NEED="$NEED chromium"
command -v systemd-analyze >/dev/null 2>&1 || NEED="$NEED systemd"
[ -x /usr/sbin/mosquitto ] || command -v mosquitto >/dev/null 2>&1 || NEED="$NEED mosquitto"
if [ -n "$NEED" ] && command -v apt-get >/dev/null 2>&1; then
    SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $NEED >/dev/null
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[host,camera,bench,mqtt,dev]"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
