/**
 * bf16 activation storage under withAutocast('bfloat16') (ops/bf16storage.ts): swiglu keeps gate /
 * up, attention q / k / v, matmul its activation operand as bfloat16 for backward, and computes in
 * float32 from those bf16 values. The check: the autocast op equals, bit for bit, the float32 op
 * applied to the bf16-rounded inputs (forward and every gradient) — the definition of the recipe —
 * and its graph node holds bf16 tensors. Also: the result differs from the unrounded float32 op
 * (so the test can tell), and bad input gets typed errors.
 */
import { describe, expect, it } from 'vitest';
import {
  Generator, OlmoError, Tensor, attention, bf16BitsToF32, f32ToBf16Bits, linear, matmul, scale, storeBf16, swiglu, tensor, tidy, withAutocast,
} from '../../src/index.js';
import { call } from '../../src/native.js';
import { projectionWeights, randomTensor } from '../helpers.js';

const bf = (x: number) => bf16BitsToF32(f32ToBf16Bits(x));
/** A float32 leaf holding the bf16-rounded values of t. */
const rounded = (t: Tensor) => tensor(Float32Array.from(t.toFloat32Array(), bf), { shape: t.shape, requiresGrad: true });
const leaf = (t: Tensor) => tensor(t.toFloat32Array(), { shape: t.shape, requiresGrad: true });
const savedDtypes = (t: Tensor) => t.gradFn!.saved.map((s) => s.dtype);
const same = (a: Tensor, b: Tensor) => expect(Array.from(a.toFloat32Array())).toEqual(Array.from(b.toFloat32Array()));
const differs = (a: Tensor, b: Tensor) => expect(Array.from(a.toFloat32Array())).not.toEqual(Array.from(b.toFloat32Array()));

