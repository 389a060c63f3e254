/**
 * FSDP under precision: amp_bf16 (`mpirun -np W node dist/bin.js train CONFIG`): the tiny preset at
 * W = 1, 2, 3 with fsdp.precision mixed (gradients reduced in float32) gives the same loss trace,
 * and it differs from the fp32 trace (the bf16 GEMMs are in use); `pure` (bf16 gradient reduction)
 * trains at W = 2 and tracks the mixed trace. Skips visibly without mpirun / MPI.
 *
 * Tolerance: in fp32 the W-traces agree to 1e-5 (fsdp-train.test.ts). Under amp_bf16 each rank
 * normalises its loss by its own token count, so the gradient fed to the bf16 GEMMs is scaled by
 * W relative to W = 1; for W = 3 that scale is not a power of two and moves bf16 rounding
 * decisions, which the recipe's discontinuity (see amp-bf16.test.ts) turns into ~1e-4..1e-3
 * differences after 20 Adam steps (measured: W=2 9e-5, W=3 3.2e-4, pure vs mixed 1.5e-4; with bf16
 * activation storage W=2 1.7e-4, W=3 3.4e-4, pure vs mixed 2.6e-4); the bound is 1e-3.
 * Limitation: on this random-token preset amp_bf16 moves the loss trace only ~2.5e-4 from fp32
 * (~7e-5 before bf16 activation storage) and the grad norms ~3e-2 — not far above what sharding
 * does (W=2 vs W=1 grad norms: 0.7e-2..1.1e-2) — so this test does NOT show that the bf16 GEMMs run
 * under FSDP; amp-bf16.test.ts shows the single-process path does, and trainStepSharded wraps
 * forward + backward in the same withAutocast.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildInfo } from '@olmo/tensor-cuda';
import { repoRoot } from './golden-helpers.js';
import { readMetrics, writeTokenFile } from './resume-helpers.js';

const pkg = resolve(import.meta.dirname, '..');
const bin = join(pkg, 'dist/bin.js');
const hasMpirun = spawnSync('mpirun', ['--version'], { stdio: 'ignore' }).status === 0;
const skip = !hasMpirun ? 'mpirun not found (apt-get install -y openmpi-bin libopenmpi-dev)' : !buildInfo().mpiCompiled ? 'native addon built without MPI' : '';
if (skip) console.warn(`[skip] FSDP amp_bf16 tests: ${skip}`);

function newestMtime(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir)) { const p = join(dir, e); const s = statSync(p); t = Math.max(t, s.isDirectory() ? newestMtime(p) : s.mtimeMs); }
  return t;
}

/** The workers import dist JS: rebuild a package's dist (dependencies first) when a source is newer. */
function ensureBuilt(): void {
  for (const name of ['tensor-cuda', 'data', 'model', 'eval', 'trainer']) {
    const dir = join(repoRoot, 'packages', name);
    const marker = join(dir, 'dist/index.js');
    if (existsSync(marker) && statSync(marker).mtimeMs >= newestMtime(join(dir, 'src'))) continue;
    console.warn(`[fsdp-amp] rebuilding stale ${name} dist`);
    const r = spawnSync('npx', ['tsc', '-p', join(dir, 'tsconfig.json')], { cwd: repoRoot, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${name} build failed:\n${r.stdout}${r.stderr}`);
  }
}

function train(W: number, over: string[]) {
  const r = spawnSync('mpirun', ['--allow-run-as-root', '--oversubscribe', '-np', String(W), process.execPath, bin, 'train', join(repoRoot, 'configs/tiny.yaml'), ...over], { encoding: 'utf8', timeout: 180_000, cwd: repoRoot });
  if (r.status !== 0) console.error(`${r.stdout}${r.stderr}`);
  expect(r.status).toBe(0);
}

const maxRel = (a: number[], b: number[]) => Math.max(...a.map((x, i) => Math.abs(x - b[i]!) / b[i]!));

let work = '';
let tokens = '';
describe.skipIf(!!skip)('FSDP under precision: amp_bf16', () => {
  beforeAll(() => {
    ensureBuilt();
    work = mkdtempSync(join(tmpdir(), 'olmo-fsdp-amp-'));
    tokens = writeTokenFile(join(work, 'data'), 64 * 32 * 4);
  }, 180_000);
  afterAll(() => { if (work) rmSync(work, { recursive: true, force: true }); });

  it('W = 1, 2, 3 (fsdp.precision mixed) give the same loss trace; pure tracks it at W = 2', () => {
    const base = ['--max_duration=20', '--global_train_batch_size=6', '--device_train_microbatch_size=3', '--model.max_sequence_length=32',
      '--time_limit=null', '--save_interval=null', '--eval_interval=null', '--progress=false', '--console_log_interval=100', `--data.paths=[${tokens}]`,
      '--fsdp.wrapping_strategy=by_block'];
    const run = (W: number, extra: string[], tag: string) => {
      const save = join(work, `${tag}-w${W}`);
      train(W, [...base, ...extra, `--save_folder=${save}`]);
      const ms = readMetrics(save);
      return { loss: ms.map((m) => m['train/CrossEntropyLoss']!), norm: ms.map((m) => m['optim/total_grad_norm']!) };
    };
    const amp = [1, 2, 3].map((W) => run(W, ['--precision=amp_bf16', '--fsdp.precision=mixed'], 'amp'));
    const fp32 = run(1, ['--precision=fp32'], 'fp32');
    const pure = run(2, ['--precision=amp_bf16', '--fsdp.precision=pure'], 'pure');
    for (const t of [...amp, fp32, pure]) expect(t.loss).toHaveLength(20);
    const dW2 = maxRel(amp[1]!.loss, amp[0]!.loss), dW3 = maxRel(amp[2]!.loss, amp[0]!.loss), dPure = maxRel(pure.loss, amp[1]!.loss);
    const nW2 = maxRel(amp[1]!.norm, amp[0]!.norm), nFp32 = maxRel(fp32.norm, amp[0]!.norm);
    console.log(`[fsdp-amp] max relative loss difference vs W=1 amp_bf16: W=2 ${dW2.toExponential(2)}, W=3 ${dW3.toExponential(2)}; pure vs mixed at W=2 ${dPure.toExponential(2)}; fp32 ${maxRel(fp32.loss, amp[0]!.loss).toExponential(2)}. Grad norms: W=2 ${nW2.toExponential(2)}, fp32 ${nFp32.toExponential(2)}`);
    expect(dW2).toBeLessThan(1e-3);
    expect(dW3).toBeLessThan(1e-3);
    expect(dPure).toBeLessThan(1e-3);
    expect(amp[0]!.loss.at(-1)!).toBeLessThan(amp[0]!.loss[0]!);
  }, 600_000);
});
