// decodelayer: one fused native call per block must equal the op-by-op block (same kernels in the
// same order, so bit for bit), for float32 / bfloat16 / q8_0 weights, OLMo-1 (LayerNorm, clip_qkv)
// and OLMo-2 (QK-norm, norm-after, GQA), on every CPU kernel path; bad arguments are typed errors.
import { afterAll, describe, expect, it } from 'vitest';
import {
  Generator, OlmoError, QTensor, Tensor, add, attention, clamp, copyInto, decodeLayer, layerNorm, linear, noGrad, quantize,
  rmsNorm, rope, setLowpIsa, swiglu, tensor, tidy, type DecodeLayerOptions, type DecodeLayerWeights,
} from '../../src/index.js';
import { randomArray } from '../helpers.js';

const C = 64, NH = 4, HS = 16, I = 96, MAXLEN = 12;

function expectCode(fn: () => unknown, code: string): void {
  let err: unknown;
  try { fn(); } catch (e) { err = e; }
  expect(err, `expected ${code}`).toBeInstanceOf(OlmoError);
  expect((err as OlmoError).code).toBe(code);
}

type Prec = 'float32' | 'bfloat16' | 'q8_0';

function makeWeights(gen: Generator, NKV: number, prec: Prec, olmo2: boolean): DecodeLayerWeights {
  const w = (rows: number, cols: number): Tensor | QTensor => {
    const f = tensor(randomArray(rows * cols, gen, 0.2), { shape: [rows, cols] });
    if (prec === 'float32') return f.keep();
    const out = prec === 'q8_0' ? quantize(f) : f.to('bfloat16').keep();
    f.dispose();
    return out;
  };
  const norm = (n: number) => tensor(Float32Array.from(randomArray(n, gen, 0.1), (v) => 1 + v), { shape: [n] }).keep();
  return {
    q: w(NH * HS, C), k: w(NKV * HS, C), v: w(NKV * HS, C), o: w(C, NH * HS), gate: w(I, C), up: w(I, C), down: w(C, I),
    ...(olmo2 ? { qNorm: norm(NH * HS), kNorm: norm(NKV * HS), postAttentionNorm: norm(C), postFeedforwardNorm: norm(C) } : {}),
  };
}

function disposeWeights(w: DecodeLayerWeights): void {
  for (const t of Object.values(w)) (t as Tensor | QTensor | undefined)?.dispose();
}

/** The block op by op (as @olmo/model's block()), one token at position `pos`, caches [1, MAXLEN, NKV, HS]. */
function opBlock(x: Tensor, w: DecodeLayerWeights, kc: Tensor, vc: Tensor, pos: number, o: DecodeLayerOptions): Tensor {
  return tidy(() => {
    const olmo2 = o.architecture === 'olmo2', NKV = o.numKvHeads;
    const a = olmo2 ? x : layerNorm(x, null, null, o.eps);
    let q = linear(a, w.q), k = linear(a, w.k), v = linear(a, w.v);
    if (o.clipQkv !== null) { q = clamp(q, -o.clipQkv, o.clipQkv); k = clamp(k, -o.clipQkv, o.clipQkv); v = clamp(v, -o.clipQkv, o.clipQkv); }
    if (olmo2) { q = rmsNorm(q, w.qNorm!, o.eps); k = rmsNorm(k, w.kNorm!, o.eps); }
    const q4 = rope(q.reshape([1, 1, NH, HS]), { theta: o.ropeTheta, positionOffset: pos });
    const k4 = rope(k.reshape([1, 1, NKV, HS]), { theta: o.ropeTheta, positionOffset: pos });
    copyInto(kc.slice(1, pos, pos + 1), k4);
    copyInto(vc.slice(1, pos, pos + 1), v.reshape([1, 1, NKV, HS]));
    const att = attention(q4, kc.slice(1, 0, pos + 1), vc.slice(1, 0, pos + 1), { causal: true });
    let out = linear(att.reshape([1, 1, NH * HS]), w.o);
    if (olmo2) out = rmsNorm(out, w.postAttentionNorm!, o.eps);
    const h = add(x, out);
    const m = olmo2 ? h : layerNorm(h, null, null, o.eps);
    let d = linear(swiglu(linear(m, w.gate), linear(m, w.up)), w.down);
    if (olmo2) d = rmsNorm(d, w.postFeedforwardNorm!, o.eps);
    return add(h, d);
  });
}

afterAll(() => { setLowpIsa('native'); });

