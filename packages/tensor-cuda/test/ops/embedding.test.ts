import { describe, expect, it } from 'vitest';
import { Generator, OlmoError, embedding, tensor, tidy } from '../../src/index.js';
import { expectClose, finiteDiffGrad, projectionWeights, randomTensor, toF64 } from '../helpers.js';

function expectCode(fn: () => unknown, code: string): void {
  let err: unknown;
  try { fn(); } catch (e) { err = e; }
  expect(err, `expected ${code}`).toBeInstanceOf(OlmoError);
  expect((err as OlmoError).code).toBe(code);
}

/** float64 reference gather. */
function refEmbedding(ids: Int32Array, w: Float64Array, C: number): Float64Array {
  const out = new Float64Array(ids.length * C);
  ids.forEach((id, n) => { for (let c = 0; c < C; c++) out[n * C + c] = w[id * C + c]!; });
  return out;
}

describe('embedding', () => {
  it('gathers rows and scatter-adds the gradient (repeated ids, V=37, C=13)', () => {
    const gen = new Generator(3);
    const V = 37, C = 13, B = 2, T = 7;
    const idsArr = new Int32Array(B * T);
    for (let i = 0; i < idsArr.length; i++) idsArr[i] = Math.floor(gen.uniform() * V) % V;
    idsArr[3] = idsArr[0]!; idsArr[9] = idsArr[0]!; idsArr[13] = V - 1; // repeats and the last row
    const ids = tensor(idsArr, { shape: [B, T], dtype: 'int32' });
    const w = randomTensor([V, C], gen);
    const y = embedding(ids, w);
    expect(y.shape).toEqual([B, T, C]);
    const W = toF64(w);
    expectClose(y.toFloat32Array(), refEmbedding(idsArr, W, C), 1e-7, 'forward');
    const g = projectionWeights(B * T * C);
    y.backward(tensor(Float32Array.from(g), { shape: [B, T, C] }));
    const [gw] = finiteDiffGrad((xs) => refEmbedding(idsArr, xs[0]!, C).reduce((s, v, i) => s + v * g[i]!, 0), [W]);
    expectClose(w.grad!.toFloat32Array(), gw!, 1e-5, 'dWeight');
  });

  it('OpenMP path: 1000 ids into [50, 70] with heavy repetition', () => {
    tidy(() => {
      const gen = new Generator(4);
      const V = 50, C = 70, N = 1000;
      const idsArr = Int32Array.from({ length: N }, () => Math.floor(gen.uniform() * V) % V);
      const w = randomTensor([V, C], gen);
      const y = embedding(tensor(idsArr, { dtype: 'int32' }), w);
      expectClose(y.toFloat32Array(), refEmbedding(idsArr, toF64(w), C), 1e-7, 'forward');
      const g = projectionWeights(N * C);
      y.backward(tensor(Float32Array.from(g), { shape: [N, C] }));
      const dw = new Float64Array(V * C);
      idsArr.forEach((id, n) => { for (let c = 0; c < C; c++) dw[id * C + c] += g[n * C + c]!; });
      expectClose(w.grad!.toFloat32Array(), dw, 1e-6, 'dWeight');
    });
  });

  it('does not record a graph when the weight does not require grad', () => {
    tidy(() => {
      const w = randomTensor([5, 4], new Generator(1), 1, false);
      const y = embedding(tensor([1, 2, 3], { dtype: 'int32' }), w);
      expect(y.requiresGrad).toBe(false);
    });
  });

  it('rejects out-of-range ids, wrong dtypes/shapes and disposed tensors with typed errors', () => {
    tidy(() => {
      const w = randomTensor([5, 4], new Generator(1));
      expectCode(() => embedding(tensor([0, 5], { dtype: 'int32' }), w), 'INVALID_ARGUMENT');
      expectCode(() => embedding(tensor([-1, 0], { dtype: 'int32' }), w), 'INVALID_ARGUMENT');
      expectCode(() => embedding(tensor([0, 1]), w), 'DTYPE_UNSUPPORTED');
      expectCode(() => embedding(tensor([0, 1], { dtype: 'int32' }), tensor([1, 2, 3])), 'SHAPE_MISMATCH');
      const dead = randomTensor([5, 4], new Generator(2));
      dead.dispose();
      expectCode(() => embedding(tensor([0], { dtype: 'int32' }), dead), 'TENSOR_DISPOSED');
      // still alive and working
      expect(embedding(tensor([4], { dtype: 'int32' }), w).shape).toEqual([1, 4]);
    });
  });
});
