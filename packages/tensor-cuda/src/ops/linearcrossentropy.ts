/**
 * linearcrossentropy family: the LM head and the cross-entropy (+ z-loss) fused so that the
 * [N, V] float32 logits never exist at once (OLMo-1B: N = 32K tokens × V = 50304 would be 6.6 GB).
 *   linearCrossEntropy(h [N, C], w [V, C], targets int32 [N], { ignoreIndex = -100,
 *     zLossMultiplier = 0, chunkRows = 1024, wCompute = null }) -> { loss, ceSum, zSum }
 *   loss: scalar tensor = Σ CE + Σ z-loss over non-ignored rows (sum reduction; scale it yourself);
 *   ceSum / zSum: the two parts as numbers (for metrics).
 * Composite of existing kernels (no native layer of its own, so it runs wherever gemm and
 * crossEntropy run, CPU and CUDA, and under withAutocast the GEMMs are bf16): per chunk of rows,
 * logits = h_c·wᵀ, CE forward, and — when gradients are needed — the logits gradient at once,
 * dh_c = dlogits·w and dw += dlogitsᵀ·h_c. Backward then only scales the stored dh, dw by the
 * incoming scalar gradient. Peak extra memory: one chunk of logits + its gradient, plus dh (an
 * activation-sized [N, C]) and dw (parameter-sized) held from forward to backward.
 */
import { enableGrad, isGradEnabled, noGrad, record } from '../autograd.js';
import { autocastDtype } from '../autocast.js';
import { ArgumentError, ShapeError } from '../errors.js';
import { tidy } from '../scope.js';
import { Tensor } from '../tensor.js';
import { tensor, zeros } from '../creation.js';
import { deviceName } from '../device.js';
import { add, scaleInPlace } from './elementwise.js';
import { crossEntropy } from './crossentropy.js';
import { gemmBf16Isa, gemmInto } from './matmul.js';
import { roundBf16Into } from './bf16storage.js';
import { contig } from './views.js';
import { expectDtype, fmt, sameDevice } from './util.js';

export interface LinearCrossEntropyOptions {
  ignoreIndex?: number;
  zLossMultiplier?: number;
  /** Rows of logits computed at once (default 1024). */
  chunkRows?: number;
  /**
   * amp_bf16's compute copy of w (same shape, contiguous; bfloat16, or on CPU float32 holding bf16
   * values — see MatmulOptions.computeB): the GEMM operand under withAutocast('bfloat16') instead
   * of rounding the float32 master on every call. Gradients still go to w. Ignored outside autocast.
   */
  wCompute?: Tensor | null;
}

