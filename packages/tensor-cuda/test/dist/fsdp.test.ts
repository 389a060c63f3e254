import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureFreshDist } from '../../../../test/support/fresh-dist.js';
import { buildInfo } from '../../src/index.js';

const pkg = path.resolve(import.meta.dirname, '../..');
const hasMpirun = spawnSync('mpirun', ['--version'], { stdio: 'ignore' }).status === 0;
const skip = !hasMpirun ? 'mpirun not found (apt-get install -y openmpi-bin libopenmpi-dev)'
  : !buildInfo().mpiCompiled ? 'addon built without MPI' : '';
if (skip) console.warn(`[skip] FSDP tests: ${skip}`);

describe.skipIf(!!skip)('FSDP (ZeRO-3 shards over MPI)', () => {
  // The MPI workers import the compiled dist: rebuild it when a source is newer (or refuse, OLMO_NO_REBUILD=1).
  beforeAll(() => { ensureFreshDist(['tensor-cuda']); }, 300_000);
  for (const np of [1, 2, 3]) {
    it(`W=${np}: loss, shard gradients and one AdamW step match the unsharded model; params ~1/W`, () => {
      const r = spawnSync('mpirun', ['--allow-run-as-root', '--oversubscribe', '-np', String(np), process.execPath, path.join(pkg, 'test/dist/fsdp-worker.mjs')],
        { encoding: 'utf8', timeout: 120_000 });
      if (r.status !== 0) console.error(r.stdout, r.stderr);
      expect(r.status).toBe(0);
      const rows = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
      expect(rows).toHaveLength(np);
      for (const row of rows) {
        expect(Math.abs(row.loss - row.refLoss) / Math.abs(row.refLoss)).toBeLessThan(1e-5);
        expect(row.gradErr).toBeLessThan(1e-5);
        expect(row.paramErr).toBeLessThan(1e-5);
        // padded shard: ceil(size / W) per unit
        expect(row.paramBytes).toBeLessThanOrEqual(row.unsharded / np + 5 * 4 * np);
      }
      console.log(`[fsdp] W=${np}: per-rank parameter bytes ${rows[0].paramBytes} of ${rows[0].unsharded} unsharded (${(rows[0].paramBytes / rows[0].unsharded).toFixed(3)})`);
    });
  }
});
