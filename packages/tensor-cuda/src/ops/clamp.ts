/**
 * clamp family (kernels: native/cpu/clamp.cc, native/cuda/clamp.cu): OLMo's clip_qkv.
 *   clamp(x, min, max) -> min(max(x, min), max). Gradient passes where min <= x <= max (torch).
 */
import { needsGrad, record } from '../autograd.js';
import { call } from '../native.js';
import { Tensor } from '../tensor.js';
import { ArgumentError } from '../errors.js';
import { contig } from './views.js';
import { expectDtype } from './util.js';

export function clamp(x: Tensor, min: number, max: number): Tensor {
  expectDtype('clamp', x, 'float32');
  if (typeof min !== 'number' || typeof max !== 'number' || Number.isNaN(min) || Number.isNaN(max) || min > max) {
    throw new ArgumentError(`clamp: need numbers min <= max, got min=${min} max=${max}`);
  }
  const xc = contig(x);
  try {
    const out = Tensor.allocate(x.shape, 'float32', x.deviceIndex, false);
    call((n) => n.clampFwd(out.buf, out.byteOffset, xc.buf, xc.byteOffset, out.size, min, max));
    if (needsGrad(x)) {
      record(out, 'clamp', [x], [xc], (g, [sx]) => {
        const dx = Tensor.allocate(x.shape, 'float32', x.deviceIndex, false);
        call((n) => n.clampBwd(dx.buf, 0, g.buf, g.byteOffset, sx!.buf, sx!.byteOffset, dx.size, min, max));
        return [dx];
      });
    }
    return out;
  } finally {
    if (xc !== x) xc.dispose();
  }
}
