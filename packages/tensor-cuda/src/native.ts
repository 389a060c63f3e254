/**
 * Loads the native addon (build/Release/olmo_native.node, built by cmake-js from native/).
 * Every call into it goes through `call()`, which converts native errors into typed OlmoErrors.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { OlmoError, fromNative } from './errors.js';

export interface NativeBuffer {
  readonly nbytes: number;
  readonly device: number;
  readonly freed: boolean;
  free(): void;
  write(byteOffset: number, data: ArrayBufferView | ArrayBuffer): void;
  read(byteOffset: number, nbytes: number): ArrayBuffer;
}

export interface BuildInfo {
  cudaCompiled: boolean;
  cudaDevices: number;
  mpiCompiled: boolean;
  openmp: boolean;
  blas: string;
}

/** The raw addon. Op families add functions; their signatures are documented in native/addon/<family>.cc. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type NativeAddon = Record<string, any> & {
  NativeBuffer: { new (nbytes: number, device?: number, zero?: boolean): NativeBuffer; new (mapPath: string): NativeBuffer };
  buildInfo(): BuildInfo;
  memoryStats(): { cpuBytes: number; cpuPeakBytes: number; cpuBuffers: number; cpuCachedBytes: number; cudaBytes: number; cudaPeakBytes: number; cudaBuffers: number; mappedBytes: number; mappedBuffers: number };
};

let addon: NativeAddon | undefined;

function candidates(): string[] {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const pkg = path.resolve(here, '..');
  const list = [path.join(pkg, 'build', 'Release', 'olmo_native.node')];
  if (process.env.OLMO_NATIVE_PATH) list.unshift(process.env.OLMO_NATIVE_PATH);
  return list;
}

/**
 * OpenMP (our kernels) and OpenBLAS (its own thread pool) alternate many times per training step.
 * With libgomp's default spin-waiting, the idle pool keeps its cores busy while the other one
 * works — on a 2-core machine that made training steps ~2.5x slower. Passive waiting must be set
 * before libgomp initialises (when the addon loads); an explicit user setting wins.
 */
function configureThreading(): void {
  if (process.env.OMP_WAIT_POLICY === undefined && process.env.GOMP_SPINCOUNT === undefined) {
    process.env.OMP_WAIT_POLICY = 'passive';
  }
}

export function native(): NativeAddon {
  if (addon) return addon;
  configureThreading();
  const require = createRequire(import.meta.url);
  const tried = candidates();
  for (const file of tried) {
    if (!existsSync(file)) continue;
    try {
      addon = require(file) as NativeAddon;
      return addon;
    } catch (e) {
      throw new OlmoError('NATIVE_UNAVAILABLE', `failed to load the native addon ${file}: ${(e as Error).message}`,
        'rebuild it: npm run build -w @olmo/tensor-cuda (needs cmake, g++ and libopenblas-dev)', { cause: e });
    }
  }
  throw new OlmoError('NATIVE_UNAVAILABLE', `native addon not built (looked for ${tried.join(', ')})`,
    'build it: npm run build -w @olmo/tensor-cuda (needs cmake, g++ and libopenblas-dev)');
}

/** Calls into the addon, turning native errors into typed OlmoErrors. */
export function call<T>(fn: (n: NativeAddon) => T): T {
  const n = native();
  try {
    return fn(n);
  } catch (e) {
    throw fromNative(e);
  }
}

export function memoryStats() {
  return native().memoryStats();
}

/** Restarts the peak counters (cpuPeakBytes / cudaPeakBytes) from the current live bytes. */
export function resetPeakMemory(): void {
  native().resetPeakMemory();
}

/** Returns cached CPU blocks to the OS (the allocator keeps freed blocks for reuse, bounded). */
export function emptyCache(): void {
  call((n) => n.emptyCache());
}

export function buildInfo(): BuildInfo {
  return native().buildInfo();
}

/** OpenBLAS is loaded on the first CPU GEMM / GEMV that goes to it, not with the addon (its pthreads
 * build starts a spinning thread pool when it loads: ~0.1 s of CPU in processes that never multiply,
 * such as `olmo data tag`; native/include/olmo/ops/blas_loader.h). It reads OPENBLAS_NUM_THREADS /
 * GOTO_NUM_THREADS / OMP_NUM_THREADS then, so `threads` is what it would have started at addon load
 * unless the environment changed in between. */
export interface BlasState {
  loaded: boolean; path: string; threads: number;
  /** openblas_get_corename() once loaded ('' before, or for another CBLAS): the kernels OpenBLAS runs. */
  core: string;
  /** The OPENBLAS_CORETYPE the loader set because OpenBLAS fell back to Prescott on an AVX2 CPU (native/cpu/blas_loader.cc), else ''. */
  coreForced: string;
}

export function blasState(): BlasState {
  return call((n) => n.blasState() as BlasState);
}

/** Which CUDA GEMM libraries loaded at run time (and why not), see native/cuda/gemm_lt.cu. */
export interface CudaGemmInfo {
  /** OLMO_CUDA_GEMM: auto | lt | cublas | tiled. */
  choice: string;
  cublasLt: { loaded: boolean; path: string; reason: string; version: number };
  cublas: { loaded: boolean; path: string; reason: string };
  /** With a device: the fp32 and bf16 GEMM backends in use there, and cuBLASLt calls vs hand-offs so far. */
  f32?: string; bf16?: string; ltCalls?: number; ltFallbacks?: number; ltLastFallback?: string;
}

/** CUDA GEMM libraries (needs no GPU without `device`); INVALID_ARGUMENT on a bad OLMO_CUDA_GEMM,
 * CUDA_UNAVAILABLE for an addon built without CUDA. */
export function cudaGemmInfo(device?: number): CudaGemmInfo {
  return call((n) => n.cudaGemmInfo(device) as CudaGemmInfo);
}
