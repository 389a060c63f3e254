/**
 * Inference weight storage in low precision (bfloat16 / q8_0), separate from the float32 FlatBuffer
 * that training uses.
 *
 * Which parameter gets which format (`formatFor`):
 *   - linear weights (q/k/v/o, gate/up/down, an untied lm_head): q8_0 with `quantize: 'q8_0'`,
 *     else the model dtype;
 *   - the embedding table: the model dtype (a gather needs addressable rows, so never q8_0); a tied
 *     LM head reads it as a float32 / bfloat16 GEMV, or, in a q8_0 model, multiplies by a q8_0 copy
 *     of it that the model builds on first use (OLMo.headWeight(), model.ts);
 *   - norm weights (1-D, tiny): always float32 (norms run in float32).
 *
 * Loading (`loadLowpWeights`) is shard by shard and never materialises a float32 copy of a weight:
 *   - bf16 tensors of a bf16 checkpoint on the CPU are views into a read-only mapping of the shard
 *     (zero-copy; the mapping lives as long as any weight uses it); a tensor whose offset is not
 *     2-byte aligned, or any other device, is copied in bounded chunks instead;
 *   - other stored dtypes convert chunk by chunk (a 64 MB staging buffer);
 *   - q8_0 weights are quantized from whole-row chunks read with positioned reads (not mapped, so
 *     the bf16 source bytes never count towards the process's resident memory).
 */
import {
  OlmoError, QTensor, Storage, Tensor, copyInto, deviceIndex, quantizeInto, type Device,
} from '@olmo/tensor-cuda';
import type { ParamSpec } from './config.js';
import type { SafetensorsSet } from './safetensors.js';

/** Storage dtype of inference weights (activations are always float32). */
export type WeightDType = 'float32' | 'bfloat16';
/** Block quantization of the linear weights. */
export type Quantization = 'q8_0';

export interface Precision {
  dtype: WeightDType;
  quantize: Quantization | null;
}

export type WeightFormat = 'float32' | 'bfloat16' | 'q8_0';

const DTYPES: readonly string[] = ['float32', 'bfloat16'];
const QUANTS: readonly string[] = ['q8_0'];

/** Validates user options; unknown values are typed errors (never silently ignored). */
export function parsePrecision(opts: { dtype?: unknown; quantize?: unknown }, where: string, device: Device | 'meta'): Precision {
  const dtype = opts.dtype ?? 'float32';
  if (typeof dtype !== 'string' || !DTYPES.includes(dtype)) {
    throw new OlmoError('DTYPE_UNSUPPORTED', `${where}: weight dtype ${JSON.stringify(opts.dtype)} is not supported`, "use dtype 'float32' or 'bfloat16' (and quantize: 'q8_0' for 8-bit linear weights)");
  }
  const q = opts.quantize ?? null;
  if (q !== null && (typeof q !== 'string' || !QUANTS.includes(q))) {
    throw new OlmoError('INVALID_ARGUMENT', `${where}: unknown quantization ${JSON.stringify(opts.quantize)}`, "the supported quantization is 'q8_0'");
  }
  if (q !== null && device !== 'cpu' && device !== 'meta') {
    throw new OlmoError('INVALID_ARGUMENT', `${where}: q8_0 weights load on the cpu only (device '${device}')`, "use dtype 'bfloat16' on cuda");
  }
  return { dtype: dtype as WeightDType, quantize: q as Quantization | null };
}

export function isLinearWeight(name: string): boolean {
  return /(_proj\.weight|^lm_head\.weight)$/.test(name);
}

export function formatFor(spec: ParamSpec, p: Precision): WeightFormat {
  if (spec.shape.length !== 2) return 'float32';
  if (p.quantize === 'q8_0' && isLinearWeight(spec.name) && spec.shape[1]! % 32 === 0) return 'q8_0';
  return p.dtype;
}

export type Weight = Tensor | QTensor;

/** Allocates empty storage for every parameter in its format. */
export function allocateWeights(specs: readonly ParamSpec[], p: Precision, device: Device): Map<string, Weight> {
  const dev = deviceIndex(device);
  const out = new Map<string, Weight>();
  try {
    for (const s of specs) {
      const f = formatFor(s, p);
      const w = f === 'q8_0' ? QTensor.allocate([s.shape[0]!, s.shape[1]!], dev) : Tensor.allocate(s.shape, f, dev, false).keep();
      w.name = s.name;
      out.set(s.name, w);
    }
  } catch (e) {
    disposeWeights(out);
    throw e;
  }
  return out;
}

export function disposeWeights(ws: Map<string, Weight>): void {
  for (const w of ws.values()) w.dispose();
  ws.clear();
}

/** Staging chunk size (float32 elements) for conversions. */
const STAGE_ELEMS = 1 << 24;

