/**
 * crossentropy family (kernels: native/cpu/crossentropy.cc, native/cuda/crossentropy.cu).
 *   crossEntropy(logits [N, V], targets int32 [N], { ignoreIndex = -100, reduction = 'mean',
 *     zLossMultiplier = 0 }) -> { loss, zLoss }
 *   loss: per-row CE (0 for ignored rows) for 'none' [N]; summed for 'sum'; for 'mean' divided by
 *   the number of non-ignored targets (NaN when all are ignored, like torch).
 *   zLoss: zLossMultiplier * logsumexp(logits)^2 over non-ignored rows, reduced the same way;
 *   null when the multiplier is 0.
 * Fused: forward keeps only the per-row logsumexp [N] (no softmax); backward writes
 * dlogits = (softmax - onehot) * g (+ z-loss term) row by row (on CPU rounded to bf16 — as bfloat16,
 * or bf16 values in float32 — when the logits' amp_bf16 matmul would round them anyway and takes
 * them so: autograd.ts BackwardInfo.bf16GradWanted). loss and zLoss are separate graph
 * nodes, so a backward through both reads the logits twice.
 */
import { markBf16Values, needsGrad, record, type BackwardInfo } from '../autograd.js';
import { call } from '../native.js';
import { Tensor } from '../tensor.js';
import { ArgumentError, ShapeError } from '../errors.js';
import { contig } from './views.js';
import { sumScaled } from './reduce.js';
import { expectDtype, fmt, sameDevice } from './util.js';

export type Reduction = 'mean' | 'sum' | 'none';

export interface CrossEntropyOptions {
  ignoreIndex?: number;
  reduction?: Reduction;
  zLossMultiplier?: number;
}

export interface CrossEntropyResult {
  loss: Tensor;
  zLoss: Tensor | null;
}

export function crossEntropy(logits: Tensor, targets: Tensor, opts: CrossEntropyOptions = {}): CrossEntropyResult {
  expectDtype('crossEntropy', logits, 'float32');
  expectDtype('crossEntropy', targets, 'int32');
  if (logits.ndim !== 2 || logits.shape[1] === 0) throw new ShapeError(`crossEntropy: logits must be [N, V] with V > 0, got ${fmt(logits.shape)}`);
  const [N, V] = logits.shape as [number, number];
  if (targets.ndim !== 1 || targets.shape[0] !== N) throw new ShapeError(`crossEntropy: targets must be [${N}], got ${fmt(targets.shape)}`);
  const dev = sameDevice('crossEntropy', logits, targets);
  const ignore = opts.ignoreIndex ?? -100;
  const reduction = opts.reduction ?? 'mean';
  const zMult = opts.zLossMultiplier ?? 0;
  if (!Number.isInteger(ignore) || ignore < -(2 ** 31) || ignore >= 2 ** 31) throw new ArgumentError(`crossEntropy: ignoreIndex must be an int32, got ${ignore}`);
  if (reduction !== 'mean' && reduction !== 'sum' && reduction !== 'none') throw new ArgumentError(`crossEntropy: reduction must be 'mean', 'sum' or 'none', got ${String(reduction)}`);
  if (typeof zMult !== 'number' || !Number.isFinite(zMult)) throw new ArgumentError(`crossEntropy: zLossMultiplier must be a finite number, got ${zMult}`);

  const lc = contig(logits), tc = contig(targets);
  const rows = Tensor.allocate([N], 'float32', dev, false);
  const lse = Tensor.allocate([N], 'float32', dev, false);
  const zRows = zMult !== 0 ? Tensor.allocate([N], 'float32', dev, false) : null;
  const owned: Tensor[] = [];
  try {
    call((n) => n.crossEntropyFwd(rows.buf, 0, lse.buf, 0, lc.buf, lc.byteOffset, tc.buf, tc.byteOffset, N, V, ignore,
      zRows ? zRows.buf : null, 0, zMult));
    let scale = 1;
    if (reduction === 'mean') {
      const t = tc.toTypedArray() as Int32Array;
      let count = 0;
      for (let i = 0; i < t.length; i++) if (t[i] !== ignore) count++;
      scale = count === 0 ? NaN : 1 / count;
    }
    const reduce = (r: Tensor): Tensor => (reduction === 'none' ? r.share() : sumScaled(r, scale));
    const loss = reduce(rows);
    owned.push(loss);
    const zLoss = zRows ? reduce(zRows) : null;
    if (zLoss) owned.push(zLoss);
    if (needsGrad(logits)) {
      const stride = reduction === 'none' ? 1 : 0;
      const backward = (g: Tensor, saved: Tensor[], isZ: boolean, info: BackwardInfo): Tensor => {
        const [sl, slse, st] = saved as [Tensor, Tensor, Tensor];
        // amp_bf16 on CPU: the logits' matmul reads dlogits only rounded to bf16 (a pass of its own on
        // the avx2 path; half of its packing work on the vdpbf16ps one). When dlogits goes to it alone,
        // each row is rounded here while still in cache, in the form it asks for (same values).
        const form = dev < 0 ? info.bf16GradWanted(0) : null;
        const d = Tensor.allocate([N, V], form === 'bfloat16' ? 'bfloat16' : 'float32', dev, false);
        const gp = isZ ? [null, 0, 0, 0] : [g.buf, g.byteOffset, stride, scale];
        const zp = isZ ? [g.buf, g.byteOffset, stride, zMult * scale] : [null, 0, 0, 0];
        call((n) => n.crossEntropyBwd(d.buf, 0, sl.buf, sl.byteOffset, slse.buf, 0, st.buf, st.byteOffset,
          ...gp, ...zp, N, V, ignore, form === 'float32' ? 1 : form === 'bfloat16' ? 2 : 0));
        if (form === 'float32') markBf16Values(d);
        return d;
      };
      record(loss, 'crossEntropy', [logits], [lc, lse, tc], (g, saved, info) => [backward(g, saved, false, info)]);
      if (zLoss) record(zLoss, 'crossEntropyZLoss', [logits], [lc, lse, tc], (g, saved, info) => [backward(g, saved, true, info)]);
    }
    return { loss, zLoss };
  } catch (e) {
    owned.forEach((t) => t.dispose());
    throw e;
  } finally {
    rows.dispose();
    lse.dispose();
    zRows?.dispose();
    if (lc !== logits) lc.dispose();
    if (tc !== targets) tc.dispose();
  }
}
