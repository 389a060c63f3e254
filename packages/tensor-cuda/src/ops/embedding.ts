/**
 * embedding family (kernels: native/cpu/embedding.cc, native/cuda/embedding.cu).
 *   embedding(ids int32 [...], weight [V, C]) -> [..., C]  (gather).
 * Backward: scatter-add of the output gradient into dWeight (repeated ids summed); ids get no gradient.
 * Ids outside [0, V) raise INVALID_ARGUMENT from the kernel before anything is written.
 * A bfloat16 weight (inference tables) is gathered and widened to float32; it takes no gradient.
 */
import { needsGrad, record } from '../autograd.js';
import { call } from '../native.js';
import { Tensor } from '../tensor.js';
import { DTypeError, ShapeError } from '../errors.js';
import { contig } from './views.js';
import { expectDtype, expectRank, fmt, sameDevice } from './util.js';

export function embedding(ids: Tensor, weight: Tensor): Tensor {
  expectDtype('embedding', ids, 'int32');
  expectDtype('embedding', weight, 'float32', 'bfloat16');
  expectRank('embedding', weight, 2, 'weight');
  if (weight.dtype === 'bfloat16' && needsGrad(weight)) throw new DTypeError('embedding: a bfloat16 table takes no gradient', 'use a float32 table for training, or run under noGrad()');
  const dev = sameDevice('embedding', ids, weight);
  const [V, C] = weight.shape as [number, number];
  if (V === 0) throw new ShapeError(`embedding: weight ${fmt(weight.shape)} has no rows`);
  const N = ids.size;
  const idc = contig(ids), wc = contig(weight);
  try {
    const out = Tensor.allocate([...ids.shape, C], 'float32', dev, false);
    try {
      const fwd = weight.dtype === 'bfloat16' ? 'embeddingFwdBf16' : 'embeddingFwd';
      call((n) => n[fwd](out.buf, out.byteOffset, idc.buf, idc.byteOffset, wc.buf, wc.byteOffset, N, V, C));
    } catch (e) {
      out.dispose();
      throw e;
    }
    if (needsGrad(weight)) {
      record(out, 'embedding', [ids, weight], [idc], (g, [sid]) => {
        const dw = Tensor.allocate([V, C], 'float32', dev, true);
        call((n) => n.embeddingBwd(dw.buf, dw.byteOffset, sid!.buf, sid!.byteOffset, g.buf, g.byteOffset, N, V, C));
        return [null, dw];
      });
    }
    return out;
  } finally {
    if (idc !== ids) idc.dispose();
    if (wc !== weight) wc.dispose();
  }
}
