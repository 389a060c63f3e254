import { describe, expect, it } from 'vitest';
import { Generator, OlmoError, attention, fromNative, full, native, noGrad, tensor, tidy, zeros } from '../../src/index.js';
import { expectClose, finiteDiffGrad, projectionWeights, randomTensor, toF64 } from '../helpers.js';

interface Dims { B: number; T: number; Tk: number; NH: number; NKV: number; HS: number; causal: boolean }

/** Naive float64 attention: full softmax over the T x Tk score matrix. Returns out and probabilities. */
function refForward(q: Float64Array, k: Float64Array, v: Float64Array, d: Dims, scale = 1 / Math.sqrt(d.HS)) {
  const { B, T, Tk, NH, NKV, HS, causal } = d;
  const rep = NH / NKV, off = Tk - T;
  const out = new Float64Array(B * T * NH * HS);
  const P = new Float64Array(B * NH * T * Tk);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < NH; h++) {
      const g = Math.floor(h / rep);
      for (let i = 0; i < T; i++) {
        const s = new Float64Array(Tk).fill(-Infinity);
        let mx = -Infinity;
        for (let j = 0; j < Tk; j++) {
          if (causal && j > off + i) continue;
          let acc = 0;
          for (let e = 0; e < HS; e++) acc += q[((b * T + i) * NH + h) * HS + e]! * k[((b * Tk + j) * NKV + g) * HS + e]!;
          s[j] = acc * scale;
          mx = Math.max(mx, s[j]!);
        }
        let sum = 0;
        for (let j = 0; j < Tk; j++) { s[j] = Math.exp(s[j]! - mx); sum += s[j]!; }
        for (let j = 0; j < Tk; j++) {
          const p = s[j]! / sum;
          P[((b * NH + h) * T + i) * Tk + j] = p;
          for (let e = 0; e < HS; e++) out[((b * T + i) * NH + h) * HS + e] += p * v[((b * Tk + j) * NKV + g) * HS + e]!;
        }
      }
    }
  return { out, P };
}

/** Analytic float64 backward of the naive reference (for shapes too large for finite differences). */
function refBackward(q: Float64Array, k: Float64Array, v: Float64Array, dout: Float64Array, d: Dims, scale = 1 / Math.sqrt(d.HS)) {
  const { B, T, Tk, NH, NKV, HS } = d;
  const rep = NH / NKV;
  const { P } = refForward(q, k, v, d, scale);
  const dq = new Float64Array(q.length), dk = new Float64Array(k.length), dv = new Float64Array(v.length);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < NH; h++) {
      const g = Math.floor(h / rep);
      for (let i = 0; i < T; i++) {
        const qo = ((b * T + i) * NH + h) * HS;
        const dp = new Float64Array(Tk);
        let Dsum = 0;
        for (let j = 0; j < Tk; j++) {
          const ko = ((b * Tk + j) * NKV + g) * HS, p = P[((b * NH + h) * T + i) * Tk + j]!;
          let acc = 0;
          for (let e = 0; e < HS; e++) { acc += dout[qo + e]! * v[ko + e]!; dv[ko + e] += p * dout[qo + e]!; }
          dp[j] = acc;
          Dsum += p * acc;
        }
        for (let j = 0; j < Tk; j++) {
          const ko = ((b * Tk + j) * NKV + g) * HS, p = P[((b * NH + h) * T + i) * Tk + j]!;
          const ds = p * (dp[j]! - Dsum) * scale;
          for (let e = 0; e < HS; e++) { dq[qo + e] += ds * k[ko + e]!; dk[ko + e] += ds * q[qo + e]!; }
        }
      }
    }
  return { dq, dk, dv };
}

function check(d: Dims, opts: { fd: boolean; seed: number; scale?: number }) {
  tidy(() => {
    const gen = new Generator(opts.seed);
    const q = randomTensor([d.B, d.T, d.NH, d.HS], gen);
    const k = randomTensor([d.B, d.Tk, d.NKV, d.HS], gen);
    const v = randomTensor([d.B, d.Tk, d.NKV, d.HS], gen);
    const o = attention(q, k, v, { causal: d.causal, scale: opts.scale });
    expect(o.shape).toEqual([d.B, d.T, d.NH, d.HS]);
    const Q = toF64(q), K = toF64(k), V = toF64(v);
    const scale = opts.scale ?? 1 / Math.sqrt(d.HS);
    expectClose(o.toFloat32Array(), refForward(Q, K, V, d, scale).out, 1e-5, 'forward');
    const w = projectionWeights(o.size);
    o.backward(tensor(Float32Array.from(w), { shape: o.shape as number[] }));
    let gq: Float64Array, gk: Float64Array, gv: Float64Array;
    if (opts.fd) {
      [gq, gk, gv] = finiteDiffGrad((xs) => refForward(xs[0]!, xs[1]!, xs[2]!, d, scale).out.reduce((s, x, i) => s + x * w[i]!, 0), [Q, K, V]) as [Float64Array, Float64Array, Float64Array];
    } else {
      ({ dq: gq, dk: gk, dv: gv } = refBackward(Q, K, V, w, d, scale));
    }
    expectClose(q.grad!.toFloat32Array(), gq, 1e-4, 'dq');
    expectClose(k.grad!.toFloat32Array(), gk, 1e-4, 'dk');
    expectClose(v.grad!.toFloat32Array(), gv, 1e-4, 'dv');
  });
}

