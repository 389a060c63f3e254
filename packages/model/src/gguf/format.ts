/**
 * GGUF v3 facts shared by the writer and the reader (from llama.cpp's gguf-py `constants.py` and
 * `gguf.cpp`; the facts carry over, the code is ours):
 *
 *   "GGUF" u32 version=3  u64 n_tensors  u64 n_kv
 *   n_kv × (string key, u32 value_type, value)              strings: u64 byte length + UTF-8
 *   n_tensors × (string name, u32 n_dims, u64 ne[n_dims], u32 ggml_type, u64 offset)
 *   zero padding to `general.alignment` (default 32), then the tensor data; every tensor's offset
 *   (relative to the data start) is a multiple of the alignment.
 *
 * ne[] lists dimensions fastest-first, so a row-major torch [rows, cols] weight is ne = [cols, rows]
 * with the bytes unchanged.
 */
export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** Metadata value types (gguf-py GGUFValueType). */
export enum ValueType {
  UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6, BOOL = 7,
  STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12,
}

/** Byte size of each fixed-size metadata value type. */
export const VALUE_TYPE_BYTES: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

/** The tensor types we write and read (ggml_type ids). */
export const GGML_TYPE = { F32: 0, F16: 1, Q8_0: 8, BF16: 30 } as const;
export type GgufTensorType = 'f32' | 'f16' | 'bf16' | 'q8_0';
export const GGUF_TENSOR_TYPES: readonly GgufTensorType[] = ['f32', 'f16', 'bf16', 'q8_0'];

export const TYPE_ID: Record<GgufTensorType, number> = { f32: GGML_TYPE.F32, f16: GGML_TYPE.F16, q8_0: GGML_TYPE.Q8_0, bf16: GGML_TYPE.BF16 };
export const TYPE_NAME: Record<number, GgufTensorType> = { 0: 'f32', 1: 'f16', 8: 'q8_0', 30: 'bf16' };

/** Q8_0: blocks of 32 weights along ne[0], each an f16 scale d followed by 32 int8 (34 bytes). */
export const Q8_0_BLOCK = 32;
export const Q8_0_BLOCK_BYTES = 2 + Q8_0_BLOCK;

/** Bytes of a tensor with `numel` elements whose rows are `ne0` long. */
export function tensorBytes(type: GgufTensorType, numel: number): number {
  switch (type) {
    case 'f32': return numel * 4;
    case 'f16': case 'bf16': return numel * 2;
    case 'q8_0': return (numel / Q8_0_BLOCK) * Q8_0_BLOCK_BYTES;
  }
}

/** `general.file_type` (llama.cpp LlamaFileType) for a whole-model export type. */
export const FILE_TYPE: Record<GgufTensorType, number> = { f32: 0, f16: 1, q8_0: 7, bf16: 32 };

/** The llama.cpp architecture names. */
export type GgufArch = 'olmo' | 'olmo2';

/**
 * HF parameter name → GGUF tensor name (gguf-py TensorNameMap for OLMo / OLMo-2). The reverse
 * map is built from the same table.
 */
export function ggufTensorName(hfName: string): string {
  const fixed: Record<string, string> = {
    'model.embed_tokens.weight': 'token_embd.weight',
    'model.norm.weight': 'output_norm.weight',
    'lm_head.weight': 'output.weight',
  };
  if (fixed[hfName]) return fixed[hfName]!;
  const m = /^model\.layers\.(\d+)\.(.+)$/.exec(hfName);
  if (m) {
    const per: Record<string, string> = {
      'self_attn.q_proj.weight': 'attn_q.weight',
      'self_attn.k_proj.weight': 'attn_k.weight',
      'self_attn.v_proj.weight': 'attn_v.weight',
      'self_attn.o_proj.weight': 'attn_output.weight',
      'self_attn.q_norm.weight': 'attn_q_norm.weight',
      'self_attn.k_norm.weight': 'attn_k_norm.weight',
      'post_attention_layernorm.weight': 'post_attention_norm.weight',
      'post_feedforward_layernorm.weight': 'post_ffw_norm.weight',
      'mlp.gate_proj.weight': 'ffn_gate.weight',
      'mlp.up_proj.weight': 'ffn_up.weight',
      'mlp.down_proj.weight': 'ffn_down.weight',
    };
    const t = per[m[2]!];
    if (t) return `blk.${m[1]}.${t}`;
  }
  throw new Error(`no GGUF name for parameter '${hfName}'`);
}

/**
 * llama.cpp runs arch `olmo` with NORM (interleaved-pair) RoPE, while HF OLMo rotates halves
 * (rotate_half). The converter therefore reorders the rows of q_proj / k_proj within each head:
 * HF row h·hd + i·hd/2 + j (i ∈ {0,1}, j < hd/2) goes to GGUF row h·hd + 2j + i. OLMo-2 runs with
 * NEOX RoPE (= rotate_half) and is written unpermuted. `inverse` undoes the permutation (reader).
 */
export function permuteRopeRows(w: Float32Array, rows: number, cols: number, nHeads: number, inverse = false): Float32Array {
  const hd = rows / nHeads, half = hd / 2;
  const out = new Float32Array(w.length);
  for (let h = 0; h < nHeads; h++) {
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < half; j++) {
        const hfRow = h * hd + i * half + j, ggRow = h * hd + 2 * j + i;
        const [src, dst] = inverse ? [ggRow, hfRow] : [hfRow, ggRow];
        out.set(w.subarray(src * cols, (src + 1) * cols), dst * cols);
      }
    }
  }
  return out;
}
