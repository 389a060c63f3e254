import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureFreshDist } from '../../../../test/support/fresh-dist.js';
import { ProcessGroup, tensor, zeros, buildInfo } from '../../src/index.js';

const pkg = path.resolve(import.meta.dirname, '../..');
const hasMpirun = spawnSync('mpirun', ['--version'], { stdio: 'ignore' }).status === 0;
const mpiCompiled = buildInfo().mpiCompiled;
const skipReason = !hasMpirun ? 'mpirun not found (apt-get install -y openmpi-bin libopenmpi-dev)'
  : !mpiCompiled ? 'addon built without MPI' : '';
if (skipReason) console.warn(`[skip] MPI collectives tests: ${skipReason}`);

function mpirun(np: number, script: string, timeoutMs = 60_000) {
  return spawnSync('mpirun', ['--allow-run-as-root', '--oversubscribe', '-np', String(np), process.execPath, script], {
    encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, OMPI_MCA_btl: 'self,vader,tcp', OMPI_MCA_plm_rsh_agent: '' },
  });
}

describe('ProcessGroup (local backend)', () => {
  it('is world size 1 with copy semantics for gather/scatter', () => {
    const pg = ProcessGroup.init({ backend: 'local' });
    expect(pg.worldSize).toBe(1);
    const t = tensor([1, 2, 3]);
    pg.allReduce(t, 'avg').wait();
    expect(Array.from(t.toFloat32Array())).toEqual([1, 2, 3]);
    const out = zeros([3]);
    pg.allGather(out, t).wait();
    expect(Array.from(out.toFloat32Array())).toEqual([1, 2, 3]);
    expect(() => pg.allGather(zeros([4]), t)).toThrow(/allGather/);
    for (const x of [t, out]) x.dispose();
  });
});

describe.skipIf(!!skipReason)('ProcessGroup over MPI (mpirun)', () => {
  // The MPI workers import the compiled dist: rebuild it when a source is newer (or refuse, OLMO_NO_REBUILD=1).
  beforeAll(() => { ensureFreshDist(['tensor-cuda']); }, 300_000);
  for (const np of [2, 3]) {
    it(`all collectives agree with the closed form at world size ${np}`, () => {
      const r = mpirun(np, path.join(pkg, 'test/dist/collectives-worker.mjs'));
      if (r.status !== 0) console.error(r.stdout, r.stderr);
      expect(r.status).toBe(0);
      const lines = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
      expect(lines.map((l) => l.rank).sort()).toEqual([...Array(np).keys()]);
      for (const l of lines) expect(l).toMatchObject({ worldSize: np, backend: 'mpi', ok: true });
    });
  }
  void execFileSync;
});
