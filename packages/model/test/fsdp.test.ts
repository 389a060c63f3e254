import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildInfo } from '@olmo/tensor-cuda';
import { ensureFreshDist } from '../../../test/support/fresh-dist.js';

const pkg = path.resolve(import.meta.dirname, '..');
const hasMpirun = spawnSync('mpirun', ['--version'], { stdio: 'ignore' }).status === 0;
const skip = !hasMpirun ? 'mpirun not found (apt-get install -y openmpi-bin libopenmpi-dev)' : !buildInfo().mpiCompiled ? 'addon built without MPI' : '';
if (skip) console.warn(`[skip] OLMo FSDP tests: ${skip}`);

describe.skipIf(!!skip)('OLMo under FSDP (units: embedding, blocks, head; tied embeddings, GQA, clip_qkv)', () => {
  // The MPI workers import the compiled dist: rebuild it when a source is newer (or refuse, OLMO_NO_REBUILD=1).
  beforeAll(() => { ensureFreshDist(['model']); }, 300_000);
  for (const np of [1, 2, 3]) {
    it(`W=${np}: same loss and gradients as the unsharded model`, () => {
      const r = spawnSync('mpirun', ['--allow-run-as-root', '--oversubscribe', '-np', String(np), process.execPath, path.join(pkg, 'test/dist/fsdp-model-worker.mjs')], { encoding: 'utf8', timeout: 120_000 });
      if (r.status !== 0) console.error(r.stdout, r.stderr);
      expect(r.status).toBe(0);
      const rows = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
      expect(rows).toHaveLength(np);
      for (const row of rows) {
        expect(Math.abs(row.fsdp - row.ref) / row.ref).toBeLessThan(1e-6);
        expect(row.err).toBeLessThan(1e-5);
        expect(row.paramBytes).toBeLessThan(row.unsharded / np + 64 * np);
      }
    });
  }
});
