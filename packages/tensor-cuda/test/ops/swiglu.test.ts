import { describe, expect, it } from 'vitest';
import { Generator, OlmoError, swiglu, tensor, tidy } from '../../src/index.js';
import { expectClose, finiteDiffGrad, projectionWeights, randomTensor, toF64 } from '../helpers.js';

function expectCode(fn: () => unknown, code: string): void {
  let err: unknown;
  try { fn(); } catch (e) { err = e; }
  expect(err, `expected ${code}`).toBeInstanceOf(OlmoError);
  expect((err as OlmoError).code).toBe(code);
}

const refSwiglu = (g: Float64Array, u: Float64Array) => g.map((v, i) => (v / (1 + Math.exp(-v))) * u[i]!);

describe('swiglu', () => {
  it('silu(gate) * up: forward and both gradients on [2, 7, 13]', () => {
    const gen = new Generator(31);
    const gate = randomTensor([2, 7, 13], gen, 2), up = randomTensor([2, 7, 13], gen);
    const y = swiglu(gate, up);
    const G = toF64(gate), U = toF64(up);
    expectClose(y.toFloat32Array(), refSwiglu(G, U), 1e-6, 'forward');
    const w = projectionWeights(y.size);
    y.backward(tensor(Float32Array.from(w), { shape: [2, 7, 13] }));
    const [gg, gu] = finiteDiffGrad((xs) => refSwiglu(xs[0]!, xs[1]!).reduce((s, v, i) => s + v * w[i]!, 0), [G, U]);
    expectClose(gate.grad!.toFloat32Array(), gg!, 1e-5, 'dgate');
    expectClose(up.grad!.toFloat32Array(), gu!, 1e-5, 'dup');
  });

  it('large arrays (parallel path) and gradient for one input only', () => {
    tidy(() => {
      const gen = new Generator(32);
      const gate = randomTensor([70000], gen, 3, false), up = randomTensor([70000], gen);
      const y = swiglu(gate, up);
      expectClose(y.toFloat32Array(), refSwiglu(toF64(gate), toF64(up)), 1e-6);
      y.backward(tensor(new Float32Array(70000).fill(1), { shape: [70000] }));
      expect(gate.grad).toBeNull();
      const G = toF64(gate);
      expectClose(up.grad!.toFloat32Array(), G.map((v) => v / (1 + Math.exp(-v))), 1e-6, 'dup');
    });
  });

  it('rejects mismatched shapes, dtypes and disposed tensors', () => {
    tidy(() => {
      const gen = new Generator(1);
      expectCode(() => swiglu(randomTensor([3, 4], gen), randomTensor([4, 3], gen)), 'SHAPE_MISMATCH');
      expectCode(() => swiglu(tensor([1, 2], { dtype: 'int32' }), tensor([1, 2])), 'DTYPE_UNSUPPORTED');
      const dead = randomTensor([2], gen);
      dead.dispose();
      expectCode(() => swiglu(randomTensor([2], gen), dead), 'TENSOR_DISPOSED');
    });
  });
});
