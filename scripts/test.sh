#!/usr/bin/env bash
# The README's test command: sets up what is missing, then runs every test once.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "[test] running the test suite (vitest)"
npx vitest run "$@"
