import { describe, expect, it } from 'vitest';
import { Generator, OlmoError, rope, tensor, tidy } from '../../src/index.js';
import { expectClose, finiteDiffGrad, projectionWeights, randomTensor, toF64 } from '../helpers.js';

function expectCode(fn: () => unknown, code: string): void {
  let err: unknown;
  try { fn(); } catch (e) { err = e; }
  expect(err, `expected ${code}`).toBeInstanceOf(OlmoError);
  expect((err as OlmoError).code).toBe(code);
}

/** float64 reference, HF rotate-half: out = x*cos + rotate_half(x)*sin. */
function refRope(x: Float64Array, B: number, T: number, NH: number, HS: number, theta: number, pos: number): Float64Array {
  const out = new Float64Array(x.length), half = HS / 2;
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++)
      for (let h = 0; h < NH; h++) {
        const o = ((b * T + t) * NH + h) * HS;
        for (let i = 0; i < half; i++) {
          const ang = (pos + t) * Math.pow(theta, (-2 * i) / HS);
          const c = Math.cos(ang), s = Math.sin(ang);
          const x1 = x[o + i]!, x2 = x[o + i + half]!;
          out[o + i] = x1 * c - x2 * s;
          out[o + i + half] = x2 * c + x1 * s;
        }
      }
  return out;
}

describe('rope', () => {
  const B = 2, T = 7, NH = 3, HS = 6;
  for (const [theta, pos] of [[10000, 0], [500000, 5], [10, 3]] as const) {
    it(`rotate-half forward and gradient, theta=${theta} positionOffset=${pos}, HS=6`, () => {
      const gen = new Generator(21);
      const x = randomTensor([B, T, NH, HS], gen);
      const y = rope(x, { theta, positionOffset: pos });
      expect(y.shape).toEqual([B, T, NH, HS]);
      const X = toF64(x);
      const ref = (xs: Float64Array[]) => refRope(xs[0]!, B, T, NH, HS, theta, pos);
      expectClose(y.toFloat32Array(), ref([X]), 1e-6, 'forward');
      const g = projectionWeights(x.size);
      y.backward(tensor(Float32Array.from(g), { shape: [B, T, NH, HS] }));
      const [gx] = finiteDiffGrad((xs) => ref(xs).reduce((s, v, i) => s + v * g[i]!, 0), [X]);
      expectClose(x.grad!.toFloat32Array(), gx!, 1e-5, 'dx');
    });
  }

  it('accepts a non-contiguous [B, T, NH, HS] view (from [B, NH, T, HS]) and routes the gradient back', () => {
    tidy(() => {
      const gen = new Generator(4);
      const base = randomTensor([1, NH, T, HS], gen);
      const x = base.transpose(1, 2);
      const y = rope(x, { theta: 10000, positionOffset: 2 });
      const ref = refRope(toF64(x.contiguous()), 1, T, NH, HS, 10000, 2);
      expectClose(y.toFloat32Array(), ref, 1e-6);
      y.backward(tensor(new Float32Array(y.size).fill(1), { shape: [...y.shape] }));
      expect(base.grad!.shape).toEqual([1, NH, T, HS]);
    });
  });

  it('OpenMP path: [2, 64, 4, 64] with a large offset matches float64 (forward and inverse)', () => {
    tidy(() => {
      const gen = new Generator(6);
      const Bb = 2, Tb = 64, NHb = 4, HSb = 64, pos = 1000;
      const x = randomTensor([Bb, Tb, NHb, HSb], gen);
      const y = rope(x, { theta: 10000, positionOffset: pos });
      // fp32 angles (as HF): error grows with position, ~1e-7 * angle
      expectClose(y.toFloat32Array(), refRope(toF64(x), Bb, Tb, NHb, HSb, 10000, pos), 2e-5, 'forward');
      y.backward(y.detach());
      expectClose(x.grad!.toFloat32Array(), toF64(x), 1e-6, 'inverse rotation'); // R^T R x = x
    });
  });

  it('KV-cache offset: rope at offset k equals the tail of rope over a longer sequence', () => {
    tidy(() => {
      const gen = new Generator(8);
      const full = randomTensor([1, T, NH, HS], gen, 1, false);
      const tail = full.slice(1, 4, T);
      const a = rope(full, { theta: 10000 }).slice(1, 4, T).toFloat32Array();
      const b = rope(tail, { theta: 10000, positionOffset: 4 }).toFloat32Array();
      expectClose(b, a, 1e-6);
    });
  });

  it('rejects odd head size, wrong rank/dtype, bad options and disposed tensors', () => {
    tidy(() => {
      const gen = new Generator(1);
      expectCode(() => rope(randomTensor([1, 2, 1, 5], gen), { theta: 10000 }), 'SHAPE_MISMATCH');
      expectCode(() => rope(randomTensor([2, 1, 6], gen), { theta: 10000 }), 'SHAPE_MISMATCH');
      expectCode(() => rope(tensor([1, 2, 3, 4], { shape: [1, 1, 1, 4], dtype: 'int32' }), { theta: 10000 }), 'DTYPE_UNSUPPORTED');
      expectCode(() => rope(randomTensor([1, 2, 1, 4], gen), { theta: -1 }), 'INVALID_ARGUMENT');
      expectCode(() => rope(randomTensor([1, 2, 1, 4], gen), { theta: 10000, positionOffset: -3 }), 'INVALID_ARGUMENT');
      const dead = randomTensor([1, 2, 1, 4], gen);
      dead.dispose();
      expectCode(() => rope(dead, { theta: 10000 }), 'TENSOR_DISPOSED');
    });
  });
});
