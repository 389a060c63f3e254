#!/usr/bin/env bash
# GPU check for olmo-ts in one command, for a GPU host that has only the carried tree (no Node.js,
# no node_modules, no network). Prepare here with `bash scripts/gpu-pack.sh`, then on the host:
#
#   bash scripts/gpu-check.sh        (device tool: carry [".device", "packages/tensor-cuda/dist",
#                                     "packages/model/dist"], timeout_s 600)
#
# Stages, each under its own time limit inside an overall budget (OLMO_GPU_BUDGET_S, default 540 s),
# each printing what it reached even when it fails or times out; a failed stage does not stop the
# later ones (except a failed build):
#   1 build      the addon with the CUDA kernels (cmake + nvcc, sm_90), Node headers from .device/napi
#   2 parity     CUDA vs CPU, every op forward + backward, the tensor-core kernels (our mma.sync bf16
#                GEMM forced with OLMO_CUDA_GEMM_BF16=mma; flash attention amp_bf16 HS 64/128, GQA,
#                documents; bf16-stored q/k/v read directly), amp_bf16's bf16 activation storage (swiglu
#                bf16 kernels, fp32-kernel attention on widened q/k/v, forward memory saving = the
#                predicted bytes), whole fp32 / amp_bf16 / checkpointed steps (bench/gpu-train/parity.mjs)
#   2b lt-overlap  cuBLASLt bf16 GEMMs (OLMO_CUDA_GEMM=lt|cublas|tiled: parity on the linear layouts, bf16
#                output, TFLOP/s at an OLMo-1B shape) and FSDP over NCCL at W=1 with overlap on vs off
#                (bit-identical, prefetch stats, s/pass) (bench/gpu-train/lt-overlap.mjs)
#   3 torch-1B   PyTorch anchor: HF OlmoForCausalLM 1B, SDPA, autocast bf16, fused AdamW, seq 4096
#   4 ours-1B    olmo-ts OLMo-1B amp_bf16, seq 4096, largest micro-batch that fits: tokens/s, MFU
#   5 ours-7B    one OLMo-7B step (seq 4096, micro-batch 1, activation_checkpointing whole_layer): peak memory
# MFU = flopsPerToken × tokens/s ÷ 989e12 (OLMo's flopsPerToken; see bench/gpu-train/train.mjs).
# Results: stdout and $OUT (or .device/gpu-check) {build,parity,torch-1B,ours-1B,ours-7B}.txt.
# FULL=1 also runs the vitest CUDA suite, the NCCL check and the kernel bench when node_modules exist.
set -uo pipefail
# A GPU is required here: the vitest CUDA suite (FULL=1) fails instead of skipping without one.
export OLMO_REQUIRE_GPU=1
cd "$(dirname "$0")/.."
ROOT=$(pwd)
RES=${OUT:-$ROOT/.device/gpu-check}
mkdir -p "$RES"
T0=$(date +%s)
BUDGET=${OLMO_GPU_BUDGET_S:-540}
say() { echo "[gpu-check +$(( $(date +%s) - T0 ))s] $*"; }
left() { echo $(( BUDGET - ($(date +%s) - T0) )); }
declare -A RESULT
# stage NAME LIMIT_S CMD...: runs CMD under min(LIMIT, budget left), tees to $RES/NAME.txt
stage() {
  local name=$1 limit=$2; shift 2
  local l; l=$(left)
  (( l < limit )) && limit=$l
  if (( limit < 15 )); then say "stage $name SKIPPED (budget spent)"; RESULT[$name]=skipped; return; fi
  say "stage $name (limit ${limit}s): $*"
  timeout --kill-after=5 "$limit" "$@" > >(tee "$RES/$name.txt") 2>&1
  local rc=$?
  case $rc in
    0) RESULT[$name]=ok ;;
    124|137) RESULT[$name]="TIMEOUT after ${limit}s" ;;
    *) RESULT[$name]="FAILED rc=$rc" ;;
  esac
  say "stage $name: ${RESULT[$name]}"
}

# ---- Node.js -----------------------------------------------------------------------------
if ! command -v node >/dev/null 2>&1; then
  if [[ -s .device/node.xz ]]; then
    mkdir -p .device/bin
    [[ -x .device/bin/node ]] || xz -dc .device/node.xz > .device/bin/node && chmod +x .device/bin/node
    export PATH="$ROOT/.device/bin:$PATH"
  else
    say "ERROR: no node on PATH and no .device/node.xz (run bash scripts/gpu-pack.sh here first)"; exit 2
  fi
fi
say "node $(node --version)"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader | sed 's/^/[gpu-check] gpu: /'
if ! command -v nvcc >/dev/null 2>&1; then
  for d in /usr/local/cuda/bin /usr/local/cuda-*/bin; do [[ -x "$d/nvcc" ]] && export PATH="$d:$PATH" && break; done
