/**
 * float32 ⇄ GGUF tensor encodings: f32, f16, bf16 (round to nearest even, as torch does) and
 * Q8_0 as ggml's reference quantizer defines it: per block of 32, d = max|x| / 127 (float32),
 * q = roundf(x / d) (half away from zero, computed as x · (1/d) in float32), d stored as f16;
 * dequantized x̂ = f16(d) · q. Per element |x − x̂| ≤ d/2 + 127·|f16(d) − d| ≤ d·(1/2 + 127·2⁻¹¹)
 * for normal-range d (the f16 rounding of d is ≤ 2⁻¹¹ relative).
 */
import { f16ToF32, f32ToBf16, f32ToF16 } from '../safetensors.js';
import { Q8_0_BLOCK, Q8_0_BLOCK_BYTES, tensorBytes, type GgufTensorType } from './format.js';

const fround = Math.fround;

/** Encodes float32 values as `type` (little-endian bytes). q8_0 needs a multiple of 32 values. */
export function encodeTensor(values: Float32Array, type: GgufTensorType): Uint8Array {
  const n = values.length;
  const out = new Uint8Array(tensorBytes(type, n));
  switch (type) {
    case 'f32':
      out.set(new Uint8Array(values.buffer, values.byteOffset, n * 4));
      return out;
    case 'f16': case 'bf16': {
      const u16 = new Uint16Array(out.buffer);
      const conv = type === 'f16' ? f32ToF16 : f32ToBf16;
      for (let i = 0; i < n; i++) u16[i] = conv(values[i]!);
      return out;
    }
    case 'q8_0': {
      const dv = new DataView(out.buffer);
      for (let b = 0; b < n / Q8_0_BLOCK; b++) {
        const x = values.subarray(b * Q8_0_BLOCK, (b + 1) * Q8_0_BLOCK);
        let amax = 0;
        for (let j = 0; j < Q8_0_BLOCK; j++) amax = Math.max(amax, Math.abs(x[j]!));
        const d = fround(amax / 127);
        const id = d ? fround(1 / d) : 0;
        const base = b * Q8_0_BLOCK_BYTES;
        dv.setUint16(base, f32ToF16(d), true);
        for (let j = 0; j < Q8_0_BLOCK; j++) {
          const v = fround(x[j]! * id);
          dv.setInt8(base + 2 + j, Math.sign(v) * Math.round(Math.abs(v)));
        }
      }
      return out;
    }
  }
}

/** Decodes `type` bytes into `out` (out.length elements). */
export function decodeTensor(bytes: Uint8Array, type: GgufTensorType, out: Float32Array): void {
  const n = out.length;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (type) {
    case 'f32':
      if (bytes.byteOffset % 4 === 0) out.set(new Float32Array(bytes.buffer, bytes.byteOffset, n));
      else for (let i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, true);
      return;
    case 'bf16': {
      const o32 = new Uint32Array(out.buffer, out.byteOffset, n);
      for (let i = 0; i < n; i++) o32[i] = (bytes[2 * i]! | (bytes[2 * i + 1]! << 8)) << 16;
      return;
    }
    case 'f16':
      for (let i = 0; i < n; i++) out[i] = f16ToF32(bytes[2 * i]! | (bytes[2 * i + 1]! << 8));
      return;
    case 'q8_0':
      for (let b = 0; b < n / Q8_0_BLOCK; b++) {
        const base = b * Q8_0_BLOCK_BYTES;
        const d = f16ToF32(dv.getUint16(base, true));
        for (let j = 0; j < Q8_0_BLOCK; j++) out[b * Q8_0_BLOCK + j] = d * dv.getInt8(base + 2 + j);
      }
      return;
  }
}
