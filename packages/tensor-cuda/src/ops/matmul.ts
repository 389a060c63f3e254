/**
 * matmul family (kernel: native/cpu/gemm.cc OpenBLAS, native/cuda/gemm.cu).
 *   matmul(a, b, {transA, transB}): a [..., M, K] @ b [..., K, N] -> [..., M, N]; b may be 2-D and
 *     is then shared across a's batch (no copy). Transposes are free (folded into the GEMM).
 *   linear(x, w): x [..., K] @ w[N, K]^T -> [..., N] — the layer form with HF weight layout.
 * Backward: dA = dC @ B^T, dB = A^T @ dC (batched; reduced over the batch when b is shared).
 * Under withAutocast('bfloat16') (autocast.ts) the forward and backward GEMMs of the op round
 * their operands to bf16 and accumulate in float32 (native gemmBf16); results stay float32, and
 * the activation operand is saved for backward as its bf16 copy (bf16storage.ts).
 */
import { holdsBf16Values, needsGrad, record } from '../autograd.js';
import { call } from '../native.js';
import { Tensor, shapeSize } from '../tensor.js';
import { ShapeError } from '../errors.js';
import { contig } from './views.js';
import { expectDtype, fmt, sameDevice } from './util.js';
import { autocastDtype } from '../autocast.js';
import { DTYPE_CODE } from '../dtype.js';
import { to } from './views.js';
import { isLowpWeight, lowpLinear } from './lowplinear.js';
import { roundBf16Into, roundedBf16F32, storeBf16 } from './bf16storage.js';
import type { QTensor } from '../qtensor.js';

export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
  /**
   * A bfloat16 copy of b (same shape) used as the GEMM operand under withAutocast('bfloat16')
   * instead of rounding b on every call — amp_bf16's "bf16 copies of the parameters for compute".
   * On CPU it may instead be a float32 tensor holding b's bf16 values (roundBf16Into): the form
   * the avx2 GEMM path reads without a copy. Gradients still flow to b (the float32 master).
   * Ignored outside autocast.
   */
  computeB?: Tensor | null;
  /**
   * A bfloat16 copy of a (same shape, contiguous; see storeBf16) to use as the GEMM operand and to
   * save for backward under withAutocast('bfloat16'), so several linears reading one activation
   * (q/k/v, gate/up) share one bf16 copy instead of making one each. Ignored outside autocast.
   */
  computeA?: Tensor | null;
}

export interface GemmOptions {
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  beta?: number;
  /** 'bf16': operands rounded to bfloat16, float32 accumulation (default 'float32'). */
  precision?: 'float32' | 'bf16';
  /** bf16 precision on CPU: this float32 operand holds bf16 values already (roundBf16Into), so the
   * avx2 path reads it in place instead of copying it rounded (with both set: one plain sgemm). */
  aRounded?: boolean;
  bRounded?: boolean;
}

/** Which CPU kernel runs bf16 GEMMs: 'avx512bf16' (vdpbf16ps) or 'avx2' (rounding + sgemm); see native/cpu/gemm_bf16.cc. */
export function gemmBf16Isa(): 'avx512bf16' | 'avx2' {
  return call((n) => n.gemmBf16Isa() as 'avx512bf16' | 'avx2');
}

/** Raw GEMM into `out` (no autograd). out = alpha * op(a) @ op(b) + beta * out. */
export function gemmInto(out: Tensor, a: Tensor, b: Tensor, o: GemmOptions = {}): void {
  if (o.precision === 'bf16' || a.dtype === 'bfloat16' || b.dtype === 'bfloat16') return gemmBf16Into(out, a, b, o);
  const g = gemmGeometry(a, b, o);
  call((n) => n.gemm(g.ta, g.tb, g.M, g.N, g.K, o.alpha ?? 1,
    a.buf, a.byteOffset, g.lda, g.strideA,
    b.buf, b.byteOffset, g.ldb, g.strideB,
    o.beta ?? 0, out.buf, out.byteOffset, g.N, g.strideOut, g.batch));
}

/**
 * What the native gemm / gemmBf16 calls take besides the buffers: op(a) [M, K] @ op(b) [K, N]
 * from the last two dims of row-major a and b (lda / ldb = their last dim); the dims before those
 * form each operand's batch, and a batch of one is shared by every product (stride 0).
 */
