/**
 * reduce family (kernels: native/cpu/reduce.cc, native/cuda/reduce.cu); float64 accumulation on CPU.
 *   sum(x) -> scalar [], mean(x) -> scalar [] (autograd: the gradient is broadcast back).
 *   sumSquares(tensors) -> number: sum of squares over all elements of all tensors (fused
 *   multi-tensor, float64; grad-norm clipping). Not recorded by autograd.
 */
import { needsGrad, record } from '../autograd.js';
import { call } from '../native.js';
import { Tensor } from '../tensor.js';
import { ArgumentError } from '../errors.js';
import { contig } from './views.js';
import { expectDtype, sameDevice } from './util.js';

/** @internal scale * sum(x) into a new 0-d tensor, no autograd (x contiguous float32). */
export function sumScaled(x: Tensor, scale: number): Tensor {
  const out = Tensor.allocate([], 'float32', x.deviceIndex, false);
  call((n) => n.sum(out.buf, out.byteOffset, x.buf, x.byteOffset, x.size, scale));
  return out;
}

/** @internal a tensor of `shape` filled with scale * s[0] (s a one-element tensor). */
export function broadcastScalar(s: Tensor, shape: readonly number[], scale: number): Tensor {
  const out = Tensor.allocate(shape, 'float32', s.deviceIndex, false);
  call((n) => n.broadcastScalar(out.buf, out.byteOffset, s.buf, s.byteOffset, scale, out.size));
  return out;
}

function reduceAll(op: string, x: Tensor, scale: number): Tensor {
  const xc = contig(x);
  try {
    const out = sumScaled(xc, scale);
    if (needsGrad(x)) {
      const shape = [...x.shape];
      record(out, op, [x], [], (g) => [broadcastScalar(g, shape, scale)]);
    }
    return out;
  } finally {
    if (xc !== x) xc.dispose();
  }
}

/** Sum of all elements, as a 0-d tensor. */
export function sum(x: Tensor): Tensor {
  expectDtype('sum', x, 'float32');
  return reduceAll('sum', x, 1);
}

/** Mean of all elements, as a 0-d tensor (NaN for an empty tensor). */
export function mean(x: Tensor): Tensor {
  expectDtype('mean', x, 'float32');
  return reduceAll('mean', x, x.size === 0 ? NaN : 1 / x.size);
}

/** Sum over all tensors of sum(t^2), accumulated in float64. All tensors on one device. */
export function sumSquares(tensors: readonly Tensor[]): number {
  if (!tensors || typeof tensors.length !== 'number') throw new ArgumentError('sumSquares: expected an array of tensors');
  if (tensors.length === 0) return 0;
  for (const t of tensors) expectDtype('sumSquares', t, 'float32');
  sameDevice('sumSquares', ...tensors);
  const cs = tensors.map((t) => contig(t));
  try {
    const args: unknown[] = [];
    for (const c of cs) args.push(c.buf, c.byteOffset, c.size);
    return call((n) => n.sumSquares(...args) as number);
  } finally {
    cs.forEach((c, i) => { if (c !== tensors[i]) c.dispose(); });
  }
}