describe('decodeLayer', () => {
  const cases: Array<[string, DecodeLayerOptions]> = [
    ['OLMo-1 with clip_qkv', { architecture: 'olmo1', numHeads: NH, numKvHeads: NH, eps: 1e-5, clipQkv: 0.4, ropeTheta: 10000 }],
    ['OLMo-2 with GQA', { architecture: 'olmo2', numHeads: NH, numKvHeads: 2, eps: 1e-6, clipQkv: null, ropeTheta: 500000 }],
  ];
  for (const [label, opts] of cases) {
    for (const prec of ['float32', 'bfloat16', 'q8_0'] as const) {
      for (const isa of ['native', 'avx2'] as const) {
        it(`${label}, ${prec} weights, ${isa} kernels: equals the op-by-op block at every position`, () => noGrad(() => {
          setLowpIsa(isa);
          const gen = new Generator(prec.length * 7 + opts.numKvHeads);
          const w = makeWeights(gen, opts.numKvHeads, prec, opts.architecture === 'olmo2');
          const shape = [1, MAXLEN, opts.numKvHeads, HS];
          const kA = Tensor.allocate(shape, 'float32', -1, true).keep(), vA = Tensor.allocate(shape, 'float32', -1, true).keep();
          const kB = Tensor.allocate(shape, 'float32', -1, true).keep(), vB = Tensor.allocate(shape, 'float32', -1, true).keep();
          try {
            for (let pos = 0; pos < 7; pos++) {
              const xv = randomArray(C, gen, 1);
              const x = tensor(xv, { shape: [1, 1, C] });
              const ref = opBlock(x, w, kB, vB, pos, opts);
              decodeLayer(x, w, kA, vA, pos, opts);
              const got = x.toFloat32Array(), want = ref.toFloat32Array();
              expect(got.some((v, i) => v !== xv[i])).toBe(true);  // it did write x
              expect(Array.from(got)).toEqual(Array.from(want));
              expect(Array.from(kA.toFloat32Array())).toEqual(Array.from(kB.toFloat32Array()));
              expect(Array.from(vA.toFloat32Array())).toEqual(Array.from(vB.toFloat32Array()));
              x.dispose(); ref.dispose();
            }
          } finally {
            disposeWeights(w);
            for (const t of [kA, vA, kB, vB]) t.dispose();
          }
        }));
      }
    }
  }

  it('bad arguments are typed errors, never out-of-bounds accesses', () => noGrad(() => {
    setLowpIsa('native');
    const gen = new Generator(5);
    const w = makeWeights(gen, 2, 'q8_0', true);
    const opts: DecodeLayerOptions = { architecture: 'olmo2', numHeads: NH, numKvHeads: 2, eps: 1e-6, clipQkv: null, ropeTheta: 10000 };
    const kc = Tensor.allocate([1, MAXLEN, 2, HS], 'float32', -1, true).keep(), vc = Tensor.allocate([1, MAXLEN, 2, HS], 'float32', -1, true).keep();
    const x = tensor(randomArray(C, gen), { shape: [C] }).keep();
    try {
      expectCode(() => decodeLayer(x, w, kc, vc, MAXLEN, opts), 'INVALID_ARGUMENT');  // past the cache
      expectCode(() => decodeLayer(x, w, kc, vc, -1, opts), 'INVALID_ARGUMENT');
      expectCode(() => decodeLayer(x, { ...w, qNorm: null }, kc, vc, 0, opts), 'INVALID_ARGUMENT');
      expectCode(() => decodeLayer(x, { ...w, o: w.gate }, kc, vc, 0, opts), 'SHAPE_MISMATCH');  // wrong weight shape
      expectCode(() => decodeLayer(x, w, kc, vc, 0, { ...opts, numKvHeads: 3 }), 'SHAPE_MISMATCH');
      const short = Tensor.allocate([C - 1], 'float32', -1, true);
      expectCode(() => decodeLayer(short, w, kc, vc, 0, opts), 'SHAPE_MISMATCH');
      short.dispose();
      const xi = tensor(new Int32Array(C), { shape: [C], dtype: 'int32' });
      expectCode(() => decodeLayer(xi, w, kc, vc, 0, opts), 'SHAPE_MISMATCH');
      xi.dispose();
      (w.gate as QTensor).dispose();
      expectCode(() => decodeLayer(x, w, kc, vc, 0, opts), 'TENSOR_DISPOSED');
    } finally {
      disposeWeights(w);
      for (const t of [kc, vc, x]) t.dispose();
    }
  }));
});
