import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  globalBatch, globalIndices, globalIndicesAsync, globalOrder, globalOrderAsync, globalOrderRef, nativeShuffleAvailable, orderCachePath, pcg64Raw,
  pcg64RawRef, pcg64SeededState, Pcg64Ref, rankIndices, readNpy, resumeRankIndices, shuffleU32, totalSize,
} from '../src/index.js';

const repoRoot = path.resolve(__dirname, '../../..');
const shared = path.resolve(repoRoot, '../shared');
const vectorsFile = path.join(shared, 'data-order', 'numpy-pcg64.json');
const haveVectors = existsSync(vectorsFile);
if (!haveVectors) console.warn(`[data] ${vectorsFile} not found: skipping the numpy reference-vector tests`);
const haveNative = nativeShuffleAvailable();
if (!haveNative) console.warn('[data] native addon not built: skipping native shuffle tests (cd packages/tensor-cuda && node scripts/build-native.mjs)');

interface Case {
  num_instances: number; seed: number; epoch: number; world_size: number; drop_last: boolean; total_size: number;
  sha256_uint32_le: string; head: number[]; tail: number[]; indices?: number[];
}
const cases: Case[] = haveVectors ? (JSON.parse(readFileSync(vectorsFile, 'utf8')) as { cases: Case[] }).cases : [];

const sha = (a: Uint32Array) => createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex');

// Spec §13 vectors.
const SPEC = [
  { seed: 0n, raw: [11749869230777074271n, 4976686463289251617n, 755828109848996024n, 304881062738325533n], first10: [82, 36, 20, 5, 93, 16, 94, 52, 72, 90],
    state: 0x1AA1B5345996452D09585EB7A69561E3n, inc: 0x418DDADB3AF71A82588133BC447873A9n },
  { seed: 1n, raw: [9441442522235856127n, 17532960557476522086n, 2659275481604167885n, 17499493567006797778n], first10: [48, 8, 16, 81, 6, 99, 38, 5, 55, 34],
    state: 0x9C5B484BFEDB756C2A6E7D6F320FBC7En, inc: 0x922AF2DA2645F895A19857B95740937Bn },
  { seed: 6198n, raw: [12993904571665206773n, 5279284732208017281n, 8264598822411623240n, 1034127696554403613n], first10: [3, 73, 82, 4, 91, 81, 43, 98, 25, 12],
    state: 0x64AF7980AEC8B325C0457385544261A2n, inc: 0xBFBE7567BC3ACA8A0B46D43165B65EDBn },
  { seed: 4294967303n, raw: [14206593023844375757n, 2064693230803885548n, 3488237491050697490n, 2950653773223070179n], first10: [82, 2, 6, 60, 83, 88, 58, 5, 67, 44],
    state: 0xA7FBA21D06B674676F08C81BEAAF7439n, inc: 0xE7D395C78920F81FBB2B12601339041Fn },
  { seed: 18446744073709551615n, raw: [12544278110101001871n, 15593249672699323225n, 136562751618339402n, 16501869284920798641n], first10: [87, 9, 13, 42, 82, 40, 10, 36, 61, 16],
    state: 0xDDC419442AEBDE794D8B0A3B048ACDB0n, inc: 0x37762AACB3CC854F4ED623C7D18951EDn },
];

describe('PCG64 reference (BigInt) — spec vectors', () => {
  for (const v of SPEC) {
    it(`seed ${v.seed}`, () => {
      const g = new Pcg64Ref(v.seed);
      expect(g.state).toBe(v.state);
      expect(g.inc).toBe(v.inc);
      expect(pcg64RawRef(v.seed, 4)).toEqual(v.raw);
      expect(Array.from(globalOrderRef(100, v.seed).subarray(0, 10))).toEqual(v.first10);
    });
  }
  it('64-bit draws for N > 2^32 (first six j, spec §13)', () => {
    const draws = (n: bigint, seed: bigint) => {
      const g = new Pcg64Ref(seed);
      return Array.from({ length: 6 }, (_, k) => Number(g.interval(n - 1n - BigInt(k))));
    };
    expect(draws(2n ** 32n + 3n, 0n)).toEqual([2195314465, 323153949, 752767291, 2789219406, 3920255353, 2163061375]);
    expect(draws(2n ** 33n + 17n, 6198n)).toEqual([4285386229, 5192853277, 4563738496, 4501369849, 98027948, 2420924503]);
  });
});

