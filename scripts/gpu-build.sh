#!/usr/bin/env bash
# Builds the native addon (CPU + CUDA kernels) on a GPU host from the carried tree, without
# node_modules: cmake + nvcc directly, Node-API headers from .device/napi, OpenBLAS from
# .device/openblas.tar.xz when the host has none. Called by scripts/gpu-check.sh (stage "build");
# with node_modules present it uses the normal cmake-js build instead. OLMO_USE_CARRIED_OPENBLAS=1
# forces the carried OpenBLAS (to test that path on a host that has one).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
extra=()
if [[ -n "${OLMO_USE_CARRIED_OPENBLAS:-}" ]] || ! ldconfig -p 2>/dev/null | grep -q libopenblas; then
  [[ -s .device/openblas.tar.xz ]] || { echo "no OpenBLAS on this host and no .device/openblas.tar.xz (scripts/gpu-pack.sh)"; exit 2; }
  [[ -d .device/openblas ]] || tar -C .device -xJf .device/openblas.tar.xz || exit 2
  extra+=(-DOLMO_CBLAS_INCLUDE="$ROOT/.device/openblas/include" -DOLMO_OPENBLAS_LIB="$ROOT/.device/openblas/lib/libopenblas.so")
  export LD_LIBRARY_PATH="$ROOT/.device/openblas/lib:${LD_LIBRARY_PATH:-}"
  echo "using the carried OpenBLAS"
fi
if [[ -d node_modules/cmake-js ]]; then
  OLMO_CUDA_ARCHS=${OLMO_CUDA_ARCHS:-90} exec node packages/tensor-cuda/scripts/build-native.mjs
fi
B=packages/tensor-cuda/build
gen=(); command -v ninja >/dev/null && gen=(-G Ninja)
# shellcheck disable=SC2086
OLMO_CUDA_ARCHS=${OLMO_CUDA_ARCHS:-90} cmake -S native -B $B "${gen[@]}" -DCMAKE_BUILD_TYPE=Release ${OLMO_CMAKE_ARGS:-} \
  -DCMAKE_JS_INC="$ROOT/.device/napi/include" -DNODE_ADDON_API_DIR="$ROOT/.device/napi/addon-api" \
  -DCMAKE_SHARED_LIBRARY_PREFIX= -DCMAKE_SHARED_LIBRARY_SUFFIX=.node \
  -DCMAKE_LIBRARY_OUTPUT_DIRECTORY="$ROOT/$B/Release" "${extra[@]}" || exit 3
cmake --build $B -j "$(nproc)" || exit 3
ls -la $B/Release/olmo_native.node
