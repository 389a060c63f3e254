/**
 * GGUF tensors → inference weights (`OLMo.fromPretrained('x.gguf', { dtype, quantize })`), mapped
 * wherever the stored bytes already are what the model holds:
 *
 *   file type   model format   how
 *   f32         float32        view into the mapped file (zero-copy)
 *   bf16        bfloat16       view into the mapped file (zero-copy)
 *   q8_0        q8_0           QTensor view into the mapped file (zero-copy): ggml's block_q8_0
 *                              {f16 d; int8 qs[32]} (34 bytes, packed, blocks along ne[0] = the
 *                              row) is byte for byte our Q8_0 block and row layout
 *   anything    anything else  converted chunk by chunk (f16 → float32 / bf16, q8_0 → float32 /
 *                              bf16, f32 / bf16 → q8_0 …) into allocated storage
 *
 * Views need the tensor's absolute file offset to be a multiple of its element size (4 for f32,
 * 2 for bf16; q8_0 blocks are read unaligned by every kernel). GGUF aligns every tensor to
 * general.alignment (default 32), so with any alignment ≥ 4 every tensor qualifies; a file with a
 * smaller alignment loads its unaligned tensors by copy instead.
 *
 * OLMo-1 q_proj / k_proj: llama.cpp runs arch `olmo` with interleaved-pair RoPE, so the exporter
 * stores their rows permuted within each head (format.ts permuteRopeRows). Those two tensors per
 * layer are read with the inverse row permutation into allocated storage — in their stored format,
 * since whole rows move and every format (f32, bf16, q8_0 blocks) keeps a row's bytes together, so
 * nothing is decoded. (The alternative — keeping them mapped and running interleaved RoPE on q/k —
 * would put a second RoPE convention into every forward and decode kernel for ~12% of OLMo-1's
 * linear weights; copying them costs that much RSS, no precision.) OLMo-2 is stored unpermuted and
 * maps whole.
 *
 * Copied bytes are read with positioned reads (never through the mapping), so pages of tensors
 * that are copied or converted never become resident in this process: peak RSS ≈ the mapped
 * weights as they are touched + the copied ones + one conversion chunk (≤ 4 M elements).
 */
import { QTensor, Storage, Tensor, deviceIndex, type Device } from '@olmo/tensor-cuda';
import type { OLMoConfig, ParamSpec } from '../config.js';
import { formatFor, isLinearWeight, disposeWeights, writeF32Chunk, type Precision, type Weight, type WeightFormat } from '../weights.js';
import { Q8_0_BLOCK, Q8_0_BLOCK_BYTES, type GgufTensorType } from './format.js';
import { decodeTensor } from './quant.js';
import type { GgufFile } from './reader.js';

/** The stored type whose bytes are exactly a weight of `format` (so it can be viewed or copied raw). */
const RAW_TYPE: Record<WeightFormat, GgufTensorType> = { float32: 'f32', bfloat16: 'bf16', q8_0: 'q8_0' };
/** Alignment a view of each format needs. */
const VIEW_ALIGN: Record<WeightFormat, number> = { float32: 4, bfloat16: 2, q8_0: 1 };
/** Raw bytes per read chunk: ≤ 4 M elements of any stored type, so conversions stage ≤ 16 MB. */
const CHUNK_BYTES = 1 << 22;

/**
 * The precision a GGUF file holds (what loading it without dtype / quantize gives): q8_0 linear
 * weights when the file stores them so; bfloat16 when every other matrix is bf16; float32
 * otherwise (f32 as stored; f16 and a q8_0 embedding widen exactly to float32 — bf16 could not
 * hold them exactly).
 */
export function ggufFilePrecision(g: GgufFile, specs: readonly ParamSpec[], gname: (hf: string) => string): Precision {
  const mats = specs.filter((s) => s.shape.length === 2);
  const quantize = mats.some((s) => isLinearWeight(s.name) && g.info(gname(s.name)).type === 'q8_0') ? 'q8_0' as const : null;
  const rest = mats.filter((s) => formatFor(s, { dtype: 'float32', quantize }) !== 'q8_0').map((s) => g.info(gname(s.name)).type);
  return { dtype: rest.length > 0 && rest.every((t) => t === 'bf16') ? 'bfloat16' : 'float32', quantize };
}

