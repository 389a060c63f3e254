import { describe, expect, it } from 'vitest';
import { Generator, OlmoError, adamwStep, tensor, tidy, zeros, type Tensor } from '../../src/index.js';
import { expectClose, randomArray } from '../helpers.js';

/** float64 AdamW, exactly the contract's formula. */
function refStep(p: Float64Array, g: Float64Array, m: Float64Array, v: Float64Array, lr: number, wd: number, b1: number, b2: number, eps: number, step: number): void {
  const bc1 = 1 - b1 ** step, bc2 = 1 - b2 ** step;
  for (let i = 0; i < p.length; i++) {
    p[i] = p[i]! * (1 - lr * wd);
    m[i] = b1 * m[i]! + (1 - b1) * g[i]!;
    v[i] = b2 * v[i]! + (1 - b2) * g[i]! * g[i]!;
    p[i] = p[i]! - lr * (m[i]! / bc1) / (Math.sqrt(v[i]! / bc2) + eps);
  }
}

describe('adamwStep', () => {
  it('matches a float64 reference over several steps with two parameter groups', () => {
    tidy(() => {
      const gen = new Generator(11);
      const shapes = [[7, 5], [13], [3, 4, 9], [1]];
      // group A (decayed): tensors 0 and 2; group B (no decay, other lr): 1 and 3
      const lr = [1e-2, 3e-3, 1e-2, 3e-3], wd = [0.1, 0, 0.1, 0];
      const b1 = 0.9, b2 = 0.95, eps = 1e-8;
      const P = shapes.map((s) => Float64Array.from(randomArray(s.reduce((x, y) => x * y, 1), gen)));
      const params = shapes.map((s, i) => tensor(Float32Array.from(P[i]!), { shape: s }));
      const expAvg = shapes.map((s) => zeros(s));
      const expAvgSq = shapes.map((s) => zeros(s));
      const M = P.map((p) => new Float64Array(p.length)), V = P.map((p) => new Float64Array(p.length));
      for (let step = 1; step <= 5; step++) {
        const G = P.map((p) => Float64Array.from(randomArray(p.length, gen, 0.5)));
        const grads = shapes.map((s, i) => tensor(Float32Array.from(G[i]!), { shape: s }));
        adamwStep({ params, grads, expAvg, expAvgSq, lr, weightDecay: wd, beta1: b1, beta2: b2, eps, step });
        for (let i = 0; i < P.length; i++) refStep(P[i]!, G[i]!, M[i]!, V[i]!, lr[i]!, wd[i]!, b1, b2, eps, step);
        grads.forEach((g) => g.dispose());
      }
      for (let i = 0; i < P.length; i++) {
        expectClose(params[i]!.toFloat32Array(), P[i]!, 1e-6, `param ${i}`);
        expectClose(expAvg[i]!.toFloat32Array(), M[i]!, 1e-6, `expAvg ${i}`);
        expectClose(expAvgSq[i]!.toFloat32Array(), V[i]!, 1e-6, `expAvgSq ${i}`);
      }
    });
  });

  it('handles large tensors split into many chunks', () => {
    tidy(() => {
      const gen = new Generator(12);
      const n = 200_003;
      const p0 = randomArray(n, gen), g0 = randomArray(n, gen);
      const p = tensor(p0), g = tensor(g0), m = zeros([n]), v = zeros([n]);
      adamwStep({ params: [p], grads: [g], expAvg: [m], expAvgSq: [v], lr: [1e-3], weightDecay: [0.01], beta1: 0.9, beta2: 0.999, eps: 1e-8, step: 1 });
      const P = Float64Array.from(p0);
      refStep(P, Float64Array.from(g0), new Float64Array(n), new Float64Array(n), 1e-3, 0.01, 0.9, 0.999, 1e-8, 1);
      expectClose(p.toFloat32Array(), P, 1e-6, 'param');
    });
  });

  for (const bad of [NaN, Infinity, -Infinity]) {
    it(`throws NON_FINITE on a ${bad} gradient and modifies nothing`, () => {
      tidy(() => {
        const p1 = tensor([1, 2, 3]), p2 = tensor([4, 5]);
        const g1 = tensor([0.1, 0.2, 0.3]), g2 = tensor([0.5, bad]);
        const m = [zeros([3]), zeros([2])], v = [zeros([3]), zeros([2])];
        let err: unknown;
        try {
          adamwStep({ params: [p1, p2], grads: [g1, g2], expAvg: m, expAvgSq: v, lr: [0.1, 0.1], weightDecay: [0.1, 0.1], beta1: 0.9, beta2: 0.95, eps: 1e-8, step: 1 });
        } catch (e) { err = e; }
        expect(err).toBeInstanceOf(OlmoError);
        expect((err as OlmoError).code).toBe('NON_FINITE');
        expect(Array.from(p1.toFloat32Array())).toEqual([1, 2, 3]);
        expect(Array.from(p2.toFloat32Array())).toEqual([4, 5]);
        for (const t of [...m, ...v] as Tensor[]) expect(Array.from(t.toFloat32Array()).every((x) => x === 0)).toBe(true);
      });
    });
  }

  it('rejects inconsistent arguments with typed errors', () => {
    tidy(() => {
      const p = tensor([1, 2, 3]), g = tensor([1, 2]), m = zeros([3]), v = zeros([3]);
      const base = { params: [p], grads: [tensor([1, 2, 3])], expAvg: [m], expAvgSq: [v], lr: [0.1], weightDecay: [0], beta1: 0.9, beta2: 0.95, eps: 1e-8, step: 1 };
      const cases: Array<[Partial<typeof base>, string]> = [
        [{ grads: [g] }, 'SHAPE_MISMATCH'],
        [{ lr: [] }, 'INVALID_ARGUMENT'],
        [{ step: 0 }, 'INVALID_ARGUMENT'],
        [{ beta2: 1 }, 'INVALID_ARGUMENT'],
        [{ grads: [tensor([1, 2, 3], { dtype: 'int32' })] }, 'DTYPE_UNSUPPORTED'],
      ];
      for (const [patch, code] of cases) {
        let err: unknown;
        try { adamwStep({ ...base, ...patch }); } catch (e) { err = e; }
        expect(err, JSON.stringify(Object.keys(patch))).toBeInstanceOf(OlmoError);
        expect((err as OlmoError).code).toBe(code);
      }
      expect(Array.from(p.toFloat32Array())).toEqual([1, 2, 3]);
    });
  });
});
