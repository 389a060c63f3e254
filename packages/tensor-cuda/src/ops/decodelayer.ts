/**
 * decodelayer family (kernel: native/cpu/decodelayer.cc; header native/include/olmo/ops/decodelayer.h).
 *   decodeLayer(x, weights, kCache, vCache, pos, opts): one whole OLMo-1 / OLMo-2 transformer block
 *     for ONE token of ONE sequence, in one native call — norm → q/k/v GEMVs (one fused call for
 *     low-precision weights) → clip → q/k norm (OLMo-2) → RoPE → k/v written into the cache at row
 *     `pos` → attention over rows 0..pos → out-proj → residual → norm → gate/up → SwiGLU → down →
 *     residual. `x` (float32, C elements) is updated in place; nothing is allocated per call.
 *     It runs the same CPU kernels in the same order as the op-by-op block, so the results are
 *     identical (test/ops/decodelayer.test.ts checks that against the op-by-op composition).
 * Weights: float32 or bfloat16 Tensors, or q8_0 QTensors, [out, in]. CPU only (CUDA decodes op
 * by op). Inference only: no autograd.
 */
import { isGradEnabled } from '../autograd.js';
import { call } from '../native.js';
import { QTensor } from '../qtensor.js';
import { Tensor } from '../tensor.js';
import { ArgumentError, DTypeError, DeviceError, ShapeError } from '../errors.js';
import { fmt } from './util.js';

export interface DecodeLayerWeights {
  q: Tensor | QTensor;
  k: Tensor | QTensor;
  v: Tensor | QTensor;
  o: Tensor | QTensor;
  gate: Tensor | QTensor;
  up: Tensor | QTensor;
  down: Tensor | QTensor;
  /** OLMo-2 only: RMSNorm weights of the full q / k projections and the two norm-after outputs. */
  qNorm?: Tensor | null;
  kNorm?: Tensor | null;
  postAttentionNorm?: Tensor | null;
  postFeedforwardNorm?: Tensor | null;
}

export interface DecodeLayerOptions {
  /** 'olmo1': pre-norm non-parametric LayerNorm; 'olmo2': QK-norm + RMSNorm after attention / MLP. */
  architecture: 'olmo1' | 'olmo2';
  numHeads: number;
  numKvHeads: number;
  eps: number;
  /** clip_qkv (q, k, v clamped to ±clip), or null. */
  clipQkv: number | null;
  ropeTheta: number;
}

// Weight format numbers shared with the native side (decodelayer.h / lowplinear.h).
const FORMAT_F32 = 0, FORMAT_BF16 = 1, FORMAT_Q8_0 = 8;

function weightArgs(name: string, w: Tensor | QTensor, rows: number, cols: number): [number, unknown, number] {
  if (w.shape.length !== 2 || w.shape[0] !== rows || w.shape[1] !== cols) {
    throw new ShapeError(`decodeLayer: weight ${name} is ${fmt(w.shape)}, expected [${rows}, ${cols}]`);
  }
  if (w.deviceIndex !== -1) throw new DeviceError('DEVICE_MISMATCH', `decodeLayer: weight ${name} is on ${w.device}`, 'decodeLayer runs on the cpu; decode op by op on cuda');
  if (w instanceof QTensor) {
    w.assertAlive('decodeLayer weight');
    return [FORMAT_Q8_0, w.buf, w.byteOffset];
  }
  w.assertAlive('decodeLayer weight');
  if (w.dtype !== 'float32' && w.dtype !== 'bfloat16') throw new DTypeError(`decodeLayer: weight ${name} is ${w.dtype}`, 'use float32, bfloat16 or q8_0 weights');
  if (!w.isContiguous) throw new ShapeError(`decodeLayer: weight ${name} must be contiguous`);
  if (w.requiresGrad && isGradEnabled()) throw new DTypeError(`decodeLayer: weight ${name} requires grad`, 'decodeLayer is inference only: run it under noGrad()');
  return [w.dtype === 'float32' ? FORMAT_F32 : FORMAT_BF16, w.buf, w.byteOffset];
}

