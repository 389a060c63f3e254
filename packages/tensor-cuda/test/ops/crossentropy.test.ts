import { describe, expect, it } from 'vitest';
import { Generator, OlmoError, crossEntropy, tensor, tidy, type Reduction } from '../../src/index.js';
import { expectClose, finiteDiffGrad, projectionWeights, randomTensor, toF64 } from '../helpers.js';

function expectCode(fn: () => unknown, code: string): void {
  let err: unknown;
  try { fn(); } catch (e) { err = e; }
  expect(err, `expected ${code}`).toBeInstanceOf(OlmoError);
  expect((err as OlmoError).code).toBe(code);
}

/** float64 reference: per-row CE and z-loss (masked), reduced like the op. */
function refCE(logits: Float64Array, targets: Int32Array, V: number, ignore: number, red: Reduction, zMult: number) {
  const N = targets.length, ce = new Float64Array(N), z = new Float64Array(N);
  let count = 0;
  for (let n = 0; n < N; n++) {
    let mx = -Infinity;
    for (let v = 0; v < V; v++) mx = Math.max(mx, logits[n * V + v]!);
    let s = 0;
    for (let v = 0; v < V; v++) s += Math.exp(logits[n * V + v]! - mx);
    const lse = mx + Math.log(s);
    if (targets[n] === ignore) continue;
    count++;
    ce[n] = lse - logits[n * V + targets[n]!]!;
    z[n] = zMult * lse * lse;
  }
  const reduce = (a: Float64Array) => {
    if (red === 'none') return a;
    const s = a.reduce((x, y) => x + y, 0);
    return Float64Array.of(red === 'sum' ? s : s / count);
  };
  return { loss: reduce(ce), z: reduce(z) };
}

describe('crossEntropy', () => {
  const N = 7, V = 37; // V not a multiple of 8
  for (const reduction of ['mean', 'sum', 'none'] as const) {
    for (const zMult of [0, 0.05]) {
      it(`reduction=${reduction} zLoss=${zMult}: forward and gradient with ignored rows`, () => {
        const gen = new Generator(51);
        const logits = randomTensor([N, V], gen, 2);
        const tArr = Int32Array.from({ length: N }, (_, i) => (i * 11 + 3) % V);
        tArr[2] = -100; tArr[5] = -100; tArr[6] = V - 1;
        const targets = tensor(tArr, { dtype: 'int32' });
        const { loss, zLoss } = crossEntropy(logits, targets, { reduction, zLossMultiplier: zMult });
        const L = toF64(logits);
        const ref = refCE(L, tArr, V, -100, reduction, zMult);
        expect(loss.shape).toEqual(reduction === 'none' ? [N] : []);
        expectClose(loss.toFloat32Array(), ref.loss, 1e-6, 'loss');
        if (zMult === 0) expect(zLoss).toBeNull();
        else expectClose(zLoss!.toFloat32Array(), ref.z, 1e-6, 'zLoss');
        // loss to differentiate: sum(w1 * loss) + sum(w2 * zLoss)
        const w1 = projectionWeights(loss.size, 3), w2 = projectionWeights(loss.size, 4);
        loss.backward(tensor(Float32Array.from(w1), { shape: [...loss.shape] }));
        if (zLoss) zLoss.backward(tensor(Float32Array.from(w2), { shape: [...zLoss.shape] }));
        const f = (xs: Float64Array[]) => {
          const r = refCE(xs[0]!, tArr, V, -100, reduction, zMult);
          let s = 0;
          r.loss.forEach((v, i) => (s += v * w1[i]!));
          if (zMult) r.z.forEach((v, i) => (s += v * w2[i]!));
          return s;
        };
        const [gl] = finiteDiffGrad(f, [L]);
        expectClose(logits.grad!.toFloat32Array(), gl!, 1e-4, 'dlogits');
        // ignored rows get exactly zero gradient
        const gd = logits.grad!.toFloat32Array();
        for (let v = 0; v < V; v++) expect(gd[2 * V + v]).toBe(0);
      });
    }
  }

  it('parallel path (N*V large), custom ignoreIndex and large logits stay finite', () => {
    tidy(() => {
      const gen = new Generator(52);
      const n = 64, v = 301;
      const logits = randomTensor([n, v], gen, 30); // large magnitudes: needs the max shift
      const tArr = Int32Array.from({ length: n }, (_, i) => (i * 7) % v);
      const { loss } = crossEntropy(logits, tensor(tArr, { dtype: 'int32' }), { ignoreIndex: 0 });
      const ref = refCE(toF64(logits), tArr, v, 0, 'mean', 0);
      expectClose(loss.toFloat32Array(), ref.loss, 1e-6);
      loss.backward();
      // analytic reference gradient: (softmax - onehot) / count
      const L = toF64(logits), g = logits.grad!.toFloat32Array(), expected = new Float64Array(n * v);
      const count = tArr.filter((t) => t !== 0).length;
      for (let r = 0; r < n; r++) {
        if (tArr[r] === 0) continue;
        let mx = -Infinity, s = 0;
        for (let c = 0; c < v; c++) mx = Math.max(mx, L[r * v + c]!);
        for (let c = 0; c < v; c++) s += Math.exp(L[r * v + c]! - mx);
        for (let c = 0; c < v; c++) expected[r * v + c] = (Math.exp(L[r * v + c]! - mx) / s - (c === tArr[r] ? 1 : 0)) / count;
      }
      expectClose(g, expected, 1e-5, 'dlogits');
    });
  });

  it('mean over all-ignored targets is NaN (like torch), sum is 0', () => {
    tidy(() => {
      const logits = randomTensor([3, 5], new Generator(1), 1, false);
      const t = tensor([-100, -100, -100], { dtype: 'int32' });
      expect(Number.isNaN(crossEntropy(logits, t).loss.item())).toBe(true);
      expect(crossEntropy(logits, t, { reduction: 'sum' }).loss.item()).toBe(0);
    });
  });

  it('rejects bad targets, shapes, dtypes, options and disposed tensors with typed errors', () => {
    tidy(() => {
      const logits = randomTensor([3, 5], new Generator(1));
      const ok = tensor([0, 1, 4], { dtype: 'int32' });
      expectCode(() => crossEntropy(logits, tensor([0, 5, 1], { dtype: 'int32' })), 'INVALID_ARGUMENT');
      expectCode(() => crossEntropy(logits, tensor([0, -1, 1], { dtype: 'int32' })), 'INVALID_ARGUMENT');
      expectCode(() => crossEntropy(logits, tensor([0, 1, 2])), 'DTYPE_UNSUPPORTED');
      expectCode(() => crossEntropy(logits, tensor([0, 1], { dtype: 'int32' })), 'SHAPE_MISMATCH');
      expectCode(() => crossEntropy(randomTensor([3], new Generator(2)), ok), 'SHAPE_MISMATCH');
      expectCode(() => crossEntropy(logits, ok, { reduction: 'avg' as Reduction }), 'INVALID_ARGUMENT');
      expectCode(() => crossEntropy(logits, ok, { zLossMultiplier: NaN }), 'INVALID_ARGUMENT');
      expectCode(() => crossEntropy(logits, ok, { ignoreIndex: 1.5 }), 'INVALID_ARGUMENT');
      const dead = randomTensor([3, 5], new Generator(3));
      dead.dispose();
      expectCode(() => crossEntropy(dead, ok), 'TENSOR_DISPOSED');
      expect(Number.isFinite(crossEntropy(logits, ok).loss.item())).toBe(true);
    });
  });
});
