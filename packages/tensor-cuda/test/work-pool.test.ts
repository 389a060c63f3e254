// native/cpu/work_pool.cc (the claimed-chunk pool behind batch-1 GEMVs): every index of every job
// runs exactly once, for random job sizes, chunk sizes and wake flags, with helpers falling asleep
// between jobs, stretches of jobs inside a PoolBurst (helpers spinning between jobs instead) and a
// second thread submitting concurrently (it runs serially while the pool is busy). 40000 jobs per
// seed: the race below showed up in every seed at that count (not at 10000).
// This caught a real race: a helper that read an exhausted job's state and then the next
// job's larger chunk count claimed a chunk of the next job under the old epoch (run twice).
import { describe, expect, it } from 'vitest';
import { native } from '../src/index.js';

describe('work pool', () => {
  it('runs every index of every job exactly once (3 x 60000 random jobs from two submitting threads)', () => {
    const addon = native();
    for (const seed of [1, 2, 3]) expect(addon.workPoolCheck(40000, seed), `seed ${seed}`).toBe(0);
  });
});
