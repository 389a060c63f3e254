/**
 * cuBLASLt loader (native/cuda/gemm_lt.cu) without a GPU: a missing or wrong library leaves
 * cuBLASLt unloaded with a reason (bf16 GEMMs then fall back to cuBLAS GemmEx / the built-in
 * kernel), and a bad OLMO_CUDA_GEMM is a typed INVALID_ARGUMENT. The loader runs once per process
 * (at first use), so each case runs in a child Node process with its own environment.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildInfo, cudaGemmInfo, OlmoError } from '../../src/index.js';

const cudaCompiled = (() => { try { return buildInfo().cudaCompiled; } catch { return false; } })();
if (!cudaCompiled) console.log('[skip] gemm-lt-loader: the addon was built without CUDA (OLMO_NO_CUDA or no nvcc)');
const addonPath = resolve(import.meta.dirname, '../../build/Release/olmo_native.node');

/** Runs the raw addon's cudaGemmInfo() in a child process with `env` (the loader runs once per process). */
function infoWith(env: Record<string, string>): { info: Record<string, any> } {
  const script = `console.log(JSON.stringify({ info: require(${JSON.stringify(addonPath)}).cudaGemmInfo() }))`;
  const r = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  if (!line.startsWith('{')) throw new Error(`child failed (rc ${r.status}): ${r.stderr}`);
  return JSON.parse(line);
}

describe.skipIf(!cudaCompiled)('cuBLASLt loader (no GPU needed)', () => {
  it('OLMO_CUBLASLT=0: not loaded, says why', () => {
    const r = infoWith({ OLMO_CUBLASLT: '0' });
    expect(r.info!.cublasLt.loaded).toBe(false);
    expect(r.info!.cublasLt.reason).toMatch(/disabled by OLMO_CUBLASLT=0/);
    expect(r.info!.choice).toBe('auto');
  });

  it('a library without the cuBLASLt entry points is rejected (named symbol), not half-used', () => {
    const dir = mkdtempSync(join(tmpdir(), 'olmo-fake-lt-'));
    try {
      // A shared object that has cublasLtCreate but nothing else: the loader must refuse it.
      writeFileSync(join(dir, 'fake.c'), 'int cublasLtCreate(void** h) { *h = (void*)1; return 0; }\n');
      const cc = spawnSync('cc', ['-shared', '-fPIC', '-o', join(dir, 'libcublasLt.so.13'), join(dir, 'fake.c')], { encoding: 'utf8' });
      if (cc.status !== 0) { console.log(`[skip] no C compiler for the fake library: ${cc.stderr}`); return; }
      const r = infoWith({ OLMO_CUBLASLT_PATH: dir });
      expect(r.info!.cublasLt.loaded).toBe(false);
      expect(r.info!.cublasLt.path).toBe('');
      expect(r.info!.cublasLt.reason).toMatch(/libcublasLt\.so\.13 lacks cublasLtMatmulDescCreate/);
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });

  it('a path with no library: falls through to the system search; unloaded only with a "not found" reason', () => {
    const dir = mkdtempSync(join(tmpdir(), 'olmo-no-lt-'));
    try {
      const r = infoWith({ OLMO_CUBLASLT_PATH: dir });
      if (r.info!.cublasLt.loaded) {
        // this machine has a real cuBLASLt elsewhere: then it must be a real file, not the empty folder
        expect(r.info!.cublasLt.path).toMatch(/libcublasLt\.so/);
      } else {
        expect(r.info!.cublasLt.reason).toMatch(/not found \(searched \$OLMO_CUBLASLT_PATH=/);
      }
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });

  it('OLMO_CUDA_GEMM: valid choices are reported, anything else is a typed INVALID_ARGUMENT naming the valid ones', () => {
    const saved = process.env.OLMO_CUDA_GEMM;  // read at every GEMM (and info) call, so it can change in-process
    try {
      for (const c of ['lt', 'cublas', 'tiled', 'auto']) { process.env.OLMO_CUDA_GEMM = c; expect(cudaGemmInfo().choice).toBe(c); }
      process.env.OLMO_CUDA_GEMM = 'mkl';
      let err: unknown;
      try { cudaGemmInfo(); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(OlmoError);
      expect((err as OlmoError).code).toBe('INVALID_ARGUMENT');
      expect((err as OlmoError).message).toMatch(/OLMO_CUDA_GEMM='mkl'/);
      expect((err as OlmoError).hint).toMatch(/auto, lt, cublas, tiled/);
    } finally {
      if (saved === undefined) delete process.env.OLMO_CUDA_GEMM; else process.env.OLMO_CUDA_GEMM = saved;
    }
  });
});