export function linearCrossEntropy(h: Tensor, w: Tensor, targets: Tensor, opts: LinearCrossEntropyOptions = {}): { loss: Tensor; ceSum: number; zSum: number } {
  expectDtype('linearCrossEntropy', h, 'float32');
  expectDtype('linearCrossEntropy', w, 'float32');
  expectDtype('linearCrossEntropy', targets, 'int32');
  if (h.ndim !== 2 || w.ndim !== 2 || h.shape[1] !== w.shape[1]) throw new ShapeError(`linearCrossEntropy: need h [N, C] and w [V, C], got ${fmt(h.shape)} and ${fmt(w.shape)}`);
  const [N, C] = h.shape as [number, number];
  const V = w.shape[0]!;
  if (targets.ndim !== 1 || targets.shape[0] !== N) throw new ShapeError(`linearCrossEntropy: targets must be [${N}], got ${fmt(targets.shape)}`);
  const chunk = opts.chunkRows ?? 1024;
  if (!Number.isInteger(chunk) || chunk < 1) throw new ArgumentError(`linearCrossEntropy: chunkRows must be a positive integer, got ${chunk}`);
  const dev = sameDevice('linearCrossEntropy', h, w, targets);
  const precision = autocastDtype() === 'bfloat16' ? 'bf16' : 'float32';
  const wantGrad = isGradEnabled() && (h.requiresGrad || w.requiresGrad);
  const ceOpts = { ignoreIndex: opts.ignoreIndex ?? -100, reduction: 'sum' as const, zLossMultiplier: opts.zLossMultiplier ?? 0 };
  // amp_bf16 operands: the weight's compute copy when given; on the avx2 GEMM path (rounding +
  // sgemm) the chunk's logits gradient is rounded once, in place, for both backward GEMMs.
  const wc = precision === 'bf16' && opts.wCompute ? opts.wCompute : null;
  if (wc && (fmt(wc.shape) !== fmt(w.shape) || !wc.isContiguous || wc.deviceIndex !== dev || !(wc.dtype === 'bfloat16' || (wc.dtype === 'float32' && dev < 0)))) {
    throw new ShapeError(`linearCrossEntropy: wCompute must be a contiguous bfloat16 tensor of w's shape ${fmt(w.shape)} on w's device (or on CPU float32 holding bf16 values)`);
  }
  const wOp = wc ?? w, wRounded = !!wc && wc.dtype === 'float32';
  const roundDl = precision === 'bf16' && dev < 0 && gemmBf16Isa() === 'avx2';
  const hc = contig(h), tc = contig(targets);
  const dh = wantGrad && h.requiresGrad ? zeros([N, C], { device: deviceName(dev) }) : null;
  const dw = wantGrad && w.requiresGrad ? zeros([V, C], { device: deviceName(dev) }) : null;
  let ceSum = 0, zSum = 0;
  try {
    for (let r0 = 0; r0 < N; r0 += chunk) {
      const n = Math.min(chunk, N - r0);
      tidy(() => noGrad(() => {
        const hr = hc._view([n, C], hc.offset + r0 * C);
        const tr = tc._view([n], tc.offset + r0);
        const logits = Tensor.allocate([n, V], 'float32', dev, false);
        gemmInto(logits, hr, wOp, { transB: true, precision, bRounded: wRounded });
        if (!wantGrad) {
          const r = crossEntropy(logits, tr, ceOpts);
          ceSum += r.loss.item(); zSum += r.zLoss ? r.zLoss.item() : 0;
          return;
        }
        const leaf = logits.detach().requiresGrad_(true);
        enableGrad(() => {
          const r = crossEntropy(leaf, tr, ceOpts);
          ceSum += r.loss.item(); zSum += r.zLoss ? r.zLoss.item() : 0;
          (r.zLoss ? add(r.loss, r.zLoss) : r.loss).backward();
        });
        const dl = leaf.grad!;  // this chunk's own tensor, read only by the two GEMMs below
        if (roundDl) roundBf16Into(dl, dl);
        if (dh) gemmInto(dh._view([n, C], dh.offset + r0 * C), dl, wOp, { precision, aRounded: roundDl, bRounded: wRounded });
        if (dw) gemmInto(dw, dl, hr, { transA: true, beta: 1, precision, aRounded: roundDl });
      }));
    }
  } catch (e) {
    dh?.dispose(); dw?.dispose();
    throw e;
  } finally {
    if (hc !== h) hc.dispose();
    if (tc !== targets) tc.dispose();
  }
  const loss = tensor([ceSum + zSum], { shape: [], device: deviceName(dev) });
  if (wantGrad) {
    record(loss, 'linearCrossEntropy', [h, w], [dh, dw].filter((t): t is Tensor => !!t), (g, saved) => {
      const s = g.item();
      let k = 0;
      const out: Array<Tensor | null> = [dh ? saved[k++]! : null, dw ? saved[k++]! : null].map((t) => {
        if (!t) return null;
        const c = t.share();
        scaleInPlace(c, s);
        return c;
      });
      return out;
    });
    dh?.dispose(); dw?.dispose(); // the node holds its own references
  }
  return { loss, ceSum, zSum };
}
