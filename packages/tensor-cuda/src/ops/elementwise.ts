/**
 * elementwise: add / sub / mul / scale / fill on same-shape float32 tensors (+ autograd),
 * and the in-place accumulation used by autograd and optimizers.
 * Kernels: native/cpu/elementwise.cc, native/cuda/elementwise.cu.
 */
import { needsGrad, record } from '../autograd.js';
import { call } from '../native.js';
import { Tensor } from '../tensor.js';
import { DTYPE_BYTES, DTYPE_CODE } from '../dtype.js';
import { contig } from './views.js';
import { expectDtype, expectSameShape, sameDevice } from './util.js';

function binary(op: 'add' | 'mul', a: Tensor, b: Tensor, alpha = 1, beta = 1): Tensor {
  expectDtype(op, a, 'float32');
  expectDtype(op, b, 'float32');
  expectSameShape(op, a, b);
  const dev = sameDevice(op, a, b);
  const ac = contig(a), bc = contig(b);
  try {
    const out = Tensor.allocate(a.shape, 'float32', dev, false);
    if (op === 'add') call((n) => n.add(out.buf, out.byteOffset, ac.buf, ac.byteOffset, bc.buf, bc.byteOffset, out.size, alpha, beta));
    else call((n) => n.mul(out.buf, out.byteOffset, ac.buf, ac.byteOffset, bc.buf, bc.byteOffset, out.size));
    return out;
  } finally {
    if (ac !== a) ac.dispose();
    if (bc !== b) bc.dispose();
  }
}

/** alpha * a + beta * b (defaults: a + b). */
export function add(a: Tensor, b: Tensor, alpha = 1, beta = 1): Tensor {
  const out = binary('add', a, b, alpha, beta);
  if (needsGrad(a, b)) {
    record(out, 'add', [a, b], [], (g) => [
      a.requiresGrad ? scale(g, alpha) : null,
      b.requiresGrad ? scale(g, beta) : null,
    ]);
  }
  return out;
}

export function sub(a: Tensor, b: Tensor): Tensor {
  return add(a, b, 1, -1);
}

export function mul(a: Tensor, b: Tensor): Tensor {
  const out = binary('mul', a, b);
  if (needsGrad(a, b)) {
    record(out, 'mul', [a, b], [a, b], (g, [sa, sb]) => [
      a.requiresGrad ? binary('mul', g, sb!) : null,
      b.requiresGrad ? binary('mul', g, sa!) : null,
    ]);
  }
  return out;
}

/** s * a */
export function scale(a: Tensor, s: number): Tensor {
  expectDtype('scale', a, 'float32');
  const ac = contig(a);
  try {
    const out = Tensor.allocate(a.shape, 'float32', a.deviceIndex, false);
    call((n) => n.scale(out.buf, out.byteOffset, ac.buf, ac.byteOffset, out.size, s));
    if (needsGrad(a)) record(out, 'scale', [a], [], (g) => [scale(g, s)]);
    return out;
  } finally {
    if (ac !== a) ac.dispose();
  }
}

/** dst += alpha * src, in place (dst must be contiguous float32). Not recorded by autograd. */
export function addInPlace(dst: Tensor, src: Tensor, alpha = 1): void {
  expectDtype('addInPlace', dst, 'float32');
  expectDtype('addInPlace', src, 'float32');
  expectSameShape('addInPlace', dst, src);
  sameDevice('addInPlace', dst, src);
  if (!dst.isContiguous) throw new Error('addInPlace: destination must be contiguous');
  const sc = contig(src);
  try {
    call((n) => n.add(dst.buf, dst.byteOffset, dst.buf, dst.byteOffset, sc.buf, sc.byteOffset, dst.size, 1, alpha));
  } finally {
    if (sc !== src) sc.dispose();
  }
}

/** dst *= s, in place. Not recorded by autograd. */
export function scaleInPlace(dst: Tensor, s: number): void {
  expectDtype('scaleInPlace', dst, 'float32');
  if (!dst.isContiguous) throw new Error('scaleInPlace: destination must be contiguous');
  call((n) => n.scale(dst.buf, dst.byteOffset, dst.buf, dst.byteOffset, dst.size, s));
}

/** Fills a contiguous float32 tensor in place. */
export function fillInPlace(dst: Tensor, value: number): void {
  expectDtype('fill', dst, 'float32');
  if (!dst.isContiguous) throw new Error('fill: destination must be contiguous');
  call((n) => n.fill(dst.buf, dst.byteOffset, dst.size, value));
}

/** Copies src's values into dst (same shape and dtype; dst contiguous). Not recorded. */
/**
 * Copies src into the contiguous dst (same shape). Different dtypes are converted natively
 * (float32 <-> bfloat16 round to nearest even, as `.to()`), so a staging chunk can be written
 * straight into a slice of a bfloat16 tensor.
 */
export function copyInto(dst: Tensor, src: Tensor): void {
  expectSameShape('copyInto', dst, src);
  if (!dst.isContiguous) throw new Error('copyInto: destination must be contiguous');
  const sc = contig(src);
  try {
    if (dst.dtype !== src.dtype) {
      call((n) => n.cast(dst.buf, dst.byteOffset, DTYPE_CODE[dst.dtype], sc.buf, sc.byteOffset, DTYPE_CODE[src.dtype], dst.size));
      return;
    }
    const nbytes = dst.size * DTYPE_BYTES[dst.dtype];
    call((n) => n.copyBytes(dst.buf, dst.byteOffset, sc.buf, sc.byteOffset, nbytes));
  } finally {
    if (sc !== src) sc.dispose();
  }
}

export function onesLike(t: Tensor): Tensor {
  const out = Tensor.allocate(t.shape, 'float32', t.deviceIndex, false);
  fillInPlace(out, 1);
  return out;
}
