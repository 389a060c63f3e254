#!/usr/bin/env bash
# Runs every olmo::cuda kernel on a CPU simulator and compares it with the olmo::cpu kernel
# (no GPU needed). Each .cu is rewritten by prep.py (<<<...>>> launches -> cusim::launch, dynamic
# shared memory -> a per-launch buffer) and compiled by g++ against cusim.h, which runs every CUDA
# thread of a block as a std::thread (__syncthreads = std::barrier, warp shuffles through a per-warp
# buffer; mma.sync / ldmatrix exchange fragments through a per-warp buffer, see mma.cuh; the
# simulator-only self-tests in sim/*.cu are compiled too). Catches indexing, masking, reduction,
# fragment-layout and synchronisation-order bugs; not performance,
# bank conflicts, register or shared-memory limits. Takes a few minutes on 2 cores.
#   bash native/cuda/sim/run.sh [family,family]   (default: all families)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
work=${CUSIM_WORK:-$(mktemp -d)}
mkdir -p "$work/inc"
cp "$here/cusim.h" "$work/inc/cusim.h"
echo '#include "cusim.h"' > "$work/inc/cuda_runtime.h"
echo '#include "cusim.h"' > "$work/inc/cuda_bf16.h"
blas_inc=$(ls -d /usr/include/x86_64-linux-gnu/openblas-pthread /usr/include/openblas 2>/dev/null | head -1 || true)
objs=()
for f in "$root"/native/cuda/*.cu "$here"/*.cu; do
  b=$(basename "$f" .cu)
  python3 "$here/prep.py" "$f" "$work/$b.sim.cc"
  g++ -std=c++20 -O2 -fopenmp -I"$work/inc" -I"$root/native/cuda" -I"$root/native/include" -include cusim.h -c "$work/$b.sim.cc" -o "$work/$b.sim.o"
  objs+=("$work/$b.sim.o")
  if [[ -f "$root/native/cpu/$b.cc" ]]; then
    g++ -std=c++17 -O2 -fopenmp -march=native -I"$root/native/include" ${blas_inc:+-I$blas_inc} -c "$root/native/cpu/$b.cc" -o "$work/cpu_$b.o"
    objs+=("$work/cpu_$b.o")
  fi
done
g++ -std=c++20 -O2 -fopenmp -I"$root/native/include" -c "$here/compare.cpp" -o "$work/compare.o"
g++ -fopenmp "$work/compare.o" "${objs[@]}" -o "$work/compare" -lopenblas -lpthread
"$work/compare" "$@"
