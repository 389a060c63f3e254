/**
 * @olmo/trainer benchmark: training tokens/s (forward + loss + backward + clip + AdamW), float32,
 * 2 threads, side by side in one run with PyTorch 1.13 (Debian python3-torch) running the same
 * model (../shared/tools/anchors/torch_olmo_bench.py, untied head like OLMoConfig.tiny/small).
 * Also: model FLOPs/s as a fraction of the measured sgemm rate, and where the time goes
 * (forward / backward / clip + optimizer).
 *
 *   OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 LD_PRELOAD=libjemalloc.so.2 npx vitest run --config bench/train/vitest.config.ts
 *   BENCH_CONFIGS=tiny BENCH_STEPS=3 ...   (defaults: tiny,small and 4)
 * Writes bench/train/RESULTS.md.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { it } from 'vitest';
import { Generator, tidy } from '@olmo/tensor-cuda';
import { OLMo, OLMoConfig, type OLMoConfig as Cfg } from '@olmo/model';
import { AdamW, clipGradNorm, measureCpuPeakFlops, microbatchLoss, namedParameters } from '@olmo/trainer';

const here = __dirname;
const STEPS = Number(process.env.BENCH_STEPS ?? 4);
const PY = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const ANCHOR = path.resolve(here, '../../../shared/tools/anchors/torch_olmo_bench.py');
const CONFIGS: Record<string, { cfg: Cfg; B: number; T: number }> = {
  tiny: { cfg: OLMoConfig.tiny({ clip_qkv: null }), B: 8, T: 256 },
  small: { cfg: OLMoConfig.small({ clip_qkv: null }), B: 4, T: 512 },
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const now = () => Number(process.hrtime.bigint()) / 1e9;

function ours(name: string) {
  const { cfg, B, T } = CONFIGS[name]!;
  const model = OLMo.init(cfg, { seed: 1 });
  model.flatGrads();
  const params = namedParameters(model);
  const opt = new AdamW(params, { lr: 4e-4, betas: [0.9, 0.95], eps: 1e-5, weightDecay: 0.1 });
  const g = new Generator(2);
  const ids = Int32Array.from({ length: B * T }, () => g.nextU32() % cfg.vocab_size);
  const rows: number[][] = [];
  for (let s = 0; s < STEPS + 1; s++) {
    const t0 = now();
    model.zeroGrad();
    let t1 = 0, t2 = 0;
    tidy(() => {
      const out = microbatchLoss(model, ids, B, T, { normalizer: B * (T - 1) });
      t1 = now();
      out.ceLoss.backward();
      t2 = now();
    });
    clipGradNorm(params.map((p) => p.param), 1.0);
    opt.step();
    const t3 = now();
    if (s > 0) rows.push([t3 - t0, t1 - t0, t2 - t1, t3 - t2]);
  }
  const step = median(rows.map((r) => r[0]!));
  const res = { step_s: step, fwd_s: median(rows.map((r) => r[1]!)), bwd_s: median(rows.map((r) => r[2]!)), clip_opt_s: median(rows.map((r) => r[3]!)), tokens_per_s: (B * T) / step, flops_per_token: model.flopsPerToken(T) };
  opt.dispose(); model.dispose();
  return res;
}

function torch(name: string): { tokens_per_s: number; step_s: number; fwd_s: number; bwd_s: number; clip_opt_s: number } | null {
  if (!existsSync(ANCHOR)) return null;
  const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'bench-train-')), 'torch.json');
  try {
    execFileSync(PY, [ANCHOR, '--config', name, '--parts', 'train', '--untied', '--threads', '2', '--steps', String(STEPS), '--warmup', '1', '--json', out], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, OMP_NUM_THREADS: '2' } });
  } catch (e) { console.warn(`[bench/train] PyTorch anchor failed: ${(e as Error).message}`); return null; }
  const j = JSON.parse(readFileSync(out, 'utf8')) as { results: Array<{ train: { tokens_per_s: number; step_s: number; fwd_s: number; bwd_s: number; clip_opt_s: number } }> };
  return j.results[0]!.train;
}

it('training tokens/s vs PyTorch', () => {
  const names = (process.env.BENCH_CONFIGS ?? 'tiny,small').split(',');
  const peak = measureCpuPeakFlops();
  const lines = [
    '# bench/train results', '',
    `${new Date().toISOString()} · ${os.cpus()[0]?.model ?? 'cpu'} · ${os.availableParallelism()} cores · float32, 2 threads · median of ${STEPS} steps`,
    `Measured sgemm (512³, 2 threads): ${(peak / 1e9).toFixed(1)} GFLOP/s.`, '',
    '| config | train tok/s: ours | PyTorch | ours/PyTorch | ours GFLOP/s | % of sgemm | ours fwd / bwd / clip+AdamW (s) | PyTorch fwd / bwd / clip+AdamW (s) |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const n of names) {
    const o = ours(n), t = torch(n);
    const gf = (o.tokens_per_s * o.flops_per_token) / 1e9;
    const { B, T } = CONFIGS[n]!;
    lines.push(`| ${n} (B ${B}, T ${T}) | ${o.tokens_per_s.toFixed(0)} | ${t ? t.tokens_per_s.toFixed(0) : 'n/a'} | ${t ? (o.tokens_per_s / t.tokens_per_s).toFixed(2) + '×' : 'n/a'} | ${gf.toFixed(1)} | ${((gf * 1e9 * 100) / peak).toFixed(0)}% | ${o.fwd_s.toFixed(2)} / ${o.bwd_s.toFixed(2)} / ${o.clip_opt_s.toFixed(3)} | ${t ? `${t.fwd_s.toFixed(2)} / ${t.bwd_s.toFixed(2)} / ${t.clip_opt_s.toFixed(3)}` : 'n/a'} |`);
    console.log(lines[lines.length - 1]);
  }
  lines.push('', 'Goal (issue 6): ≥ 2× PyTorch. Numbers are only comparable within one run (shared machine).', '');
  writeFileSync(path.join(here, 'RESULTS.md'), lines.join('\n'));
});
