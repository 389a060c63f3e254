import { describe, expect, it } from 'vitest';
import { Generator, OlmoError, layerNorm, rmsNorm, tensor, tidy, type Tensor } from '../../src/index.js';
import { expectClose, finiteDiffGrad, projectionWeights, randomTensor, toF64 } from '../helpers.js';

function expectCode(fn: () => unknown, code: string): void {
  let err: unknown;
  try { fn(); } catch (e) { err = e; }
  expect(err, `expected ${code}`).toBeInstanceOf(OlmoError);
  expect((err as OlmoError).code).toBe(code);
}

/** float64 reference for both norms over rows of length C. */
function refNorm(x: Float64Array, w: Float64Array | null, b: Float64Array | null, C: number, eps: number, rms: boolean): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r < x.length / C; r++) {
    let m = 0, v = 0;
    if (!rms) { for (let c = 0; c < C; c++) m += x[r * C + c]!; m /= C; }
    for (let c = 0; c < C; c++) v += (x[r * C + c]! - m) ** 2;
    const rstd = 1 / Math.sqrt(v / C + eps);
    for (let c = 0; c < C; c++) out[r * C + c] = (x[r * C + c]! - m) * rstd * (w ? w[c]! : 1) + (b ? b[c]! : 0);
  }
  return out;
}

const B = 2, T = 7, C = 13;

function check(rms: boolean, withW: boolean, withB: boolean, eps: number): void {
  const gen = new Generator(rms ? 11 : 12);
  const x = randomTensor([B, T, C], gen, 1.5);
  // shift the mean so centering matters
  const xs = tensor(Float32Array.from(x.toFloat32Array(), (v, i) => v + 0.3 * (i % 5)), { shape: [B, T, C], requiresGrad: true });
  x.dispose();
  const w = withW ? tensor(Float32Array.from(projectionWeights(C, 3), (v) => 1 + 0.5 * v), { requiresGrad: true }) : null;
  const b = withB ? randomTensor([C], gen, 0.5) : null;
  const y = rms ? rmsNorm(xs, w, eps) : layerNorm(xs, w, b, eps);
  expect(y.shape).toEqual([B, T, C]);
  const params: Tensor[] = [xs, ...(w ? [w] : []), ...(b ? [b] : [])];
  const vals = params.map(toF64);
  const ref = (v: Float64Array[]) => refNorm(v[0]!, w ? v[1]! : null, b ? v[w ? 2 : 1]! : null, C, eps, rms);
  expectClose(y.toFloat32Array(), ref(vals), 1e-6, 'forward');
  const g = projectionWeights(B * T * C);
  y.backward(tensor(Float32Array.from(g), { shape: [B, T, C] }));
  const grads = finiteDiffGrad((v) => ref(v).reduce((s, o, i) => s + o * g[i]!, 0), vals);
  params.forEach((p, i) => expectClose(p.grad!.toFloat32Array(), grads[i]!, 1e-4, `grad ${i}`));
  for (const p of params) p.dispose();
  y.dispose();
}

describe('layerNorm', () => {
  it('non-parametric (OLMo-1), odd C=13', () => check(false, false, false, 1e-5));
  it('with weight and bias', () => check(false, true, true, 1e-5));
  it('with weight only', () => check(false, true, false, 1e-5));
});

describe('rmsNorm', () => {
  it('without weight', () => check(true, false, false, 1e-6));
  it('with weight (OLMo-2)', () => check(true, true, false, 1e-6));

  it('works on a non-contiguous input and gives a gradient only where required', () => {
    tidy(() => {
      const gen = new Generator(5);
      const x = randomTensor([C, 3], gen);
      const xt = x.transpose(0, 1); // [3, C] strided
      const w = randomTensor([C], gen, 1, false);
      const y = rmsNorm(xt, w);
      const ref = refNorm(toF64(xt.contiguous()), toF64(w), null, C, 1e-6, true);
      expectClose(y.toFloat32Array(), ref, 1e-6);
      y.backward(tensor(new Float32Array(3 * C).fill(1), { shape: [3, C] }));
      expect(x.grad!.shape).toEqual([C, 3]);
      expect(w.grad).toBeNull();
    });
  });
});

