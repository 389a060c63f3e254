// The prefill GEMMs' work distribution (native/cpu/panel_queue.h: panels claimed one ahead from a
// shared counter, the next panel's weight bytes prefetched) and AMX bf16's per-row prefetch change
// only which thread computes a panel and which cache lines are fetched early, never a result: the
// outputs with them (default) must be the same bits as with OLMO_GEMM_CLAIM_AHEAD=0 and
// OLMO_AMX_ROW_PREFETCH=0 (read once per process, hence child processes), on every M > 16 path
// (AMX where the CPU has it, the AVX512-VNNI and AVX2 int8 GEMMs), with 1 and 2 threads, for
// shapes with one panel, uneven panel counts per thread, partial panels and fused weights. A
// skipped, doubled or misrouted panel shows up as a hash mismatch (the default run is also checked
// against the in-process GEMV rows, so "both switch states wrong the same way" fails too).
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureFreshDist, repoRoot } from '../../../../test/support/fresh-dist.js';

// [M, K, [N per fused weight]]: one panel; 11 panels of 24 / 16 / 32 rows (uneven over 2 threads);
// fused weights with partial last panels; K with wide + narrow q8_0 groups; bf16 odd K (AMX tail).
const SHAPES: Array<[number, number, number[]]> = [
  [17, 64, [5]], [32, 256, [256]], [33, 544, [100, 37, 61]], [48, 1024, [333]], [32, 96, [768, 768, 768]], [64, 2048, [97, 50]],
];
const BF16_K_EXTRA: Array<[number, number, number[]]> = [[32, 77, [70]], [40, 1100, [33, 17]]];

// Child: every (path, format, shape) as one sha256 of the output bytes, plus the max |GEMM − GEMV
// rows| relative to the output scale for the default run's sanity check.
const script = (dist: string) => `
  const { createHash } = await import('node:crypto');
  const t = await import(${JSON.stringify(dist)});
  const shapes = ${JSON.stringify(SHAPES)}, extra = ${JSON.stringify(BF16_K_EXTRA)};
  const out = {};
  let worst = 0;
  t.noGrad(() => {
    for (const path of ['native', 'avx512bf16', 'avx2']) {
      const isa = t.setLowpIsa(path, true);
      for (const fmt of ['bf16', 'q8_0']) for (const [M, K, ns] of fmt === 'bf16' ? [...shapes, ...extra] : shapes) t.tidy(() => {
        const gen = new t.Generator(M * 7919 + K * 31 + ns.length);
        const x = t.tensor(Float32Array.from({ length: M * K }, () => gen.uniform() * 2 - 1), { shape: [M, K] });
        const ws = ns.map((n) => {
          const w = t.tensor(Float32Array.from({ length: n * K }, () => gen.uniform() - 0.5), { shape: [n, K] });
          return fmt === 'bf16' ? w.to('bfloat16') : t.quantize(w, 'q8_0');
        });
        const ys = t.lowpLinearMulti(x, ws).map((y) => y.toFloat32Array());
        const h = createHash('sha256');
        for (const y of ys) h.update(Buffer.from(y.buffer, y.byteOffset, y.byteLength));
        out[path + ' (' + isa + ') ' + fmt + ' ' + M + 'x' + K + 'x' + ns.join('+')] = h.digest('hex').slice(0, 16);
        // rows 0 and M - 1 through the GEMV (M = 1), the same kernels' int8 / bf16 operands
        for (const m of [0, M - 1]) {
          const xr = x.slice(0, m, m + 1);
          ws.forEach((w, i) => {
            const g = t.lowpLinear(xr, w).toFloat32Array();
            const scale = Math.max(1e-3, ...Array.from(g, Math.abs));
            for (let j = 0; j < g.length; j++) worst = Math.max(worst, Math.abs(g[j] - ys[i][m * ns[i] + j]) / scale);
          });
        }
      });
    }
  });
  process.stdout.write(JSON.stringify({ out, worst }));`;

describe('prefill GEMM claim-ahead panel queue and prefetches (M > 16)', () => {
  it('give the same bits with OLMO_GEMM_CLAIM_AHEAD=0 / OLMO_AMX_ROW_PREFETCH=0, on every path, 1 and 2 threads', () => {
    ensureFreshDist(['tensor-cuda']);
    const dist = path.join(repoRoot, 'packages/tensor-cuda/dist/index.js');
    const run = (env: Record<string, string>) => JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script(dist)], {
      env: { ...process.env, OLMO_CPU_ISA: '', OLMO_AMX: '', OLMO_GEMM_CLAIM_AHEAD: '', OLMO_AMX_ROW_PREFETCH: '', ...env }, maxBuffer: 1 << 24,
    }).toString()) as { out: Record<string, string>; worst: number };
    const base = run({ OMP_NUM_THREADS: '2' });
    expect(Object.keys(base.out).length).toBe(3 * (2 * SHAPES.length + BF16_K_EXTRA.length));
    // GEMM vs GEMV rows: only the float32 summation order (and AMX bf16's x split) differ.
    expect(base.worst).toBeLessThan(1e-3);
    const variants: Array<Record<string, string>> = [{ OMP_NUM_THREADS: '1' }, { OMP_NUM_THREADS: '2', OLMO_GEMM_CLAIM_AHEAD: '0' },
      { OMP_NUM_THREADS: '2', OLMO_AMX_ROW_PREFETCH: '0' }, { OMP_NUM_THREADS: '1', OLMO_GEMM_CLAIM_AHEAD: '0', OLMO_AMX_ROW_PREFETCH: '0' }];
    for (const env of variants) {
      expect(run(env).out, JSON.stringify(env)).toEqual(base.out);
    }
  }, 300_000);
});
