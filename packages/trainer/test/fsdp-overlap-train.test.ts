/**
 * FSDP training with the collectives overlapped (prefetched all-gathers, reduce-scatters in flight;
 * OLMO_FSDP_OVERLAP, default on) vs blocking (OLMO_FSDP_OVERLAP=0): the tiny preset under mpirun at
 * W = 2 and 3, with gradient accumulation, must give bit-identical loss and grad-norm traces.
 * Workers run the built dist (rebuilt first when stale). Skips visibly without mpirun / MPI.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildInfo } from '@olmo/tensor-cuda';
import { repoRoot } from './golden-helpers.js';
import { readMetrics, writeTokenFile } from './resume-helpers.js';
import { ensureFreshDist } from '../../../test/support/fresh-dist.js';

const bin = join(resolve(import.meta.dirname, '..'), 'dist/bin.js');
const hasMpirun = spawnSync('mpirun', ['--version'], { stdio: 'ignore' }).status === 0;
const skip = !hasMpirun ? 'mpirun not found (apt-get install -y openmpi-bin libopenmpi-dev)' : !buildInfo().mpiCompiled ? 'native addon built without MPI' : '';
if (skip) console.warn(`[skip] FSDP overlap trainer tests: ${skip}`);

let work = '';
let tokens = '';
describe.skipIf(!!skip)('FSDP training: overlap on == off', () => {
  beforeAll(() => {
    ensureFreshDist(['trainer']);
    work = mkdtempSync(join(tmpdir(), 'olmo-fsdp-overlap-'));
    tokens = writeTokenFile(join(work, 'data'), 64 * 32 * 4);
  }, 300_000);
  afterAll(() => { if (work) rmSync(work, { recursive: true, force: true }); });

  for (const W of [2, 3]) {
    it(`W=${W}: identical loss and grad-norm traces (6 steps, 2 microbatches per rank)`, () => {
      const traces: Array<Array<[number, number]>> = [];
      for (const overlap of ['1', '0']) {
        const save = join(work, `w${W}-overlap${overlap}`);
        const r = spawnSync('mpirun', ['--allow-run-as-root', '--oversubscribe', '-np', String(W), '-x', `OLMO_FSDP_OVERLAP=${overlap}`, process.execPath, bin, 'train',
          join(repoRoot, 'configs/tiny.yaml'), '--max_duration=6', `--global_train_batch_size=${2 * W}`, '--device_train_microbatch_size=1',
          '--model.max_sequence_length=32', '--time_limit=null', '--save_interval=null', '--eval_interval=null', '--progress=false',
          '--console_log_interval=100', `--data.paths=[${tokens}]`, `--save_folder=${save}`], { encoding: 'utf8', timeout: 180_000, cwd: repoRoot });
        if (r.status !== 0) console.error(r.stdout, r.stderr);
        expect(r.status).toBe(0);
        traces.push(readMetrics(save).map((m) => [m['train/CrossEntropyLoss']!, m['optim/total_grad_norm']!]));
      }
      expect(traces[0]).toHaveLength(6);
      expect(traces[0]).toEqual(traces[1]);
    });
  }
});
