/**
 * swiglu family (kernels: native/cpu/swiglu.cc, native/cuda/swiglu.cu).
 *   swiglu(gate, up) -> silu(gate) * up  (same shapes), fused forward and backward.
 * Under withAutocast('bfloat16') gate and up are rounded to bf16 and saved for backward in bf16
 * (bf16 activation storage, see bf16storage.ts): the kernels read the bf16 values and compute in
 * float32; the output and the gradients are float32.
 */
import { needsGrad, record } from '../autograd.js';
import { autocastDtype } from '../autocast.js';
import { DTYPE_CODE } from '../dtype.js';
import { call } from '../native.js';
import { Tensor } from '../tensor.js';
import { contig } from './views.js';
import { storeBf16 } from './bf16storage.js';
import { expectDtype, expectSameShape, sameDevice } from './util.js';

export function swiglu(gate: Tensor, up: Tensor): Tensor {
  expectDtype('swiglu', gate, 'float32');
  expectDtype('swiglu', up, 'float32');
  expectSameShape('swiglu', gate, up);
  const dev = sameDevice('swiglu', gate, up);
  const bf16 = autocastDtype() === 'bfloat16';
  const gc = bf16 ? storeBf16(gate) : contig(gate), uc = bf16 ? storeBf16(up) : contig(up);
  const inDtype = DTYPE_CODE[gc.dtype];
  try {
    const out = Tensor.allocate(gate.shape, 'float32', dev, false);
    call((n) => n.swigluFwd(out.buf, out.byteOffset, gc.buf, gc.byteOffset, uc.buf, uc.byteOffset, out.size, inDtype));
    if (needsGrad(gate, up)) {
      record(out, 'swiglu', [gate, up], [gc, uc], (g, [sg, su]) => {
        const dg = gate.requiresGrad ? Tensor.allocate(gate.shape, 'float32', dev, false) : null;
        const du = up.requiresGrad ? Tensor.allocate(up.shape, 'float32', dev, false) : null;
        const gcont = contig(g);
        try {
          call((n) => n.swigluBwd(dg?.buf ?? null, dg?.byteOffset ?? 0, du?.buf ?? null, du?.byteOffset ?? 0,
            gcont.buf, gcont.byteOffset, sg!.buf, sg!.byteOffset, su!.buf, su!.byteOffset, g.size, inDtype));
        } finally {
          if (gcont !== g) gcont.dispose();
        }
        return [dg, du];
      });
    }
    return out;
  } finally {
    if (gc !== gate) gc.dispose();
    if (uc !== up) uc.dispose();
  }
}
