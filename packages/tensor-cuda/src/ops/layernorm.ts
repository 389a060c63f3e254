/**
 * layernorm family (kernels: native/cpu/layernorm.cc, native/cuda/layernorm.cu), over the last dim.
 *   layerNorm(x [..., C], weight [C] | null, bias [C] | null, eps = 1e-5)  (OLMo-1: weight = bias = null)
 *   rmsNorm(x [..., C], weight [C] | null, eps = 1e-6)                       (OLMo-2)
 * Forward saves per-row mean/rstd; backward is one fused kernel producing dx, dweight, dbias.
 */
import { needsGrad, record } from '../autograd.js';
import { call } from '../native.js';
import { Tensor } from '../tensor.js';
import { ArgumentError, ShapeError } from '../errors.js';
import { contig } from './views.js';
import { expectDtype, fmt, sameDevice } from './util.js';

type Opt = [unknown, number];
const none: Opt = [null, 0];
const ptr = (t: Tensor | null | undefined): Opt => (t ? [t.buf, t.byteOffset] : none);

function validate(op: string, x: Tensor, params: Array<[string, Tensor | null]>, eps: number): number {
  expectDtype(op, x, 'float32');
  if (x.ndim < 1 || x.shape[x.ndim - 1] === 0) throw new ShapeError(`${op}: input ${fmt(x.shape)} needs a non-empty last dim`);
  const C = x.shape[x.ndim - 1]!;
  for (const [name, p] of params) {
    if (!p) continue;
    expectDtype(op, p, 'float32');
    if (p.ndim !== 1 || p.shape[0] !== C) throw new ShapeError(`${op}: ${name} must be [${C}], got ${fmt(p.shape)}`);
  }
  if (!(eps >= 0) || !Number.isFinite(eps)) throw new ArgumentError(`${op}: eps must be a finite non-negative number, got ${eps}`);
  return sameDevice(op, x, ...(params.map((p) => p[1]).filter((p) => p) as Tensor[]));
}

export function layerNorm(x: Tensor, weight: Tensor | null = null, bias: Tensor | null = null, eps = 1e-5): Tensor {
  const dev = validate('layerNorm', x, [['weight', weight], ['bias', bias]], eps);
  const C = x.shape[x.ndim - 1]!, N = x.size / C;
  const xc = contig(x), wc = weight && contig(weight), bc = bias && contig(bias);
  const out = Tensor.allocate(x.shape, 'float32', dev, false);
  const mean = Tensor.allocate([N], 'float32', dev, false), rstd = Tensor.allocate([N], 'float32', dev, false);
  try {
    call((n) => n.layerNormFwd(out.buf, out.byteOffset, mean.buf, 0, rstd.buf, 0, xc.buf, xc.byteOffset, ...ptr(wc), ...ptr(bc), N, C, eps));
    if (needsGrad(x, weight, bias)) {
      const save = [xc, mean, rstd, ...(wc ? [wc] : [])];
      record(out, 'layerNorm', [x, weight, bias], save, (g, [sx, sm, sr, sw]) => {
        const dx = Tensor.allocate(x.shape, 'float32', dev, false);
        const dw = weight?.requiresGrad ? Tensor.allocate([C], 'float32', dev, false) : null;
        const db = bias?.requiresGrad ? Tensor.allocate([C], 'float32', dev, false) : null;
        call((n) => n.layerNormBwd(dx.buf, 0, ...ptr(dw), ...ptr(db), g.buf, g.byteOffset, sx!.buf, sx!.byteOffset,
          ...ptr(sw), sm!.buf, 0, sr!.buf, 0, N, C));
        return [x.requiresGrad ? dx : (dx.dispose(), null), dw, db];
      });
    }
    return out;
  } catch (e) {
    out.dispose();
    throw e;
  } finally {
    mean.dispose();
    rstd.dispose();
    if (xc !== x) xc.dispose();
    if (wc && wc !== weight) wc.dispose();
    if (bc && bc !== bias) bc.dispose();
  }
}

export function rmsNorm(x: Tensor, weight: Tensor | null = null, eps = 1e-6): Tensor {
  const dev = validate('rmsNorm', x, [['weight', weight]], eps);
  const C = x.shape[x.ndim - 1]!, N = x.size / C;
  const xc = contig(x), wc = weight && contig(weight);
  const out = Tensor.allocate(x.shape, 'float32', dev, false);
  const rstd = Tensor.allocate([N], 'float32', dev, false);
  try {
    call((n) => n.rmsNormFwd(out.buf, out.byteOffset, rstd.buf, 0, xc.buf, xc.byteOffset, ...ptr(wc), N, C, eps));
    if (needsGrad(x, weight)) {
      record(out, 'rmsNorm', [x, weight], [xc, rstd, ...(wc ? [wc] : [])], (g, [sx, sr, sw]) => {
        const dx = Tensor.allocate(x.shape, 'float32', dev, false);
        const dw = weight?.requiresGrad ? Tensor.allocate([C], 'float32', dev, false) : null;
        call((n) => n.rmsNormBwd(dx.buf, 0, ...ptr(dw), g.buf, g.byteOffset, sx!.buf, sx!.byteOffset, ...ptr(sw), sr!.buf, 0, N, C));
        return [x.requiresGrad ? dx : (dx.dispose(), null), dw];
      });
    }
    return out;
  } catch (e) {
    out.dispose();
    throw e;
  } finally {
    rstd.dispose();
    if (xc !== x) xc.dispose();
    if (wc && wc !== weight) wc.dispose();
  }
}