function gemmGeometry(a: Tensor, b: Tensor, o: GemmOptions) {
  const ta = !!o.transA, tb = !!o.transB;
  const aR = a.shape[a.ndim - 2]!, aC = a.shape[a.ndim - 1]!;
  const bR = b.shape[b.ndim - 2]!, bC = b.shape[b.ndim - 1]!;
  const M = ta ? aC : aR, K = ta ? aR : aC, N = tb ? bR : bC;
  const batchA = shapeSize(a.shape.slice(0, -2)), batchB = shapeSize(b.shape.slice(0, -2));
  const batch = Math.max(batchA, batchB);
  return {
    ta, tb, M, N, K, batch,
    lda: aC, strideA: batchA === 1 ? 0 : aR * aC,
    ldb: bC, strideB: batchB === 1 ? 0 : bR * bC,
    strideOut: batch === 1 && batchA === 1 && batchB === 1 ? 0 : M * N,
  };
}

/** gemmInto with bf16-rounded operands (float32 or bfloat16 tensors) and float32 accumulation;
 * `out` float32, or bfloat16 on CUDA (cuBLASLt / GemmEx write bf16 directly). */
function gemmBf16Into(out: Tensor, a: Tensor, b: Tensor, o: GemmOptions): void {
  // CUDA kernels take bfloat16 operands: cast float32 ones (the CPU kernel rounds while packing).
  const ac = a.deviceIndex >= 0 && a.dtype === 'float32' ? to(a, 'bfloat16') : a;
  const bc = b.deviceIndex >= 0 && b.dtype === 'float32' ? to(b, 'bfloat16') : b;
  try {
    const g = gemmGeometry(ac, bc, o);
    call((n) => n.gemmBf16(g.ta, g.tb, g.M, g.N, g.K, o.alpha ?? 1,
      ac.buf, ac.byteOffset, DTYPE_CODE[ac.dtype], g.lda, g.strideA,
      bc.buf, bc.byteOffset, DTYPE_CODE[bc.dtype], g.ldb, g.strideB,
      o.beta ?? 0, out.buf, out.byteOffset, g.N, g.strideOut, g.batch,
      DTYPE_CODE[out.dtype],  // a bfloat16 `out` (CUDA only) gets the fp32 result rounded once
      !!o.aRounded && ac.dtype === 'float32', !!o.bRounded && bc.dtype === 'float32'));
  } finally {
    if (ac !== a) ac.dispose();
    if (bc !== b) bc.dispose();
  }
}

