import { describe, expect, it } from 'vitest';
import { Generator, OlmoError, clamp, tensor, tidy } from '../../src/index.js';
import { expectClose, finiteDiffGrad, projectionWeights, toF64 } from '../helpers.js';

function expectCode(fn: () => unknown, code: string): void {
  let err: unknown;
  try { fn(); } catch (e) { err = e; }
  expect(err, `expected ${code}`).toBeInstanceOf(OlmoError);
  expect((err as OlmoError).code).toBe(code);
}

const refClamp = (x: Float64Array, lo: number, hi: number) => x.map((v) => Math.min(Math.max(v, lo), hi));

describe('clamp (clip_qkv)', () => {
  it('forward and gradient on [7, 13], values away from the bounds for finite differences', () => {
    const gen = new Generator(41);
    const lo = -0.5, hi = 0.75;
    const data = new Float32Array(7 * 13);
    for (let i = 0; i < data.length; i++) {
      let v = gen.normal();
      if (Math.abs(v - lo) < 1e-3 || Math.abs(v - hi) < 1e-3) v += 0.01;
      data[i] = v;
    }
    const x = tensor(data, { shape: [7, 13], requiresGrad: true });
    const y = clamp(x, lo, hi);
    const X = toF64(x);
    expectClose(y.toFloat32Array(), refClamp(X, lo, hi), 1e-7, 'forward');
    const w = projectionWeights(y.size);
    y.backward(tensor(Float32Array.from(w), { shape: [7, 13] }));
    const [gx] = finiteDiffGrad((xs) => refClamp(xs[0]!, lo, hi).reduce((s, v, i) => s + v * w[i]!, 0), [X]);
    expectClose(x.grad!.toFloat32Array(), gx!, 1e-6, 'dx');
  });

  it('passes the gradient at exactly min and max (torch semantics)', () => {
    tidy(() => {
      const x = tensor([-2, -1, 0, 1, 2], { requiresGrad: true });
      const y = clamp(x, -1, 1);
      expect(Array.from(y.toFloat32Array())).toEqual([-1, -1, 0, 1, 1]);
      y.backward(tensor([1, 1, 1, 1, 1]));
      expect(Array.from(x.grad!.toFloat32Array())).toEqual([0, 1, 1, 1, 0]);
    });
  });

  it('rejects min > max, NaN bounds, wrong dtypes and disposed tensors', () => {
    tidy(() => {
      const x = tensor([1, 2, 3]);
      expectCode(() => clamp(x, 2, 1), 'INVALID_ARGUMENT');
      expectCode(() => clamp(x, NaN, 1), 'INVALID_ARGUMENT');
      expectCode(() => clamp(tensor([1], { dtype: 'int32' }), 0, 1), 'DTYPE_UNSUPPORTED');
      const dead = tensor([1]);
      dead.dispose();
      expectCode(() => clamp(dead, 0, 1), 'TENSOR_DISPOSED');
    });
  });
});
