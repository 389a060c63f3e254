/**
 * attention family (kernels: native/cpu/attention.cc; header native/include/olmo/ops/attention.h).
 *   attention(q [B,T,NH,HS], k [B,Tk,NKV,HS], v [B,Tk,NKV,HS], {causal=true, scale=1/sqrt(HS)})
 *     -> [B,T,NH,HS]. Fused flash-style: online softmax over key tiles, only out and the
 *     logsumexp [B,NH,T] are saved for backward (no T x Tk matrix). GQA: NH % NKV == 0, query head
 *     h uses kv head floor(h / (NH/NKV)). KV cache: Tk >= T, query i is at absolute position
 *     Tk - T + i.
 * Packed documents: `docStart` (int32 [B, Tk], causal only; see documentLayout in documents.ts)
 *   holds for every position the first position of its document; query i then attends only to
 *   keys docStart[Tk - T + i]..Tk - T + i, so no attention crosses a document boundary.
 * Backward recomputes the probabilities tile by tile and returns dq, dk, dv (dk/dv summed over
 * the query heads of each kv group).
 * Under withAutocast('bfloat16') on CUDA (sm_80+, HS 64 or 128) forward and backward run the
 * tensor-core flash kernels (native/cuda/attention_bf16.cu: bf16 operands, fp32 accumulation and
 * softmax; OLMO_CUDA_FLASH_BF16=0 disables them); the CPU kernel stays fp32. On both devices q, k
 * and v are first rounded to bf16 and saved for backward in bf16 (bf16 activation storage, see
 * bf16storage.ts); the kernels compute in float32 from those values (the flash kernels read the
 * bf16 tensors directly: native attention_*_bf16in; the others get widened copies).
 */
import { needsGrad, record } from '../autograd.js';
import { autocastDtype } from '../autocast.js';
import { call } from '../native.js';
import { Tensor } from '../tensor.js';
import { ArgumentError, ShapeError } from '../errors.js';
import { contig } from './views.js';
import { storeBf16, widenF32 } from './bf16storage.js';
import { expectDtype, expectRank, fmt, sameDevice } from './util.js';

export interface AttentionOptions {
  /** Causal mask (default true): query i attends to keys 0..Tk-T+i. */
  causal?: boolean;
  /** Score scale (default 1/sqrt(HS)). */
  scale?: number;
  /** Packed documents: int32 [B, Tk], first position of each position's document (causal only). */
  docStart?: Tensor;
}

