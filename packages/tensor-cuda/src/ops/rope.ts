/**
 * rope family (kernels: native/cpu/rope.cc, native/cuda/rope.cu): rotary position embedding in the
 * rotate-half (HF) layout. rope(x [B, T, NH, HS], { theta, positionOffset = 0 }) -> same shape.
 *   inv_freq[i] = theta^(-2i/HS), angle = (positionOffset + t) * inv_freq, cos/sin over both halves.
 * Backward: the same rotation by the negative angle (rotations are orthogonal).
 */
import { needsGrad, record } from '../autograd.js';
import { call } from '../native.js';
import { Tensor } from '../tensor.js';
import { ArgumentError, ShapeError } from '../errors.js';
import { contig } from './views.js';
import { expectDtype, fmt } from './util.js';

export interface RopeOptions {
  theta?: number;
  positionOffset?: number;
}

function rotate(x: Tensor, theta: number, pos: number, inverse: boolean): Tensor {
  const [B, T, NH, HS] = x.shape as [number, number, number, number];
  const out = Tensor.allocate(x.shape, 'float32', x.deviceIndex, false);
  try {
    call((n) => n.rope(out.buf, out.byteOffset, x.buf, x.byteOffset, B, T, NH, HS, theta, pos, inverse));
  } catch (e) {
    out.dispose();
    throw e;
  }
  return out;
}

export function rope(x: Tensor, opts: RopeOptions = {}): Tensor {
  expectDtype('rope', x, 'float32');
  if (x.ndim !== 4) throw new ShapeError(`rope: input must be [B, T, NH, HS], got ${fmt(x.shape)}`);
  const HS = x.shape[3]!;
  if (HS === 0 || HS % 2 !== 0) throw new ShapeError(`rope: head size ${HS} must be even and non-zero`);
  const theta = opts.theta ?? 10000, pos = opts.positionOffset ?? 0;
  if (!(theta > 0) || !Number.isFinite(theta)) throw new ArgumentError(`rope: theta must be a positive number, got ${theta}`);
  if (!Number.isInteger(pos) || pos < 0) throw new ArgumentError(`rope: positionOffset must be a non-negative integer, got ${pos}`);
  const xc = contig(x);
  try {
    const out = rotate(xc, theta, pos, false);
    if (needsGrad(x)) record(out, 'rope', [x], [], (g) => [rotate(g, theta, pos, true)]);
    return out;
  } finally {
    if (xc !== x) xc.dispose();
  }
}
