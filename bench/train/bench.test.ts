/**
 * @olmo/trainer benchmark: training tokens/s (forward + loss + backward + clip + AdamW), float32,
 * 2 threads, against PyTorch 1.13 (Debian python3-torch) running the same model
 * (../shared/tools/anchors/torch_olmo_bench.py, untied head like OLMoConfig.tiny/small) at its best:
 * jemalloc preloaded, AdamW(foreach=True), 2 threads. Ours and PyTorch ALTERNATE for BENCH_ROUNDS
 * rounds in one run (the order flips every round); each round measures BENCH_STEPS steps after a
 * warm-up. Reported: medians over rounds with the range, the per-round ratio, the load (uptime) at
 * start and end, the CPU model and SIMD flags, and the command. Also model FLOPs/s as a fraction of
 * the measured sgemm rate, and where the time goes (forward / backward / clip + optimizer).
 *
 *   npx vitest run --config bench/train/vitest.config.ts
 *   BENCH_CONFIGS=tiny BENCH_ROUNDS=3 BENCH_STEPS=3 ...   (defaults: tiny,small, 3 rounds, 3 steps)
 * Writes bench/train/RESULTS.md. Needs: apt-get install -y python3-torch libjemalloc2
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { it } from 'vitest';
import { Generator, tidy } from '@olmo/tensor-cuda';
import { OLMo, OLMoConfig, type OLMoConfig as Cfg } from '@olmo/model';
import { AdamW, clipGradNorm, measureCpuPeakFlops, microbatchLoss, namedParameters } from '@olmo/trainer';
// @ts-expect-error plain ESM helper shared by the benches (no types)
import { conditionsMarkdown, fmtSpread, median, torchEnv, uptime } from '../common/machine.mjs';

const here = __dirname;
const STEPS = Number(process.env.BENCH_STEPS ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PY = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const ANCHOR = path.resolve(here, '../../../shared/tools/anchors/torch_olmo_bench.py');
const CONFIGS: Record<string, { cfg: Cfg; B: number; T: number }> = {
  tiny: { cfg: OLMoConfig.tiny({ clip_qkv: null }), B: 8, T: 256 },
  small: { cfg: OLMoConfig.small({ clip_qkv: null }), B: 4, T: 512 },
};
const now = () => Number(process.hrtime.bigint()) / 1e9;
interface Timing { tokens_per_s: number; step_s: number; fwd_s: number; bwd_s: number; clip_opt_s: number }

/** Our side: one model + optimizer kept across rounds; run(steps) times `steps` steps after one warm-up step. */
function oursRunner(name: string) {
  const { cfg, B, T } = CONFIGS[name]!;
  const model = OLMo.init(cfg, { seed: 1 });
  model.flatGrads();
  const params = namedParameters(model);
  const opt = new AdamW(params, { lr: 4e-4, betas: [0.9, 0.95], eps: 1e-5, weightDecay: 0.1 });
  const g = new Generator(2);
  const ids = Int32Array.from({ length: B * T }, () => g.nextU32() % cfg.vocab_size);
  const run = (steps: number): Timing => {
    const rows: number[][] = [];
    for (let s = 0; s < steps + 1; s++) {
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
    return { step_s: step, fwd_s: median(rows.map((r) => r[1]!)), bwd_s: median(rows.map((r) => r[2]!)), clip_opt_s: median(rows.map((r) => r[3]!)), tokens_per_s: (B * T) / step };
  };
  return { run, flopsPerToken: model.flopsPerToken(T), dispose: () => { opt.dispose(); model.dispose(); } };
}

/** One PyTorch anchor process: `STEPS` timed steps after one warm-up step (jemalloc, foreach AdamW). */
function torch(name: string): Timing | null {
  if (!existsSync(ANCHOR)) return null;
  const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'bench-train-')), 'torch.json');
  try {
    execFileSync(PY, [ANCHOR, '--config', name, '--parts', 'train', '--untied', '--foreach', '--threads', '2', '--steps', String(STEPS), '--warmup', '1', '--json', out], { stdio: ['ignore', 'ignore', 'inherit'], env: torchEnv(2) });
  } catch (e) { console.warn(`[bench/train] PyTorch anchor failed: ${(e as Error).message}`); return null; }
  const j = JSON.parse(readFileSync(out, 'utf8')) as { env: { adamw_foreach?: boolean }; results: Array<{ train: Timing }> };
  if (j.env.adamw_foreach !== true) throw new Error('the PyTorch anchor did not run foreach AdamW');
  return j.results[0]!.train;
}

