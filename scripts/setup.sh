#!/usr/bin/env bash
# Idempotent setup for a fresh Debian machine with Node 20: system packages, npm ci, builds.
# Used by the README's two commands (scripts/demo.sh, scripts/test.sh) and by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

# bold only on a terminal, never under NO_COLOR (https://no-color.org)
if [[ -t 1 && -z "${NO_COLOR:-}" && "${TERM:-}" != dumb ]]; then
  say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
else
  say() { printf '[setup] %s\n' "$*"; }
fi

# System packages: compiler + CMake for the addon, OpenBLAS for CPU GEMM, OpenMPI for the
# distributed backend and its launcher, libdeflate (dlopened by the gzip reader: ~2x zlib on small
# .jsonl.gz files; optional at run time), Chromium for the reports' headless render tests, tmux for
# the `olmo chat` pseudo-terminal test.
APT_PACKAGES=(build-essential cmake pkg-config libopenblas-dev openmpi-bin libopenmpi-dev zlib1g-dev libdeflate0 chromium tmux)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    say "installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "Missing system packages: ${missing[*]}" >&2
    echo "Run as root:  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
else
  say "system packages present (${APT_PACKAGES[*]})"
fi

major=$(node -p 'process.versions.node.split(".")[0]')
if ((major < 20)); then
  echo "Node >= 20 is required (found $(node --version))" >&2
  exit 1
fi

# npm ci when node_modules is missing or older than the lockfile.
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  say "installing npm dependencies (npm ci)"
  # node-llama-cpp (a devDependency: llama.cpp as the reference implementation in tests) ships
  # its prebuilt CPU binary as an npm package; its postinstall would otherwise try to download /
  # build llama.cpp when no binary fits. Skipped here and in package.json "config". Its CUDA /
  # Vulkan binary packages (~330 MB, never loaded: tests use the CPU build) are replaced by an empty
  # stub through package.json "overrides" (scripts/npm-stubs/empty).
  ONNXRUNTIME_NODE_INSTALL=skip NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm ci --no-audit --no-fund --loglevel=error
else
  say "npm dependencies up to date"
fi

say "building packages and the native addon (turbo run build)"
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
npx turbo run build --output-logs=errors-only
# npm ci links workspace bins before the build has created their dist/bin.js, so it skips them:
# link them now (and mark them executable) so `npx olmo ...` runs this repo's CLI.
say "linking the olmo commands into node_modules/.bin (npx olmo)"
npm rebuild --ignore-scripts --no-audit --no-fund --loglevel=error @olmo/trainer @olmo/data @olmo/model >/dev/null
say "ready"
