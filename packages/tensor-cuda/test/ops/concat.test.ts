import { describe, expect, it } from 'vitest';
import { Generator, OlmoError, concat, tensor, tidy } from '../../src/index.js';
import { expectClose, finiteDiffGrad, projectionWeights, randomTensor, toF64 } from '../helpers.js';

function expectCode(fn: () => unknown, code: string): void {
  let err: unknown;
  try { fn(); } catch (e) { err = e; }
  expect(err, `expected ${code}`).toBeInstanceOf(OlmoError);
  expect((err as OlmoError).code).toBe(code);
}

/** float64 reference concat of row-major arrays with shapes that differ only at `dim`. */
function refConcat(xs: Float64Array[], shapes: number[][], dim: number): Float64Array {
  const outer = shapes[0]!.slice(0, dim).reduce((a, b) => a * b, 1);
  const inners = shapes.map((s) => s.slice(dim).reduce((a, b) => a * b, 1));
  const total = inners.reduce((a, b) => a + b, 0);
  const out = new Float64Array(outer * total);
  for (let o = 0; o < outer; o++) {
    let at = o * total;
    xs.forEach((x, k) => { out.set(x.subarray(o * inners[k]!, (o + 1) * inners[k]!), at); at += inners[k]!; });
  }
  return out;
}

describe('concat', () => {
  const cases: Array<[number[][], number]> = [
    [[[2, 3, 5], [1, 3, 5]], 0],
    [[[2, 3, 5], [2, 4, 5], [2, 1, 5]], 1],
    [[[2, 3, 5], [2, 3, 2]], -1],
  ];
  for (const [shapes, dim] of cases) {
    it(`forward and gradients, dim=${dim}, ${shapes.map((s) => `[${s}]`).join(' + ')}`, () => {
      tidy(() => {
        const gen = new Generator(71);
        const xs = shapes.map((s) => randomTensor(s, gen));
        const y = concat(xs, dim);
        const d = dim < 0 ? dim + shapes[0]!.length : dim;
        const vals = xs.map(toF64);
        const ref = (v: Float64Array[]) => refConcat(v, shapes, d);
        expectClose(y.toFloat32Array(), ref(vals), 0, 'forward');
        const w = projectionWeights(y.size);
        y.backward(tensor(Float32Array.from(w), { shape: [...y.shape] }));
        const grads = finiteDiffGrad((v) => ref(v).reduce((s, o, i) => s + o * w[i]!, 0), vals);
        xs.forEach((x, i) => expectClose(x.grad!.toFloat32Array(), grads[i]!, 1e-6, `grad ${i}`));
      });
    });
  }

  it('handles strided inputs, int32 tensors and inputs that do not require grad', () => {
    tidy(() => {
      const gen = new Generator(72);
      const a = randomTensor([3, 4], gen), b = randomTensor([4, 3], gen, 1, false);
      const y = concat([a, b.transpose(0, 1)], 1);
      expect(y.shape).toEqual([3, 8]);
      expectClose(y.toFloat32Array(), refConcat([toF64(a), toF64(b.transpose(0, 1).contiguous())], [[3, 4], [3, 4]], 1), 0);
      y.backward(tensor(new Float32Array(24).fill(1), { shape: [3, 8] }));
      expect(b.grad).toBeNull();
      expect(Array.from(a.grad!.toFloat32Array())).toEqual(new Array(12).fill(1));
      const i = concat([tensor([1, 2], { dtype: 'int32' }), tensor([3], { dtype: 'int32' })], 0);
      expect(i.dtype).toBe('int32');
      expect(Array.from(i.toTypedArray())).toEqual([1, 2, 3]);
    });
  });

  it('rejects empty lists, mismatched shapes/dtypes, bad dims and disposed tensors', () => {
    tidy(() => {
      const a = tensor([[1, 2]]), b = tensor([[1, 2, 3]]);
      expectCode(() => concat([], 0), 'INVALID_ARGUMENT');
      expectCode(() => concat([a, b], 0), 'SHAPE_MISMATCH');
      expectCode(() => concat([a, a], 2), 'SHAPE_MISMATCH');
      expectCode(() => concat([a, tensor([[1, 2]], { dtype: 'int32' })], 0), 'DTYPE_UNSUPPORTED');
      const dead = tensor([[1, 2]]);
      dead.dispose();
      expectCode(() => concat([a, dead], 0), 'TENSOR_DISPOSED');
      expect(concat([a, b], 1).shape).toEqual([1, 5]);
    });
  });
});