/** Byte offset of element `e` (a whole row start for q8_0) in a weight of `format`. */
function byteOffsetOf(format: WeightFormat, e: number): number {
  return format === 'q8_0' ? (e / Q8_0_BLOCK) * Q8_0_BLOCK_BYTES : e * (format === 'float32' ? 4 : 2);
}

/**
 * Undoes format.ts permuteRopeRows on whole heads of raw rows: `bytes` holds `bytes.length /
 * (hd·rowBytes)` heads; stored row 2j + i of a head goes back to HF row i·hd/2 + j.
 */
function unpermuteRowBytes(bytes: Uint8Array, rowBytes: number, hd: number, out: Uint8Array): Uint8Array {
  const half = hd / 2, heads = bytes.length / (hd * rowBytes);
  const dst = out.subarray(0, bytes.length);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < half; j++) {
        const src = (h * hd + 2 * j + i) * rowBytes, to = (h * hd + i * half + j) * rowBytes;
        dst.set(bytes.subarray(src, src + rowBytes), to);
      }
    }
  }
  return dst;
}

export interface GgufWeightsResult {
  weights: Map<string, Weight>;
  /** Parameters that are views into the mapping (the rest were copied or converted). */
  mapped: string[];
}

/** Loads every parameter of `specs` from `g` in the formats `p` asks for (see the file comment). */
export async function loadGgufWeights(
  g: GgufFile, config: OLMoConfig, specs: readonly ParamSpec[], gname: (hf: string) => string, p: Precision, device: Device,
): Promise<GgufWeightsResult> {
  const dev = deviceIndex(device);
  const out = new Map<string, Weight>();
  const mapped: string[] = [];
  let mapping: Storage | null = null;
  let stage: Tensor | null = null;
  let f32: Float32Array | null = null;
  let permBuf: Uint8Array | null = null;
  const hd = config.hidden_size / config.num_attention_heads;
  try {
    for (const s of specs) {
      const info = g.info(gname(s.name));
      const format = formatFor(s, p);
      const permuted = config.architecture === 'olmo1' && /self_attn\.[qk]_proj\.weight$/.test(s.name);
      const raw = info.type === RAW_TYPE[format];
      if (raw && !permuted && dev === -1 && info.begin % VIEW_ALIGN[format] === 0) {
        mapping ??= Storage.mapFile(g.path);
        const w: Weight = format === 'q8_0'
          ? QTensor.fromStorage(mapping, [s.shape[0]!, s.shape[1]!], info.begin)
          : Tensor.fromStorage(mapping, s.shape, format, info.begin).keep();
        w.name = s.name;
        out.set(s.name, w);
        mapped.push(s.name);
        continue;
      }
      const w: Weight = format === 'q8_0' ? QTensor.allocate([s.shape[0]!, s.shape[1]!], dev) : Tensor.allocate(s.shape, format, dev, false).keep();
      w.name = s.name;
      out.set(s.name, w);
      const rowLen = s.shape.length === 2 ? s.shape[1]! : 1;
      const rowBytes = info.nbytes / (info.numel / rowLen);
      await g.readRawChunks(info.name, (bytes, e0, n) => {
        if (permuted) {
          permBuf ??= new Uint8Array(CHUNK_BYTES + hd * rowBytes);
          if (permBuf.length < bytes.length) permBuf = new Uint8Array(bytes.length);
          bytes = unpermuteRowBytes(bytes, rowBytes, hd, permBuf);
        }
        if (raw) {
          w.buf.write(w.byteOffset + byteOffsetOf(format, e0), bytes);
          return;
        }
        if (!stage || stage.size < n) {
          (stage as Tensor | null)?.dispose();
          stage = Tensor.allocate([n], 'float32', -1, false).keep();
          f32 = new Float32Array(n);
        }
        const vals = f32!.subarray(0, n);
        decodeTensor(bytes, info.type, vals);
        writeF32Chunk(w, e0, vals, stage);
      }, CHUNK_BYTES, permuted ? hd * rowLen : rowLen);
    }
    return { weights: out, mapped };
  } catch (e) {
    disposeWeights(out);
    throw e;
  } finally {
    // The views hold their own references to the mapping.
    mapping?.release();
    (stage as Tensor | null)?.dispose();
  }
}