fi
command -v nvcc >/dev/null && say "$(nvcc --version | tail -1)" || say "WARNING: nvcc not found: the addon will be CPU-only and the GPU stages will report it"
for p in tensor-cuda model; do [[ -f packages/$p/dist/index.js ]] || { say "ERROR: packages/$p/dist missing (carry it; scripts/gpu-pack.sh builds it)"; exit 2; }; done
# @olmo/* resolve to the workspace packages (what npm's workspace links do)
mkdir -p node_modules/@olmo
for p in tensor-cuda model; do [[ -e node_modules/@olmo/$p ]] || ln -s "../../packages/$p" "node_modules/@olmo/$p"; done
# cuBLAS / NCCL from the Python wheels (nvidia/*/lib) when the system has none
py_lib() { python3 -c "import importlib,os,sys; m=importlib.import_module(sys.argv[1]); print(os.path.join(list(m.__path__)[0],'lib'))" "$1" 2>/dev/null; }
if [[ -z "${OLMO_CUBLAS_PATH:-}" ]]; then for m in nvidia.cu13 nvidia.cublas; do d=$(py_lib $m); [[ -n "$d" && -d "$d" ]] && ls "$d"/libcublas.so* >/dev/null 2>&1 && export OLMO_CUBLAS_PATH=$d && break; done; fi
say "OLMO_CUBLAS_PATH=${OLMO_CUBLAS_PATH:-system}"
# cuBLASLt ships next to cuBLAS in the same wheels; NCCL in nvidia.nccl (the FSDP overlap stage)
if [[ -z "${OLMO_CUBLASLT_PATH:-}" && -n "${OLMO_CUBLAS_PATH:-}" ]] && ls "$OLMO_CUBLAS_PATH"/libcublasLt.so* >/dev/null 2>&1; then export OLMO_CUBLASLT_PATH=$OLMO_CUBLAS_PATH; fi
say "OLMO_CUBLASLT_PATH=${OLMO_CUBLASLT_PATH:-system}"
if [[ -z "${OLMO_NCCL_PATH:-}" ]]; then for m in nvidia.nccl nvidia.cu13; do d=$(py_lib $m); [[ -n "$d" && -f "$d/libnccl.so.2" ]] && export OLMO_NCCL_PATH=$d/libnccl.so.2 && break; done; fi
say "OLMO_NCCL_PATH=${OLMO_NCCL_PATH:-system}"

# ---- 1 build (scripts/gpu-build.sh) -------------------------------------------------------
if [[ -n "${OLMO_USE_CARRIED_OPENBLAS:-}" ]] || ! ldconfig -p 2>/dev/null | grep -q libopenblas; then
  export LD_LIBRARY_PATH="$ROOT/.device/openblas/lib:${LD_LIBRARY_PATH:-}"
fi
stage build 240 bash scripts/gpu-build.sh
if [[ ${RESULT[build]} != ok ]]; then say "build failed: see $RES/build.txt"; exit 3; fi
node -e "const n=require('./packages/tensor-cuda/build/Release/olmo_native.node'); const i=n.buildInfo(); console.log('[gpu-check] buildInfo', JSON.stringify(i)); if (i.cudaDevices>0) console.log('[gpu-check] cuda:0', n.cudaDeviceName(0), 'gemm', JSON.stringify(n.cudaGemmInfo(0)));"

# ---- 2..5 ----------------------------------------------------------------------------------
stage parity 60 node bench/gpu-train/parity.mjs
stage lt-overlap 60 node bench/gpu-train/lt-overlap.mjs
stage torch-1B 100 env PYTHONUNBUFFERED=1 python3 bench/gpu-train/torch_anchor.py --model 1B --seq 4096 --steps 4 --warmup 2
stage ours-1B 120 node bench/gpu-train/train.mjs --model 1B --seq 4096 --mb auto --steps 4 --warmup 1 --copies
stage ours-7B 120 node bench/gpu-train/train.mjs --model 7B --seq 4096 --mb 1 --steps 1 --warmup 0 --ac whole_layer

if [[ -n "${FULL:-}" && -d node_modules/vitest ]]; then
  stage vitest-cuda 120 node node_modules/vitest/vitest.mjs run packages/tensor-cuda/test/cuda.test.ts
  stage kernels 120 node bench/cuda/kernels.mjs --quick
fi

say "summary:"
for s in build parity lt-overlap torch-1B ours-1B ours-7B; do echo "[gpu-check]   $s: ${RESULT[$s]:-not run}"; done
grep -h '"stage":"result"' "$RES"/lt-overlap.txt "$RES"/torch-1B.txt "$RES"/ours-1B.txt "$RES"/ours-7B.txt 2>/dev/null | sed 's/^/[gpu-check] result /'
fail=0; for s in build parity lt-overlap torch-1B ours-1B ours-7B; do [[ ${RESULT[$s]:-} == ok ]] || fail=1; done
exit $fail
