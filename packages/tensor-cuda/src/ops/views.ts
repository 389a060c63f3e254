/**
 * views: reshape / transpose / permute / slice / (un)squeeze share storage; contiguous / clone /
 * to copy. All are autograd-aware. The strided gather/scatter kernel is copyStrided in
 * native/{cpu,cuda}/elementwise.*.
 */
import { holdsBf16Values, markBf16Values, needsGrad, record } from '../autograd.js';
import { assertDeviceUsable, deviceName, type Device } from '../device.js';
import { DTYPE_BYTES, DTYPE_CODE, DTYPES, type DType } from '../dtype.js';
import { ShapeError } from '../errors.js';
import { call } from '../native.js';
import { Tensor, shapeSize } from '../tensor.js';
import { fmt, normalizeDim } from './util.js';

/** Contiguous copy without autograd (internal building block). */
export function contiguousCopy(t: Tensor): Tensor {
  t.assertAlive();
  const out = Tensor.allocate(t.shape, t.dtype, t.deviceIndex, false);
  if (out.size === 0) return out;
  const es = DTYPE_BYTES[t.dtype];
  if (t.isContiguous) {
    call((n) => n.copyBytes(out.buf, 0, t.buf, t.byteOffset, t.size * es));
  } else {
    call((n) => n.copyStrided(out.buf, 0, t.buf, t.byteOffset, [...t.shape], [...t.strides], es, false));
  }
  return out;
}

/** t itself when contiguous, else a copy the caller must dispose (kernel inputs). */
export function contig(t: Tensor): Tensor {
  t.assertAlive();
  return t.isContiguous ? t : contiguousCopy(t);
}

export function reshape(t: Tensor, shape: readonly number[]): Tensor {
  t.assertAlive();
  // One -1 dimension is inferred.
  const known = shape.filter((d) => d !== -1);
  const inferIdx = shape.indexOf(-1);
  const resolved = [...shape];
  if (inferIdx >= 0) {
    const k = shapeSize(known);
    if (k === 0 || t.size % k !== 0) throw new ShapeError(`reshape: cannot infer -1 in ${fmt(shape)} from ${fmt(t.shape)}`);
    resolved[inferIdx] = t.size / k;
  }
  if (shapeSize(resolved) !== t.size || resolved.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ShapeError(`reshape: ${fmt(t.shape)} (${t.size} elements) cannot become ${fmt(shape)}`);
  }
  const src = contig(t);
  const out = src._view(resolved, src.offset);
  if (src !== t) src.dispose();
  if (needsGrad(t)) {
    const inShape = [...t.shape];
    // 'passes': a gradient handed over rounded to bf16 (autograd.ts bf16GradWanted) keeps form and mark
    record(out, 'reshape', [t], [], (g) => {
      const gv = reshapeNoGrad(g, inShape);
      if (holdsBf16Values(g)) markBf16Values(gv);
      return [gv];
    }, { gradBf16: 'passes' });
  }
  return out;
}

function reshapeNoGrad(g: Tensor, shape: readonly number[]): Tensor {
  const c = contig(g);
  const v = c._view(shape, c.offset);
  if (c !== g) c.dispose();
  return v;
}

export function permute(t: Tensor, dims: readonly number[]): Tensor {
  t.assertAlive();
  if (dims.length !== t.ndim) throw new ShapeError(`permute: ${dims.length} dims for a ${t.ndim}-D tensor`);
  const d = dims.map((x) => normalizeDim(x, t.ndim, 'permute'));
  if (new Set(d).size !== d.length) throw new ShapeError(`permute: repeated dims ${fmt(dims)}`);
  const out = t._view(d.map((i) => t.shape[i]!), t.offset, d.map((i) => t.strides[i]!));
  if (needsGrad(t)) {
    const inv = new Array<number>(d.length);
    d.forEach((src, i) => (inv[src] = i));
    record(out, 'permute', [t], [], (g) => {
      const v = g._view(inv.map((i) => g.shape[i]!), g.offset, inv.map((i) => g.strides[i]!));
      const c = contiguousCopy(v);
      v.dispose();
      return [c];
    });
  }
  return out;
}

export function transpose(t: Tensor, dim0: number, dim1: number): Tensor {
  const dims = t.shape.map((_, i) => i);
  const a = normalizeDim(dim0, t.ndim, 'transpose'), b = normalizeDim(dim1, t.ndim, 'transpose');
  [dims[a], dims[b]] = [dims[b]!, dims[a]!];
  return permute(t, dims);
}

