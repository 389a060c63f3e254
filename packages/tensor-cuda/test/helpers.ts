/** Test helpers: float64 references and finite-difference gradient checks. */
import { expect } from 'vitest';
import { Tensor, tensor, noGrad, Generator } from '../src/index.js';

export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
}

export function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5, what = ''): void {
  expect(a.length, `${what} length`).toBe(b.length);
  const e = relErr(a, b);
  expect(e, `${what} relative error ${e}`).toBeLessThanOrEqual(tol);
}

export function randomArray(n: number, gen: Generator, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = gen.normal(0, scale);
  return a;
}

export function randomTensor(shape: number[], gen: Generator, scale = 1, requiresGrad = true): Tensor {
  const t = tensor(randomArray(shape.reduce((a, b) => a * b, 1), gen, scale), { shape });
  if (requiresGrad) t.requiresGrad_(true);
  return t;
}

/**
 * Checks analytic gradients of scalar-valued f against central finite differences computed in
 * float64 from a float64 reference `ref` of the same function (so fp32 rounding does not pollute
 * the numeric derivative). `inputs` are the Float64 values of each differentiable input.
 */
export function finiteDiffGrad(ref: (xs: Float64Array[]) => number, xs: Float64Array[], eps = 1e-6): Float64Array[] {
  return xs.map((x, k) => {
    const g = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const orig = x[i]!;
      x[i] = orig + eps;
      const fp = ref(xs);
      x[i] = orig - eps;
      const fm = ref(xs);
      x[i] = orig;
      g[i] = (fp - fm) / (2 * eps);
    }
    void k;
    return g;
  });
}

/** Weighted sum with fixed random weights: turns any output into a scalar loss for grad checks. */
export function projectionWeights(n: number, seed = 7): Float64Array {
  const gen = new Generator(seed);
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) w[i] = gen.normal();
  return w;
}

export function toF64(t: Tensor): Float64Array {
  return Float64Array.from(noGrad(() => t.toFloat32Array()));
}
