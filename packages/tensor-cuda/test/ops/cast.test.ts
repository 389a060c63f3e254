/**
 * float32 ↔ bfloat16 casts (the native kernel through Tensor.to, and the TS f32ToBf16Bits) against
 * bit patterns worked out by hand from the formats: round to nearest, ties to even, NaN stays NaN.
 */
import { describe, expect, it } from 'vitest';
import { bf16BitsToF32, f32ToBf16Bits, tensor, tidy } from '../../src/index.js';

// value → expected bf16 bits (f32 bits in the comment; the low 16 bits decide the rounding)
const CASES: Array<[number, number]> = [
  [1 / 3, 0x3eab], // 0x3eaaaaab: low half 0xaaab > 0x8000 → round up
  [1.00390625, 0x3f80], // 1 + 2^-8 = 0x3f808000: exact tie, 0x3f80 is even → stays
  [1.01171875, 0x3f82], // 1 + 2^-7 + 2^-8 = 0x3f818000: tie above odd 0x3f81 → up to even
  [1.0078125, 0x3f81], // 1 + 2^-7 = 0x3f810000: exactly representable
  [-2.5, 0xc020], // 0xc0200000
  [0, 0x0000],
  [-0, 0x8000],
  [Infinity, 0x7f80],
  [-Infinity, 0xff80],
  [3.4028234663852886e38, 0x7f80], // FLT_MAX 0x7f7fffff rounds up past the largest bf16 → +Inf
  [1e-40, 0x0001], // subnormal 0x000116c2: low half 0x16c2 < half → 0x0001
];

describe('float32 → bfloat16', () => {
  it('f32ToBf16Bits gives the hand-derived bits', () => {
    for (const [v, bits] of CASES) expect(f32ToBf16Bits(v), String(v)).toBe(bits);
    expect(Number.isNaN(bf16BitsToF32(f32ToBf16Bits(NaN)))).toBe(true);
  });

  it('the native cast (Tensor.to) gives the same bits, and back to float32 exactly the bf16 value', () => {
    const vals = CASES.map(([v]) => v);
    const { bits, back } = tidy(() => {
      const t = tensor(Float32Array.from([...vals, NaN]), { shape: [vals.length + 1] });
      const b = t.to('bfloat16');
      return { bits: Array.from(b.toTypedArray()), back: Array.from(b.to('float32').toFloat32Array()) };
    });
    expect(bits.slice(0, vals.length)).toEqual(CASES.map(([, b]) => b));
    expect((bits[vals.length]! & 0x7f80) === 0x7f80 && (bits[vals.length]! & 0x7f) !== 0).toBe(true); // a NaN
    expect(back.slice(0, vals.length)).toEqual(CASES.map(([, b]) => new Float32Array(new Uint32Array([b << 16]).buffer)[0]));
    expect(back[2]).toBe(1.015625);
    expect(back[0]).toBe(0.333984375);
  });
});
