/** Tensor element types. The numeric codes match `olmo::DType` in native/include/olmo/tensor.h. */
export type DType = 'float32' | 'bfloat16' | 'int32' | 'uint16' | 'uint32';

export const DTYPES: readonly DType[] = ['float32', 'bfloat16', 'int32', 'uint16', 'uint32'];

export const DTYPE_CODE: Record<DType, number> = { float32: 0, bfloat16: 1, int32: 2, uint16: 3, uint32: 4 };

export const DTYPE_BYTES: Record<DType, number> = { float32: 4, bfloat16: 2, int32: 4, uint16: 2, uint32: 4 };

export type TypedArrayFor<D extends DType> = D extends 'float32'
  ? Float32Array
  : D extends 'int32'
    ? Int32Array
    : D extends 'uint32'
      ? Uint32Array
      : Uint16Array; // bfloat16 raw bits and uint16

export type AnyTypedArray = Float32Array | Int32Array | Uint32Array | Uint16Array;

export function typedArrayCtor(dtype: DType) {
  switch (dtype) {
    case 'float32': return Float32Array;
    case 'int32': return Int32Array;
    case 'uint32': return Uint32Array;
    case 'uint16':
    case 'bfloat16': return Uint16Array;
  }
}

export function isFloat(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'bfloat16';
}

/** float32 -> bfloat16 bits, round to nearest even (matches torch and the native cast). */
export function f32ToBf16Bits(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0]!;
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) | 0x40) & 0xffff;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

export function bf16BitsToF32(bits: number): number {
  const u = new Uint32Array([bits << 16]);
  return new Float32Array(u.buffer)[0]!;
}