/** float64 analytic gradients of sum(g * norm(x)) for the parallel-path check. */
function refNormGrads(x: Float64Array, w: Float64Array, g: Float64Array, C: number, eps: number, rms: boolean) {
  const dx = new Float64Array(x.length), dw = new Float64Array(C), db = new Float64Array(C);
  for (let r = 0; r < x.length / C; r++) {
    let m = 0, v = 0;
    if (!rms) { for (let c = 0; c < C; c++) m += x[r * C + c]!; m /= C; }
    for (let c = 0; c < C; c++) v += (x[r * C + c]! - m) ** 2;
    const rstd = 1 / Math.sqrt(v / C + eps);
    let a = 0, b = 0;
    for (let c = 0; c < C; c++) {
      const xh = (x[r * C + c]! - m) * rstd, dyh = g[r * C + c]! * w[c]!;
      a += dyh; b += dyh * xh;
      dw[c] += g[r * C + c]! * xh; db[c] += g[r * C + c]!;
    }
    a = rms ? 0 : a / C; b /= C;
    for (let c = 0; c < C; c++) dx[r * C + c] = rstd * (g[r * C + c]! * w[c]! - a - (x[r * C + c]! - m) * rstd * b);
  }
  return { dx, dw, db };
}

describe('norms on the OpenMP path (N*C large)', () => {
  for (const rms of [false, true]) {
    it(`${rms ? 'rmsNorm' : 'layerNorm'} [300, 77] matches float64 forward and analytic gradients`, () => {
      tidy(() => {
        const gen = new Generator(9);
        const N = 300, Cb = 77;
        const x = randomTensor([N, Cb], gen, 2), w = randomTensor([Cb], gen), b = randomTensor([Cb], gen);
        const y = rms ? rmsNorm(x, w) : layerNorm(x, w, b);
        const X = toF64(x), W = toF64(w), Bv = toF64(b), eps = rms ? 1e-6 : 1e-5;
        expectClose(y.toFloat32Array(), refNorm(X, W, rms ? null : Bv, Cb, eps, rms), 1e-6, 'forward');
        const g = projectionWeights(N * Cb);
        y.backward(tensor(Float32Array.from(g), { shape: [N, Cb] }));
        const r = refNormGrads(X, W, g, Cb, eps, rms);
        expectClose(x.grad!.toFloat32Array(), r.dx, 1e-5, 'dx');
        expectClose(w.grad!.toFloat32Array(), r.dw, 1e-5, 'dw');
        if (!rms) expectClose(b.grad!.toFloat32Array(), r.db, 1e-5, 'db');
      });
    });
  }
});

describe('norm bad inputs', () => {
  it('rejects wrong shapes, dtypes, eps and disposed tensors with typed errors', () => {
    tidy(() => {
      const x = randomTensor([4, 6], new Generator(1));
      expectCode(() => layerNorm(x, tensor([1, 2, 3]), null), 'SHAPE_MISMATCH');
      expectCode(() => rmsNorm(x, tensor([[1, 2, 3, 4, 5, 6]])), 'SHAPE_MISMATCH');
      expectCode(() => layerNorm(tensor([1, 2], { dtype: 'int32' }), null, null), 'DTYPE_UNSUPPORTED');
      expectCode(() => rmsNorm(x, null, -1), 'INVALID_ARGUMENT');
      const dead = randomTensor([6], new Generator(2));
      dead.dispose();
      expectCode(() => layerNorm(x, null, dead), 'TENSOR_DISPOSED');
      expect(layerNorm(x, null, null).shape).toEqual([4, 6]);
    });
  });
});