function f32Args(name: string, t: Tensor | null | undefined, n: number): [unknown, number] {
  if (!t) return [null, 0];
  t.assertAlive('decodeLayer input');
  if (t.dtype !== 'float32' || t.size !== n || !t.isContiguous || t.deviceIndex !== -1) {
    throw new ShapeError(`decodeLayer: ${name} must be a contiguous float32 cpu tensor of ${n} elements, got ${t.dtype} ${fmt(t.shape)} on ${t.device}`);
  }
  return [t.buf, t.byteOffset];
}

/**
 * Runs one block for one token: x (float32, [..., C] holding C elements) is replaced by the
 * block's output; k/v of the token are written into row `pos` of kCache / vCache (float32,
 * contiguous, [..., maxLen, numKvHeads, headDim] with a leading batch of 1 allowed), and attention
 * reads rows 0..pos.
 */
export function decodeLayer(x: Tensor, w: DecodeLayerWeights, kCache: Tensor, vCache: Tensor, pos: number, opts: DecodeLayerOptions): void {
  const C = x.size, NH = opts.numHeads, NKV = opts.numKvHeads;
  if (!Number.isInteger(NH) || !Number.isInteger(NKV) || NH <= 0 || NKV <= 0 || NH % NKV !== 0) throw new ShapeError(`decodeLayer: ${NH} query heads / ${NKV} kv heads`, 'GQA needs NH % NKV == 0');
  const NQ = w.q.shape[0]!, HS = NQ / NH;
  if (!Number.isInteger(HS) || HS % 2 !== 0) throw new ShapeError(`decodeLayer: q_proj rows ${NQ} are not ${NH} heads of an even size`);
  const NK = NKV * HS, I = w.gate.shape[0]!;
  const olmo2 = opts.architecture === 'olmo2';
  if (opts.architecture !== 'olmo1' && !olmo2) throw new ArgumentError(`decodeLayer: unknown architecture '${String(opts.architecture)}'`);
  const clip = opts.clipQkv ?? 0;
  if (!(clip >= 0) || !(opts.eps >= 0) || !(opts.ropeTheta > 0)) throw new ArgumentError(`decodeLayer: clipQkv ${opts.clipQkv}, eps ${opts.eps}, ropeTheta ${opts.ropeTheta}`);
  const maxLen = kCache.size / NK;
  if (!Number.isInteger(maxLen) || vCache.size !== kCache.size) throw new ShapeError(`decodeLayer: caches ${fmt(kCache.shape)} / ${fmt(vCache.shape)} are not [maxLen, ${NKV}, ${HS}]`);
  if (!Number.isInteger(pos) || pos < 0 || pos >= maxLen) throw new ArgumentError(`decodeLayer: position ${pos} outside a cache of ${maxLen}`, 'allocate a larger cache');
  if (olmo2 && (!w.qNorm || !w.kNorm || !w.postAttentionNorm || !w.postFeedforwardNorm)) throw new ArgumentError('decodeLayer: OLMo-2 blocks need qNorm, kNorm, postAttentionNorm and postFeedforwardNorm');
  const args = [
    ...f32Args('x', x, C), ...f32Args('kCache', kCache, kCache.size), ...f32Args('vCache', vCache, vCache.size),
    C, NH, NKV, HS, I, maxLen, pos, olmo2, opts.eps, clip, opts.ropeTheta,
    ...weightArgs('q', w.q, NQ, C), ...weightArgs('k', w.k, NK, C), ...weightArgs('v', w.v, NK, C), ...weightArgs('o', w.o, C, NQ),
    ...weightArgs('gate', w.gate, I, C), ...weightArgs('up', w.up, I, C), ...weightArgs('down', w.down, C, I),
    ...(olmo2 ? f32Args('qNorm', w.qNorm, NQ) : [null, 0]), ...(olmo2 ? f32Args('kNorm', w.kNorm, NK) : [null, 0]),
    ...(olmo2 ? f32Args('postAttentionNorm', w.postAttentionNorm, C) : [null, 0]), ...(olmo2 ? f32Args('postFeedforwardNorm', w.postFeedforwardNorm, C) : [null, 0]),
  ];
  call((n) => n.decodeLayer(...args));
}
