#!/usr/bin/env bash
# Prepares what scripts/gpu-check.sh needs on a GPU host that has CUDA, cmake and Python but no
# Node.js, no node_modules and no network. Run here (the dev machine), from the repo root:
#   bash scripts/gpu-pack.sh
# then, with the device tool: run { command: "bash scripts/gpu-check.sh",
#   carry: [".device", "packages/tensor-cuda/dist", "packages/model/dist"], timeout_s: 600 }.
# Writes (git-ignored):
#   .device/node.xz           Node.js (../shared/tools/pack-node.sh)
#   .device/napi/             Node-API + node-addon-api headers (cmake builds the addon without cmake-js)
#   .device/openblas.tar.xz   OpenBLAS (pthread) + libgfortran/libquadmath, used only when the host lacks them
#   packages/{tensor-cuda,model}/dist   the compiled TS the GPU scripts import
set -euo pipefail
cd "$(dirname "$0")/.."
say() { echo "[gpu-pack] $*"; }
if [[ -z "${SKIP_TSC:-}" ]]; then
  say "compiling TS (tensor-cuda, model)"
  for p in tensor-cuda model; do npx tsc -p "packages/$p/tsconfig.json"; done
fi
say "packing node"
# what ../shared/tools/pack-node.sh does, inline: that script writes .git/info/exclude, which fails
# in a git worktree (.git is a file there); .device/ is in .gitignore already
mkdir -p .device
nodebin=$(readlink -f "$(command -v node)")
if [[ ! -s .device/node.xz || .device/node.xz -ot "$nodebin" ]]; then xz -T2 -6 -c "$nodebin" > .device/node.xz; fi
mkdir -p .device/napi/include .device/napi/addon-api
cp node_modules/node-api-headers/include/*.h .device/napi/include/
cp node_modules/node-addon-api/*.h .device/napi/addon-api/
if [[ ! -s .device/openblas.tar.xz ]]; then
  say "packing OpenBLAS"
  tmp=$(mktemp -d)
  mkdir -p "$tmp/openblas/include" "$tmp/openblas/lib"
  inc=$(dirname "$(find /usr/include -name cblas.h | head -1)")
  cp "$inc"/*.h "$tmp/openblas/include/"
  cp "$(readlink -f /usr/lib/x86_64-linux-gnu/libopenblas.so.0)" "$tmp/openblas/lib/libopenblas.so.0"
  ln -s libopenblas.so.0 "$tmp/openblas/lib/libopenblas.so"
  for l in libgfortran.so.5 libquadmath.so.0; do cp "$(readlink -f /lib/x86_64-linux-gnu/$l)" "$tmp/openblas/lib/$l"; done
  tar -C "$tmp" -cJf .device/openblas.tar.xz openblas
  rm -rf "$tmp"
fi
du -ch .device/node.xz .device/openblas.tar.xz .device/napi packages/tensor-cuda/dist packages/model/dist | tail -1 | sed 's/^/[gpu-pack] carried size: /'