export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  expectDtype('matmul', a, 'float32');
  expectDtype('matmul', b, 'float32');
  if (a.ndim < 2 || b.ndim < 2) throw new ShapeError(`matmul: operands must be at least 2-D, got ${fmt(a.shape)} and ${fmt(b.shape)}`);
  const dev = sameDevice('matmul', a, b);
  const ta = !!opts.transA, tb = !!opts.transB;
  const M = a.shape[a.ndim - (ta ? 1 : 2)]!, K = a.shape[a.ndim - (ta ? 2 : 1)]!;
  const Kb = b.shape[b.ndim - (tb ? 1 : 2)]!, N = b.shape[b.ndim - (tb ? 2 : 1)]!;
  if (K !== Kb) throw new ShapeError(`matmul: inner dimensions differ: ${fmt(a.shape)}${ta ? 'ᵀ' : ''} @ ${fmt(b.shape)}${tb ? 'ᵀ' : ''}`, 'check transA/transB');
  const batchShapeA = a.shape.slice(0, -2), batchShapeB = b.shape.slice(0, -2);
  const batchB = shapeSize(batchShapeB);
  if (batchB !== 1 && fmt(batchShapeA) !== fmt(batchShapeB)) {
    throw new ShapeError(`matmul: batch dims ${fmt(batchShapeA)} and ${fmt(batchShapeB)} differ`, 'b must be 2-D (shared) or have the same batch dims as a');
  }
  const outShape = [...(batchShapeA.length >= batchShapeB.length ? batchShapeA : batchShapeB), M, N];
  const useCopy = !!opts.computeB && autocastDtype() === 'bfloat16';
  const roundedCopy = useCopy && opts.computeB!.dtype === 'float32' && dev < 0;  // bf16 values held in float32
  if (useCopy && ((opts.computeB!.dtype !== 'bfloat16' && !roundedCopy) || fmt(opts.computeB!.shape) !== fmt(b.shape) || !opts.computeB!.isContiguous)) {
    throw new ShapeError(`matmul: computeB must be a contiguous bfloat16 tensor of b's shape ${fmt(b.shape)} (or on CPU float32 holding bf16 values)`);
  }
  // captured now: the backward GEMMs use the forward's precision even when backward() runs outside the autocast
  const precision = autocastDtype() === 'bfloat16' ? 'bf16' : 'float32';
  // bf16 activation storage (bf16storage.ts): an activation operand is rounded to bf16 once, the
  // forward GEMM reads that copy and the node saves it instead of the float32 tensor (the backward
  // rounds it to bf16 anyway, so the numerics are unchanged). Parameters (leaves that require grad)
  // are not copied: they live anyway. Skipped for a no-grad CPU GEMM, whose kernel rounds while packing.
  const storeAsBf16 = (t: Tensor) => precision === 'bf16' && t.dtype === 'float32' && (needsGrad(a, b) || dev >= 0) && !(t.requiresGrad && !t.gradFn);
  const givenA = precision === 'bf16' && opts.computeA ? opts.computeA : null;
  if (givenA && (givenA.dtype !== 'bfloat16' || fmt(givenA.shape) !== fmt(a.shape) || !givenA.isContiguous)) {
    throw new ShapeError(`matmul: computeA must be a contiguous bfloat16 tensor of a's shape ${fmt(a.shape)}`, 'make it with storeBf16(a)');
  }
  const ac = givenA ? givenA.share() : storeAsBf16(a) ? storeBf16(a) : contig(a);
  const bc = useCopy ? opts.computeB!.share() : storeAsBf16(b) ? storeBf16(b) : contig(b);
  try {
    const out = Tensor.allocate(outShape, 'float32', dev, false);
    gemmInto(out, ac, bc, { transA: ta, transB: tb, precision, bRounded: roundedCopy });
    if (needsGrad(a, b)) {
      // On CPU g is read only as a bf16-rounded GEMM operand: the backward that produces it may hand it
      // over rounded already (autograd.ts BackwardInfo.bf16GradWanted; the cross-entropy on the logits
      // does) — for the avx2 path as bf16 values in float32 (marked), which sgemm reads without a
      // rounding pass; for the vdpbf16ps path as bfloat16, which its packing reads at half the bytes.
      const gradBf16 = precision === 'bf16' && dev < 0 ? (gemmBf16Isa() === 'avx2' ? 'float32' as const : 'bfloat16' as const) : undefined;
      record(out, 'matmul', [a, b], [ac, bc], (gIn, [sa, sb]) => {
        let da: Tensor | null = null, db: Tensor | null = null;
        // The avx2 GEMM path rounds an operand by copying it: when both gradients read g, round it
        // once here (bf16 values in float32) and let both GEMMs read that in place (roundedG). g is
        // only ever read here as a bf16-rounded GEMM operand, so when this handle is the only one on
        // its storage (the engine disposes it after this backward) it is rounded in place: no copy
        // of, e.g., the LM head's [tokens, vocab] logits gradient. A g handed over rounded (bfloat16, or
        // marked: holdsBf16Values) is read as it is.
        const preRounded = precision === 'bf16' && dev < 0 && gIn.isContiguous && (gIn.dtype === 'bfloat16' || holdsBf16Values(gIn));
        const roundedG = preRounded || (precision === 'bf16' && dev < 0 && a.requiresGrad && b.requiresGrad && gemmBf16Isa() === 'avx2');
        const inPlace = !preRounded && roundedG && gIn.isContiguous && gIn._storage.exclusive;
        if (inPlace) roundBf16Into(gIn, gIn);
        const g = roundedG && !inPlace && !preRounded ? roundedBf16F32(gIn) : gIn;
        const rb = roundedCopy;
        try {
          if (a.requiresGrad) {
            // C = op(A) op(B): d op(A) = g op(B)^T; if transA, dA = (g op(B)^T)^T = op(B) g^T.
            da = Tensor.allocate(a.shape, 'float32', dev, false);
            if (!ta) gemmInto(da, g, sb!, { transB: !tb, precision, aRounded: roundedG, bRounded: rb });
            else gemmInto(da, sb!, g, { transA: tb, transB: true, precision, aRounded: rb, bRounded: roundedG });
          }
          if (b.requiresGrad) {
            db = Tensor.allocate(b.shape, 'float32', dev, false);
            const shared = batchB === 1 && shapeSize(batchShapeA) > 1;
            if (shared) {
              // Sum over the batch by folding it into the GEMM's K dimension.
              const aFlat = sa!._view([shapeSize(a.shape.slice(0, -2)) * a.shape[a.ndim - 2]!, a.shape[a.ndim - 1]!], sa!.offset);
              const gFlat = g._view([shapeSize(outShape.slice(0, -2)) * M, N], g.offset);
              if (ta) throw new ShapeError('matmul: transA with a shared 2-D b is not supported for backward', 'reshape a instead');
              if (!tb) gemmInto(db, aFlat, gFlat, { transA: true, precision, bRounded: roundedG });
              else gemmInto(db, gFlat, aFlat, { transA: true, precision, aRounded: roundedG });
              aFlat.dispose();
              gFlat.dispose();
            } else if (!tb) {
              gemmInto(db, sa!, g, { transA: !ta, precision, bRounded: roundedG });
            } else {
              gemmInto(db, g, sa!, { transA: true, transB: ta, precision, aRounded: roundedG });
            }
          }
        } finally {
          if (g !== gIn) g.dispose();
        }
        return [da, db];
      }, { gradBf16 });
    }
    return out;
  } finally {
    if (ac !== a) ac.dispose();
    if (bc !== b) bc.dispose();
  }
}