describe('bf16 activation storage (autocast bfloat16)', () => {
  it('swiglu: = float32 swiglu of the bf16-rounded gate / up, forward and both gradients; saves bf16', () => tidy(() => {
    const gen = new Generator(5);
    const g0 = randomTensor([3, 5, 70], gen, 2), u0 = randomTensor([3, 5, 70], gen);
    const gy = tensor(Float32Array.from(projectionWeights(g0.size)), { shape: g0.shape });
    const gate = leaf(g0), up = leaf(u0);
    const y = withAutocast('bfloat16', () => swiglu(gate, up));
    expect(savedDtypes(y)).toEqual(['bfloat16', 'bfloat16']);
    y.backward(gy);
    const gr = rounded(g0), ur = rounded(u0), yr = swiglu(gr, ur);
    yr.backward(gy);
    same(y, yr); same(gate.grad!, gr.grad!); same(up.grad!, ur.grad!);
    expect(y.dtype).toBe('float32');
    expect(gate.grad!.dtype).toBe('float32');
    differs(y, swiglu(g0, u0));
  }));

  it('attention (GQA, causal): = float32 attention of the bf16-rounded q / k / v, forward and dq, dk, dv; saves bf16 q, k, v', () => tidy(() => {
    const gen = new Generator(6);
    const [B, T, NH, NKV, HS] = [2, 9, 4, 2, 16];
    const q0 = randomTensor([B, T, NH, HS], gen), k0 = randomTensor([B, T, NKV, HS], gen), v0 = randomTensor([B, T, NKV, HS], gen);
    const gy = tensor(Float32Array.from(projectionWeights(B * T * NH * HS)), { shape: [B, T, NH, HS] });
    const q = leaf(q0), k = leaf(k0), v = leaf(v0);
    const y = withAutocast('bfloat16', () => attention(q, k, v));
    expect(savedDtypes(y).slice(0, 3)).toEqual(['bfloat16', 'bfloat16', 'bfloat16']);
    y.backward(gy);
    const qr = rounded(q0), kr = rounded(k0), vr = rounded(v0), yr = attention(qr, kr, vr);
    yr.backward(gy);
    same(y, yr); same(q.grad!, qr.grad!); same(k.grad!, kr.grad!); same(v.grad!, vr.grad!);
    differs(y, attention(q0, k0, v0));
    // the bf16-input flash binding declines on the CPU (nothing written), so the widened fp32 path ran
    const [sq, sk, sv] = [q0, k0, v0].map(storeBf16);
    const out = tensor(new Float32Array(q0.size), { shape: q0.shape }), lse = tensor(new Float32Array(B * NH * T), { shape: [B, NH, T] });
    expect(call((n) => n.attentionForwardBf16In(sq!.buf, 0, sk!.buf, 0, sv!.buf, 0, out.buf, 0, lse.buf, 0, B, T, T, NH, NKV, HS, 0.25, true, null, 0))).toBe(false);
    expect(out.toFloat32Array().every((x) => x === 0)).toBe(true);
  }));

  it('linear: saves the bf16 copy of its input (numerics unchanged: the backward rounds it anyway); a shared copy (computeA) gives the same result', () => tidy(() => {
    const gen = new Generator(7);
    const x0 = randomTensor([2, 6, 24], gen), w = randomTensor([10, 24], gen).requiresGrad_(true);
    const gy = tensor(Float32Array.from(projectionWeights(2 * 6 * 10)), { shape: [2, 6, 10] });
    const run = (shared: boolean) => withAutocast('bfloat16', () => {
      const x = leaf(x0).detach().requiresGrad_(true);
      const h = scale(x, 1); // a non-leaf activation, as inside a model
      const xb = shared ? storeBf16(h) : null;
      const y = linear(h, w, null, xb);
      xb?.dispose();
      w.grad = null;
      y.backward(gy);
      return { y, dx: x.grad!, dw: w.grad! };
    });
    const own = run(false), shared = run(true);
    same(own.y, shared.y); same(own.dx, shared.dx); same(own.dw, shared.dw);
    // the matmul node of a 2-D linear saves [bf16 x, float32 w]
    const x2 = leaf(x0.reshape([12, 24]));
    const mm = withAutocast('bfloat16', () => matmul(scale(x2, 1), w, { transB: true }));
    expect(savedDtypes(mm)).toEqual(['bfloat16', 'float32']);
    const fp = matmul(scale(x2, 1), w, { transB: true });
    expect(savedDtypes(fp)).toEqual(['float32', 'float32']);
  }));

  it('batched matmul with a shared 2-D b (backward folds the batch into K over the bf16-stored a): = the same on bf16-valued float32 a', () => tidy(() => {
    const gen = new Generator(9);
    const a0 = rounded(randomTensor([3, 5, 16], gen)).detach(), b = randomTensor([16, 7], gen).requiresGrad_(true);
    const gy = tensor(Float32Array.from(projectionWeights(3 * 5 * 7)), { shape: [3, 5, 7] });
    const run = (stored: boolean) => withAutocast('bfloat16', () => {
      const a = leaf(a0);
      const act = stored ? scale(a, 1) : a; // a non-leaf activation is stored in bf16; a leaf is not
      b.grad = null;
      const y = matmul(act, b);
      expect(savedDtypes(y)[0]).toBe(stored ? 'bfloat16' : 'float32');
      y.backward(gy);
      return { y, da: a.grad!, db: b.grad! };
    });
    const s = run(true), f = run(false);
    same(s.y, f.y); same(s.da, f.da); same(s.db, f.db);
  }));

  it('typed errors: a computeA of the wrong dtype or shape; a bad swiglu dtype code', () => tidy(() => {
    const gen = new Generator(8);
    const x = randomTensor([4, 8], gen), w = randomTensor([3, 8], gen);
    const code = (fn: () => unknown) => { try { fn(); } catch (e) { expect(e).toBeInstanceOf(OlmoError); return (e as OlmoError).code; } return 'none'; };
    expect(code(() => withAutocast('bfloat16', () => matmul(x, w, { transB: true, computeA: x })))).toBe('SHAPE_MISMATCH');
    expect(code(() => withAutocast('bfloat16', () => matmul(x, w, { transB: true, computeA: storeBf16(w) })))).toBe('SHAPE_MISMATCH');
    const out = randomTensor([4, 8], gen);
    expect(code(() => call((n) => n.swigluFwd(out.buf, 0, x.buf, 0, x.buf, 0, 32, 7)))).toBe('DTYPE_UNSUPPORTED');
  }));
});
