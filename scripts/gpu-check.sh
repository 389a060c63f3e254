#!/usr/bin/env bash
# GPU check for olmo-ts: on a machine with an NVIDIA GPU, build the native addon with the CUDA
# kernels, run the CUDA-vs-CPU comparison tests, and time every CUDA kernel against its
# bytes/FLOPs floor. See docs/cuda.md.
#
#   bash scripts/gpu-check.sh            # build + tests + full benchmark
#   bash scripts/gpu-check.sh --quick    # smaller benchmark shapes
#   SKIP_BUILD=1 / SKIP_TESTS=1 / SKIP_BENCH=1 skip a stage.
#
# Needs: nvidia driver, nvcc (CUDA 12.x/13.x), cmake, g++, libopenblas-dev, and the repo's
# node_modules (npm ci on a machine with network, or carried along). Node.js: when `node` is not
# on PATH and .device/node.xz exists (made by pack-node.sh on the dev machine), it is unpacked to
# .device/bin/node and used.
# Results: stdout, plus .device/gpu-check/{tests.txt,bench.txt,bench.json} ($OUT/ when set).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
QUICK=""
[[ "${1:-}" == "--quick" ]] && QUICK="--quick"
RES=${OUT:-$ROOT/.device/gpu-check}
mkdir -p "$RES"
say() { echo "[gpu-check] $*"; }

# ---- Node.js -----------------------------------------------------------------------------
if ! command -v node >/dev/null 2>&1; then
  if [[ -s .device/node.xz ]]; then
    mkdir -p .device/bin
    if [[ ! -x .device/bin/node ]]; then
      say "unpacking .device/node.xz -> .device/bin/node"
      xz -dc .device/node.xz > .device/bin/node && chmod +x .device/bin/node
    fi
    export PATH="$ROOT/.device/bin:$PATH"
  else
    say "ERROR: no node on PATH and no .device/node.xz (run /work/shared/tools/pack-node.sh on the dev machine)"
    exit 2
  fi
fi
say "node $(node --version)"

# ---- GPU / toolchain ---------------------------------------------------------------------
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | sed 's/^/[gpu-check] gpu: /'
else
  say "WARNING: nvidia-smi not found; the tests will skip if no GPU is visible"
fi
if ! command -v nvcc >/dev/null 2>&1; then
  for d in /usr/local/cuda/bin /usr/local/cuda-*/bin; do
    [[ -x "$d/nvcc" ]] && export PATH="$d:$PATH" && break
  done
fi
command -v nvcc >/dev/null 2>&1 && say "$(nvcc --version | tail -1)" || say "WARNING: nvcc not found: the addon will be CPU-only"
if [[ ! -d node_modules/cmake-js || ! -d node_modules/vitest ]]; then
  if command -v npm >/dev/null 2>&1; then
    say "installing node_modules (npm ci)"
    npm ci --no-audit --no-fund || { say "ERROR: npm ci failed"; exit 2; }
  else
    say "ERROR: node_modules missing (needs cmake-js, node-addon-api, vitest) and no npm here; carry node_modules along"
    exit 2
  fi
fi

# ---- build -------------------------------------------------------------------------------
if [[ -z "${SKIP_BUILD:-}" ]]; then
  say "building the addon (sm_80 + sm_90 SASS, plus PTX for newer GPUs)"
  if ! node packages/tensor-cuda/scripts/build-native.mjs > "$RES/build.txt" 2>&1; then
    tail -40 "$RES/build.txt"
    say "ERROR: build failed (full log: $RES/build.txt)"
    exit 3
  fi
  grep -E "olmo:|warning" "$RES/build.txt" | head -20
fi
node -e "const n=require('./packages/tensor-cuda/build/Release/olmo_native.node'); const i=n.buildInfo(); console.log('[gpu-check] buildInfo', JSON.stringify(i)); if (i.cudaDevices>0) console.log('[gpu-check] cuda:0 =', n.cudaDeviceName(0));"

status=0
# ---- tests -------------------------------------------------------------------------------
if [[ -z "${SKIP_TESTS:-}" ]]; then
  say "CUDA vs CPU comparison tests"
  # OLMO_REQUIRE_GPU=1: the test file fails (instead of skipping) when no CUDA build or GPU is found.
  OLMO_REQUIRE_GPU=1 node node_modules/vitest/vitest.mjs run packages/tensor-cuda/test/cuda.test.ts 2>&1 | tee "$RES/tests.txt"
  [[ ${PIPESTATUS[0]} -eq 0 ]] || { status=1; say "TESTS FAILED"; }
fi

# ---- NCCL collectives (world size 1; more with mpirun where GPUs allow) ----------------------
if [[ -z "${SKIP_NCCL:-}" ]]; then
  if [[ -z "${OLMO_NCCL_PATH:-}" ]]; then
    nccl_dir=$(python3 -c 'import nvidia.nccl, os; print(os.path.join(list(nvidia.nccl.__path__)[0], "lib"))' 2>/dev/null || true)
    [[ -n "$nccl_dir" && -e "$nccl_dir/libnccl.so.2" ]] && export OLMO_NCCL_PATH="$nccl_dir/libnccl.so.2"
  fi
  say "NCCL collectives at world size 1 (OLMO_NCCL_PATH=${OLMO_NCCL_PATH:-system})"
  (cd packages/tensor-cuda && node ../../node_modules/typescript/bin/tsc -p tsconfig.json) && \
    node packages/tensor-cuda/test/dist/nccl-worker.mjs 2>&1 | tee "$RES/nccl.txt"
  [[ ${PIPESTATUS[0]} -eq 0 ]] || { status=1; say "NCCL CHECK FAILED"; }
fi

# ---- benchmark ---------------------------------------------------------------------------
if [[ -z "${SKIP_BENCH:-}" ]]; then
  say "kernel timings vs the bytes/FLOPs floor"
  OLMO_BENCH_JSON="$RES/bench.json" node bench/cuda/kernels.mjs $QUICK 2>&1 | tee "$RES/bench.txt"
  [[ ${PIPESTATUS[0]} -eq 0 ]] || { status=1; say "BENCHMARK FAILED"; }
fi
say "done (status $status); results in $RES"
exit $status