/**
 * x [..., K] @ w[N, K]^T -> [..., N]: a linear layer with HF weight layout, as one GEMM. A bfloat16
 * or q8_0 (QTensor) weight goes to lowpLinear (inference only, see ops/lowplinear.ts); wBf16 is the
 * amp_bf16 compute copy of a float32 weight (see MatmulOptions.computeB); xBf16 a shared bf16
 * copy of x (see MatmulOptions.computeA).
 */
export function linear(x: Tensor, w: Tensor | QTensor, wBf16: Tensor | null = null, xBf16: Tensor | null = null): Tensor {
  if (w instanceof Tensor ? w.dtype === 'bfloat16' : isLowpWeight(w)) return lowpLinear(x, w);
  w = w as Tensor;
  if (w.ndim !== 2) throw new ShapeError(`linear: weight must be 2-D [out, in], got ${fmt(w.shape)}`);
  if (x.shape[x.ndim - 1] !== w.shape[1]) throw new ShapeError(`linear: input features ${x.shape[x.ndim - 1]} != weight in-features ${w.shape[1]} (${fmt(x.shape)} vs ${fmt(w.shape)})`);
  const lead = x.shape.slice(0, -1);
  const x2 = x.ndim === 2 ? x : x.reshape([shapeSize(lead), w.shape[1]!]);
  const xb2 = xBf16 && x.ndim !== 2 ? xBf16.reshape([shapeSize(lead), w.shape[1]!]) : xBf16;
  const y2 = matmul(x2, w, { transB: true, computeB: wBf16, computeA: xb2 });
  if (xb2 && xb2 !== xBf16) xb2.dispose();
  if (x2 === x) return y2;
  x2.dispose();
  const y = y2.reshape([...lead, w.shape[0]!]);
  y2.dispose();
  return y;
}

/** OLMO_LINEAR_MULTI=0 makes linearMulti run the separate linears always (for A/B measurements). */
const FUSED_LINEARS = process.env.OLMO_LINEAR_MULTI !== '0';

/**
 * y_i = x · w_iᵀ for several float32 weights sharing x (q/k/v, gate/up): the same results as
 * `ws.map((w, i) => linear(x, w, wBf16?.[i], xBf16))`, bit for bit. On the CPU, without autograd
 * (no grad mode, or nothing requires grad) and outside withAutocast('bfloat16'), it is ONE native
 * call (`linearF32`, native/cpu/gemm.cc): for a short prompt the weights run fused in the panel GEMM
 * — one transposed copy of x and one thread-pool job instead of one of each per weight. Everything
 * else (training, autocast, CUDA, non-contiguous weights) runs the separate linears.
 */
export function linearMulti(x: Tensor, ws: readonly Tensor[], wBf16: ReadonlyArray<Tensor | null> | null = null, xBf16: Tensor | null = null): Tensor[] {
  const fused = FUSED_LINEARS && ws.length > 0 && x.deviceIndex < 0 && x.dtype === 'float32' && x.ndim >= 1 && autocastDtype() !== 'bfloat16' &&
    !needsGrad(x, ...ws) && ws.every((w) => w.dtype === 'float32' && w.ndim === 2 && w.deviceIndex < 0 && w.isContiguous);
  if (!fused) return ws.map((w, i) => linear(x, w, wBf16?.[i] ?? null, xBf16));
  const K = x.shape[x.ndim - 1]!;
  for (const w of ws) {
    if (w.shape[1] !== K) throw new ShapeError(`linear: input features ${K} != weight in-features ${w.shape[1]} (${fmt(x.shape)} vs ${fmt(w.shape)})`);
  }
  const lead = x.shape.slice(0, -1);
  const xc = contig(x);
  const outs: Tensor[] = [];
  try {
    for (const w of ws) outs.push(Tensor.allocate([...lead, w.shape[0]!], 'float32', -1, false));
    const entries = ws.map((w, i) => [w.buf, w.byteOffset, w.shape[0]!, outs[i]!.buf, outs[i]!.byteOffset, w.shape[0]!]);
    call((n) => n.linearF32(xc.buf, xc.byteOffset, shapeSize(lead), K, entries));
    return outs;
  } catch (e) {
    for (const o of outs) o.dispose();
    throw e;
  } finally {
    if (xc !== x) xc.dispose();
  }
}
