import { describe, expect, it } from 'vitest';
import { FlatBuffer, Generator, OlmoError, clipGradNorm, copyInto, globalGradNorm, tensor, tidy, type Tensor } from '../../src/index.js';
import { expectClose, randomArray } from '../helpers.js';

function withGrads(gen: Generator, shapes: number[][], scale: number): { params: Tensor[]; G: Float64Array[] } {
  const G: Float64Array[] = [];
  const params = shapes.map((s) => {
    const n = s.reduce((a, b) => a * b, 1);
    const p = tensor(randomArray(n, gen), { shape: s, requiresGrad: true });
    const g = randomArray(n, gen, scale);
    G.push(Float64Array.from(g));
    p.grad = tensor(g, { shape: s });
    return p;
  });
  return { params, G };
}

const refNorm = (G: Float64Array[]) => Math.sqrt(G.reduce((s, g) => s + g.reduce((a, x) => a + x * x, 0), 0));

describe('clipGradNorm / globalGradNorm', () => {
  it('computes the global norm in float64 and scales when above maxNorm', () => {
    tidy(() => {
      const gen = new Generator(21);
      const { params, G } = withGrads(gen, [[7, 3], [11], [5, 2, 3], [70_001]], 1);
      const ref = refNorm(G);
      expect(Math.abs(globalGradNorm(params) - ref) / ref).toBeLessThan(1e-12);
      const maxNorm = ref / 4;
      const { totalNorm, clipCoef } = clipGradNorm(params, maxNorm);
      expect(Math.abs(totalNorm - ref) / ref).toBeLessThan(1e-12);
      expect(clipCoef).toBeCloseTo(maxNorm / (ref + 1e-6), 12);
      params.forEach((p, i) => expectClose(p.grad!.toFloat32Array(), G[i]!.map((x) => x * clipCoef), 1e-6, `grad ${i}`));
      expect(Math.abs(globalGradNorm(params) - maxNorm) / maxNorm).toBeLessThan(1e-5);
    });
  });

  it('leaves gradients untouched when the norm is below maxNorm, and skips params without grads', () => {
    tidy(() => {
      const gen = new Generator(22);
      const { params, G } = withGrads(gen, [[4, 4], [9]], 0.01);
      const noGrad = tensor([1, 2, 3], { requiresGrad: true });
      const { totalNorm, clipCoef } = clipGradNorm([...params, noGrad], 1.0);
      expect(clipCoef).toBeGreaterThan(1);
      expect(Math.abs(totalNorm - refNorm(G)) / refNorm(G)).toBeLessThan(1e-12);
      params.forEach((p, i) => expect(Array.from(p.grad!.toFloat32Array())).toEqual(Array.from(Float32Array.from(G[i]!))));
      expect(globalGradNorm([])).toBe(0);
    });
  });

  it('scales gradients that are views into one flat gradient buffer', () => {
    const flat = new FlatBuffer([{ name: 'a', shape: [3, 5] }, { name: 'b', shape: [7] }]);
    try {
      tidy(() => {
        const ga = randomArray(15, new Generator(23)), gb = randomArray(7, new Generator(24));
        copyInto(flat.view('a'), tensor(ga, { shape: [3, 5] }));
        copyInto(flat.view('b'), tensor(gb, { shape: [7] }));
        const pa = tensor(new Float32Array(15), { shape: [3, 5], requiresGrad: true });
        const pb = tensor(new Float32Array(7), { shape: [7], requiresGrad: true });
        pa.grad = flat.view('a').share();
        pb.grad = flat.view('b').share();
        expect(refNorm([Float64Array.from(ga), Float64Array.from(gb)])).toBeGreaterThan(0.5);
        const { clipCoef } = clipGradNorm([pa, pb], 0.5);
        expectClose(flat.view('a').toFloat32Array(), Float64Array.from(ga).map((x) => x * clipCoef), 1e-6);
        expectClose(flat.view('b').toFloat32Array(), Float64Array.from(gb).map((x) => x * clipCoef), 1e-6);
        expect(Math.abs(globalGradNorm([pa, pb]) - 0.5) / 0.5).toBeLessThan(1e-5);
      });
    } finally {
      flat.dispose();
    }
  });

  it('reports a non-finite norm without scaling, and rejects a bad maxNorm', () => {
    tidy(() => {
      const p = tensor([1, 2], { requiresGrad: true });
      p.grad = tensor([NaN, 1]);
      const { totalNorm } = clipGradNorm([p], 1);
      expect(Number.isNaN(totalNorm)).toBe(true);
      expect(p.grad.toFloat32Array()[1]).toBe(1);
      let err: unknown;
      try { clipGradNorm([p], -1); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(OlmoError);
      expect((err as OlmoError).code).toBe('INVALID_ARGUMENT');
    });
  });
});
