/**
 * Leak test: 1,000 iterations of a small training step (linear projections → GQA attention →
 * linear head, backward with an explicit output gradient, clipGradNorm, fused AdamW) keep the
 * live native memory exactly flat after warm-up and the process RSS bounded.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { Generator, adamwStep, attention, clipGradNorm, fillInPlace, linear, memoryStats, randn, tidy, zeros, type Tensor } from '../src/index.js';

// A full GC before each RSS sample, so that uncollected JS garbage is not mistaken for a leak.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

describe('leak', () => {
  it('1,000 forward+backward+AdamW steps keep native memory flat and RSS bounded', () => {
    const gen = new Generator(5);
    const B = 2, T = 5, C = 16, NH = 4, NKV = 2, HS = 4, V = 11;
    const mk = (shape: number[]) => randn(shape, gen, { std: 0.2 }).requiresGrad_(true).keep();
    const wq = mk([NH * HS, C]), wk = mk([NKV * HS, C]), wv = mk([NKV * HS, C]), wo = mk([V, NH * HS]);
    const params = [wq, wk, wv, wo];
    const expAvg = params.map((p) => zeros(p.shape as number[]).keep());
    const expAvgSq = params.map((p) => zeros(p.shape as number[]).keep());
    const x = randn([B * T, C], gen).keep();
    const gOut = randn([B * T, V], gen).keep();

    const step = (i: number): number => tidy(() => {
      const q = linear(x, wq).reshape([B, T, NH, HS]);
      const k = linear(x, wk).reshape([B, T, NKV, HS]);
      const v = linear(x, wv).reshape([B, T, NKV, HS]);
      const o = attention(q, k, v).reshape([B * T, NH * HS]);
      const y = linear(o, wo);
      y.backward(gOut);
      const { totalNorm } = clipGradNorm(params, 1.0);
      adamwStep({
        params, grads: params.map((p) => p.grad!), expAvg, expAvgSq,
        lr: [1e-3, 1e-3, 1e-3, 3e-4], weightDecay: [0.1, 0.1, 0.1, 0], beta1: 0.9, beta2: 0.95, eps: 1e-8, step: i + 1,
      });
      for (const p of params) fillInPlace(p.grad!, 0);
      return totalNorm;
    });

    const t0 = performance.now();
    const warmup = 300, iters = 1000;
    for (let i = 0; i < warmup; i++) step(i);
    const bytes0 = memoryStats().cpuBytes, buffers0 = memoryStats().cpuBuffers;
    gc();
    const rss0 = process.memoryUsage().rss;
    let norm = 0;
    for (let i = warmup; i < iters; i++) {
      norm = step(i);
      if (i % 100 === 99) {
        expect(memoryStats().cpuBytes, `live native bytes at iteration ${i + 1}`).toBe(bytes0);
        expect(memoryStats().cpuBuffers, `live native buffers at iteration ${i + 1}`).toBe(buffers0);
      }
    }
    gc();
    const rssGrowth = (process.memoryUsage().rss - rss0) / 2 ** 20;
    const seconds = (performance.now() - t0) / 1000;
    console.log(`leak: ${iters} steps in ${seconds.toFixed(1)} s, RSS growth after warm-up ${rssGrowth.toFixed(1)} MB, native ${bytes0} bytes in ${buffers0} buffers`);
    expect(Number.isFinite(norm)).toBe(true);
    expect(rssGrowth).toBeLessThan(30);

    for (const t of [...params, ...expAvg, ...expAvgSq, x, gOut] as Tensor[]) t.dispose();
  }, 60_000);
});