describe('attention', () => {
  it('causal GQA with a KV cache (T=7, Tk=9, NH=4, NKV=2, HS=6): forward and finite-difference grads', () => {
    check({ B: 2, T: 7, Tk: 9, NH: 4, NKV: 2, HS: 6, causal: true }, { fd: true, seed: 1 });
  });
  it('causal MQA (NKV=1) with a KV cache: forward and finite-difference grads', () => {
    check({ B: 1, T: 7, Tk: 9, NH: 4, NKV: 1, HS: 6, causal: true }, { fd: true, seed: 2 });
  });
  it('causal self-attention without cache (T == Tk), NH == NKV', () => {
    check({ B: 2, T: 7, Tk: 7, NH: 3, NKV: 3, HS: 6, causal: true }, { fd: true, seed: 3 });
  });
  it('non-causal with a custom scale', () => {
    check({ B: 1, T: 5, Tk: 9, NH: 4, NKV: 2, HS: 6, causal: false }, { fd: true, seed: 4, scale: 0.3 });
  });
  it('shapes spanning several tiles (T=70, Tk=150, HS=20, GQA 4:2) against the float64 analytic backward', () => {
    check({ B: 1, T: 70, Tk: 150, NH: 4, NKV: 2, HS: 20, causal: true }, { fd: false, seed: 5 });
    check({ B: 2, T: 67, Tk: 67, NH: 2, NKV: 1, HS: 35, causal: false }, { fd: false, seed: 6 });
    // many (batch, kv head) pairs: the backward's one-task-per-pair schedule
    check({ B: 3, T: 40, Tk: 72, NH: 4, NKV: 2, HS: 16, causal: true }, { fd: false, seed: 9 });
  });
  it('a single query against a long cache (decode step)', () => {
    check({ B: 1, T: 1, Tk: 100, NH: 4, NKV: 1, HS: 16, causal: true }, { fd: false, seed: 7 });
  });
  // T == 1 runs native/cpu/attention_decode.cc (eight keys per score tree, 64 / 32 / 8-column
  // chunks of the weighted sum, scalar tails): head sizes and key counts that reach every branch.
  it('one-query path (T = 1): every head-size / key-count branch, GQA, batches, non-causal, one key', () => {
    let seed = 20;
    for (const HS of [64, 96, 40, 6]) {
      for (const Tk of [2, 7, 8, 45]) {
        check({ B: 2, T: 1, Tk, NH: 4, NKV: 2, HS, causal: true }, { fd: false, seed: seed++ });
      }
      // One key: out = v exactly up to rounding (the gradient w.r.t. q is 0, so only the forward).
      tidy(() => {
        const d = { B: 2, T: 1, Tk: 1, NH: 4, NKV: 2, HS, causal: true };
        const gen = new Generator(seed++);
        const q = randomTensor([2, 1, 4, HS], gen, 1, false), k = randomTensor([2, 1, 2, HS], gen, 1, false), v = randomTensor([2, 1, 2, HS], gen, 1, false);
        expectClose(attention(q, k, v).toFloat32Array(), refForward(toF64(q), toF64(k), toF64(v), d, 1 / Math.sqrt(HS)).out, 1e-6, 'forward, one key');
      });
    }
    check({ B: 1, T: 1, Tk: 300, NH: 8, NKV: 8, HS: 64, causal: false }, { fd: false, seed: seed++, scale: 0.3 });
    // large enough for the OpenMP team (worth_threads)
    check({ B: 1, T: 1, Tk: 600, NH: 8, NKV: 4, HS: 64, causal: true }, { fd: false, seed: seed++ });
  });
  it('keeps gradients only for inputs that require them', () => {
    tidy(() => {
      const gen = new Generator(8);
      const q = randomTensor([1, 4, 2, 8], gen), k = randomTensor([1, 4, 1, 8], gen, 1, false), v = randomTensor([1, 4, 1, 8], gen, 1, false);
      const o = attention(q, k, v);
      o.backward(tensor(Float32Array.from(projectionWeights(o.size)), { shape: o.shape as number[] }));
      expect(q.grad).not.toBeNull();
      expect(k.grad).toBeNull();
      expect(v.grad).toBeNull();
      const p = noGrad(() => attention(q, k, v));
      expect(p.requiresGrad).toBe(false);
    });
  });
  it('rejects bad shapes with typed errors', () => {
    tidy(() => {
      const q = tensor(new Float32Array(1 * 3 * 4 * 2), { shape: [1, 3, 4, 2] });
      const k3 = tensor(new Float32Array(1 * 3 * 3 * 2), { shape: [1, 3, 3, 2] });
      const kShort = tensor(new Float32Array(1 * 2 * 2 * 2), { shape: [1, 2, 2, 2] });
      const kBadHs = tensor(new Float32Array(1 * 3 * 2 * 3), { shape: [1, 3, 2, 3] });
      for (const [kk, vv] of [[k3, k3], [kShort, kShort], [kBadHs, kBadHs]] as const) {
        let err: unknown;
        try { attention(q, kk, vv); } catch (e) { err = e; }
        expect(err).toBeInstanceOf(OlmoError);
        expect((err as OlmoError).code).toBe('SHAPE_MISMATCH');
      }
    });
  });

  // attention() calls the bf16-input bindings only on CUDA, so on the CPU nothing else reaches their
  // argument decoding: it must read q/k/v as 2-byte elements and everything else as float32, run the
  // same checks as the fp32 bindings, and decline (false, outputs untouched) where no kernel applies.
  it('bf16-input bindings decode and validate their arguments, and decline on the CPU', () => {
    tidy(() => {
      const n = native();
      const codeOf = (f: () => unknown): string => {
        try { f(); } catch (e) { const err = fromNative(e); expect(err, String(e)).toBeInstanceOf(OlmoError); return (err as OlmoError).code; }
        return 'NO_ERROR';
      };
      const [B, T, Tk, NH, NKV, HS] = [1, 4, 4, 2, 1, 8];
      const nq = B * T * NH * HS, nk = B * Tk * NKV * HS, nl = B * NH * T;
      // bf16 tensors of nq / nk elements: float32 buffers of half as many elements hold their bytes
      const q = zeros([nq / 2]), k = zeros([nk / 2]), v = zeros([nk / 2]);
      const out = full([nq], 7), lse = full([nl], 7), dout = zeros([nq]);
      const dq = full([nq], 7), dk = full([nk], 7), dv = full([nk], 7);
      const fwd = (qb = q, ob = out, nkv = NKV, causal = true, ds: ReturnType<typeof tensor> | null = null) =>
        n.attentionForwardBf16In(qb.buf, 0, k.buf, 0, v.buf, 0, ob.buf, 0, lse.buf, 0, B, T, Tk, NH, nkv, HS, 0.5, causal, ds ? ds.buf : null, 0);
      const bwd = (qb = q) =>
        n.attentionBackwardBf16In(qb.buf, 0, k.buf, 0, v.buf, 0, out.buf, 0, lse.buf, 0, dout.buf, 0, dq.buf, 0, dk.buf, 0, dv.buf, 0, B, T, Tk, NH, NKV, HS, 0.5, true, null, 0);
      expect(fwd()).toBe(false);
      expect(bwd()).toBe(false);
      for (const t of [out, lse, dq, dk, dv]) expect(Array.from(t.toFloat32Array()).every((x) => x === 7)).toBe(true);
      expect(codeOf(() => fwd(zeros([nq / 2 - 1])))).toBe('SHAPE_MISMATCH');   // q one bf16 pair short
      expect(codeOf(() => bwd(zeros([nq / 2 - 1])))).toBe('SHAPE_MISMATCH');
      expect(codeOf(() => fwd(q, zeros([nq / 2])))).toBe('SHAPE_MISMATCH');    // out is float32, not bf16
      expect(codeOf(() => fwd(q, out, 3))).toBe('SHAPE_MISMATCH');              // NH 2 % NKV 3 != 0
      const docStart = tensor([[0, 0, 2, 2]], { dtype: 'int32' });
      expect(fwd(q, out, NKV, true, docStart)).toBe(false);
      expect(codeOf(() => fwd(q, out, NKV, false, docStart))).toBe('INVALID_ARGUMENT');  // documents need causal
      expect(codeOf(() => fwd(q, out, NKV, true, tensor([[0, 0, 3, 0]], { dtype: 'int32' })))).toBe('INVALID_ARGUMENT');  // start 3 > position 2
    });
  });
});