describe.skipIf(!haveNative)('native PCG64 shuffle', () => {
  it('matches the spec vectors (state, raw outputs, first 10)', () => {
    for (const v of SPEC) {
      expect(pcg64SeededState(v.seed)).toEqual({ state: v.state, inc: v.inc });
      expect(pcg64Raw(v.seed, 4)).toEqual(v.raw);
      expect(Array.from(globalOrder(100, v.seed).subarray(0, 10))).toEqual(v.first10);
    }
  });
  it('equals the TS reference for many (N, seed) pairs, incl. huge seeds', () => {
    const seeds: bigint[] = [0n, 1n, 7n, 6198n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 64n - 1n, 2n ** 64n, 2n ** 128n + 5n, 3n ** 150n];
    let r = 12345;
    for (let t = 0; t < 60; t++) {
      r = (r * 1103515245 + 12345) % 2 ** 31;
      const n = t < 5 ? t : r % 3000;
      const seed = seeds[t % seeds.length]! + BigInt(t);
      expect(globalOrder(n, seed)).toEqual(globalOrderRef(n, seed));
    }
    // Large N crosses several mask widths and the prefetch pipeline's tail.
    expect(sha(globalOrder(70_001, 99))).toBe(sha(globalOrderRef(70_001, 99)));
  });
  it('shuffles views of a larger buffer in place without touching the rest', () => {
    const buf = new Uint32Array(20).fill(7777);
    const view = buf.subarray(5, 15);
    for (let i = 0; i < 10; i++) view[i] = i;
    shuffleU32(view, 0);
    expect(Array.from(view)).toEqual([4, 6, 2, 7, 3, 5, 9, 0, 8, 1]);
    expect(buf[4]).toBe(7777);
    expect(buf[15]).toBe(7777);
  });
  it('async variant runs off the event loop and gives the same order', async () => {
    const a = await globalOrderAsync(3_000_000, 6198);
    expect(sha(a)).toBe(sha(globalOrder(3_000_000, 6198)));
    // Event-loop freedom: time the synchronous shuffle of a large order (~0.25 s on 2 cores), then
    // run the async one under a 1 ms interval timer. On the main thread it would block the loop for
    // the whole shuffle (no tick at all, or one gap as long as the sync run); on a worker thread the
    // timer keeps firing and no gap comes near the synchronous duration.
    const big = 20_000_000;
    const t0 = performance.now();
    const syncOrder = globalOrder(big, 7);
    const syncMs = performance.now() - t0;
    let ticks = 0, last = performance.now(), maxGap = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
      ticks++;
    }, 1);
    const asyncOrder = await globalOrderAsync(big, 7);
    clearInterval(timer);
    expect(sha(asyncOrder)).toBe(sha(syncOrder));
    expect(ticks, `timer ticks while the async shuffle ran (sync run took ${syncMs.toFixed(0)} ms)`).toBeGreaterThanOrEqual(5);
    expect(maxGap, `longest event-loop gap vs the ${syncMs.toFixed(0)} ms synchronous shuffle`).toBeLessThan(syncMs / 3);
    if (!haveVectors) {
      console.warn(`[data] ${vectorsFile} not found: globalIndicesAsync is not checked against numpy's N=5,000,000 order`);
    } else {
      const c = cases.find((x) => x.num_instances === 5_000_000);
      expect(c, 'numpy-pcg64.json holds the N=5,000,000 case').toBeDefined();
      const g = await globalIndicesAsync({ numInstances: c!.num_instances, seed: c!.seed, worldSize: c!.world_size });
      expect(sha(g)).toBe(c!.sha256_uint32_le);
    }
    await expect(globalOrderAsync(10, -1)).rejects.toThrow();
  });
  it('rejects negative and non-integer seeds', () => {
    expect(() => globalOrder(10, -1)).toThrow();
    expect(() => globalOrder(10, 1.5)).toThrow();
  });
});

