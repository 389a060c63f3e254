/**
 * swiglu family (kernels: native/cpu/swiglu.cc, native/cuda/swiglu.cu).
 *   swiglu(gate, up) -> silu(gate) * up  (same shapes), fused forward and backward.
 */
import { needsGrad, record } from '../autograd.js';
import { call } from '../native.js';
import { Tensor } from '../tensor.js';
import { contig } from './views.js';
import { expectDtype, expectSameShape, sameDevice } from './util.js';

export function swiglu(gate: Tensor, up: Tensor): Tensor {
  expectDtype('swiglu', gate, 'float32');
  expectDtype('swiglu', up, 'float32');
  expectSameShape('swiglu', gate, up);
  const dev = sameDevice('swiglu', gate, up);
  const gc = contig(gate), uc = contig(up);
  try {
    const out = Tensor.allocate(gate.shape, 'float32', dev, false);
    call((n) => n.swigluFwd(out.buf, out.byteOffset, gc.buf, gc.byteOffset, uc.buf, uc.byteOffset, out.size));
    if (needsGrad(gate, up)) {
      record(out, 'swiglu', [gate, up], [gc, uc], (g, [sg, su]) => {
        const dg = gate.requiresGrad ? Tensor.allocate(gate.shape, 'float32', dev, false) : null;
        const du = up.requiresGrad ? Tensor.allocate(up.shape, 'float32', dev, false) : null;
        call((n) => n.swigluBwd(dg?.buf ?? null, dg?.byteOffset ?? 0, du?.buf ?? null, du?.byteOffset ?? 0,
          g.buf, g.byteOffset, sg!.buf, sg!.byteOffset, su!.buf, su!.byteOffset, g.size));
        return [dg, du];
      });
    }
    return out;
  } finally {
    if (gc !== gate) gc.dispose();
    if (uc !== up) uc.dispose();
  }
}
