// float64 references for q8_0 tests: llama.cpp's quantizer and the product of quantized operands.

/** Independent Q8_0 reference (llama.cpp's quantize_row_q8_0_ref in float64 + an f16 rounding of d). */
export function refQ8(vals: Float32Array): Float64Array {
  const out = new Float64Array(vals.length);
  const f16 = (x: number) => { // round to the nearest half (normal range; the test data stays there)
    if (x === 0) return 0;
    const e = Math.floor(Math.log2(Math.abs(x)));
    const ulp = 2 ** (Math.max(e, -14) - 10);
    const r = Math.round(x / ulp);
    return (r % 2 !== 0 && Math.abs(x / ulp - Math.trunc(x / ulp)) === 0.5 ? r - Math.sign(r) : r) * ulp;
  };
  for (let b = 0; b < vals.length / 32; b++) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(vals[b * 32 + j]!));
    const d = Math.fround(amax / 127), id = d ? Math.fround(1 / d) : 0;
    const dh = f16(d);
    for (let j = 0; j < 32; j++) {
      const v = Math.fround(vals[b * 32 + j]! * id);
      out[b * 32 + j] = dh * (Math.sign(v) * Math.round(Math.abs(v)));
    }
  }
  return out;
}

/** γ_n = n·u / (1 − n·u), u = 2^-24: the relative bound of n float32 roundings (Higham). */
export const gamma = (n: number): number => (n * 2 ** -24) / (1 - n * 2 ** -24);

/** y[m, n] = Σ_k a[m, k]·b[n, k] in float64, and Σ_k |a[m, k]·b[n, k]| (the error bound's scale). */
export function refProduct(a: Float64Array, b: Float64Array, M: number, N: number, K: number): { y: Float64Array; mag: Float64Array } {
  const y = new Float64Array(M * N), mag = new Float64Array(M * N);
  for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
    let s = 0, t = 0;
    for (let k = 0; k < K; k++) { const p = a[m * K + k]! * b[n * K + k]!; s += p; t += Math.abs(p); }
    y[m * N + n] = s;
    mag[m * N + n] = t;
  }
  return { y, mag };
}
