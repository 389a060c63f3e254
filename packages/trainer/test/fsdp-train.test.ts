/**
 * FSDP training under mpirun (`mpirun -np W node dist/bin.js train CONFIG`):
 *   - the tiny preset (configs/tiny.yaml, short seq/batch) for 20 steps at W = 1, 2, 3 → same loss
 *     trace within 1e-5 relative (W = 3 exercises uneven shards); per-rank params + optimizer ≈ 1/W;
 *   - the golden training traces (../shared/golden/*) reproduced at W = 2;
 *   - a sharded checkpoint written at W = 2 resumes at W = 3 and W = 1 with the uninterrupted run's
 *     next-step loss; `olmo checkpoint unshard` → OLMo.fromPretrained gives identical logits;
 *   - a rank killed mid-run → the job exits non-zero naming the lost rank in < 60 s.
 * Workers run the built dist (rebuilt first when stale: test/support/fresh-dist.ts). Skips visibly without mpirun / MPI.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { buildInfo, tensor } from '@olmo/tensor-cuda';
import { OLMo } from '@olmo/model';
import { resolveConfig, Trainer } from '../src/index.js';
import { fixtureOptimizerConfig, goldenTrainDirs, readTrain, relErr, repoRoot } from './golden-helpers.js';
import { readMetrics, tinyRunConfig, writeTokenFile } from './resume-helpers.js';
import { ensureFreshDist } from '../../../test/support/fresh-dist.js';

const pkg = resolve(import.meta.dirname, '..');
const bin = join(pkg, 'dist/bin.js');
const hasMpirun = spawnSync('mpirun', ['--version'], { stdio: 'ignore' }).status === 0;
const skip = !hasMpirun ? 'mpirun not found (apt-get install -y openmpi-bin libopenmpi-dev)' : !buildInfo().mpiCompiled ? 'native addon built without MPI' : '';
if (skip) console.warn(`[skip] FSDP trainer tests: ${skip}`);

function mpirun(np: number, args: string[], env: Record<string, string> = {}, timeoutMs = 120_000) {
  const t0 = Date.now();
  const envArgs = Object.entries(env).flatMap(([k, v]) => ['-x', `${k}=${v}`]);
  const r = spawnSync('mpirun', ['--allow-run-as-root', '--oversubscribe', '-np', String(np), ...envArgs, process.execPath, ...args], { encoding: 'utf8', timeout: timeoutMs, cwd: repoRoot });
  return { status: r.status, out: `${r.stdout}${r.stderr}`, seconds: (Date.now() - t0) / 1000 };
}

const losses = (save: string) => readMetrics(save).map((m) => m['train/CrossEntropyLoss']!);

let work = '';
let tokens = '';
describe.skipIf(!!skip)('FSDP training under mpirun', () => {
  beforeAll(() => {
    ensureFreshDist(['trainer']); // the workers import dist JS: rebuild it when a source is newer
    work = mkdtempSync(join(tmpdir(), 'olmo-fsdp-train-'));
    tokens = writeTokenFile(join(work, 'data'), 64 * 32 * 4);
  }, 120_000);
  afterAll(() => { if (work) rmSync(work, { recursive: true, force: true }); });

  it('tiny preset, 20 steps: same loss trace at W = 1, 2, 3; per-rank params + optimizer ≈ 1/W', () => {
    const traces: number[][] = [];
    const over = ['--max_duration=20', '--global_train_batch_size=6', '--device_train_microbatch_size=3', '--model.max_sequence_length=32',
      '--time_limit=null', '--save_interval=null', '--eval_interval=null', '--progress=false', '--console_log_interval=100', `--data.paths=[${tokens}]`];
    const mem: Array<{ W: number; perRank: number; single: number }> = [];
    for (const W of [1, 2, 3]) {
      const save = join(work, `tiny-w${W}`);
      const t0 = Date.now();
      const r = mpirun(W, [bin, 'train', join(repoRoot, 'configs/tiny.yaml'), ...over, `--save_folder=${save}`]);
      if (r.status !== 0) console.error(r.out);
      expect(r.status).toBe(0);
      traces.push(losses(save));
      if (W > 1) {
        const m = JSON.parse(readFileSync(join(save, 'memory.json'), 'utf8')) as { ranks: Array<{ params: number; optimizer: number; unsharded_params: number }> };
        const single = m.ranks[0]!.unsharded_params * 3; // params + AdamW's two moments in one process
        const perRank = Math.max(...m.ranks.map((x) => x.params + x.optimizer));
        mem.push({ W, perRank, single });
        expect(perRank / single).toBeLessThan(1 / W + 0.02);
      }
      console.log(`[fsdp] tiny W=${W}: ${((Date.now() - t0) / 1000).toFixed(1)} s, final loss ${traces.at(-1)!.at(-1)!.toFixed(6)}`);
    }
    for (const m of mem) console.log(`[fsdp] W=${m.W}: per-rank params+optimizer ${(m.perRank / 2 ** 20).toFixed(3)} MiB vs single-process ${(m.single / 2 ** 20).toFixed(3)} MiB (ratio ${(m.perRank / m.single).toFixed(4)}, 1/W = ${(1 / m.W).toFixed(4)})`);
    expect(traces[0]).toHaveLength(20);
    for (const tr of traces.slice(1)) {
      expect(tr).toHaveLength(20);
      const worst = Math.max(...tr.map((x, i) => Math.abs(x - traces[0]![i]!) / traces[0]![i]!));
      console.log(`[fsdp] max relative loss difference vs W=1: ${worst.toExponential(2)}`);
      expect(worst).toBeLessThan(1e-5);
    }
    expect(traces[0]!.at(-1)!).toBeLessThan(traces[0]![0]!);
  }, 240_000);

  const goldenTrain = goldenTrainDirs();
  if (goldenTrain.length === 0) console.warn('[skip] FSDP golden traces: no ../shared/golden/*/train.json (and none in OLMO_GOLDEN_DIRS)');
  for (const dir of goldenTrain) {
    it(`golden trace ${dir.split('/').pop()} at W = 2`, () => {
      const g = readTrain(dir);
      const r = mpirun(2, [join(pkg, 'test/dist/golden-fsdp-worker.mjs'), dir, JSON.stringify(fixtureOptimizerConfig(g.optimizer))]);
      if (r.status !== 0) console.error(r.out);
      expect(r.status).toBe(0);
      const row = JSON.parse(r.out.split('\n').find((l) => l.startsWith('{'))!) as { loss: number[]; gradNorm: number[]; lr: number[]; finalParamErr: number };
      expect(relErr(row.lr, g.lr)).toBeLessThan(1e-12);
      expect(relErr(row.loss, g.loss)).toBeLessThan(1e-4);
      expect(relErr(row.gradNorm, g.grad_norm)).toBeLessThan(1e-4);
      expect(row.finalParamErr).toBeLessThan(1e-4);
    }, 120_000);
  }

  it('sharded checkpoint at W = 2 resumes at W = 3 and W = 1; unshard → fromPretrained identical logits', async () => {
    const cfg = tinyRunConfig(tokens, '', { max_duration: 8, global_train_batch_size: 6, device_train_microbatch_size: 1, save_interval: 4, save_num_checkpoints_to_keep: -1 });
    delete cfg.save_folder;
    const file = join(work, 'small.yaml');
    writeFileSync(file, YAML.stringify(cfg));
    const full = join(work, 'ck-w2');
    const r2 = mpirun(2, [bin, 'train', file, `--save_folder=${full}`]);
    if (r2.status !== 0) console.error(r2.out);
    expect(r2.status).toBe(0);
    const ck = join(full, 'step4');
    for (const f of ['trainer.msgpack', 'metadata.json', 'model/rank0.safetensors', 'model/rank1.safetensors', 'optim/rank0.safetensors', 'optim/rank1.safetensors']) expect(existsSync(join(ck, f)), f).toBe(true);
    const ref = losses(full);
    for (const W of [3, 1]) {
      const save = join(work, `resume-w${W}`);
      const r = mpirun(W, [bin, 'train', file, `--save_folder=${save}`, `--load_path=${ck}`]);
      if (r.status !== 0) console.error(r.out);
      expect(r.status).toBe(0);
      expect(r.out).toContain(`sharded checkpoint of 2 ranks → ${W}`);
      const m = readMetrics(save);
      expect(m[0]!.step).toBe(5);
      const next = m[0]!['train/CrossEntropyLoss']!;
      console.log(`[fsdp] resume W=2→${W}: step 5 loss ${next} vs uninterrupted W=2 ${ref[4]} (rel ${(Math.abs(next - ref[4]!) / ref[4]!).toExponential(2)})`);
      expect(Math.abs(next - ref[4]!) / ref[4]!).toBeLessThan(1e-5);
      const tail = m.map((x) => x['train/CrossEntropyLoss']!);
      expect(relErr(tail, ref.slice(4))).toBeLessThan(1e-5);
    }
    // unshard the final W=2 checkpoint and compare with an in-process (single rank) restore of it
    const hf = join(work, 'hf');
    const u = spawnSync(process.execPath, [bin, 'checkpoint', 'unshard', join(full, 'step8'), '--out', hf], { encoding: 'utf8' });
    expect(u.status, u.stderr).toBe(0);
    const loaded = await OLMo.fromPretrained(hf);
    const c = resolveConfig({ ...cfg, save_folder: join(work, 'restore'), load_path: join(full, 'step8') });
    const t = await Trainer.fromConfig(c, { log: () => {} });
    expect(t.dist).toBeNull();
    expect(t.step).toBe(8);
    const ids = tensor(Int32Array.from({ length: 2 * 16 }, (_, i) => (i * 37) % 256), { shape: [2, 16], dtype: 'int32' });
    const a = loaded.forward(ids).logits.toFloat32Array();
    const b = t.model.forward(ids).logits.toFloat32Array();
    let maxDiff = 0;
    for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
    expect(maxDiff).toBe(0);
    ids.dispose(); loaded.dispose(); t.optimizer.dispose();
  }, 240_000);

  it('a rank killed mid-run → the job exits non-zero naming the lost rank in < 60 s', () => {
    const file = join(work, 'kill.yaml');
    const cfg = tinyRunConfig(tokens, '', { max_duration: 50, global_train_batch_size: 6, save_interval: null });
    delete cfg.save_folder;
    writeFileSync(file, YAML.stringify(cfg));
    const r = mpirun(3, [bin, 'train', file, `--save_folder=${join(work, 'kill')}`], { OLMO_TEST_KILL_RANK: '1', OLMO_TEST_KILL_AT_STEP: '3' }, 90_000);
    console.log(`[fsdp] killed rank 1: job exited with ${r.status} after ${r.seconds.toFixed(1)} s`);
    expect(r.status).not.toBe(0);
    expect(r.status).not.toBeNull();
    expect(r.out).toMatch(/rank 1\b/);
    expect(r.seconds).toBeLessThan(60);
  }, 120_000);

  it('a rank failing with an error while the others wait in a collective → the job aborts, naming it', () => {
    const file = join(work, 'fail.yaml');
    const cfg = tinyRunConfig(tokens, '', { max_duration: 10, global_train_batch_size: 6, save_interval: null });
    delete cfg.save_folder;
    writeFileSync(file, YAML.stringify(cfg));
    const save = join(work, 'fail');
    const t0 = Date.now();
    // MPMD launch: rank 1 gets a checkpoint path that does not exist (fails after MPI init, while rank 0 waits in a barrier)
    const one = (extra: string[]) => ['-np', '1', process.execPath, bin, 'train', file, `--save_folder=${save}`, ...extra];
    const r = spawnSync('mpirun', ['--allow-run-as-root', '--oversubscribe', ...one([]), ':', ...one([`--load_path=${join(work, 'no-such-checkpoint')}`])], { encoding: 'utf8', timeout: 90_000, cwd: repoRoot });
    const seconds = (Date.now() - t0) / 1000;
    const out = `${r.stdout}${r.stderr}`;
    console.log(`[fsdp] failing rank 1: job exited with ${r.status} after ${seconds.toFixed(1)} s`);
    expect(r.status).not.toBe(0);
    expect(r.status).not.toBeNull();
    expect(out).toMatch(/\[rank 1\] olmo: error NOT_FOUND: checkpoint \S*no-such-checkpoint does not exist\nhint: /);
    expect(seconds).toBeLessThan(60);
  }, 120_000);
});
