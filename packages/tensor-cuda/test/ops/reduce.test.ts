import { describe, expect, it } from 'vitest';
import { Generator, OlmoError, mean, sum, sumSquares, tensor, tidy } from '../../src/index.js';
import { expectClose, randomTensor, toF64 } from '../helpers.js';

function expectCode(fn: () => unknown, code: string): void {
  let err: unknown;
  try { fn(); } catch (e) { err = e; }
  expect(err, `expected ${code}`).toBeInstanceOf(OlmoError);
  expect((err as OlmoError).code).toBe(code);
}

describe('sum / mean', () => {
  for (const op of ['sum', 'mean'] as const) {
    it(`${op}: scalar forward and broadcast gradient on [7, 13] (and a strided view)`, () => {
      tidy(() => {
        const gen = new Generator(61);
        const x = randomTensor([13, 7], gen);
        const xt = x.transpose(0, 1);
        const y = op === 'sum' ? sum(xt) : mean(xt);
        expect(y.shape).toEqual([]);
        const X = toF64(x);
        const s = X.reduce((a, b) => a + b, 0);
        expectClose([y.item()], [op === 'sum' ? s : s / X.length], 1e-6);
        y.backward(tensor(2.5));
        const expected = new Float64Array(X.length).fill(op === 'sum' ? 2.5 : 2.5 / X.length);
        expectClose(x.grad!.toFloat32Array(), expected, 1e-7);
      });
    });
  }

  it('large sums accumulate in float64 (parallel path)', () => {
    tidy(() => {
      const n = 1 << 20;
      const x = tensor(new Float32Array(n).fill(0.1), { shape: [n] });
      expect(Math.abs(sum(x).item() - n * Math.fround(0.1)) / (n * 0.1)).toBeLessThan(1e-7);
      expect(Math.abs(mean(x).item() - Math.fround(0.1))).toBeLessThan(1e-8);
      expectCode(() => sum(x).backward(), 'INVALID_ARGUMENT'); // x does not require grad
    });
  });

  it('rejects wrong dtypes and disposed tensors', () => {
    tidy(() => {
      expectCode(() => sum(tensor([1, 2], { dtype: 'int32' })), 'DTYPE_UNSUPPORTED');
      const dead = tensor([1, 2]);
      dead.dispose();
      expectCode(() => mean(dead), 'TENSOR_DISPOSED');
    });
  });
});

describe('sumSquares', () => {
  it('sums squares over several tensors (incl. a strided view) in float64', () => {
    tidy(() => {
      const gen = new Generator(62);
      const a = randomTensor([7, 13], gen, 1, false), b = randomTensor([70001], gen, 3, false), c = randomTensor([5, 3], gen, 1, false);
      const ct = c.transpose(0, 1);
      let ref = 0;
      for (const t of [a, b, c]) for (const v of toF64(t)) ref += v * v;
      expect(Math.abs(sumSquares([a, b, ct]) - ref) / ref).toBeLessThan(1e-12);
      expect(sumSquares([])).toBe(0);
    });
  });

  it('rejects wrong dtypes and disposed tensors', () => {
    tidy(() => {
      expectCode(() => sumSquares([tensor([1]), tensor([1], { dtype: 'int32' })]), 'DTYPE_UNSUPPORTED');
      const dead = tensor([1, 2]);
      dead.dispose();
      expectCode(() => sumSquares([tensor([1]), dead]), 'TENSOR_DISPOSED');
    });
  });
});