it('training tokens/s vs PyTorch (alternated rounds)', () => {
  const names = (process.env.BENCH_CONFIGS ?? 'tiny,small').split(',');
  const startUptime = uptime();
  const peak = measureCpuPeakFlops();
  const table = [
    '| config | train tok/s: ours | PyTorch | ours/PyTorch (per round) | ours GFLOP/s | % of sgemm | ours fwd / bwd / clip+AdamW (s) | PyTorch fwd / bwd / clip+AdamW (s) |',
    '|---|---|---|---|---|---|---|---|',
  ];
  // Written after every config, so a run cut short still leaves what it measured.
  const writeResults = () => {
    const lines = [
      '# bench/train results', '',
      `${new Date().toISOString()} · float32, 2 threads · ${ROUNDS} alternated rounds (ours / PyTorch, order flipped each round) × ${STEPS} timed steps after a warm-up step; cells: median over rounds (min–max).`,
      `Measured sgemm (512³, 2 threads): ${(peak / 1e9).toFixed(1)} GFLOP/s.`, '',
      ...conditionsMarkdown({
        command: `BENCH_CONFIGS=${names.join(',')} BENCH_ROUNDS=${ROUNDS} BENCH_STEPS=${STEPS} npx vitest run --config bench/train/vitest.config.ts`,
        startUptime, endUptime: uptime(),
        notes: ['PyTorch anchor: ../shared/tools/anchors/torch_olmo_bench.py --parts train --untied --foreach --threads 2, LD_PRELOAD=libjemalloc.so.2'],
      }),
      '', ...table, '',
      'Goal (issue 6): ≥ 2× PyTorch. The machine is shared: compare within a run (the ratio column), not across runs.', '',
    ];
    writeFileSync(path.join(here, 'RESULTS.md'), lines.join('\n'));
  };
  for (const n of names) {
    const o = oursRunner(n);
    const mine: Timing[] = [], theirs: Timing[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate, flipping the order each round so a drifting load hits both sides alike.
      const sides = r % 2 === 0 ? ['ours', 'torch'] : ['torch', 'ours'];
      for (const side of sides) {
        if (side === 'ours') mine.push(o.run(STEPS));
        else { const t = torch(n); if (t) theirs.push(t); }
      }
      console.log(`[bench/train] ${n} round ${r + 1}/${ROUNDS}: ours ${mine.at(-1)!.tokens_per_s.toFixed(0)} tok/s, PyTorch ${theirs.at(-1)?.tokens_per_s.toFixed(0) ?? 'n/a'} tok/s; ${uptime()}`);
    }
    o.dispose();
    const tps = mine.map((m) => m.tokens_per_s);
    const gf = (median(tps) * o.flopsPerToken) / 1e9;
    const { B, T } = CONFIGS[n]!;
    const ratios = theirs.length === mine.length ? mine.map((m, i) => m.tokens_per_s / theirs[i]!.tokens_per_s) : [];
    const med = (xs: Timing[], k: keyof Timing) => median(xs.map((x) => x[k]));
    table.push(`| ${n} (B ${B}, T ${T}) | ${fmtSpread(tps, 0)} | ${theirs.length ? fmtSpread(theirs.map((t) => t.tokens_per_s), 0) : 'n/a'} | ${ratios.length ? fmtSpread(ratios, 2, '×') : 'n/a'} | ${gf.toFixed(1)} | ${((gf * 1e9 * 100) / peak).toFixed(0)}% | ` +
      `${med(mine, 'fwd_s').toFixed(2)} / ${med(mine, 'bwd_s').toFixed(2)} / ${med(mine, 'clip_opt_s').toFixed(3)} | ${theirs.length ? `${med(theirs, 'fwd_s').toFixed(2)} / ${med(theirs, 'bwd_s').toFixed(2)} / ${med(theirs, 'clip_opt_s').toFixed(3)}` : 'n/a'} |`);
    console.log(table.at(-1));
    writeResults();
  }
});
