/**
 * Packed documents: document-masked attention (docStart) equals running each document as its own
 * sequence, forward and backward (dq, dk, dv); RoPE with explicit restarting positions equals
 * RoPE of each document from position 0. CPU here; the CUDA kernels are compared with these CPU
 * kernels in native/cuda/sim (compare.cpp, "docs" cases).
 */
import { describe, expect, it } from 'vitest';
import { Generator, OlmoError, attention, documentLayout, rope, tensor, type Tensor } from '../../src/index.js';
import { expectClose, projectionWeights, randomArray } from '../helpers.js';

const t32 = (a: Float32Array, shape: number[], grad = true): Tensor => {
  const t = tensor(a, { shape });
  if (grad) t.requiresGrad_(true);
  return t;
};

/** Rows [start, start+len) of a [T, H, HS] slab (batch row b of a [B, T, H, HS] array). */
function rows(a: Float32Array, b: number, T: number, rowSize: number, start: number, len: number): Float32Array {
  return a.slice((b * T + start) * rowSize, (b * T + start + len) * rowSize);
}

describe('documentLayout', () => {
  it('starts and restarting positions from per-token document ids', () => {
    const { docStart, positions } = documentLayout([0, 0, 0, 1, 1, 2, 7, 7, 7, 7], 2, 5);
    expect([...docStart]).toEqual([0, 0, 0, 3, 3, 0, 1, 1, 1, 1]);
    expect([...positions]).toEqual([0, 1, 2, 0, 1, 0, 0, 1, 2, 3]);
  });
  it('bad input -> typed errors', () => {
    expect(() => documentLayout([0, 0, 1], 1, 4)).toThrow(OlmoError);
    expect(() => documentLayout([0, 0.5], 1, 2)).toThrow(OlmoError);
  });
});

describe('document-masked attention equals separate sequences', () => {
  // Lengths cross the CPU kernel's 64-row tiles and include a 1-token document.
  const layouts = [[5, 70, 1, 20], [96], [33, 31, 32]];
  const T = 96, NH = 4, NKV = 2, HS = 16, B = layouts.length;

  it('forward and backward (dq, dk, dv), GQA, B=3', () => {
    const gen = new Generator(11);
    const qa = randomArray(B * T * NH * HS, gen), ka = randomArray(B * T * NKV * HS, gen), va = randomArray(B * T * NKV * HS, gen);
    const w = Float32Array.from(projectionWeights(B * T * NH * HS, 3));
    const ids: number[] = [];
    layouts.forEach((lens) => lens.forEach((n, d) => { for (let i = 0; i < n; i++) ids.push(d); }));
    const { docStart } = documentLayout(ids, B, T);

    const q = t32(qa, [B, T, NH, HS]), k = t32(ka, [B, T, NKV, HS]), v = t32(va, [B, T, NKV, HS]);
    const ds = tensor(docStart, { shape: [B, T], dtype: 'int32' });
    const o = attention(q, k, v, { causal: true, docStart: ds });
    o.backward(tensor(w, { shape: o.shape as number[] }));
    const out = o.toFloat32Array(), gq = q.grad!.toFloat32Array(), gk = k.grad!.toFloat32Array(), gv = v.grad!.toFloat32Array();

    const want = { out: new Float32Array(out.length), gq: new Float32Array(gq.length), gk: new Float32Array(gk.length), gv: new Float32Array(gv.length) };
    layouts.forEach((lens, b) => {
      let start = 0;
      for (const n of lens) {
        const qs = t32(rows(qa, b, T, NH * HS, start, n), [1, n, NH, HS]);
        const ks = t32(rows(ka, b, T, NKV * HS, start, n), [1, n, NKV, HS]);
        const vs = t32(rows(va, b, T, NKV * HS, start, n), [1, n, NKV, HS]);
        const os = attention(qs, ks, vs, { causal: true });
        os.backward(tensor(rows(w, b, T, NH * HS, start, n), { shape: [1, n, NH, HS] }));
        want.out.set(os.toFloat32Array(), (b * T + start) * NH * HS);
        want.gq.set(qs.grad!.toFloat32Array(), (b * T + start) * NH * HS);
        want.gk.set(ks.grad!.toFloat32Array(), (b * T + start) * NKV * HS);
        want.gv.set(vs.grad!.toFloat32Array(), (b * T + start) * NKV * HS);
        for (const t of [qs, ks, vs, os]) t.dispose();
        start += n;
      }
    });
    expectClose(out, want.out, 1e-5, 'out');
    expectClose(gq, want.gq, 1e-5, 'dq');
    expectClose(gk, want.gk, 1e-5, 'dk');
    expectClose(gv, want.gv, 1e-5, 'dv');
    // And it differs from plain causal attention over the packed row (the mask does something).
    const plain = attention(q, k, v, { causal: true }).toFloat32Array();
    expect(Math.max(...plain.map((x, i) => Math.abs(x - out[i]!)))).toBeGreaterThan(1e-2);
  });

  it('bad docStart -> typed errors (dtype, shape, non-causal, out-of-range values)', () => {
    const gen = new Generator(1);
    const q = t32(randomArray(2 * 4 * 8, gen), [1, 4, 2, 8], false);
    expect(() => attention(q, q, q, { docStart: tensor(new Float32Array(4), { shape: [1, 4] }) })).toThrow(OlmoError);
    expect(() => attention(q, q, q, { docStart: tensor(new Int32Array(3), { shape: [1, 3], dtype: 'int32' }) })).toThrow(OlmoError);
    expect(() => attention(q, q, q, { causal: false, docStart: tensor(new Int32Array(4), { shape: [1, 4], dtype: 'int32' }) })).toThrow(OlmoError);
    expect(() => attention(q, q, q, { docStart: tensor(Int32Array.from([0, 0, 3, 0]), { shape: [1, 4], dtype: 'int32' }) })).toThrow(OlmoError);
  });
});

describe('rope with explicit positions', () => {
  it('equals rope of each document from position 0, forward and backward', () => {
    const gen = new Generator(5);
    const T = 12, NH = 2, HS = 8, lens = [4, 7, 1];
    const xa = randomArray(T * NH * HS, gen), w = Float32Array.from(projectionWeights(T * NH * HS, 9));
    const ids = lens.flatMap((n, d) => Array(n).fill(d) as number[]);
    const { positions } = documentLayout(ids, 1, T);
    const x = t32(xa, [1, T, NH, HS]);
    const y = rope(x, { theta: 500, positions: tensor(positions, { shape: [1, T], dtype: 'int32' }) });
    y.backward(tensor(w, { shape: y.shape as number[] }));
    let start = 0;
    for (const n of lens) {
      const xs = t32(rows(xa, 0, T, NH * HS, start, n), [1, n, NH, HS]);
      const ys = rope(xs, { theta: 500 });
      ys.backward(tensor(rows(w, 0, T, NH * HS, start, n), { shape: [1, n, NH, HS] }));
      expectClose(y.toFloat32Array().slice(start * NH * HS, (start + n) * NH * HS), ys.toFloat32Array(), 1e-7, 'rope out');
      expectClose(x.grad!.toFloat32Array().slice(start * NH * HS, (start + n) * NH * HS), xs.grad!.toFloat32Array(), 1e-7, 'rope grad');
      start += n;
    }
    expect(() => rope(x, { positions: tensor(Int32Array.from([-1, ...positions.slice(1)]), { shape: [1, T], dtype: 'int32' }) })).toThrow(OlmoError);
  });
});