export function attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  for (const [t, n] of [[q, 'q'], [k, 'k'], [v, 'v']] as const) {
    expectDtype('attention', t, 'float32');
    expectRank('attention', t, 4, `${n} [B, T, heads, HS]`);
  }
  const dev = sameDevice('attention', q, k, v);
  const [B, T, NH, HS] = q.shape as [number, number, number, number];
  const [Bk, Tk, NKV, HSk] = k.shape as [number, number, number, number];
  if (Bk !== B || HSk !== HS) throw new ShapeError(`attention: k ${fmt(k.shape)} does not match q ${fmt(q.shape)} (batch and head size must agree)`);
  if (v.shape.some((d, i) => d !== k.shape[i])) throw new ShapeError(`attention: v ${fmt(v.shape)} must have the shape of k ${fmt(k.shape)}`);
  if (NKV === 0 || NH % NKV !== 0) throw new ShapeError(`attention: ${NH} query heads are not a multiple of ${NKV} kv heads`, 'GQA needs NH % NKV == 0');
  const causal = opts.causal ?? true;
  if (causal && Tk < T) throw new ShapeError(`attention: causal attention needs at least as many keys (${Tk}) as queries (${T})`, 'with a KV cache, pass the cached keys and values followed by the new ones');
  if (Tk === 0 && T > 0) throw new ShapeError('attention: no keys');
  const scale = opts.scale ?? 1 / Math.sqrt(HS);
  if (!Number.isFinite(scale)) throw new ArgumentError(`attention: scale must be finite, got ${scale}`);

  const ds = opts.docStart;
  if (ds) {
    expectDtype('attention', ds, 'int32');
    if (ds.ndim !== 2 || ds.shape[0] !== B || ds.shape[1] !== Tk) throw new ShapeError(`attention: docStart ${fmt(ds.shape)} must be [B, Tk] = [${B}, ${Tk}]`);
    if (!causal) throw new ArgumentError('attention: document masking (docStart) needs causal attention');
    sameDevice('attention', q, ds);
  }
  const dsc = ds ? contig(ds) : null;
  const dsArgs = () => (dsc ? [dsc.buf, dsc.byteOffset] : [null, 0]);
  // captured now: backward uses the forward's precision even when it runs outside the autocast
  const bf16 = autocastDtype() === 'bfloat16';
  // bf16 activation storage (bf16storage.ts): under autocast q, k, v are rounded to bf16 once, here;
  // forward and backward compute in float32 from those values and the node saves the bf16 copies.
  // The tensor-core kernels (CUDA, HS 64/128) read them directly; the CPU and fp32 CUDA kernels get
  // widened float32 copies for the duration of the call.
  const inputs = [q, k, v];
  const qkv = bf16 ? inputs.map(storeBf16) : inputs.map(contig);
  const dims = [B, T, Tk, NH, NKV, HS, scale, causal];
  try {
    const out = Tensor.allocate(q.shape, 'float32', dev, false);
    const lse = Tensor.allocate([B, NH, T], 'float32', dev, false);
    try {
      const outArgs = [out.buf, out.byteOffset, lse.buf, lse.byteOffset, ...dims, ...dsArgs()];
      const direct = bf16 && dev >= 0 && call((n) => n.attentionForwardBf16In(...bufs(qkv), ...outArgs) as boolean);
      if (!direct) withF32(qkv, (xs) => call((n) => n.attentionForward(...bufs(xs), ...outArgs, bf16)));
    } catch (e) {
      out.dispose();
      lse.dispose();
      throw e;
    }
    if (needsGrad(q, k, v)) {
      record(out, 'attention', [q, k, v], dsc ? [...qkv, out, lse, dsc] : [...qkv, out, lse], (g, [sq, sk, sv, so, sl, sd]) => {
        const dq = Tensor.allocate(q.shape, 'float32', dev, false);
        const dk = Tensor.allocate(k.shape, 'float32', dev, false);
        const dv = Tensor.allocate(k.shape, 'float32', dev, false);
        const gc = contig(g);
        try {
          const rest = [so!.buf, so!.byteOffset, sl!.buf, sl!.byteOffset, gc.buf, gc.byteOffset,
            dq.buf, dq.byteOffset, dk.buf, dk.byteOffset, dv.buf, dv.byteOffset, ...dims, sd ? sd.buf : null, sd ? sd.byteOffset : 0];
          const direct = bf16 && dev >= 0 && call((n) => n.attentionBackwardBf16In(...bufs([sq!, sk!, sv!]), ...rest) as boolean);
          if (!direct) withF32([sq!, sk!, sv!], (xs) => call((n) => n.attentionBackward(...bufs(xs), ...rest, bf16)));
        } catch (e) {
          dq.dispose(); dk.dispose(); dv.dispose();
          throw e;
        } finally {
          if (gc !== g) gc.dispose();
        }
        const keepOrDrop = (t: Tensor, want: boolean) => {
          if (want) return t;
          t.dispose();
          return null;
        };
        return [keepOrDrop(dq, q.requiresGrad), keepOrDrop(dk, k.requiresGrad), keepOrDrop(dv, v.requiresGrad)];
      });
    }
    lse.dispose();
    return out;
  } finally {
    qkv.forEach((t, i) => { if (t !== inputs[i]) t.dispose(); });
    if (dsc && dsc !== ds) dsc.dispose();
  }
}

const bufs = (ts: Tensor[]) => ts.flatMap((t) => [t.buf, t.byteOffset]);

/** Runs fn on float32 versions of ts: widened copies of bf16-stored tensors (disposed after), else ts. */
function withF32(ts: Tensor[], fn: (xs: Tensor[]) => void): void {
  const xs = ts.map((t) => (t.dtype === 'bfloat16' ? widenF32(t) : t));
  try {
    fn(xs);
  } finally {
    xs.forEach((x, i) => { if (x !== ts[i]) x.dispose(); });
  }
}
