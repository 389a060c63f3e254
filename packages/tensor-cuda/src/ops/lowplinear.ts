/**
 * lowplinear family (kernels: native/cpu/lowplinear.cc, native/cuda/lowplinear.cu).
 *   lowpLinear(x, w): x float32 [..., K] · wᵀ -> float32 [..., N] for a weight stored in low
 *     precision: a bfloat16 Tensor [N, K] or a q8_0 QTensor [N, K]. Accumulation is float32; the
 *     weight is converted inside the dot product (batch 1) or tile by tile (batches), never copied
 *     whole into float32.
 *   lowpLinearMulti(x, [w1, w2, ...]): the same for several weights sharing x in ONE native call
 *     (fused q/k/v or gate/up projections in the decode path).
 *   lowpIsa(): the CPU kernel set in use ("amx", "avx512bf16", "avx512", "avx2" or "scalar", + "+q8act" or
 *     "+q8act-vnni" when q8_0 weights meet int8-quantized activations as in llama.cpp — the default;
 *     OLMO_CPU_ISA caps the ISA, OLMO_AMX=0 turns the AMX GEMMs off, OLMO_Q8_ACT=f32 keeps float32 activations; see
 *     native/include/olmo/ops/lowplinear.h).
 * Inference only: a weight or x that requires grad is a DTYPE_UNSUPPORTED error.
 */
import { isGradEnabled } from '../autograd.js';
import { call } from '../native.js';
import { Tensor, shapeSize } from '../tensor.js';
import { QTensor } from '../qtensor.js';
import { ArgumentError, DTypeError, DeviceError, ShapeError } from '../errors.js';
import { contig } from './views.js';
import { expectDtype, fmt } from './util.js';

/** A weight the low-precision linear kernels take. */
export type LowpWeight = Tensor | QTensor;

const FORMAT_BF16 = 1;
const FORMAT_Q8_0 = 8;

/** True when `w` is stored in a format lowpLinear handles (bfloat16 Tensor or QTensor). */
export function isLowpWeight(w: unknown): w is LowpWeight {
  return w instanceof QTensor || (w instanceof Tensor && w.dtype === 'bfloat16');
}

function checkWeight(w: LowpWeight, K: number, dev: number): void {
  if (w instanceof QTensor) {
    w.assertAlive('lowpLinear weight');
  } else {
    expectDtype('lowpLinear weight', w, 'bfloat16');
    if (w.ndim !== 2) throw new ShapeError(`lowpLinear: weight must be 2-D [out, in], got ${fmt(w.shape)}`);
    if (w.requiresGrad && isGradEnabled()) throw new DTypeError('lowpLinear: bfloat16 weights are for inference; this one requires grad', 'use float32 parameters for training, or run under noGrad()');
    if (w.strides[0] !== w.shape[1] || w.strides[1] !== 1) throw new ShapeError('lowpLinear: the weight must be contiguous', 'call .contiguous() once when loading');
  }
  if (w.shape[1] !== K) throw new ShapeError(`lowpLinear: input features ${K} != weight in-features ${w.shape[1]} (weight ${fmt(w.shape)})`);
  if (w.deviceIndex !== dev) throw new DeviceError('DEVICE_MISMATCH', `lowpLinear: input on ${dev < 0 ? 'cpu' : `cuda:${dev}`} but a weight on ${w.device}`, 'move them to one device');
}

/** y_i = x · w_iᵀ for every weight, in one native call. */
export function lowpLinearMulti(x: Tensor, ws: readonly LowpWeight[]): Tensor[] {
  expectDtype('lowpLinear input', x, 'float32');
  if (x.requiresGrad && isGradEnabled()) throw new DTypeError('lowpLinear: no backward through low-precision weights', 'run inference under noGrad()');
  if (x.ndim < 1) throw new ShapeError('lowpLinear: input must be at least 1-D');
  const K = x.shape[x.ndim - 1]!;
  const lead = x.shape.slice(0, -1);
  const M = shapeSize(lead);
  const dev = x.deviceIndex;
  for (const w of ws) checkWeight(w, K, dev);
  const xc = contig(x);
  const outs: Tensor[] = [];
  try {
    for (const w of ws) outs.push(Tensor.allocate([...lead, w.shape[0]!], 'float32', dev, false));
    const entries = ws.map((w, i) => [w instanceof QTensor ? FORMAT_Q8_0 : FORMAT_BF16, w instanceof QTensor ? w.buf : (w as Tensor).buf,
      w.byteOffset, w.shape[0]!, outs[i]!.buf, outs[i]!.byteOffset, w.shape[0]!]);
    call((n) => n.lowpLinear(xc.buf, xc.byteOffset, M, K, entries));
    return outs;
  } catch (e) {
    for (const o of outs) o.dispose();
    throw e;
  } finally {
    if (xc !== x) xc.dispose();
  }
}

/** x [..., K] · wᵀ -> [..., N] with w a bfloat16 Tensor or a q8_0 QTensor [N, K]. */
export function lowpLinear(x: Tensor, w: LowpWeight): Tensor {
  return lowpLinearMulti(x, [w])[0]!;
}

/** The CPU kernel set lowpLinear uses on this machine. */
export function lowpIsa(): string {
  return call((n) => n.lowpIsa() as string);
}

/**
 * Re-selects the CPU kernels as the OLMO_CPU_ISA / OLMO_Q8_ACT environment variables would at
 * start-up: `cap` 'scalar' | 'avx2' | 'avx512' | 'avx512bf16' (everything below AMX) | 'native'
 * (never above what the CPU supports; 'native' includes AMX unless OLMO_AMX=0);
 * `q8act` (default true) chooses int8 activations for q8_0 weights. Returns the resulting lowpIsa().
 */
export function setLowpIsa(cap: 'scalar' | 'avx2' | 'avx512' | 'avx512bf16' | 'native', q8act = true): string {
  if (!['scalar', 'avx2', 'avx512', 'avx512bf16', 'native'].includes(cap)) throw new ArgumentError(`setLowpIsa: unknown cap '${String(cap)}'`, "use 'scalar', 'avx2', 'avx512', 'avx512bf16' or 'native'");
  return call((n) => n.lowpIsa(cap, q8act) as string);
}