/**
 * Writes float32 values for elements [off, off + vals.length) of weight `w`, converting to its
 * format (rows must be whole for q8_0). `stage` is a reusable float32 CPU tensor; `vals` may be
 * longer than it (a bf16 checkpoint read in chunks of STAGE_ELEMS * 2 bytes hands over twice
 * STAGE_ELEMS values): it is then written in pieces that fit, whole rows at a time for q8_0.
 */
export function writeF32Chunk(w: Weight, off: number, vals: Float32Array, stage: Tensor): void {
  const rowLen = w instanceof QTensor ? w.shape[1]! : 1;
  const piece = Math.floor(stage.size / rowLen) * rowLen;
  if (piece === 0) throw new OlmoError('INTERNAL', `staging buffer of ${stage.size} values is shorter than one row of ${rowLen}`, 'use a larger stage (newStage())');
  for (let p = 0; p < vals.length; p += piece) writeF32Piece(w, off + p, vals.subarray(p, Math.min(vals.length, p + piece)), stage);
}

function writeF32Piece(w: Weight, off: number, vals: Float32Array, stage: Tensor): void {
  stage.buf.write(stage.byteOffset, vals);
  const src = stage.slice(0, 0, vals.length);
  try {
    if (w instanceof QTensor) {
      quantizeInto(w, off / w.shape[1]!, src);
    } else if (w.dtype === 'float32') {
      w.buf.write(w.byteOffset + off * 4, vals);
    } else if (w.deviceIndex !== stage.deviceIndex) {
      const b = src.to('bfloat16');  // convert on the cpu, then one host-to-device copy
      try { w.buf.write(w.byteOffset + off * 2, b.buf.read(b.byteOffset, b.size * 2)); } finally { b.dispose(); }
    } else {
      const flat = w.reshape([w.size]);
      const dst = flat.slice(0, off, off + vals.length);
      copyInto(dst, src);
      dst.dispose();
      flat.dispose();
    }
  } finally {
    src.dispose();
  }
}

export function newStage(): Tensor {
  return Tensor.allocate([STAGE_ELEMS], 'float32', -1, false).keep();
}

/** Loads every parameter of `specs` from `set` into the low-precision formats (see the file comment). */
export async function loadLowpWeights(set: SafetensorsSet, specs: readonly ParamSpec[], p: Precision, device: Device): Promise<Map<string, Weight>> {
  const dev = deviceIndex(device);
  const out = new Map<string, Weight>();
  const stage = newStage();
  const stageBf16 = Tensor.allocate([STAGE_ELEMS], 'bfloat16', -1, false).keep();
  const mappings = new Map<string, Storage>();
  try {
    for (const s of specs) {
      const f = formatFor(s, p);
      const file = set.file(s.name);
      const info = file.info(s.name);
      // Zero-copy: a bf16 tensor of a bf16 checkpoint, viewed in place in the mapped shard.
      if (f === 'bfloat16' && info.dtype === 'BF16' && dev === -1 && info.begin % 2 === 0) {
        let m = mappings.get(file.path);
        if (!m) { m = Storage.mapFile(file.path); mappings.set(file.path, m); }
        const t = Tensor.fromStorage(m, s.shape, 'bfloat16', info.begin).keep();
        t.name = s.name;
        out.set(s.name, t);
        continue;
      }
      const w: Weight = f === 'q8_0' ? QTensor.allocate([s.shape[0]!, s.shape[1]!], dev) : Tensor.allocate(s.shape, f, dev, false).keep();
      w.name = s.name;
      out.set(s.name, w);
      const rowLen = s.shape.length === 2 ? s.shape[1]! : 1;
      if (info.dtype === 'BF16' && f === 'bfloat16') {
        const t = w as Tensor;
        await file.readRawChunks(s.name, (bytes, e0) => t.buf.write(t.byteOffset + e0 * 2, bytes), STAGE_ELEMS * 2);
      } else if (info.dtype === 'BF16' && f === 'q8_0') {
        const q = w as QTensor;
        await file.readRawChunks(s.name, (bytes, e0) => {
          stageBf16.buf.write(0, bytes);
          const src = stageBf16.slice(0, 0, bytes.length / 2);
          try { quantizeInto(q, e0 / rowLen, src); } finally { src.dispose(); }
        }, STAGE_ELEMS * 2, rowLen);
      } else {
        await file.readChunks(s.name, (vals, e0) => writeF32Chunk(w, e0, vals, stage), STAGE_ELEMS * 4, rowLen);
      }
    }
    return out;
  } catch (e) {
    disposeWeights(out);
    throw e;
  } finally {
    // The weights hold their own references to the mappings.
    for (const m of mappings.values()) m.release();
    stage.dispose();
    stageBf16.dispose();
  }
}
