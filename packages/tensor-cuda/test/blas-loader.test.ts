// OpenBLAS is loaded on the first BLAS call (native/cpu/blas_loader.cc), not with the addon: a process
// that only tags text never starts OpenBLAS's spinning thread pool, and a process that multiplies still
// gets the pool OpenBLAS would have started at load, sized from the same environment. Each case runs in
// a fresh process (the addon, and OpenBLAS with it, load once per process).
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureFreshDist } from '../../../test/support/fresh-dist.js';

const pkg = path.resolve(import.meta.dirname, '..');
const addonFile = path.join(pkg, 'build', 'Release', 'olmo_native.node');

// Prints one JSON object: OpenBLAS's state and the process's OS threads after loading the addon and
// running a text op, then after a float32 matmul A[64, 96]·B[96, 80] (B not transposed: native/cpu/gemm.cc
// sends it to cblas_sgemm; its panel GEMM takes transposed B only), and the product's max error.
const childScript = `
import { readdirSync, readFileSync } from 'node:fs';
const t = await import(${JSON.stringify(path.join(pkg, 'dist', 'index.js'))});
const threads = () => readdirSync('/proc/self/task').length;
const mapsOpenblas = () => /libopenblas/.test(readFileSync('/proc/self/maps', 'utf8'));
t.textPii('mail me at someone@example.com');
await new Promise((r) => setTimeout(r, 50));
const before = { ...t.blasState(), osThreads: threads(), mapped: mapsOpenblas() };
const M = 64, K = 96, N = 80;
const a = Float32Array.from({ length: M * K }, (_, i) => ((i * 37) % 23) / 11 - 1);
const b = Float32Array.from({ length: K * N }, (_, i) => ((i * 53) % 29) / 13 - 1);
const c = t.matmul(t.tensor(a, { shape: [M, K] }), t.tensor(b, { shape: [K, N] })).toFloat32Array();
let maxErr = 0;
for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
  let s = 0;
  for (let k = 0; k < K; k++) s += a[i * K + k] * b[k * N + j];
  maxErr = Math.max(maxErr, Math.abs(s - c[i * N + j]));
}
const after = { ...t.blasState(), osThreads: threads(), mapped: mapsOpenblas(), envCoretype: process.env.OPENBLAS_CORETYPE ?? null };
console.log(JSON.stringify({ before, after, maxErr }));
`;

function runChild(env: Record<string, string | undefined>) {
  const childEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...env })) if (v !== undefined) childEnv[k] = v;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', childScript], { encoding: 'utf8', env: childEnv, timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
    before: { loaded: boolean; threads: number; path: string; osThreads: number; mapped: boolean };
    after: { loaded: boolean; threads: number; path: string; osThreads: number; mapped: boolean; core: string; coreForced: string; envCoretype: string | null };
    maxErr: number;
  };
}

const noBlasEnv = { OPENBLAS_NUM_THREADS: undefined, GOTO_NUM_THREADS: undefined, OMP_NUM_THREADS: undefined };

