/**
 * FSDP overlap (prefetched all-gathers, reduce-scatters in flight during the previous units'
 * backward): bit-identical losses and gradients with overlap on and off at W = 1, 2, 3 under
 * mpirun, the prefetches actually used, and the memory bound (at most the running unit and one
 * prefetched unit gathered; at most one reduce-scatter in flight).
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureFreshDist } from '../../../../test/support/fresh-dist.js';
import { buildInfo } from '../../src/index.js';

const pkg = path.resolve(import.meta.dirname, '../..');
const hasMpirun = spawnSync('mpirun', ['--version'], { stdio: 'ignore' }).status === 0;
const skip = !hasMpirun ? 'mpirun not found (apt-get install -y openmpi-bin libopenmpi-dev)'
  : !buildInfo().mpiCompiled ? 'addon built without MPI' : '';
if (skip) console.warn(`[skip] FSDP overlap tests: ${skip}`);

describe.skipIf(!!skip)('FSDP overlap (MPI non-blocking collectives)', () => {
  beforeAll(() => { ensureFreshDist(['tensor-cuda']); }, 300_000);
  for (const np of [1, 2, 3]) {
    it(`W=${np}: overlap on == off bit for bit; prefetches used; ≤ 2 units gathered, ≤ 1 reduce in flight`, () => {
      const r = spawnSync('mpirun', ['--allow-run-as-root', '--oversubscribe', '-np', String(np), process.execPath, path.join(pkg, 'test/dist/fsdp-overlap-worker.mjs')],
        { encoding: 'utf8', timeout: 120_000 });
      if (r.status !== 0) console.error(r.stdout, r.stderr);
      expect(r.status).toBe(0);
      const rows = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
      expect(rows).toHaveLength(np);
      for (const row of rows) {
        expect(row.lossesOn).toEqual(row.lossesOff);
        expect(row.same).toBe(true);
        // passes 2 and 3 know the order: every gather after the first of a pass is prefetched
        expect(row.statsOn.prefetchHits).toBeGreaterThanOrEqual(2 * 10);  // 5 forward + 5 backward gathers prefetched per pass
        expect(row.statsOn.prefetchMisses).toBeLessThanOrEqual(1);
        expect(row.statsOn.peakGatheredUnits).toBeLessThanOrEqual(2);
        expect(row.statsOn.peakPendingReduces).toBeLessThanOrEqual(1);
        expect(row.statsOff.prefetchHits).toBe(0);
        expect(row.statsOff.peakGatheredUnits).toBe(1);
      }
      console.log(`[fsdp-overlap] W=${np}: ${JSON.stringify(rows[0].statsOn)}`);
    });
  }
});