export function slice(t: Tensor, dim: number, start: number, end: number): Tensor {
  t.assertAlive();
  const d = normalizeDim(dim, t.ndim, 'slice');
  const len = t.shape[d]!;
  const s = start < 0 ? start + len : start, e = end < 0 ? end + len : Math.min(end, len);
  if (!Number.isInteger(s) || !Number.isInteger(e) || s < 0 || e < s || s > len) {
    throw new ShapeError(`slice: [${start}, ${end}) out of range for dim ${dim} of size ${len}`);
  }
  const shape = [...t.shape];
  shape[d] = e - s;
  const out = t._view(shape, t.offset + s * t.strides[d]!, t.strides);
  if (needsGrad(t)) {
    const inShape = [...t.shape];
    record(out, 'slice', [t], [], (g) => {
      const full = Tensor.allocate(inShape, 'float32', g.deviceIndex, true);
      const region = full._view(shape, s * full.strides[d]!, full.strides);
      const gc = contig(g);
      call((n) => n.copyStrided(region.buf, region.byteOffset, gc.buf, gc.byteOffset, [...region.shape], [...region.strides], 4, true));
      if (gc !== g) gc.dispose();
      region.dispose();
      return [full];
    });
  }
  return out;
}

export function unsqueeze(t: Tensor, dim: number): Tensor {
  const d = normalizeDim(dim, t.ndim + 1, 'unsqueeze');
  const shape = [...t.shape];
  shape.splice(d, 0, 1);
  return reshape(t, shape);
}

export function squeeze(t: Tensor, dim: number): Tensor {
  const d = normalizeDim(dim, t.ndim, 'squeeze');
  if (t.shape[d] !== 1) throw new ShapeError(`squeeze: dim ${dim} has size ${t.shape[d]}, not 1`);
  const shape = [...t.shape];
  shape.splice(d, 1);
  return reshape(t, shape);
}

export function contiguous(t: Tensor): Tensor {
  if (t.isContiguous) {
    const out = t.share();
    if (needsGrad(t)) record(out, 'contiguous', [t], [], (g) => [g.share()]);
    return out;
  }
  const out = contiguousCopy(t);
  if (needsGrad(t)) record(out, 'contiguous', [t], [], (g) => [g.share()]);
  return out;
}

export function clone(t: Tensor): Tensor {
  const out = contiguousCopy(t);
  if (needsGrad(t)) record(out, 'clone', [t], [], (g) => [g.share()]);
  return out;
}

/** Device transfer and/or dtype conversion (always a new tensor). */
export function to(t: Tensor, target: Device | DType | { device?: Device; dtype?: DType }): Tensor {
  t.assertAlive();
  let device: Device | undefined, dtype: DType | undefined;
  if (typeof target === 'string') {
    if ((DTYPES as readonly string[]).includes(target)) dtype = target as DType;
    else device = target as Device;
  } else {
    device = target.device;
    dtype = target.dtype;
  }
  const dst = device ? assertDeviceUsable(device) : t.deviceIndex;
  const dt = dtype ?? t.dtype;
  const src = contig(t);
  try {
    let moved: Tensor;
    if (dst === src.deviceIndex) moved = src === t ? contiguousCopy(t) : src.share();
    else {
      moved = Tensor.allocate(t.shape, t.dtype, dst, false);
      call((n) => n.copyBytes(moved.buf, 0, src.buf, src.byteOffset, t.size * DTYPE_BYTES[t.dtype]));
    }
    if (dt === t.dtype) {
      if (needsGrad(t) && dt === 'float32') {
        const back = t.deviceIndex;
        record(moved, 'to', [t], [], (g) => [g.deviceIndex === back ? g.share() : to(g, deviceName(back))]);
      }
      return moved;
    }
    const out = Tensor.allocate(t.shape, dt, dst, false);
    call((n) => n.cast(out.buf, 0, DTYPE_CODE[dt], moved.buf, 0, DTYPE_CODE[t.dtype], t.size));
    moved.dispose();
    return out;
  } finally {
    if (src !== t) src.dispose();
  }
}

/** dst = src converted to dst's dtype (round to nearest even for bfloat16), in place; same shape, both contiguous. Not recorded. */
export function castInto(dst: Tensor, src: Tensor): void {
  if (fmt(dst.shape) !== fmt(src.shape)) throw new ShapeError(`castInto: shapes ${fmt(dst.shape)} and ${fmt(src.shape)} differ`);
  if (!dst.isContiguous || !src.isContiguous) throw new ShapeError('castInto: both tensors must be contiguous');
  if (dst.deviceIndex !== src.deviceIndex) throw new ShapeError('castInto: tensors on different devices');
  call((n) => n.cast(dst.buf, dst.byteOffset, DTYPE_CODE[dst.dtype], src.buf, src.byteOffset, DTYPE_CODE[src.dtype], src.size));
}