describe('OpenBLAS loaded on first use', () => {
  beforeAll(() => { ensureFreshDist(['tensor-cuda']); }, 180_000);

  it('is not loaded by the addon or a text op, and comes up on the first matmul with the right result', () => {
    const r = runChild({ ...noBlasEnv, OPENBLAS_NUM_THREADS: '1' });
    expect(r.before).toMatchObject({ loaded: false, threads: 0, path: '', mapped: false });
    expect(r.after.loaded).toBe(true);
    expect(r.after.mapped).toBe(true);
    expect(r.after.path).toMatch(/openblas/);
    expect(r.after.threads).toBe(1);
    expect(r.after.osThreads).toBe(r.before.osThreads); // one BLAS thread: the caller, no pool
    // float32 sums of 96 products of magnitude <= 1 against float64 sums: |error| <= 96 * 2^-24 * 96
    expect(r.maxErr).toBeLessThan((96 * 96) / 2 ** 24);
  }, 60_000);

  const cores = availableParallelism();
  const skip = cores < 2 ? `only ${cores} core: OpenBLAS caps its threads at the cores` : '';
  if (skip) console.warn(`[skip] OpenBLAS thread-count cases: ${skip}`);

  it.skipIf(Boolean(skip))('starts the pool OPENBLAS_NUM_THREADS asks for on the first matmul (2 threads: one more OS thread)', () => {
    const r = runChild({ ...noBlasEnv, OPENBLAS_NUM_THREADS: '2' });
    expect(r.before.loaded).toBe(false);
    expect(r.after.threads).toBe(2);
    expect(r.after.osThreads).toBe(r.before.osThreads + 1);
    expect(r.maxErr).toBeLessThan((96 * 96) / 2 ** 24);
  }, 60_000);

  it.skipIf(Boolean(skip))('sizes the pool from OMP_NUM_THREADS when OPENBLAS_NUM_THREADS is unset, as OpenBLAS does at load', () => {
    const r1 = runChild({ ...noBlasEnv, OMP_NUM_THREADS: '1' });
    const r2 = runChild({ ...noBlasEnv, OMP_NUM_THREADS: '2' });
    expect([r1.after.threads, r2.after.threads]).toEqual([1, 2]);
  }, 60_000);

  // OpenBLAS's DYNAMIC_ARCH falls back to its SSE3 "Prescott" kernels on a CPU model newer than the
  // library (Debian's 0.3.21 on Emerald Rapids); the loader then reloads it with the core for the
  // CPU's features (blas_loader.cc). Whether this machine needs the fix or not, no AVX2 CPU may end
  // up on Prescott, the user's OPENBLAS_CORETYPE wins, and the environment is left as it was.
  const flags = readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)?.[1]?.split(/\s+/) ?? [];
  const avx2 = flags.includes('avx2') && flags.includes('fma');
  if (!avx2) console.warn('[skip] OpenBLAS core checks: no AVX2+FMA on this CPU (Prescott may be right)');

  it.skipIf(!avx2)('never runs OpenBLAS\'s Prescott fallback on an AVX2 CPU, and restores the environment', () => {
    const r = runChild({ ...noBlasEnv, OPENBLAS_NUM_THREADS: '1', OPENBLAS_CORETYPE: undefined, OLMO_OPENBLAS_CORETYPE_FIX: undefined });
    expect(r.after.core).not.toBe('');
    expect(r.after.core).not.toBe('Prescott');
    expect(r.after.envCoretype).toBeNull();
    if (r.after.coreForced) expect(r.after.core.toLowerCase()).toBe(r.after.coreForced.toLowerCase());
    expect(r.after.osThreads).toBe(r.before.osThreads); // the reload left no thread behind
    expect(r.maxErr).toBeLessThan((96 * 96) / 2 ** 24);
    // OLMO_OPENBLAS_CORETYPE_FIX=0: OpenBLAS's own choice (Prescott on the CPUs the fix is for)
    const off = runChild({ ...noBlasEnv, OPENBLAS_NUM_THREADS: '1', OPENBLAS_CORETYPE: undefined, OLMO_OPENBLAS_CORETYPE_FIX: '0' });
    expect(off.after.coreForced).toBe('');
    if (r.after.coreForced) expect(off.after.core).toBe('Prescott');
    expect(off.maxErr).toBeLessThan((96 * 96) / 2 ** 24);
  }, 60_000);

  it.skipIf(!avx2)('keeps the OPENBLAS_CORETYPE the user set', () => {
    const r = runChild({ ...noBlasEnv, OPENBLAS_NUM_THREADS: '1', OPENBLAS_CORETYPE: 'Haswell' });
    expect(r.after).toMatchObject({ core: 'Haswell', coreForced: '', envCoretype: 'Haswell' });
    expect(r.maxErr).toBeLessThan((96 * 96) / 2 ** 24);
  }, 60_000);

  it('leaves no OpenBLAS symbol for the dynamic loader to resolve (each cblas_* call needs a trampoline in blas_loader.cc)', () => {
    const nm = spawnSync('nm', ['--version'], { stdio: 'ignore' });
    if (nm.status !== 0) {
      console.warn('[skip] undefined-symbol check: nm not found (apt-get install -y binutils)');
      return;
    }
    const undefinedSyms = execFileSync('nm', ['-D', '--undefined-only', addonFile], { encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(undefinedSyms.split('\n').filter((l) => /\b(cblas_|openblas_|sgemm_|sgemv_)/.test(l))).toEqual([]);
    const needed = execFileSync('objdump', ['-p', addonFile], { encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(needed).not.toMatch(/NEEDED\s+libopenblas/);
  });
});
