// streamReadBandwidth (native/cpu/streamread.cc): a positive, finite rate for 1 and 2 threads and
// both page kinds the buffer can get; typed errors (never a crash) for bad sizes and thread counts,
// from the TS guard and from the native binding itself (which the guard must not be the only check of).
import { describe, expect, it } from 'vitest';
import { OlmoError, native, streamReadBandwidth } from '../../src/index.js';

function expectCode(fn: () => unknown, code: string): void {
  let err: unknown;
  try { fn(); } catch (e) { err = e; }
  expect(err, `expected ${code}`).toBeInstanceOf(Error);
  const c = (err as OlmoError).code;
  expect(c === code || c === `OLMO_${code}`, `code ${c}`).toBe(true);
}

describe('streamReadBandwidth', () => {
  it('returns a positive finite GB/s for 1 and 2 threads (small and huge-page-sized buffers)', () => {
    for (const [bytes, threads] of [[64 << 10, 1], [1 << 20, 2], [8 << 20, 1], [8 << 20, 2], [(8 << 20) + 4096 + 8, 3]] as const) {
      const gbs = streamReadBandwidth(bytes, threads);
      expect(Number.isFinite(gbs), `${bytes} B, ${threads} threads: ${gbs}`).toBe(true);
      expect(gbs).toBeGreaterThan(0);
    }
  });

  it('bad arguments are INVALID_ARGUMENT errors (TS guard and native binding)', () => {
    for (const [b, t] of [[0, 1], [1000, 1], [-1, 1], [1.5 * 2 ** 20 + 0.5, 1], [65 * 2 ** 30, 1], [1 << 20, 0], [1 << 20, 257], [1 << 20, 1.5], [Number.NaN, 1]]) {
      expectCode(() => streamReadBandwidth(b!, t), 'INVALID_ARGUMENT');
    }
    const n = native() as unknown as { streamReadBandwidth: (b: unknown, t: unknown) => number };
    for (const args of [[1000, 1], [1 << 20, 0], [1 << 20, 1000], [2 ** 40, 1], ['x', 1], [1 << 20]] as unknown[][]) {
      let err: unknown;
      try { n.streamReadBandwidth(args[0], args[1]); } catch (e) { err = e; }
      expect(err, JSON.stringify(args)).toBeInstanceOf(Error);
      expect(String((err as OlmoError).code)).toMatch(/INVALID_ARGUMENT/);
    }
  });
});
