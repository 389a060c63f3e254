/**
 * concat family: concat(tensors, dim) -> new tensor (any dtype; autograd for float32).
 * No kernel of its own: each input is scattered into its region of the output with the strided
 * copy kernel (copyStrided in native/{cpu,cuda}/elementwise.*); backward gathers the regions back.
 */
import { needsGrad, record } from '../autograd.js';
import { DTYPE_BYTES } from '../dtype.js';
import { ArgumentError, DTypeError, ShapeError } from '../errors.js';
import { call } from '../native.js';
import { Tensor } from '../tensor.js';
import { contig, contiguousCopy } from './views.js';
import { fmt, normalizeDim, sameDevice } from './util.js';

export function concat(tensors: readonly Tensor[], dim: number): Tensor {
  if (!tensors || tensors.length === 0) throw new ArgumentError('concat: expected a non-empty array of tensors');
  for (const t of tensors) t.assertAlive('concat input');
  const first = tensors[0]!;
  const d = normalizeDim(dim, first.ndim, 'concat');
  for (const t of tensors) {
    if (t.dtype !== first.dtype) throw new DTypeError(`concat: dtypes ${first.dtype} and ${t.dtype} differ`);
    if (t.ndim !== first.ndim || t.shape.some((s, i) => i !== d && s !== first.shape[i])) {
      throw new ShapeError(`concat: shapes ${fmt(first.shape)} and ${fmt(t.shape)} differ outside dim ${d}`);
    }
  }
  const dev = sameDevice('concat', ...tensors);
  const shape = [...first.shape];
  shape[d] = tensors.reduce((s, t) => s + t.shape[d]!, 0);
  const es = DTYPE_BYTES[first.dtype];
  const out = Tensor.allocate(shape, first.dtype, dev, false);
  const starts: number[] = [];
  let at = 0;
  try {
    for (const t of tensors) {
      starts.push(at);
      if (t.size > 0) {
        const region = out._view(t.shape, at * out.strides[d]!, out.strides);
        const tc = contig(t);
        try {
          call((n) => n.copyStrided(region.buf, region.byteOffset, tc.buf, tc.byteOffset, [...region.shape], [...region.strides], es, true));
        } finally {
          region.dispose();
          if (tc !== t) tc.dispose();
        }
      }
      at += t.shape[d]!;
    }
  } catch (e) {
    out.dispose();
    throw e;
  }
  if (needsGrad(...tensors)) {
    const inShapes = tensors.map((t) => [...t.shape]);
    const wants = tensors.map((t) => t.requiresGrad);
    record(out, 'concat', tensors, [], (g) => inShapes.map((s, i) => {
      if (!wants[i]) return null;
      const v = g._view(s, g.offset + starts[i]! * g.strides[d]!, g.strides);
      try {
        return contiguousCopy(v);
      } finally {
        v.dispose();
      }
    }));
  }
  return out;
}