describe.skipIf(!haveVectors)('numpy-pcg64.json reference cases', () => {
  for (const c of cases) {
    const big = c.num_instances > 100_000;
    it.skipIf(big && !haveNative)(`N=${c.num_instances} seed=${c.seed} epoch=${c.epoch} world=${c.world_size} drop_last=${c.drop_last}`, () => {
      const got = globalIndices({ numInstances: c.num_instances, seed: c.seed, epoch: c.epoch, worldSize: c.world_size, dropLast: c.drop_last });
      expect(got.length).toBe(c.total_size);
      expect(totalSize(c.num_instances, c.world_size, c.drop_last)).toBe(c.total_size);
      expect(Array.from(got.subarray(0, 50))).toEqual(c.head);
      expect(Array.from(got.subarray(got.length - 50))).toEqual(c.tail);
      if (c.indices) expect(Array.from(got)).toEqual(c.indices);
      expect(sha(got)).toBe(c.sha256_uint32_le);
      if (!big) {
        // The TS reference agrees too (padding rules applied by hand).
        const ref = globalOrderRef(c.num_instances, c.seed + c.epoch);
        const expected = new Uint32Array(c.total_size);
        for (let i = 0; i < c.total_size; i++) expected[i] = ref[i % c.num_instances]!;
        expect(sha(expected)).toBe(c.sha256_uint32_le);
      }
      if (c.world_size > 1) {
        // Rank slices partition the padded array.
        const parts = Array.from({ length: c.world_size }, (_, r) => rankIndices(got, r, c.world_size));
        expect(parts.reduce((s, p) => s + p.length, 0)).toBe(got.length);
        expect(parts[1]![0]).toBe(got[1]);
      }
    });
  }
});

describe('global order helpers', () => {
  it('pads by repeating the head, also when padding exceeds N', () => {
    const g = globalIndices({ numInstances: 3, seed: 5, worldSize: 8 });
    const o = globalOrderRef(3, 5);
    expect(Array.from(g)).toEqual(Array.from({ length: 8 }, (_, i) => o[i % 3]));
    expect(globalIndices({ numInstances: 3, seed: 5, worldSize: 8, dropLast: true }).length).toBe(0);
    expect(globalIndices({ numInstances: 0, seed: 5 }).length).toBe(0);
  });
  it('batches and rank slices with a start index (resume)', () => {
    const idx = globalIndices({ numInstances: 100, seed: 1 });
    expect(Array.from(globalBatch(idx, 2, 8))).toEqual(Array.from(idx.subarray(16, 24)));
    const r1 = rankIndices(idx, 1, 4, 16);
    expect(r1[0]).toBe(idx[17]);
    expect(r1[1]).toBe(idx[21]);
    expect(() => rankIndices(idx, 4, 4)).toThrow(/rank/);
  });
  it('resumeRankIndices: after k steps each rank continues exactly where the uninterrupted run was', () => {
    const W = 4, B = 8; // per-rank batch 2
    const idx = globalIndices({ numInstances: 101, seed: 9, worldSize: W }); // padded to 104
    for (const k of [0, 1, 5, 12]) {
      const parts = Array.from({ length: W }, (_, rank) => resumeRankIndices(idx, { step: k, globalBatchSize: B, rank, worldSize: W }));
      for (let rank = 0; rank < W; rank++) {
        // Uninterrupted, rank r reads idx[r], idx[r+W], ... and has consumed k·B/W of them after k steps.
        const full = Array.from({ length: Math.ceil((idx.length - rank) / W) }, (_, j) => idx[rank + j * W]!);
        expect(Array.from(parts[rank]!), `k=${k} rank=${rank}`).toEqual(full.slice((k * B) / W));
      }
      // Step k+s's global batch is the union of each rank's s-th per-rank batch.
      for (let s = 0; k + s < Math.floor(idx.length / B); s++) {
        const union = parts.flatMap((p) => Array.from(p.subarray(s * (B / W), (s + 1) * (B / W))));
        expect(union.sort((a, b) => a - b)).toEqual(Array.from(idx.subarray((k + s) * B, (k + s + 1) * B)).sort((a, b) => a - b));
      }
    }
    expect(() => resumeRankIndices(idx, { step: -1, globalBatchSize: B, rank: 0, worldSize: W })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => resumeRankIndices(idx, { step: 1, globalBatchSize: B, rank: W, worldSize: W })).toThrow(/rank/);
  });
  it('caches the order as a real .npy keyed by (seed, epoch, N) and reuses it', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'olmo-order-'));
    try {
      const a = globalIndices({ numInstances: 1001, seed: 42, worldSize: 4, cacheDir: dir });
      const file = orderCachePath(dir, 42, 0, 1001);
      const { data, shape } = readNpy(file);
      expect(shape).toEqual([1001]);
      expect(Array.from(data as Uint32Array)).toEqual(Array.from(a.subarray(0, 1001)));
      const b = globalIndices({ numInstances: 1001, seed: 42, worldSize: 4, cacheDir: dir });
      expect(b).toEqual(a);
      expect(readFileSync(file).subarray(0, 6).toString('latin1')).toBe('\x93NUMPY');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
