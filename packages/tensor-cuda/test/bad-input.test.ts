/**
 * Bad input never crashes the process: every misuse below must surface as a typed OlmoError with
 * the right code, and the addon must keep working afterwards.
 */
import { describe, expect, it } from 'vitest';
import {
  OlmoError, adamwStep, add, attention, clipGradNorm, cudaAvailable, fromNative, linear, linearMulti, matmul, memoryStats,
  native, tensor, tidy, zeros, empty,
} from '../src/index.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e, String(e)).toBeInstanceOf(OlmoError);
    return (e as OlmoError).code;
  }
  return 'NO_ERROR';
}

describe('bad input → typed errors, process alive', () => {
  it('wrong shapes', () => {
    tidy(() => {
      expect(codeOf(() => tensor([1, 2, 3], { shape: [2, 2] }))).toBe('SHAPE_MISMATCH');
      expect(codeOf(() => zeros([-1, 2]))).toBe('SHAPE_MISMATCH');
      expect(codeOf(() => zeros([1.5]))).toBe('SHAPE_MISMATCH');
      expect(codeOf(() => tensor([1, 2, 3]).reshape([2, 2]))).toBe('SHAPE_MISMATCH');
      expect(codeOf(() => matmul(zeros([2, 3]), zeros([4, 5])))).toBe('SHAPE_MISMATCH');
      expect(codeOf(() => linear(zeros([2, 3]), zeros([4, 5])))).toBe('SHAPE_MISMATCH');
      expect(codeOf(() => add(zeros([2, 3]), zeros([3, 2])))).toBe('SHAPE_MISMATCH');
      // attention: rank, GQA ratio, Tk < T with a causal mask, head-size mismatch
      expect(codeOf(() => attention(zeros([2, 3, 4]), zeros([2, 3, 4]), zeros([2, 3, 4])))).toBe('SHAPE_MISMATCH');
      expect(codeOf(() => attention(zeros([1, 3, 4, 2]), zeros([1, 3, 3, 2]), zeros([1, 3, 3, 2])))).toBe('SHAPE_MISMATCH');
      expect(codeOf(() => attention(zeros([1, 5, 2, 2]), zeros([1, 3, 2, 2]), zeros([1, 3, 2, 2])))).toBe('SHAPE_MISMATCH');
      expect(codeOf(() => attention(zeros([1, 3, 2, 4]), zeros([1, 3, 2, 2]), zeros([1, 3, 2, 2])))).toBe('SHAPE_MISMATCH');
      expect(codeOf(() => adamwStep({ params: [zeros([3])], grads: [zeros([4])], expAvg: [zeros([3])], expAvgSq: [zeros([3])], lr: [1], weightDecay: [0], beta1: 0.9, beta2: 0.99, eps: 1e-8, step: 1 }))).toBe('SHAPE_MISMATCH');
    });
  });

  it('out-of-bounds views passed straight to the addon are rejected by the native bounds check', () => {
    tidy(() => {
      const small = zeros([4]), big = zeros([64]);
      const n = native();
      const viaNative = (f: () => unknown) => codeOf(() => { try { f(); } catch (e) { throw fromNative(e); } });
      // q claims B*T*NH*HS = 64 elements but lives in a 4-element buffer
      expect(viaNative(() => n.attentionForward(small.buf, 0, big.buf, 0, big.buf, 0, big.buf, 0, big.buf, 0, 1, 4, 4, 4, 4, 4, 0.5, true))).toBe('SHAPE_MISMATCH');
      expect(viaNative(() => n.gemm(false, false, 8, 8, 8, 1, small.buf, 0, 8, 0, big.buf, 0, 8, 0, 0, big.buf, 0, 8, 0, 1))).toBe('SHAPE_MISMATCH');
      expect(viaNative(() => n.gradClipScale([small.buf], [0], [1000], 0.5))).toBe('SHAPE_MISMATCH');
      expect(viaNative(() => n.adamwStep([small.buf], [8], [small.buf], [0], [small.buf], [0], [small.buf], [0], [4], [1], [0], 0.9, 0.99, 1e-8, 1))).toBe('SHAPE_MISMATCH');
      expect(viaNative(() => n.adamwStep([small.buf], [0], ['nope'], [0], [small.buf], [0], [small.buf], [0], [4], [1], [0], 0.9, 0.99, 1e-8, 1))).toBe('INVALID_ARGUMENT');
      expect(Array.from(small.toFloat32Array())).toEqual([0, 0, 0, 0]);
    });
  });

  it('wrong dtypes', () => {
    tidy(() => {
      const i32 = tensor([[1, 2], [3, 4]], { dtype: 'int32' });
      const f32 = tensor([[1, 2], [3, 4]]);
      expect(codeOf(() => matmul(i32, f32))).toBe('DTYPE_UNSUPPORTED');
      expect(codeOf(() => add(f32, i32))).toBe('DTYPE_UNSUPPORTED');
      const q = zeros([1, 2, 2, 2]), qi = zeros([1, 2, 2, 2]).to('int32'), qb = zeros([1, 2, 2, 2]).to('bfloat16');
      expect(codeOf(() => attention(qi, q, q))).toBe('DTYPE_UNSUPPORTED');
      expect(codeOf(() => attention(q, qb, q))).toBe('DTYPE_UNSUPPORTED');
      expect(codeOf(() => adamwStep({ params: [zeros([2]).to('bfloat16')], grads: [zeros([2])], expAvg: [zeros([2])], expAvgSq: [zeros([2])], lr: [1], weightDecay: [0], beta1: 0.9, beta2: 0.99, eps: 1e-8, step: 1 }))).toBe('DTYPE_UNSUPPORTED');
      const p = zeros([2]).requiresGrad_(true);
      p.grad = tensor([1, 2], { dtype: 'int32' });
      expect(codeOf(() => clipGradNorm([p], 1))).toBe('DTYPE_UNSUPPORTED');
    });
  });

  it('disposed tensors', () => {
    tidy(() => {
      const a = tensor([1, 2, 3]);
      const b = a.reshape([3, 1]);
      a.dispose();
      expect(codeOf(() => a.toArray())).toBe('TENSOR_DISPOSED');
      expect(codeOf(() => add(a, a))).toBe('TENSOR_DISPOSED');
      expect(b.toArray()).toEqual([[1], [2], [3]]); // a view keeps its storage alive
      const q = zeros([1, 2, 2, 2]);
      q.dispose();
      expect(codeOf(() => attention(q, q, q))).toBe('TENSOR_DISPOSED');
      const p = zeros([2]), m = zeros([2]), v = zeros([2]), g = zeros([2]);
      m.dispose();
      expect(codeOf(() => adamwStep({ params: [p], grads: [g], expAvg: [m], expAvgSq: [v], lr: [1], weightDecay: [0], beta1: 0.9, beta2: 0.99, eps: 1e-8, step: 1 }))).toBe('TENSOR_DISPOSED');
      // a buffer freed behind the tensor's back is caught by the native layer
      const raw = zeros([4]);
      const buf = raw.buf;
      buf.free();
      expect(codeOf(() => { try { native().gradClipScale([buf], [0], [4], 0.5); } catch (e) { throw fromNative(e); } })).toBe('TENSOR_DISPOSED');
      // backward through a graph whose output was disposed
      const x = tensor([1, 2], { requiresGrad: true });
      const y = add(x, x);
      y.dispose();
      expect(codeOf(() => y.backward(tensor([1, 1])))).toBe('TENSOR_DISPOSED');
    });
  });

  it('linearMulti / the native linearF32: bad shapes, dtypes, disposed weights and malformed entries are typed errors', () => {
    tidy(() => {
      const x = zeros([32, 256]), w = zeros([24, 256]);
      expect(codeOf(() => linearMulti(x, [w, zeros([8, 255])]))).toBe('SHAPE_MISMATCH');
      expect(codeOf(() => linearMulti(x, [w, zeros([8, 256]).to('int32')]))).toBe('DTYPE_UNSUPPORTED');
      expect(codeOf(() => linearMulti(x.to('int32'), [w]))).toBe('DTYPE_UNSUPPORTED');
      const gone = zeros([8, 256]);
      gone.dispose();
      expect(codeOf(() => linearMulti(x, [w, gone]))).toBe('TENSOR_DISPOSED');
      const n = native();
      const viaNative = (f: () => unknown) => codeOf(() => { try { f(); } catch (e) { throw fromNative(e); } });
      const y = zeros([32, 24]), small = zeros([4]);
      // weight of N x K floats in a 4-float buffer; output past its buffer; bad N / ldy; misaligned offset
      expect(viaNative(() => n.linearF32(x.buf, 0, 32, 256, [[small.buf, 0, 24, y.buf, 0, 24]]))).toBe('SHAPE_MISMATCH');
      expect(viaNative(() => n.linearF32(x.buf, 0, 32, 256, [[w.buf, 0, 24, small.buf, 0, 24]]))).toBe('SHAPE_MISMATCH');
      expect(viaNative(() => n.linearF32(x.buf, 0, 64, 256, [[w.buf, 0, 24, y.buf, 0, 24]]))).toBe('SHAPE_MISMATCH');
      expect(viaNative(() => n.linearF32(x.buf, 0, 32, 256, [[w.buf, 0, -1, y.buf, 0, 24]]))).toBe('SHAPE_MISMATCH');
      expect(viaNative(() => n.linearF32(x.buf, 0, 32, 256, [[w.buf, 0, 24, y.buf, 0, 23]]))).toBe('SHAPE_MISMATCH');
      expect(viaNative(() => n.linearF32(x.buf, 0, 32, 256, [[w.buf, 2, 23, y.buf, 0, 24]]))).toBe('INVALID_ARGUMENT');
      // malformed entries
      expect(viaNative(() => n.linearF32(x.buf, 0, 32, 256, 'nope'))).toBe('INVALID_ARGUMENT');
      expect(viaNative(() => n.linearF32(x.buf, 0, 32, 256, [[w.buf, 0, 24]]))).toBe('INVALID_ARGUMENT');
      expect(viaNative(() => n.linearF32(x.buf, 0, 32, 256, [['w', 0, 24, y.buf, 0, 24]]))).toBe('INVALID_ARGUMENT');
      expect(viaNative(() => n.linearF32(x.buf, 0, 32, 256, [[w.buf, 'a', 24, y.buf, 0, 24]]))).toBe('INVALID_ARGUMENT');
      expect(viaNative(() => n.linearF32(x.buf, 0, -1, 256, [[w.buf, 0, 24, y.buf, 0, 24]]))).toBe('SHAPE_MISMATCH');
      expect(Array.from(y.toFloat32Array()).every((v) => v === 0)).toBe(true);  // nothing was written
    });
  });

  it('NaN / Inf gradients into AdamW: NON_FINITE and nothing modified', () => {
    tidy(() => {
      const p = tensor([1, 2, 3]), m = tensor([0.1, 0.2, 0.3]), v = tensor([0.01, 0.02, 0.03]);
      for (const bad of [NaN, Infinity]) {
        const g = tensor([0.5, bad, 0.5]);
        expect(codeOf(() => adamwStep({ params: [p], grads: [g], expAvg: [m], expAvgSq: [v], lr: [0.1], weightDecay: [0.1], beta1: 0.9, beta2: 0.99, eps: 1e-8, step: 3 }))).toBe('NON_FINITE');
      }
      expect(Array.from(p.toFloat32Array())).toEqual(Array.from(Float32Array.from([1, 2, 3])));
      expect(Array.from(m.toFloat32Array())).toEqual(Array.from(Float32Array.from([0.1, 0.2, 0.3])));
      expect(Array.from(v.toFloat32Array())).toEqual(Array.from(Float32Array.from([0.01, 0.02, 0.03])));
      // non-finite hyperparameters are rejected before any native call
      expect(codeOf(() => adamwStep({ params: [p], grads: [tensor([1, 1, 1])], expAvg: [m], expAvgSq: [v], lr: [NaN], weightDecay: [0], beta1: 0.9, beta2: 0.99, eps: 1e-8, step: 1 }))).toBe('INVALID_ARGUMENT');
    });
  });

  it('huge allocations → OUT_OF_MEMORY, nothing leaked', () => {
    const before = memoryStats().cpuBytes;
    expect(codeOf(() => zeros([1e7, 1e7]))).toBe('OUT_OF_MEMORY');
    expect(codeOf(() => empty([1e9, 1e3]))).toBe('OUT_OF_MEMORY');
    // 40 MB inputs, 400 TB output: the op's own allocation fails cleanly
    expect(codeOf(() => tidy(() => matmul(zeros([1e7, 1]), zeros([1, 1e7]))))).toBe('OUT_OF_MEMORY');
    expect(memoryStats().cpuBytes).toBe(before);
  });

  const noGpu = !cudaAvailable();
  if (!noGpu) console.warn('bad-input: a CUDA device is visible, skipping the CUDA_UNAVAILABLE checks for cuda:0');
  it.skipIf(!noGpu)('cuda device without a GPU → CUDA_UNAVAILABLE', () => {
    expect(codeOf(() => zeros([2], { device: 'cuda' }))).toBe('CUDA_UNAVAILABLE');
    expect(codeOf(() => zeros([2], { device: 'cuda:0' }))).toBe('CUDA_UNAVAILABLE');
    expect(codeOf(() => tidy(() => tensor([1, 2]).to('cuda')))).toBe('CUDA_UNAVAILABLE');
  });
  it('unknown devices are rejected', () => {
    expect(codeOf(() => zeros([2], { device: 'cuda:4096' }))).toBe('CUDA_UNAVAILABLE');
    expect(codeOf(() => zeros([2], { device: 'tpu' as 'cpu' }))).toBe('INVALID_ARGUMENT');
  });

  it('the process and the addon still work afterwards', () => {
    tidy(() => {
      const c = matmul(tensor([[1, 2]]), tensor([[3], [4]]));
      expect(c.toArray()).toEqual([[11]]);
    });
  });
});
