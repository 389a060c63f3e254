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
  /** Explicit positions, int32 [B, T] (>= 0), instead of positionOffset + t (packed documents). */
  positions?: Tensor;
}

function rotate(x: Tensor, theta: number, pos: number, inverse: boolean, positions: Tensor | null): Tensor {
  const [B, T, NH, HS] = x.shape as [number, number, number, number];
  const out = Tensor.allocate(x.shape, 'float32', x.deviceIndex, false);
  try {
    call((n) => n.rope(out.buf, out.byteOffset, x.buf, x.byteOffset, B, T, NH, HS, theta, pos, inverse,
      positions ? positions.buf : null, positions ? positions.byteOffset : 0));
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
  const ps = opts.positions;
  if (ps) {
    expectDtype('rope', ps, 'int32');
    if (ps.ndim !== 2 || ps.shape[0] !== x.shape[0] || ps.shape[1] !== x.shape[1]) throw new ShapeError(`rope: positions ${fmt(ps.shape)} must be [B, T] = [${x.shape[0]}, ${x.shape[1]}]`);
    if (ps.deviceIndex !== x.deviceIndex) throw new ArgumentError('rope: positions must be on the device of x');
  }
  const psc = ps ? contig(ps) : null;
  const xc = contig(x);
  try {
    const out = rotate(xc, theta, pos, false, psc);
    if (needsGrad(x)) {
      record(out, 'rope', [x], psc ? [psc] : [], (g, [sp]) => {
        const gc = contig(g);
        try {
          return [rotate(gc, theta, pos, true, sp ?? null)];
        } finally {
          if (gc !== g) gc.dispose();
        }
      });
    }
    return out;
  } finally {
    if (xc !== x) xc.dispose();
    if (psc && psc !== ps) psc.dispose();
  }
}
